//! The chat protocol: id rules, client frames in, server frames out.
//!
//! Every server frame is serialised once into an [`Utf8Bytes`] that all its recipients share.

use axum::extract::ws::Utf8Bytes;
use flowtrace_runtime::flowtrace;
use serde::{Deserialize, Serialize};

/// Longest room or client id.
pub(crate) const MAX_ID_LEN: usize = 64;
/// Longest room name.
pub(crate) const MAX_NAME_CHARS: usize = 100;

/// Checks a room or client id: 1–64 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn validate_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("{what} must be 1-{MAX_ID_LEN} characters long"));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{what} may only contain A-Z, a-z, 0-9, '_', '.' and '-', found {bad:?}"
        ));
    }
    Ok(())
}

/// What a client asked for in one valid text frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `{"type":"message","text":…}`.
    Message(String),
    /// `{"type":"typing"}`.
    Typing,
}

/// Why a client frame was refused; sent back to its sender as an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    /// Not JSON, or not a JSON object.
    InvalidJson,
    /// JSON, but a field is missing or has the wrong type.
    InvalidMessage,
    /// `type` is not `message` or `typing`.
    UnknownType,
    /// `text` is empty or only whitespace.
    EmptyText,
    /// `text` is longer than the limit.
    TextTooLong,
    /// A binary frame: the protocol is text only.
    BinaryNotSupported,
    /// The connection sends faster than its rate limit.
    RateLimited,
    /// The message could not be stored (the Redis engine lost Redis); it reached nobody.
    Unavailable,
}

impl ErrorCode {
    /// The code as it appears in the `error` frame and the metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidMessage => "invalid_message",
            Self::UnknownType => "unknown_type",
            Self::EmptyText => "empty_text",
            Self::TextTooLong => "text_too_long",
            Self::BinaryNotSupported => "binary_not_supported",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A refused frame: its code and a human-readable message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FrameError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl FrameError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    text: Option<String>,
}

/// Parses one client text frame.
pub(crate) fn parse(frame: &str, max_text_chars: usize) -> Result<Command, FrameError> {
    let raw: RawFrame<'_> =
        serde_json::from_str(frame).map_err(|e| {
            match serde_json::from_str::<serde_json::Value>(frame) {
                Ok(serde_json::Value::Object(_)) => {
                    FrameError::new(ErrorCode::InvalidMessage, e.to_string())
                }
                Ok(_) => FrameError::new(ErrorCode::InvalidJson, "frame must be a JSON object"),
                Err(e) => FrameError::new(ErrorCode::InvalidJson, format!("invalid JSON: {e}")),
            }
        })?;
    match &*raw.kind {
        "message" => {
            let text = raw.text.ok_or_else(|| {
                FrameError::new(
                    ErrorCode::InvalidMessage,
                    "a message needs a \"text\" string",
                )
            })?;
            if text.trim().is_empty() {
                return Err(FrameError::new(
                    ErrorCode::EmptyText,
                    "message text is empty",
                ));
            }
            let chars = text.chars().count();
            if chars > max_text_chars {
                return Err(FrameError::new(
                    ErrorCode::TextTooLong,
                    format!("message text is {chars} characters, the limit is {max_text_chars}"),
                ));
            }
            Ok(Command::Message(text))
        }
        "typing" => Ok(Command::Typing),
        other => Err(FrameError::new(
            ErrorCode::UnknownType,
            format!("unknown message type {other:?}: expected \"message\" or \"typing\""),
        )),
    }
}

