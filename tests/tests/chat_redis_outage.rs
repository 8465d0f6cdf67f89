//! Redis goes away and comes back on the same port (design §5): the node stays up and says it
//! is degraded, refuses what needs Redis with 503 `storage unavailable`, answers a message it
//! cannot store with `error` `unavailable` and delivers it to nobody, then recovers by itself;
//! a client that reconnects with `since` misses nothing that was acknowledged.

mod chat_common;
mod chat_redis_common;

use chat_common::{Client, http};
use chat_redis_common::{Node, Redis, messages};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_rides_out_a_redis_restart() {
    let mut redis = Redis::start_persistent().await;
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    a.wait_health(200).await;
    let (mut alice, history) = a.join("o", "alice").await;
    let epoch = history["epoch"].as_str().expect("epoch").to_owned();
    let (mut bob, _) = b.join("o", "bob").await;
    alice.say("before").await;
    assert_eq!(messages(&mut bob, 1).await[0]["offset"], 1);
    assert_eq!(messages(&mut alice, 1).await[0]["offset"], 1);

    redis.stop();
    let health = a.wait_health(503).await;
    assert_eq!(health["status"], "degraded");
    b.wait_health(503).await;
    assert_eq!(
        http(a.addr, "GET", "/rooms").await,
        (503, json!({"detail":"storage unavailable"}))
    );
    assert_eq!(
        http(b.addr, "POST", "/rooms?room_id=new").await,
        (503, json!({"detail":"storage unavailable"}))
    );
    alice.say("lost").await;
    let refused = alice.recv_type("error").await;
    assert_eq!(refused["code"], "unavailable");

    redis.restart().await;
    let health = a.wait_health(200).await;
    assert_eq!(health["status"], "healthy");
    b.wait_health(200).await;
    // The connections stayed; the next message is offset 2 for both, and "lost" never came.
    bob.say("after").await;
    for client in [&mut alice, &mut bob] {
        let next = messages(client, 1).await.remove(0);
        assert_eq!(
            (next["text"].clone(), next["offset"].clone()),
            (json!("after"), json!(2))
        );
    }
    // A client that was away recovers every acknowledged message, on either node.
    let path = format!("o/carol?since=0&epoch={epoch}");
    let recovered = Client::connect_path(b.addr, &path).await.recv_json().await;
    assert_eq!(recovered["recovered"], true);
    let texts: Vec<_> = recovered["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("before"), json!("after")]);
    let (status, room) = a.get("/rooms/o").await;
    assert_eq!((status, room["message_count"].clone()), (200, json!(2)));
}
