//! Several demo-chat nodes on one test-started Redis are one chat (design §5): every member on
//! every node sees every message in one order (offsets 1..N, no gap, no duplicate); counts,
//! participants and room lists agree across nodes; a duplicate client id is refused on any node;
//! rooms created or deleted on one node are created or deleted for all.

mod chat_common;
mod chat_redis_common;

use chat_common::http;
use chat_redis_common::{Node, Redis, messages, wait_for};
use serde_json::{Value, json};

const PER_NODE: usize = 3;
const PER_CLIENT: usize = 10;

/// Clients on every node of `nodes` send at once; all must see the same sequence.
async fn one_order_across(node_count: usize) {
    let redis = Redis::start().await;
    let nodes: Vec<Node> = (0..node_count).map(|_| Node::start(&redis)).collect();
    let mut clients = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for c in 0..PER_NODE {
            clients.push(node.join("order", &format!("n{n}c{c}")).await.0);
        }
    }
    let total = clients.len() * PER_CLIENT;
    // Everyone sends, interleaved across nodes, without waiting for echoes.
    for i in 0..PER_CLIENT {
        for (k, client) in clients.iter_mut().enumerate() {
            client.say(&format!("{k}:{i}")).await;
        }
    }
    let mut sequences = Vec::new();
    for client in &mut clients {
        let seen = messages(client, total).await;
        let offsets: Vec<u64> = seen.iter().filter_map(|m| m["offset"].as_u64()).collect();
        assert_eq!(
            offsets,
            (1..=total as u64).collect::<Vec<_>>(),
            "offsets 1..N, in order"
        );
        let texts: Vec<String> = seen.iter().map(|m| m["text"].to_string()).collect();
        sequences.push(texts);
    }
    for other in &sequences[1..] {
        assert_eq!(other, &sequences[0], "every member sees one order");
    }
    // Each sender's own messages keep their sending order.
    for k in 0..clients.len() {
        let own: Vec<&String> = sequences[0]
            .iter()
            .filter(|t| t.starts_with(&format!("\"{k}:")))
            .collect();
        let expected: Vec<String> = (0..PER_CLIENT).map(|i| format!("\"{k}:{i}\"")).collect();
        assert_eq!(own, expected.iter().collect::<Vec<_>>());
    }
    // Every node reports the same room.
    let participants: Vec<String> = (0..node_count)
        .flat_map(|n| (0..PER_NODE).map(move |c| format!("n{n}c{c}")))
        .collect();
    for node in &nodes {
        let (status, room) = node.get("/rooms/order").await;
        assert_eq!(status, 200);
        assert_eq!(room["message_count"], total);
        assert_eq!(room["participant_count"], clients.len());
        assert_eq!(room["participants"], json!(participants));
        let (_, list) = node.get("/rooms").await;
        let listed: Vec<&Value> = list["rooms"].as_array().expect("rooms").iter().collect();
        let order = listed
            .iter()
            .find(|r| r["room_id"] == "order")
            .expect("listed");
        assert_eq!(order["message_count"], total);
        assert_eq!(order["participant_count"], clients.len());
        assert!(listed.iter().any(|r| r["room_id"] == "general"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_are_one_chat_with_one_order() {
    one_order_across(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_are_one_chat_with_one_order() {
    one_order_across(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_counted_across_nodes() {
    let redis = Redis::start().await;
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let (mut alice, _) = a.join("p", "alice").await;
    let (mut bob, _) = b.join("p", "bob").await;
    let joined = alice.recv_type("user_joined").await;
    assert_eq!(
        joined,
        json!({"type":"user_joined","client_id":"bob","room_id":"p","participant_count":2})
    );
    bob.ws.close(None).await.expect("close");
    assert_eq!(
        alice.recv_type("user_left").await,
        json!({"type":"user_left","client_id":"bob","room_id":"p","participant_count":1})
    );
    wait_for(&b, "/rooms/p", |_, r| r["participant_count"] == 1).await;
    // Typing reaches the others on other nodes, never its sender.
    let (mut carol, _) = b.join("p", "carol").await;
    alice.recv_type("user_joined").await;
    carol.send_json(json!({"type":"typing"})).await;
    assert_eq!(
        alice.recv_type("typing").await,
        json!({"type":"typing","client_id":"carol","room_id":"p"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_connected_on_one_node_is_a_duplicate_on_another() {
    let redis = Redis::start().await;
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let (mut first, _) = a.join("dup", "same").await;
    let mut second = b.connect("dup", "same").await;
    let (code, reason) = second.recv_close().await;
    assert_eq!(code, 4409, "{reason}");
    // The first connection is untouched and the count is right everywhere.
    first.say("still here").await;
    assert_eq!(first.recv_type("message").await["text"], "still here");
    assert_eq!(b.get("/rooms/dup").await.1["participant_count"], 1);
    // Once the first has gone, the id is free on any node.
    first.ws.close(None).await.expect("close");
    wait_for(&a, "/rooms/dup", |_, r| r["participant_count"] == 0).await;
    b.join("dup", "same").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_created_and_deleted_on_one_node_are_so_on_every_node() {
    let redis = Redis::start().await;
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let (status, created) = http(a.addr, "POST", "/rooms?room_id=shared&name=Shared").await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["name"], "Shared");
    let (status, seen) = b.get("/rooms/shared").await;
    assert_eq!((status, seen["name"].clone()), (200, json!("Shared")));
    let (status, _) = http(b.addr, "POST", "/rooms?room_id=shared").await;
    assert_eq!(status, 409, "an id taken on another node");

    let (mut on_a, _) = a.join("shared", "x").await;
    let (mut on_b, _) = b.join("shared", "y").await;
    on_a.recv_type("user_joined").await;
    let (status, body) = http(a.addr, "DELETE", "/rooms/shared").await;
    assert_eq!(status, 200, "{body}");
    for member in [&mut on_b, &mut on_a] {
        assert_eq!(
            member.recv_json().await,
            json!({"type":"room_deleted","room_id":"shared"})
        );
        assert_eq!(member.recv_close().await.0, 4410);
    }
    assert_eq!(b.get("/rooms/shared").await.0, 404);
    assert_eq!(http(b.addr, "DELETE", "/rooms/shared").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_cap_and_idle_reaping_hold_across_nodes() {
    let redis = Redis::start().await;
    let flags = ["--max-rooms", "3", "--room-idle", "1"];
    let a = Node::start_with(&redis, &flags);
    let b = Node::start_with(&redis, &flags);
    wait_for(&a, "/rooms", |s, r| s == 200 && r["count"] == 1).await; // general
    assert_eq!(http(a.addr, "POST", "/rooms?room_id=kept").await.0, 200);
    // An auto-created room on B, used by nobody once its member leaves: reaped for all.
    let (mut passer, _) = b.join("passing", "p").await;
    // The cap counts rooms of every node: a third room is refused on A.
    let (status, body) = http(a.addr, "POST", "/rooms?room_id=third").await;
    assert_eq!((status, body), (503, json!({"detail":"too many rooms"})));
    let mut refused = a.connect("fourth", "x").await;
    assert_eq!(refused.recv_close().await.0, 1013);
    passer.ws.close(None).await.expect("close");
    wait_for(&a, "/rooms/passing", |s, _| s == 404).await;
    // Room freed: a new one fits again; a POSTed room was never reaped.
    assert_eq!(http(a.addr, "POST", "/rooms?room_id=third").await.0, 200);
    assert_eq!(b.get("/rooms/kept").await.0, 200);
}

/// Subscribers of a room's channel, from `PUBSUB NUMSUB`.
async fn subscribers(redis: &Redis, room: &str) -> u64 {
    let reply = redis
        .command(&format!("PUBSUB NUMSUB demo-chat:chan:{room}"))
        .await
        .expect("PUBSUB answers");
    // *2 $len channel :count
    reply
        .lines()
        .find_map(|l| l.strip_prefix(':'))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected PUBSUB reply {reply:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_listens_only_to_rooms_it_has_members_in() {
    let redis = Redis::start().await;
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let (mut only_on_a, _) = a.join("solo", "x").await;
    let (_both_a, _) = a.join("both", "y").await;
    let (_both_b, _) = b.join("both", "z").await;
    assert_eq!(subscribers(&redis, "solo").await, 1);
    assert_eq!(subscribers(&redis, "both").await, 2);
    assert_eq!(
        b.get("/rooms/solo").await.0,
        200,
        "B serves the room without listening"
    );
    only_on_a.ws.close(None).await.expect("close");
    let deadline = tokio::time::Instant::now() + chat_common::DEADLINE;
    while subscribers(&redis, "solo").await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "A still listens to an empty room"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(subscribers(&redis, "both").await, 2);
}
