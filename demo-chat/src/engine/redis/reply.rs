//! Reading what Redis sends back: the join script's answer and the frames heard on a channel.

use axum::extract::ws::Utf8Bytes;

use super::RedisFailure;

/// What the join script answered.
pub(super) enum JoinAnswer {
    Joined {
        epoch: String,
        offset: u64,
        history: Vec<String>,
    },
    Duplicate,
    Full,
}

/// Reads the join script's answer: `{'ok', epoch, offset, history}`, `{'duplicate'}` or
/// `{'full'}`.
pub(super) fn parse_join(answer: redis::Value) -> Result<JoinAnswer, RedisFailure> {
    use redis::Value;
    let unexpected = |v: &Value| RedisFailure::Unexpected(format!("{v:?} to a join"));
    let Value::Array(parts) = &answer else {
        return Err(unexpected(&answer));
    };
    let text = |v: &Value| match v {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    };
    match parts.first().and_then(text).as_deref() {
        Some("duplicate") => Ok(JoinAnswer::Duplicate),
        Some("full") => Ok(JoinAnswer::Full),
        Some("ok") => {
            let epoch = parts
                .get(1)
                .and_then(text)
                .ok_or_else(|| unexpected(&answer))?;
            let offset = parts
                .get(2)
                .and_then(text)
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| unexpected(&answer))?;
            let Some(Value::Array(stored)) = parts.get(3) else {
                return Err(unexpected(&answer));
            };
            let history = stored
                .iter()
                .map(|m| text(m).ok_or_else(|| unexpected(&answer)))
                .collect::<Result<_, _>>()?;
            Ok(JoinAnswer::Joined {
                epoch,
                offset,
                history,
            })
        }
        _ => Err(unexpected(&answer)),
    }
}

/// A frame heard on a channel, split into its kind and tag and the shared frame text.
pub(super) fn split_payload(payload: &[u8]) -> Option<(u8, &str, Utf8Bytes)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(3, '|');
    let kind = parts.next()?.bytes().next()?;
    let tag = parts.next()?;
    let frame = parts.next()?;
    Some((kind, tag, Utf8Bytes::from(frame.to_owned())))
}
