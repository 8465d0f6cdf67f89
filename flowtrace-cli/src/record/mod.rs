//! One trace line parsed into a typed [`Record`] (the format of design §1), with the exact reason
//! when a line is not a record.
//!
//! Parsing is a single serde pass over the line that borrows strings from it and keeps `args`,
//! `result` and `error` as raw JSON (decoded only when shown), so reading stays fast. It also notes
//! what only `check` cares about (key order, duplicate or unknown keys); [`parse`] with
//! [`Strictness::Check`] turns those into errors, [`Strictness::Lenient`] ignores them.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

mod de;
mod raw;

use raw::RawRecord;

/// The `event` of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Event {
    Enter,
    Exit,
    Exception,
    Panic,
    Cancel,
    Dropped,
    /// A process segment starts (design §7).
    Start,
}

impl Event {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ENTER" => Self::Enter,
            "EXIT" => Self::Exit,
            "EXCEPTION" => Self::Exception,
            "PANIC" => Self::Panic,
            "CANCEL" => Self::Cancel,
            "DROPPED" => Self::Dropped,
            "START" => Self::Start,
            _ => return None,
        })
    }

    /// The name as written in the trace.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Enter => "ENTER",
            Self::Exit => "EXIT",
            Self::Exception => "EXCEPTION",
            Self::Panic => "PANIC",
            Self::Cancel => "CANCEL",
            Self::Dropped => "DROPPED",
            Self::Start => "START",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The keys of design §1 and §7, in their required order (`service`, `pid` and `instance`
/// belong to START records only, which have none of the call keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Timestamp,
    Event,
    Service,
    Pid,
    Instance,
    Thread,
    Module,
    Function,
    Args,
    DurationMicros,
    Id,
    Parent,
    Trace,
    RemoteParent,
    TimestampMicros,
    Result,
    Error,
    Count,
}

const KEYS: [(&str, Key); 18] = [
    ("timestamp", Key::Timestamp),
    ("event", Key::Event),
    ("service", Key::Service),
    ("pid", Key::Pid),
    ("instance", Key::Instance),
    ("thread", Key::Thread),
    ("module", Key::Module),
    ("function", Key::Function),
    ("args", Key::Args),
    ("durationMicros", Key::DurationMicros),
    ("id", Key::Id),
    ("parent", Key::Parent),
    ("trace", Key::Trace),
    ("remoteParent", Key::RemoteParent),
    ("timestampMicros", Key::TimestampMicros),
    ("result", Key::Result),
    ("error", Key::Error),
    ("count", Key::Count),
];

impl Key {
    fn name(self) -> &'static str {
        KEYS[self as usize].0
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The identity of a call, common to its ENTER and its closing record.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) thread: Cow<'a, str>,
    pub(crate) module: Cow<'a, str>,
    pub(crate) function: Cow<'a, str>,
    pub(crate) id: u64,
    pub(crate) parent: Option<u64>,
}

/// Where a root call sits in a distributed trace (design §7): on root `ENTER`s only.
#[derive(Debug, Default)]
pub(crate) struct TraceLink<'a> {
    /// The W3C trace id, 32 lowercase hex digits.
    pub(crate) trace: Option<&'a str>,
    /// The span id of the remote parent in another process, 16 lowercase hex digits.
    pub(crate) remote_parent: Option<&'a str>,
}

/// What a START record says about the process segment it opens.
#[derive(Debug)]
pub(crate) struct Start<'a> {
    pub(crate) service: Cow<'a, str>,
    pub(crate) pid: u64,
    /// 16 lowercase hex digits, random per start.
    pub(crate) instance: &'a str,
}

