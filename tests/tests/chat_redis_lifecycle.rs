//! Nodes come and go (design §5): rooms, history and counts survive a restart of every node,
//! and the members of a node killed without a goodbye are announced as gone by the others
//! within 30 s (their lease is not renewed).

mod chat_common;
mod chat_redis_common;

use std::time::Duration;

use chat_common::{Client, http};
use chat_redis_common::{Node, Redis, messages, wait_for};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_history_and_counts_survive_a_restart_of_every_node() {
    let redis = Redis::start().await;
    let mut a = Node::start(&redis);
    let mut b = Node::start(&redis);
    assert_eq!(
        http(a.addr, "POST", "/rooms?room_id=kept&name=Kept")
            .await
            .0,
        200
    );
    let (mut alice, history) = a.join("kept", "alice").await;
    let epoch = history["epoch"].as_str().expect("epoch").to_owned();
    let (mut bob, _) = b.join("kept", "bob").await;
    for i in 0..5 {
        alice.say(&format!("a{i}")).await;
        bob.say(&format!("b{i}")).await;
    }
    let before = messages(&mut alice, 10).await;
    messages(&mut bob, 10).await;

    a.stop();
    b.stop();
    // SIGTERM closed every client with 1001.
    assert_eq!(alice.recv_close().await.0, 1001);
    assert_eq!(bob.recv_close().await.0, 1001);

    let a = Node::start(&redis);
    let b = Node::start(&redis);
    for node in [&a, &b] {
        let room = wait_for(node, "/rooms/kept", |s, _| s == 200).await;
        assert_eq!(room["name"], "Kept");
        assert_eq!(room["message_count"], 10);
        assert_eq!(
            room["participant_count"], 0,
            "the stopped nodes' members left"
        );
    }
    let (mut carol, history) = b.join("kept", "carol").await;
    assert_eq!(
        history["epoch"],
        epoch.as_str(),
        "the same room, not a new one"
    );
    assert_eq!(history["offset"], 10);
    assert_eq!(history["messages"], json!(before));
    // A client of before the restart recovers exactly, on another node.
    let path = format!("kept/alice?since=7&epoch={epoch}");
    let mut back = Client::connect_path(a.addr, &path).await;
    let recovered = back.recv_json().await;
    assert_eq!(recovered["recovered"], true);
    assert_eq!(recovered["messages"], json!(before[7..]));
    // And the next message continues the offsets.
    carol.say("after").await;
    let next = carol.recv_type("message").await;
    assert_eq!(
        (next["text"].clone(), next["offset"].clone()),
        (json!("after"), json!(11))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_s_members_are_announced_as_left_within_30_s() {
    let redis = Redis::start().await;
    let a = Node::start(&redis);
    let mut b = Node::start(&redis);
    let (mut alice, _) = a.join("k", "alice").await;
    let (_bob, _) = b.join("k", "bob").await;
    let (_bea, _) = b.join("k", "bea").await;
    alice.recv_type("user_joined").await;
    alice.recv_type("user_joined").await;
    assert_eq!(a.get("/rooms/k").await.1["participant_count"], 3);

    b.kill();
    // The contract's bound is the deadline: both announced within 30 s of the kill.
    let announced = async {
        let mut gone = Vec::new();
        while gone.len() < 2 {
            let left = alice.recv_type("user_left").await;
            gone.push(left["client_id"].as_str().expect("client_id").to_owned());
            if gone.len() == 2 {
                assert_eq!(left["participant_count"], 1);
            }
        }
        gone
    };
    let mut gone = tokio::time::timeout(Duration::from_secs(30), announced)
        .await
        .expect("user_left for both within 30 s of kill -9");
    gone.sort();
    assert_eq!(gone, ["bea", "bob"]);
    let room = a.get("/rooms/k").await.1;
    assert_eq!(room["participant_count"], 1);
    assert_eq!(room["participants"], json!(["alice"]));
    // Their ids are free again.
    a.join("k", "bob").await;
}
