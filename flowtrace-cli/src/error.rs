//! The crate's one error type: everything that stops a subcommand (as opposed to a malformed
//! record, which is reported and skipped, or a `check` violation, which is part of the report).

use std::io;
use std::path::PathBuf;

/// Why a subcommand could not run to the end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A trace file could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file that was tried.
        path: PathBuf,
        /// Why the operating system refused.
        source: io::Error,
    },
    /// A trace file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An output file could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Standard output could not be written (other than a closed pipe, which ends quietly).
    #[error("cannot write to standard output: {0}")]
    Stdout(io::Error),
    /// No input file was given and the default `flowtrace.jsonl` does not exist.
    #[error("no trace file given and {} does not exist", path.display())]
    NoInput {
        /// The default that was looked for.
        path: PathBuf,
    },
    /// The MCP server could not start or stopped on an error of its transport.
    #[error("the MCP server stopped: {0}")]
    Mcp(io::Error),
    /// `tree --id N` named a call that is not in the trace.
    #[error("no call with id {0} in the trace")]
    NoSuchCall(u64),
    /// `tree --trace ID` named a trace that no root call in the files carries.
    #[error("no call of trace {0} in these files")]
    NoSuchTrace(String),
    /// `export --format otlp` without `--endpoint`.
    #[error(
        "--format otlp sends to a receiver: give its base URL with --endpoint http://HOST:4318"
    )]
    EndpointNeeded,
    /// The OTLP endpoint is not a plain `http://` URL.
    #[error("OTLP endpoint {0:?} is not an http://HOST:PORT URL (https is not built in)")]
    BadEndpoint(String),
    /// The OTLP receiver could not be reached or did not answer in time.
    #[error("cannot send to the OTLP receiver at {url}: {reason}")]
    OtlpUnreachable {
        /// The URL posted to.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The OTLP receiver refused a batch.
    #[error("the OTLP receiver at {url} refused a batch with HTTP {status}: {body}")]
    OtlpRejected {
        /// The URL posted to.
        url: String,
        /// Its HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// The OTLP receiver kept asking to retry.
    #[error("the OTLP receiver at {url} still answered HTTP {status} after {attempts} attempts")]
    OtlpGaveUp {
        /// The URL posted to.
        url: String,
        /// Its last HTTP status.
        status: u16,
        /// How many times the batch was sent.
        attempts: u32,
    },
    /// `flame` found no completed call to draw.
    #[error("no completed call in the trace: nothing to draw")]
    NothingToDraw,
}

impl Error {
    /// Whether this error is a closed standard output (`flowtrace tail | head`): not worth a
    /// message.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
