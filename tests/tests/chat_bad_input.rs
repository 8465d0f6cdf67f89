//! demo-chat over real WebSockets: every bad input gets an `error` (or a close) for its sender
//! only, and the other clients never notice.

mod chat_common;

use chat_common::{Client, Server};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Sends `frame` from `bad`, checks the error code it gets, and that `good` saw nothing.
async fn refused(bad: &mut Client, good: &mut Client, frame: Message, code: &str) {
    bad.ws.send(frame).await.expect("send");
    let error = bad.recv_json().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["code"], code, "{error}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    bad.say("ok").await;
    assert_eq!(
        bad.recv_json().await["text"],
        "ok",
        "the sender stays connected"
    );
    assert_eq!(
        good.recv_json().await["text"],
        "ok",
        "the others saw nothing before"
    );
}

#[tokio::test]
async fn bad_frames_get_an_error_for_their_sender_only() {
    let server = Server::start().await;
    let mut bad = server.join("r", "bad").await;
    let mut good = server.join("r", "good").await;
    bad.recv_json().await; // good joined
    let cases = [
        (Message::text("not json"), "invalid_json"),
        (Message::text("[1]"), "invalid_json"),
        (Message::text(r#"{"text":"no type"}"#), "invalid_message"),
        (Message::text(r#"{"type":"message"}"#), "invalid_message"),
        (
            Message::text(r#"{"type":"shout","text":"x"}"#),
            "unknown_type",
        ),
        (
            Message::text(r#"{"type":"message","text":""}"#),
            "empty_text",
        ),
        (
            Message::text(r#"{"type":"message","text":" \n "}"#),
            "empty_text",
        ),
        (
            Message::text(json!({"type":"message","text":"x".repeat(4001)}).to_string()),
            "text_too_long",
        ),
        (Message::binary(vec![1, 2, 3]), "binary_not_supported"),
    ];
    for (frame, code) in cases {
        refused(&mut bad, &mut good, frame, code).await;
    }
    // Exactly 4,000 characters is accepted.
    bad.say(&"é".repeat(4000)).await;
    assert_eq!(
        good.recv_json().await["text"]
            .as_str()
            .map(|t| t.chars().count()),
        Some(4000)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009_and_the_room_goes_on() {
    let server = Server::start().await;
    let mut big = server.join("r", "big").await;
    let mut good = server.join("r", "good").await;
    let frame = json!({"type":"message","text":"x".repeat(64 * 1024)}).to_string();
    big.ws.send(Message::text(frame)).await.expect("send");
    assert_eq!(big.recv_close().await.0, 1009);
    let left = good.recv_json().await;
    assert_eq!(left["type"], "user_left");
    assert_eq!(left["client_id"], "big");
    good.say("still fine").await;
    assert_eq!(good.recv_json().await["text"], "still fine");
    server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_with_errors_not_a_crash() {
    let server = Server::start().await; // 20/s, burst 40
    let mut fast = server.join("r", "fast").await;
    let mut other = server.join("r", "other").await;
    fast.recv_json().await; // other joined
    // 200 frames: even if the server needed 8 s to read them all, some would be over the limit.
    for i in 0..200 {
        fast.say(&format!("{i}")).await;
    }
    let (mut delivered, mut limited) = (0, 0);
    while delivered + limited < 200 {
        let frame = fast.recv_json().await;
        match frame["type"].as_str() {
            Some("message") => delivered += 1,
            Some("error") if frame["code"] == "rate_limited" => limited += 1,
            _ => panic!("unexpected {frame}"),
        }
    }
    assert!(delivered >= 40, "the burst passes: {delivered}");
    assert!(limited >= 1, "some are limited");
    for _ in 0..delivered {
        assert_eq!(other.recv_json().await["type"], "message");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn binary_frames_count_against_the_rate_limit_too() {
    let server = Server::start().await; // 20/s, burst 40
    let mut flood = server.join("r", "flood").await;
    for _ in 0..200 {
        flood
            .ws
            .send(Message::binary(vec![0u8; 6]))
            .await
            .expect("send");
    }
    let (mut refused, mut limited) = (0, 0);
    while refused + limited < 200 {
        let frame = flood.recv_json().await;
        match frame["code"].as_str() {
            Some("binary_not_supported") => refused += 1,
            Some("rate_limited") => limited += 1,
            _ => panic!("unexpected {frame}"),
        }
    }
    assert!(refused >= 40, "the burst is answered: {refused}");
    assert!(limited >= 1, "the flood is limited");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_ids_are_closed_with_4400_and_a_reason() {
    let server = Server::start().await;
    let long = "x".repeat(65);
    for (room, client) in [
        ("bad%20room", "c"),
        ("r", "a+b"),
        (long.as_str(), "c"),
        ("r", long.as_str()),
    ] {
        let mut c = server.connect(room, client).await;
        let (code, reason) = c.recv_close().await;
        assert_eq!(code, 4400, "{room}/{client}");
        assert!(reason.contains("_id"), "{reason}");
    }
    let (_, list) = server.get("/rooms").await;
    assert_eq!(list["count"], 1, "no room was created");
    server.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_client_id_is_refused_with_4409() {
    let server = Server::start().await;
    let mut first = server.join("r", "same").await;
    let mut second = server.connect("r", "same").await;
    assert_eq!(second.recv_close().await.0, 4409);
    // The first connection is untouched, and the same id in another room is fine.
    first.say("still me").await;
    assert_eq!(first.recv_json().await["text"], "still me");
    let _elsewhere = server.join("other", "same").await;
    let (_, room) = server.get("/rooms/r").await;
    assert_eq!(room["participant_count"], 1);
    server.shutdown().await;
}
