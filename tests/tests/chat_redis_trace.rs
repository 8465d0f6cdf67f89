//! One chat message is one trace across nodes (design §7): the node that stores a message
//! publishes its sender's traceparent with it (never to WebSocket clients), and every node's
//! fan-out of that message continues the sender's trace, with the sender's call as its remote
//! parent: `flowtrace tree --trace` on both nodes' files shows the whole path.

mod chat_common;
mod chat_redis_common;

use std::collections::HashMap;

use chat_redis_common::{Node, Redis};
use serde_json::Value;

fn records(node: &Node) -> Vec<Value> {
    let text = std::fs::read_to_string(node.trace()).expect("the node's trace");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

/// The trace id of the call `id`: the `trace` of the root its parents lead to.
fn trace_of(records: &[Value], id: u64) -> String {
    let enters: HashMap<u64, &Value> = records
        .iter()
        .filter(|r| r["event"] == "ENTER")
        .filter_map(|r| Some((r["id"].as_u64()?, r)))
        .collect();
    let mut call = enters[&id];
    while let Some(parent) = call["parent"].as_u64() {
        call = enters[&parent];
    }
    call["trace"]
        .as_str()
        .expect("a root ENTER carries trace")
        .to_owned()
}

/// Root `broadcast` calls (fan-outs of a message heard from Redis) that continue `trace`.
fn fan_outs_under(records: &[Value], trace: &str) -> Vec<Value> {
    records
        .iter()
        .filter(|r| r["event"] == "ENTER" && r["function"] == "broadcast")
        .filter(|r| r.get("parent").is_none() && r["trace"] == trace)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_on_one_node_is_one_trace_on_every_node() {
    let redis = Redis::start().await;
    let mut sender_node = Node::start(&redis);
    let mut receiver_node = Node::start(&redis);
    let (mut sender, _) = sender_node.join("traced", "alice").await;
    let (mut receiver, _) = receiver_node.join("traced", "bob").await;
    sender.say("follow me").await;
    let delivered = receiver.recv_type("message").await;
    assert_eq!(delivered["text"], "follow me");
    assert!(
        !delivered.to_string().contains("00-"),
        "no traceparent reaches a WebSocket client: {delivered}"
    );
    sender.recv_type("message").await;
    drop((sender, receiver));
    sender_node.stop();
    receiver_node.stop();

    let sent = records(&sender_node);
    let post = sent
        .iter()
        .find(|r| {
            r["event"] == "ENTER"
                && r["function"] == "post"
                && r["module"].as_str().is_some_and(|m| m.contains("redis"))
                && r["args"].as_str().is_some_and(|a| a.contains("follow me"))
        })
        .expect("the sender's node traced the post");
    let trace = trace_of(&sent, post["id"].as_u64().expect("id"));

    let received = records(&receiver_node);
    let remote = fan_outs_under(&received, &trace);
    assert_eq!(
        remote.len(),
        1,
        "the receiving node's fan-out continues trace {trace}"
    );
    let remote_parent = remote[0]["remoteParent"].as_str().expect("remoteParent");
    assert_eq!(remote_parent.len(), 16, "{}", remote[0]);
    // The sender's node hears its own message from Redis too, under the same remote parent.
    let local = fan_outs_under(&sent, &trace);
    assert_eq!(
        local.len(),
        1,
        "the sending node's fan-out continues trace {trace}"
    );
    assert_eq!(local[0]["remoteParent"], remote_parent);

    // The CLI stitches the two files by that remote parent: the receiving node's broadcast hangs
    // under the sender's post, deeper than it, marked with the other process.
    let tree = std::process::Command::new(env!("CARGO_BIN_EXE_flowtrace_cli_run"))
        .args(["tree", "--color", "never", "--trace", &trace])
        .arg(sender_node.trace())
        .arg(receiver_node.trace())
        .output()
        .expect("run flowtrace tree");
    let text = String::from_utf8_lossy(&tree.stdout);
    assert!(
        tree.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let process_of = |line: &str| line.rsplit_once(" @ ").map(|(_, p)| p.to_owned());
    let sender_process = lines
        .iter()
        .find_map(|l| process_of(l))
        .expect("a process is named");
    let post_at = lines
        .iter()
        .position(|l| l.contains("::redis::post(") && l.contains("follow me"))
        .unwrap_or_else(|| panic!("the sender's post is in the tree:\n{text}"));
    let depth = |line: &str| line.find("demo_chat::").unwrap_or(0);
    let remote_broadcast = lines[post_at + 1..]
        .iter()
        .take_while(|l| depth(l) > depth(lines[post_at]))
        .find(|l| l.contains("::broadcast(") && process_of(l).is_some_and(|p| p != sender_process));
    assert!(
        remote_broadcast.is_some(),
        "the other node's broadcast hangs under the post:\n{text}"
    );
}
