//! The runtime's one error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong when configuring or starting flowtrace.
///
/// Tracing itself never fails the traced program: once running, write errors are counted and
/// reported once on stderr instead (see [`stats`](crate::stats)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable holds a value flowtrace cannot use.
    #[error("{name}={value:?} is invalid: {expected}")]
    InvalidEnv {
        /// The variable, e.g. `FLOWTRACE_OVERFLOW`.
        name: &'static str,
        /// Its value as found (lossily decoded if it was not UTF-8).
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// Two settings contradict each other or one is out of range.
    #[error("invalid flowtrace configuration: {0}")]
    InvalidConfig(&'static str),
    /// The trace file could not be opened for appending.
    #[error("cannot open trace file {}: {source}", path.display())]
    OpenFile {
        /// The path that was tried.
        path: PathBuf,
        /// Why the operating system refused.
        source: io::Error,
    },
    /// Standard output could not be set up as the trace output.
    #[error("cannot write the trace to stdout: {0}")]
    Stdout(io::Error),
    /// The background writer thread could not be started.
    #[error("cannot start the flowtrace-writer thread: {0}")]
    SpawnWriter(io::Error),
    /// [`init`](crate::init) was called while a writer is already running.
    #[error(
        "flowtrace is already initialised (explicitly, or lazily by a traced call that ran \
         earlier); drop the existing FlushGuard before initialising again"
    )]
    AlreadyInitialized,
    /// The writer did not confirm a flush or shutdown in time.
    #[error("the flowtrace-writer thread did not confirm within {0:?}")]
    Timeout(Duration),
}

/// Tells the user something on standard error. Never panics, unlike `eprintln!`, which does
/// when stderr is closed or a broken pipe: a trace problem must not take the program down.
pub(crate) fn report(message: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "flowtrace: {message}");
}
