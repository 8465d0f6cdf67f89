//! flowtrace: put `#[flowtrace]` on a function, sync or async, and every call leaves an `ENTER`
//! and an `EXIT` line in a JSON Lines trace file, written by a background thread.
//!
//! ```toml
//! [dependencies]
//! flowtrace-runtime = "0.1"
//! ```
//!
//! ```
//! use flowtrace_runtime::flowtrace;
//!
//! #[flowtrace]
//! fn add(a: u64, b: u64) -> u64 {
//!     a + b
//! }
//!
//! #[flowtrace(skip(password))]
//! async fn login(user: &str, password: &str) -> Result<u64, String> {
//!     if password.is_empty() { Err(format!("no password for {user}")) } else { Ok(add(1, 2)) }
//! }
//!
//! fn main() -> Result<(), flowtrace_runtime::Error> {
//!     # let dir = std::env::temp_dir().join(format!("flowtrace-doc-{}", std::process::id()));
//!     # std::fs::create_dir_all(&dir).expect("temp dir");
//!     # let path = dir.join("trace.jsonl");
//!     // Optional: without it, the first traced call starts tracing from FLOWTRACE_* variables.
//!     let guard = flowtrace_runtime::Config::from_env()?.file(&path).init()?;
//!     add(2, 3);
//!     let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
//!     let _ = runtime.block_on(login("ada", ""));
//!     drop(guard); // flushes every record and joins the writer thread
//!     let trace = std::fs::read_to_string(&path).expect("trace file");
//!     // START (which service, which process), ENTER and EXIT of add, then ENTER and
//!     // EXCEPTION of login (it returned Err).
//!     assert_eq!(trace.lines().count(), 5);
//!     assert!(trace.lines().last().is_some_and(|line| line.contains("\"EXCEPTION\"")));
//!     # std::fs::remove_dir_all(&dir).ok();
//!     Ok(())
//! }
//! ```
//!
//! # What is recorded
//!
//! One JSON object per line; see the README for the full format. `START` first, naming the
//! service, the process id and a random `instance` for this run. `ENTER` when a call starts
//! (for an `async fn`: at its first poll), then exactly one of: `EXIT` (returned), `EXCEPTION`
//! (returned `Err`, with its message), `PANIC` (unwound, with the panic message; the panic goes
//! on unchanged) or `CANCEL` (a future dropped before completion). `parent` links each call to
//! the traced call it runs inside, across `.await` and thread hops; a root call (no `parent`)
//! starts a W3C trace and its ENTER carries the `trace` id. `DROPPED` counts records lost to a
//! full ring in `drop` mode.
//!
//! # Across processes
//!
//! [`TraceContext`] carries a trace from one process to the next as a W3C `traceparent`:
//! [`TraceContext::current`] on the sending side, [`TraceContext::from_traceparent`] and
//! [`TraceContext::in_scope`] / [`TraceContext::instrument`] on the receiving side, whose root
//! calls then continue the sender's trace and name its span as `remoteParent`. With the `otlp`
//! cargo feature and `FLOWTRACE_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) set, completed
//! calls are also shipped live as OTLP spans from a background thread; what cannot be delivered
//! is counted in [`stats`], never waited for.
//!
//! # Configuration
//!
//! Zero-config: the first traced call reads `FLOWTRACE_LOGFILE`, `FLOWTRACE_STDOUT`,
//! `FLOWTRACE_ENABLED`, `FLOWTRACE_PACKAGE_PREFIX`, `FLOWTRACE_EXCLUDE`,
//! `FLOWTRACE_MAX_ARG_LENGTH`, `FLOWTRACE_OVERFLOW`, `FLOWTRACE_BUFFER`, `FLOWTRACE_REDACT`,
//! `FLOWTRACE_MAX_FILE_BYTES`, `FLOWTRACE_MAX_FILES`, `FLOWTRACE_SAMPLE` and `FLOWTRACE_SERVICE_NAME` (else
//! `OTEL_SERVICE_NAME`); a bad value disables tracing with one
//! message on stderr naming the variable. [`init`] and [`Config`] do the same explicitly and
//! return the error instead. Records still queued are written when the program exits, with or
//! without a guard.
//!
//! # Cost
//!
//! Disabled: one relaxed atomic load per call (~1 ns over a plain sync function; ~14 ns for an
//! `async fn`, whose future the compiler can no longer fold away — what a disabled
//! `#[tracing::instrument]` costs too). Inside a trace that sampling left out, one thread-local
//! read more. Enabled: two clock reads, the arguments (strings and integers are only copied:
//! the writer encodes them), and two pushes into the thread's own ring to the writer (no lock,
//! no allocation); the JSON lines are built and written on the `flowtrace-writer` thread, which
//! keeps the record format's order across threads. On a 2-core machine a traced call takes
//! ~60–90 ns until both its lines are written to `/dev/null` and ~210–230 ns to a file, some
//! 20–35× less than `#[tracing::instrument]` with a JSON formatter; `cargo bench -p
//! flowtrace-runtime` measures it.

mod args;
mod call;
mod captured;
mod clock;
mod config;
mod context;
mod copy;
mod dispatch;
mod env;
mod error;
mod exit_hook;
mod exporter;
mod filter;
mod ids;
mod inline_call;
mod json;
mod line;
mod local;
#[cfg(feature = "otlp")]
mod otlp;
mod own_thread;
mod record;
mod ring;
mod sample;
mod sink;
mod site;
mod stamp;
mod start;
mod stats;
mod thread_label;
mod thread_lines;
mod value;
mod writer;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

use std::time::Duration;

pub use config::{
    Config, DEFAULT_CAPACITY, DEFAULT_LOGFILE, DEFAULT_MAX_ARG_LENGTH, DEFAULT_MAX_FILES,
    DEFAULT_REDACT, MAX_CAPACITY, MAX_FILES, Overflow, Rotation,
};
pub use context::{TraceContext, TraceparentError, WithContext};
pub use error::Error;
pub use flowtrace_macros::flowtrace;
pub use stats::{Stats, stats};

/// How long [`flush`] waits for the writer before giving up.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts tracing from the `FLOWTRACE_*` environment; see [`Config::from_env`].
pub fn init() -> Result<FlushGuard, Error> {
    Config::from_env()?.init()
}

/// Blocks until every record produced so far is written (or 30 s have passed).
///
/// A no-op when tracing is not running.
pub fn flush() -> Result<(), Error> {
    dispatch::flush(FLUSH_TIMEOUT)
}

/// Keeps tracing running; dropping it writes every queued record, stops the writer thread and
/// turns tracing off until the next [`init`].
#[derive(Debug)]
#[must_use = "dropping the guard stops tracing at once; bind it: `let _guard = ...`"]
pub struct FlushGuard {
    _private: (),
}

impl FlushGuard {
    pub(crate) fn new() -> Self {
        Self { _private: () }
    }

    /// Same as [`flush`].
    pub fn flush(&self) -> Result<(), Error> {
        flush()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        dispatch::shutdown();
    }
}