/// What a record says.
#[derive(Debug)]
pub(crate) enum Body<'a> {
    /// A call started; `args` is the raw JSON string of the arguments object.
    Enter {
        call: Call<'a>,
        args: &'a RawValue,
        link: TraceLink<'a>,
    },
    /// A call ended (`EXIT`, `EXCEPTION`, `PANIC` or `CANCEL`).
    Close {
        call: Call<'a>,
        event: Event,
        duration_micros: u64,
        result: Option<&'a RawValue>,
        error: Option<&'a RawValue>,
    },
    /// The writer lost `count` records.
    Dropped { count: u64 },
    /// A process segment starts: ids start afresh after it.
    Start(Start<'a>),
}

/// One valid trace record, borrowing from its line.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// Epoch microseconds (`timestampMicros`).
    pub(crate) micros: u64,
    pub(crate) body: Body<'a>,
}

/// How picky [`parse`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Every rule of design §1: key order, no unknown, duplicate or misplaced keys, `args` an
    /// encoded object, `timestamp` consistent with `timestampMicros`.
    Check,
    /// Only what is needed to use the record: required keys with the right types.
    Lenient,
}

/// Why a line is not a valid record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LineError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("{0}")]
    BadValue(String),
    #[error("`{event}` record lacks `{key}`")]
    MissingKey { event: Event, key: &'static str },
    #[error("record lacks `{0}`")]
    MissingCommonKey(&'static str),
    #[error("`{key}` does not belong on `{event}` records")]
    UnexpectedKey { event: Event, key: &'static str },
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    #[error("duplicate key `{0}`")]
    DuplicateKey(&'static str),
    #[error("key `{key}` comes after `{after}`; design §1 orders the keys {order}")]
    Misordered {
        key: &'static str,
        after: &'static str,
        order: KeyOrder,
    },
    #[error("`{key}` is not a JSON-encoded {what}: {reason}")]
    BadEncoding {
        key: &'static str,
        what: &'static str,
        reason: String,
    },
    #[error("`timestamp` {millis} is not `timestampMicros` {micros} in milliseconds")]
    TimestampMismatch { millis: u64, micros: u64 },
    #[error("`{key}` is not {len} lowercase hex digits, not all zero: {value:?}")]
    BadHex {
        key: &'static str,
        len: usize,
        value: String,
    },
    #[error("`{0}` belongs on root ENTERs only (those without `parent`)")]
    NotOnRoot(&'static str),
    #[error("`remoteParent` needs a `trace`")]
    RemoteWithoutTrace,
}

/// Displays the required key order, for error messages.
#[derive(Debug)]
pub(crate) struct KeyOrder;

impl fmt::Display for KeyOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
        f.write_str(&names.join(", "))
    }
}

/// Parses one line (without its `\n`).
pub(crate) fn parse(line: &[u8], strictness: Strictness) -> Result<Record<'_>, LineError> {
    // One UTF-8 pass over the line is cheaper than serde_json's check of every string in it.
    let line = std::str::from_utf8(line).map_err(|e| {
        LineError::NotJson(format!("invalid UTF-8 (column {})", e.valid_up_to() + 1))
    })?;
    let raw: RawRecord<'_> = serde_json::from_str(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => LineError::BadValue(without_line(&e)),
        _ => LineError::NotJson(without_line(&e)),
    })?;
    if strictness == Strictness::Check {
        raw.check_strict()?;
    }
    raw.into_record()
}

/// serde_json's message with its position as a column only: the line is always 1 here, and the
/// caller names the file line.
fn without_line(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rsplit_once(" at line ") {
        Some((text, _)) if error.column() > 0 => format!("{text} (column {})", error.column()),
        Some((text, _)) => text.to_owned(),
        None => message,
    }
}

/// `text` as `len` lowercase hex digits, not all zero (a W3C id).
pub(crate) fn is_id_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && text.bytes().any(|b| b != b'0')
}

/// Decodes a JSON-encoded string value (`args`, `result`, `error`) to its text; the raw JSON
/// itself if it does not decode.
pub(crate) fn decoded(raw: &RawValue) -> Cow<'_, str> {
    serde_json::from_str::<Cow<'_, str>>(raw.get()).unwrap_or(Cow::Borrowed(raw.get()))
}

#[cfg(test)]
mod tests;
