//! Why a tool call was refused: bad input or an unreadable file. These reach the client as a
//! tool result flagged `isError` with the message as text, so the assistant can read it and
//! try again; the server itself goes on.

use std::path::PathBuf;

use rmcp::model::{ContentBlock, IntoContents};

use crate::error::Error;

/// A tool's failure, with a message that says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    #[error("`paths` is empty: give at least one trace file")]
    NoPaths,
    #[error("{0}")]
    Open(#[from] Error),
    #[error("no open trace `{handle}` ({open}); call `open` first")]
    UnknownHandle { handle: String, open: String },
    #[error("as many traces are open as `--max-traces` allows ({max}): `close` one first")]
    TooManyTraces { max: usize },
    #[error("`{name}` {value} is over the maximum {max}")]
    OverMaximum {
        name: &'static str,
        value: u64,
        max: u64,
    },
    #[error("`{name}` must be at least 1")]
    Zero { name: &'static str },
    #[error("{0}")]
    BadDuration(#[from] crate::format::DurationParseError),
    #[error("unknown event `{0}`: expected EXIT, EXCEPTION, PANIC, CANCEL or OPEN")]
    BadEvent(String),
    #[error("empty `{0}` pattern: leave it out to match everything")]
    EmptyPattern(&'static str),
    #[error("`from` {from} is after `to` {to}")]
    BadRange { from: u64, to: u64 },
    #[error("no call with id {id} in the trace{}", segment.map(|s| format!(" (segment {s})")).unwrap_or_default())]
    NoSuchCall { id: u64, segment: Option<u32> },
    #[error("call id {id} is in several processes (segments {segments}): pass `segment`")]
    AmbiguousId { id: u64, segments: String },
    #[error("call {id} is not in the index: the trace has more calls than `--max-calls` keeps")]
    NotKept { id: u64 },
    #[error("no thread named `{name}` in the trace (threads: {threads})")]
    NoSuchThread { name: String, threads: String },
    #[error("give exactly one of `thread`, `id` and `trace`")]
    ThreadOrId,
    #[error("give exactly one of `id` and `trace`")]
    IdOrTrace,
    #[error("invalid trace id `{0}`: expected 32 hex digits")]
    BadTraceId(String),
    #[error("no call of trace {trace} in the trace{}", if *capped { " (or none the index kept: the trace has more calls than `--max-calls` keeps)" } else { "" })]
    NoSuchTrace { trace: String, capped: bool },
    #[error("{} changed since it was opened: `open` it again", path.display())]
    Changed { path: PathBuf },
    #[error("a line of {} is longer than {max} bytes", path.display())]
    LineTooLong { path: PathBuf, max: usize },
    #[error("cannot read {} again: {source}", path.display())]
    Reread {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading the trace stopped unexpectedly: {0}")]
    Interrupted(String),
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}
