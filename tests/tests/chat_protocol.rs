//! demo-chat over real WebSockets: the frames of design §4 with their exact fields, presence
//! counts, history, room isolation and typing.

mod chat_common;

use chat_common::{Server, unlimited};
use serde_json::{Value, json};

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn a_message_reaches_everyone_with_exact_fields() {
    let server = Server::start().await;
    let mut alice = server.join("general", "alice").await;
    let mut bob = server.join("general", "bob").await;
    assert_eq!(
        alice.recv_json().await,
        json!({"type":"user_joined","client_id":"bob","room_id":"general","participant_count":2})
    );
    alice.say("Hello, World!").await;
    let to_alice = alice.recv_json().await;
    let to_bob = bob.recv_json().await;
    assert_eq!(to_alice, to_bob, "sender and others get the same frame");
    assert_eq!(
        keys(&to_bob),
        [
            "client_id",
            "offset",
            "room_id",
            "text",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(to_bob["offset"], 1);
    assert_eq!(to_bob["type"], "message");
    assert_eq!(to_bob["client_id"], "alice");
    assert_eq!(to_bob["text"], "Hello, World!");
    assert_eq!(to_bob["room_id"], "general");
    assert!(
        to_bob["timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn joins_and_leaves_are_counted_for_everyone() {
    let server = Server::start().await;
    let mut a = server.connect("counts", "a").await;
    let history = a.recv_json().await;
    assert_eq!(
        keys(&history),
        ["epoch", "messages", "offset", "room_id", "type"]
    );
    assert_eq!(history["messages"], json!([]));
    assert_eq!(history["offset"], 0);
    assert!(history["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(a.recv_json().await["participant_count"], 1);
    let mut b = server.join("counts", "b").await;
    let mut c = server.join("counts", "c").await;
    assert_eq!(a.recv_json().await["participant_count"], 2);
    let seen_by_a = a.recv_json().await;
    assert_eq!(
        (
            seen_by_a["client_id"].clone(),
            seen_by_a["participant_count"].clone()
        ),
        (json!("c"), json!(3))
    );
    assert_eq!(b.recv_json().await["participant_count"], 3);
    b.ws.close(None).await.expect("close");
    for other in [&mut a, &mut c] {
        assert_eq!(
            other.recv_json().await,
            json!({"type":"user_left","client_id":"b","room_id":"counts","participant_count":2})
        );
    }
    let (status, room) = server.get("/rooms/counts").await;
    assert_eq!(status, 200);
    assert_eq!(room["participant_count"], 2);
    assert_eq!(room["participants"], json!(["a", "c"]));
    server.shutdown().await;
}

#[tokio::test]
async fn history_keeps_the_last_100_in_order_exactly_as_broadcast() {
    let server = Server::start_with(unlimited()).await;
    let mut writer = server.join("hist", "writer").await;
    let mut broadcast = Vec::new();
    for i in 0..105 {
        writer.say(&format!("m{i}")).await;
        broadcast.push(writer.recv_json().await);
    }
    let mut reader = server.connect("hist", "reader").await;
    let history = reader.recv_json().await;
    assert_eq!(history["type"], "history");
    assert_eq!(history["room_id"], "hist");
    let messages = history["messages"].as_array().expect("messages list");
    assert_eq!(messages.len(), 100);
    assert_eq!(
        messages.as_slice(),
        &broadcast[5..],
        "oldest first, same frames"
    );
    let (_, room) = server.get("/rooms/hist").await;
    assert_eq!(room["message_count"], 105);
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_history_of_the_longest_messages_reaches_a_newcomer() {
    let server = Server::start_with(unlimited()).await;
    let mut writer = server.join("long", "writer").await;
    // 4,000 control characters: the longest text, escaped to 24,000 bytes in every frame.
    let text = "\u{1}".repeat(4_000);
    for _ in 0..100 {
        writer.say(&text).await;
        assert_eq!(writer.recv_json().await["text"], text.as_str());
    }
    let mut reader = server.connect("long", "reader").await;
    let history = reader.recv_json().await;
    assert_eq!(history["type"], "history");
    let messages = history["messages"].as_array().expect("messages list");
    assert_eq!(messages.len(), 100);
    assert!(messages.iter().all(|m| m["text"] == text.as_str()));
    assert_eq!(reader.recv_json().await["type"], "user_joined");
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = Server::start().await;
    let mut red = server.join("red", "r1").await;
    let mut red2 = server.join("red", "r2").await;
    let mut blue = server.join("blue", "b1").await;
    red.recv_json().await; // r2 joined
    red2.say("only for red").await;
    assert_eq!(red.recv_json().await["text"], "only for red");
    // The fan-out into queues happened before `red` read it: had blue been a recipient, that
    // frame would now come before this marker.
    blue.say("marker").await;
    let next = blue.recv_json().await;
    assert_eq!(next["text"], "marker");
    assert_eq!(next["room_id"], "blue");
    let mut late = server.connect("blue", "b2").await;
    assert_eq!(
        late.recv_json().await["messages"].as_array().map(Vec::len),
        Some(1)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn typing_goes_to_the_others_and_is_never_stored() {
    let server = Server::start().await;
    let mut typist = server.join("t", "typist").await;
    let mut watcher = server.join("t", "watcher").await;
    typist.recv_json().await; // watcher joined
    typist.send_json(json!({"type":"typing"})).await;
    assert_eq!(
        watcher.recv_json().await,
        json!({"type":"typing","client_id":"typist","room_id":"t"})
    );
    typist.say("done").await;
    assert_eq!(
        typist.recv_json().await["type"],
        "message",
        "no typing echo to the typist"
    );
    assert_eq!(watcher.recv_json().await["text"], "done");
    let mut late = server.connect("t", "late").await;
    let history = late.recv_json().await;
    let stored: Vec<&Value> = history["messages"]
        .as_array()
        .expect("list")
        .iter()
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["type"], "message");
    let (_, room) = server.get("/rooms/t").await;
    assert_eq!(room["message_count"], 1);
    server.shutdown().await;
}

#[tokio::test]
async fn connecting_to_an_unknown_room_creates_it() {
    let server = Server::start().await;
    assert_eq!(server.get("/rooms/fresh").await.0, 404);
    let _c = server.join("fresh", "first").await;
    let (status, room) = server.get("/rooms/fresh").await;
    assert_eq!(status, 200);
    assert_eq!(room["participant_count"], 1);
    let (_, list) = server.get("/rooms").await;
    assert_eq!(list["count"], 2);
    server.shutdown().await;
}