/// A frame the server sends; `type` comes first, then the fields in this order.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Outgoing<'a> {
    /// Somebody joined; to everyone, the newcomer included.
    UserJoined {
        client_id: &'a str,
        room_id: &'a str,
        participant_count: usize,
    },
    /// Somebody left; to everyone still there.
    UserLeft {
        client_id: &'a str,
        room_id: &'a str,
        participant_count: usize,
    },
    /// A chat message; to everyone, the sender included, and kept in the history.
    Message {
        client_id: &'a str,
        text: &'a str,
        room_id: &'a str,
        timestamp: u64,
        offset: u64,
    },
    /// Somebody is typing; to everyone but them.
    Typing {
        client_id: &'a str,
        room_id: &'a str,
    },
    /// A frame of this client was refused; to this client only.
    Error { code: ErrorCode, message: &'a str },
    /// The room was deleted; followed by close 4410.
    RoomDeleted { room_id: &'a str },
}

impl Outgoing<'_> {
    /// The frame as shared JSON text.
    pub(crate) fn encode(&self) -> Utf8Bytes {
        // Serialising these plain structs into a String cannot fail.
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from(r#"{"type":"error"}"#))
            .into()
    }
}

/// A `message` frame up to its offset's value, for the Redis engine's post script to complete
/// with the offset it assigns and the closing brace.
pub(crate) fn message_prefix(client_id: &str, text: &str, room_id: &str, timestamp: u64) -> String {
    let mut frame = Outgoing::Message {
        client_id,
        text,
        room_id,
        timestamp,
        offset: 0,
    }
    .encode()
    .as_str()
    .to_owned();
    // The frame ends with `"offset":0}`: its last field, written last.
    frame.truncate(frame.len().saturating_sub("0}".len()));
    frame
}

/// Where a reconnecting client left off: `?since=N&epoch=E` (design §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Since {
    pub(crate) offset: u64,
    pub(crate) epoch: Option<String>,
}

impl Since {
    /// Reads the query parameters; a `since` that is not a non-negative integer is an error
    /// with the reason (closed with 4400).
    pub(crate) fn parse(since: Option<&str>, epoch: Option<&str>) -> Result<Option<Self>, String> {
        let Some(since) = since else { return Ok(None) };
        let offset = since
            .parse::<u64>()
            .map_err(|_| format!("since must be a non-negative integer offset, got {since:?}"))?;
        Ok(Some(Self {
            offset,
            epoch: epoch.map(str::to_owned),
        }))
    }
}

/// A room's stored history as the `history` frame needs it: the last messages (already JSON,
/// oldest first, contiguous offsets ending at `offset`), the room's epoch and last offset.
pub(crate) struct Stored<'a, I> {
    pub(crate) room_id: &'a str,
    pub(crate) epoch: &'a str,
    pub(crate) offset: u64,
    pub(crate) messages: I,
}

/// The `history` frame: with `since`, exactly the messages after it when the epoch matches and
/// none of them has left the history (`recovered: true`), else the whole stored history
/// (`recovered: false`); without `since`, the whole history and no `recovered` key.
#[flowtrace(skip(stored), fields(room_id = stored.room_id, offset = stored.offset))]
pub(crate) fn history<'a, I>(stored: Stored<'_, I>, since: Option<&Since>) -> Utf8Bytes
where
    I: ExactSizeIterator<Item = &'a str>,
{
    let kept = stored.messages.len() as u64;
    // The kept messages are the offsets base+1..=offset.
    let base = stored.offset.saturating_sub(kept);
    let recovered = since.map(|s| {
        s.epoch.as_deref() == Some(stored.epoch) && s.offset >= base && s.offset <= stored.offset
    });
    let skip = match (since, recovered) {
        (Some(s), Some(true)) => usize::try_from(s.offset - base).unwrap_or(usize::MAX),
        _ => 0,
    };
    let mut out = String::with_capacity(96);
    out.push_str(r#"{"type":"history","room_id":"#);
    // A validated id needs no escaping, but stay correct for any string.
    out.push_str(&serde_json::Value::from(stored.room_id).to_string());
    out.push_str(r#","epoch":"#);
    out.push_str(&serde_json::Value::from(stored.epoch).to_string());
    out.push_str(r#","offset":"#);
    out.push_str(itoa::Buffer::new().format(stored.offset));
    out.push_str(r#","messages":["#);
    for (i, m) in stored.messages.skip(skip).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(m);
    }
    out.push(']');
    match recovered {
        Some(true) => out.push_str(r#","recovered":true"#),
        Some(false) => out.push_str(r#","recovered":false"#),
        None => {}
    }
    out.push('}');
    out.into()
}

#[cfg(test)]
mod tests;
