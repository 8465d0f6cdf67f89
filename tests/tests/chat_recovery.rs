//! Design §6 in the memory engine over real WebSockets: offsets on every message, `epoch` and
//! `offset` on `history`, recovery with `?since=N&epoch=E`, the room cap and idle-room reaping.

mod chat_common;

use std::time::Duration;

use chat_common::{Client, DEADLINE, Server, http, unlimited};
use demo_chat::Limits;
use serde_json::{Value, json};

/// The offsets of a `history` frame's messages.
fn offsets(history: &Value) -> Vec<u64> {
    history["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| {
            m["offset"]
                .as_u64()
                .expect("every stored message has an offset")
        })
        .collect()
}

/// Sends `n` messages as `client` and reads their echoes, returning the offsets.
async fn say_many(client: &mut Client, prefix: &str, n: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    for i in 0..n {
        client.say(&format!("{prefix} {i}")).await;
        let echo = client.recv_type("message").await;
        assert_eq!(echo["text"], format!("{prefix} {i}"));
        seen.push(echo["offset"].as_u64().expect("offset"));
    }
    seen
}

#[tokio::test]
async fn a_client_that_reconnects_with_since_gets_exactly_what_it_missed() {
    let server = Server::start_with(unlimited()).await;
    let mut alice = server.connect("recover", "alice").await;
    let first = alice.recv_json().await;
    assert_eq!(
        (first["type"].as_str(), first["offset"].as_u64()),
        (Some("history"), Some(0))
    );
    let epoch = first["epoch"]
        .as_str()
        .expect("epoch is a string")
        .to_owned();
    alice.recv_type("user_joined").await;
    assert_eq!(say_many(&mut alice, "before", 3).await, [1, 2, 3]);
    alice.ws.close(None).await.expect("close");

    let mut bob = server.join("recover", "bob").await;
    assert_eq!(say_many(&mut bob, "meanwhile", 2).await, [4, 5]);

    let mut back =
        Client::connect_path(server.addr, &format!("recover/alice?since=3&epoch={epoch}")).await;
    let history = back.recv_json().await;
    assert_eq!(history["type"], "history");
    assert_eq!(history["recovered"], true);
    assert_eq!(history["epoch"], epoch.as_str());
    assert_eq!(history["offset"], 5);
    assert_eq!(offsets(&history), [4, 5]);
    assert_eq!(history["messages"][0]["text"], "meanwhile 0");

    // Another epoch (e.g. the room was recreated): the whole history, not recovered.
    let mut stale = Client::connect_path(server.addr, "recover/carol?since=3&epoch=other").await;
    let history = stale.recv_json().await;
    assert_eq!(history["recovered"], false);
    assert_eq!(offsets(&history), [1, 2, 3, 4, 5]);

    // Without since: no `recovered` key at all.
    let plain = server.connect("recover", "dave").await.recv_json().await;
    assert!(plain.get("recovered").is_none(), "{plain}");
    server.shutdown().await;
}

#[tokio::test]
async fn since_older_than_the_history_gives_the_last_messages_unrecovered() {
    let limits = Limits {
        history_len: 3,
        ..unlimited()
    };
    let server = Server::start_with(limits).await;
    let mut alice = server.connect("short", "alice").await;
    let epoch = alice.recv_json().await["epoch"]
        .as_str()
        .expect("epoch")
        .to_owned();
    alice.recv_type("user_joined").await;
    say_many(&mut alice, "m", 5).await;
    let path = format!("short/bob?since=1&epoch={epoch}");
    let history = Client::connect_path(server.addr, &path)
        .await
        .recv_json()
        .await;
    assert_eq!(history["recovered"], false);
    assert_eq!(offsets(&history), [3, 4, 5]);
    // since=2: message 3 is the oldest kept, so nothing was lost.
    let path = format!("short/carol?since=2&epoch={epoch}");
    let history = Client::connect_path(server.addr, &path)
        .await
        .recv_json()
        .await;
    assert_eq!(history["recovered"], true);
    assert_eq!(offsets(&history), [3, 4, 5]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_malformed_since_closes_with_4400_and_the_reason() {
    let server = Server::start().await;
    for bad in ["abc", "-1", "1.5", ""] {
        let mut c = Client::connect_path(server.addr, &format!("general/x?since={bad}")).await;
        let (code, reason) = c.recv_close().await;
        assert_eq!(code, 4400, "since={bad}");
        assert!(reason.contains("since"), "{reason}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_are_capped_over_http_and_websocket() {
    let limits = Limits {
        max_rooms: 2,
        ..Limits::default()
    };
    let server = Server::start_with(limits).await;
    let (status, _) = http(server.addr, "POST", "/rooms?room_id=second").await;
    assert_eq!(status, 200);
    let (status, body) = http(server.addr, "POST", "/rooms?room_id=third").await;
    assert_eq!((status, body), (503, json!({"detail":"too many rooms"})));
    let mut c = server.connect("fourth", "x").await;
    assert_eq!(c.recv_close().await.0, 1013);
    // Existing rooms still take members.
    server.join("second", "y").await;
    let (status, _) = server.get("/rooms/fourth").await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

/// Polls `GET /rooms/{id}` until its status is `want`.
async fn wait_status(server: &Server, room: &str, want: u16) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if server.get(&format!("/rooms/{room}")).await.0 == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{room} never answered {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_idle_auto_created_room_is_reaped_and_a_used_one_is_not() {
    let limits = Limits {
        room_idle_ttl: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = Server::start_with(limits).await;
    let (status, _) = http(server.addr, "POST", "/rooms?room_id=posted").await;
    assert_eq!(status, 200);
    let mut idle = server.join("idle", "a").await;
    let mut used = server.join("used", "b").await;
    used.say("keep me").await;
    used.recv_type("message").await;
    idle.ws.close(None).await.expect("close");
    used.ws.close(None).await.expect("close");
    wait_status(&server, "idle", 404).await;
    // Reaped at the same moment as `idle` would have been: these remain.
    for kept in ["used", "posted", "general"] {
        assert_eq!(server.get(&format!("/rooms/{kept}")).await.0, 200, "{kept}");
    }
    // A member keeps an auto-created room alive past the idle time.
    let _stay = server.join("busy", "c").await;
    let mut other = server.join("busy2", "d").await;
    other.ws.close(None).await.expect("close");
    wait_status(&server, "busy2", 404).await;
    assert_eq!(server.get("/rooms/busy").await.0, 200);
    server.shutdown().await;
}
