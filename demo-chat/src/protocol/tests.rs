//! The protocol's frames, ids, recovery and `since` rules.

use super::*;
use serde_json::{Value, json};

fn stored<'a>(
    room_id: &'a str,
    epoch: &'a str,
    offset: u64,
    messages: &'a [Utf8Bytes],
) -> Stored<'a, impl ExactSizeIterator<Item = &'a str>> {
    Stored {
        room_id,
        epoch,
        offset,
        messages: messages.iter().map(Utf8Bytes::as_str),
    }
}

/// The offsets of a history frame built from messages `{"o":N}`, and its `recovered`.
fn recover(first: u64, last: u64, since: Option<Since>) -> (Vec<u64>, Value) {
    let messages: Vec<Utf8Bytes> = (first..last + 1)
        .map(|o| format!(r#"{{"o":{o}}}"#).into())
        .collect();
    let frame = history(stored("r", "E", last, &messages), since.as_ref());
    let v: Value = serde_json::from_str(frame.as_str()).expect("history is JSON");
    let offsets = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["o"].as_u64())
        .collect();
    (offsets, v.get("recovered").cloned().unwrap_or(Value::Null))
}

fn since(offset: u64, epoch: &str) -> Option<Since> {
    Some(Since {
        offset,
        epoch: Some(epoch.into()),
    })
}

#[test]
fn recovery_gives_exactly_the_missed_messages_or_says_it_cannot() {
    // Offsets 51..=150 kept of 150.
    assert_eq!(
        recover(51, 150, since(147, "E")),
        (vec![148, 149, 150], json!(true))
    );
    assert_eq!(recover(51, 150, since(150, "E")), (vec![], json!(true)));
    assert_eq!(recover(51, 150, since(50, "E")).0.len(), 100);
    assert_eq!(recover(51, 150, since(50, "E")).1, json!(true));
    // Message 50 has left the history: not recoverable, the last 100.
    assert_eq!(recover(51, 150, since(49, "E")).1, json!(false));
    assert_eq!(recover(51, 150, since(49, "E")).0.len(), 100);
    // Another epoch, or an offset from the future, or no epoch: the last 100, not recovered.
    assert_eq!(recover(51, 150, since(147, "other")).1, json!(false));
    assert_eq!(recover(51, 150, since(151, "E")).1, json!(false));
    let no_epoch = Some(Since {
        offset: 147,
        epoch: None,
    });
    assert_eq!(recover(51, 150, no_epoch).1, json!(false));
    assert_eq!(recover(51, 150, None), ((51..=150).collect(), Value::Null));
    // An empty room: since=0 recovers nothing, exactly.
    assert_eq!(recover(1, 0, since(0, "E")), (vec![], json!(true)));
}

#[test]
fn a_message_prefix_completed_with_an_offset_is_the_message() {
    let prefix = message_prefix("a", "hi \"there\"", "r", 9);
    let whole = Outgoing::Message {
        client_id: "a",
        text: "hi \"there\"",
        room_id: "r",
        timestamp: 9,
        offset: 12345,
    }
    .encode();
    assert_eq!(format!("{prefix}12345}}"), whole.as_str());
}

#[test]
fn since_must_be_a_number() {
    assert_eq!(Since::parse(None, Some("e")), Ok(None));
    assert_eq!(
        Since::parse(Some("7"), Some("e")),
        Ok(Some(Since {
            offset: 7,
            epoch: Some("e".into())
        }))
    );
    let err = Since::parse(Some("-1"), None).expect_err("negative refused");
    assert!(err.contains("since"), "{err}");
    assert!(Since::parse(Some("x"), None).is_err());
    assert!(Since::parse(Some(""), None).is_err());
}

fn code(frame: &str) -> ErrorCode {
    parse(frame, 10).expect_err("frame is refused").code
}

#[test]
fn ids_follow_the_rules() {
    assert!(validate_id("room_id", "general").is_ok());
    assert!(validate_id("room_id", "a.b-c_D9").is_ok());
    assert!(validate_id("room_id", &"x".repeat(64)).is_ok());
    assert!(validate_id("room_id", &"x".repeat(65)).is_err());
    assert!(validate_id("room_id", "").is_err());
    let err = validate_id("client_id", "a b").expect_err("space refused");
    assert!(err.starts_with("client_id may only contain"), "{err}");
    assert!(validate_id("client_id", "é").is_err());
}

#[test]
fn parses_the_two_client_frames() {
    let msg = parse(r#"{"type":"message","text":"hi","extra":1}"#, 10);
    assert_eq!(msg, Ok(Command::Message("hi".into())));
    assert_eq!(parse(r#"{"type":"typing"}"#, 10), Ok(Command::Typing));
}

#[test]
fn classifies_bad_frames() {
    assert_eq!(code("not json"), ErrorCode::InvalidJson);
    assert_eq!(code("[1,2]"), ErrorCode::InvalidJson);
    assert_eq!(code(r#"{"text":"no type"}"#), ErrorCode::InvalidMessage);
    assert_eq!(
        code(r#"{"type":"message","text":5}"#),
        ErrorCode::InvalidMessage
    );
    assert_eq!(code(r#"{"type":"message"}"#), ErrorCode::InvalidMessage);
    assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
    assert_eq!(
        code(r#"{"type":"message","text":"  "}"#),
        ErrorCode::EmptyText
    );
    assert_eq!(
        code(r#"{"type":"message","text":"12345678901"}"#),
        ErrorCode::TextTooLong
    );
    // The limit counts characters, not bytes.
    assert!(parse(r#"{"type":"message","text":"éééééééééé"}"#, 10).is_ok());
}

#[test]
fn outgoing_frames_have_the_spec_fields_in_order() {
    let m = Outgoing::Message {
        client_id: "a",
        text: "<b>",
        room_id: "r",
        timestamp: 7,
        offset: 3,
    };
    assert_eq!(
        m.encode().as_str(),
        r#"{"type":"message","client_id":"a","text":"<b>","room_id":"r","timestamp":7,"offset":3}"#
    );
    let h = history(stored("r", "e1", 2, &[m.encode(), m.encode()]), None);
    let v: Value = serde_json::from_str(h.as_str()).expect("history is JSON");
    assert_eq!(v["type"], "history");
    assert_eq!(v["epoch"], "e1");
    assert_eq!(v["offset"], 2);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["messages"][0]["text"], "<b>");
    assert!(v.get("recovered").is_none());
    let e = Outgoing::Error {
        code: ErrorCode::RateLimited,
        message: "slow down",
    };
    let v: Value = serde_json::from_str(e.encode().as_str()).expect("error is JSON");
    assert_eq!(
        v,
        json!({"type":"error","code":"rate_limited","message":"slow down"})
    );
}

#[test]
fn the_largest_history_fits_the_outgoing_frame_bound() {
    let limits = crate::Limits::default();
    // Control characters escape to six bytes each: the longest a text can encode to.
    let text = "\u{1}".repeat(limits.max_text_chars);
    let longest_id = "i".repeat(MAX_ID_LEN);
    let message = Outgoing::Message {
        client_id: &longest_id,
        text: &text,
        room_id: &longest_id,
        timestamp: u64::MAX,
        offset: u64::MAX,
    }
    .encode();
    let full = vec![message; limits.history_len];
    let epoch = crate::random_hex();
    let frame = history(
        stored(&longest_id, &epoch, u64::MAX, &full),
        since(1, "x").as_ref(),
    );
    assert!(frame.len() > 6 * limits.max_text_chars * limits.history_len);
    assert!(
        frame.len() <= limits.largest_outgoing_frame_bytes(),
        "{} > {}",
        frame.len(),
        limits.largest_outgoing_frame_bytes()
    );
}
