//! demo-chat traced end to end: one session (HTTP room API, two WebSocket clients, messages,
//! typing, a bad frame), then a graceful shutdown that closes the clients with 1001; the trace
//! file must then hold the whole call tree with every ENTER closed.
//!
//! flowtrace's dispatcher is process-wide, so this file holds a single test.

mod chat_common;

use std::collections::{HashMap, HashSet};

use chat_common::{Server, http};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_session_shuts_down_gracefully_with_a_complete_trace() {
    let dir = std::env::temp_dir().join(format!("chat-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("flowtrace.jsonl");
    let guard = flowtrace_runtime::Config::new()
        .file(&path)
        .init()
        .expect("tracing starts");

    let server = Server::start().await;
    assert_eq!(
        http(server.addr, "POST", "/rooms?room_id=traced&name=Traced")
            .await
            .0,
        200
    );
    let mut alice = server.join("traced", "alice").await;
    let mut bob = server.join("traced", "bob").await;
    alice.recv_json().await; // bob joined
    alice.send_json(json!({"type":"typing"})).await;
    assert_eq!(bob.recv_json().await["type"], "typing");
    alice.say("hello trace").await;
    assert_eq!(bob.recv_json().await["text"], "hello trace");
    bob.send_text("{bad").await;
    assert_eq!(bob.recv_json().await["code"], "invalid_json");
    assert_eq!(server.get("/rooms/nope").await.0, 404);

    server.shutdown().await;
    for client in [&mut alice, &mut bob] {
        assert_eq!(
            client.recv_close().await,
            (1001, "server shutting down".to_owned())
        );
    }
    drop(guard);

    let text = std::fs::read_to_string(&path).expect("trace file");
    std::fs::remove_dir_all(&dir).ok();
    let records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is one JSON object"))
        .collect();
    assert!(text.ends_with('\n'), "no partial last line");

    // Every ENTER is closed exactly once, after it, and parents are open ENTERs.
    let mut open: HashMap<u64, &Value> = HashMap::new();
    let mut closed = HashSet::new();
    assert_eq!(
        records[0]["event"], "START",
        "tracing starts with a START record"
    );
    for r in &records[1..] {
        let id = r["id"].as_u64().expect("call id");
        match r["event"].as_str().expect("event") {
            "ENTER" => {
                if let Some(parent) = r["parent"].as_u64() {
                    assert!(open.contains_key(&parent), "parent {parent} of {r} is open");
                }
                assert!(open.insert(id, r).is_none(), "ids are unique");
            }
            "EXIT" | "EXCEPTION" | "PANIC" | "CANCEL" => {
                let enter = open
                    .remove(&id)
                    .unwrap_or_else(|| panic!("{r} closes an open ENTER"));
                assert_eq!(enter["function"], r["function"]);
                assert!(closed.insert(id));
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(
        open.is_empty(),
        "unclosed calls: {:?}",
        open.values().collect::<Vec<_>>()
    );

    let enters: Vec<&Value> = records.iter().filter(|r| r["event"] == "ENTER").collect();
    let functions: HashSet<&str> = enters
        .iter()
        .filter_map(|r| r["function"].as_str())
        .collect();
    for expected in [
        "create_room",
        "create",
        "get_room",
        "upgrade",
        "handle_socket",
        "serve",
        "join",
        "history",
        "broadcast",
        "receive_half",
        "send_half",
        "handle_text",
        "post",
        "typing",
        "reply_error",
        "leave",
        "shutdown",
        "close",
    ] {
        assert!(
            functions.contains(expected),
            "no {expected} in {functions:?}"
        );
    }
    // One connection's call tree: handle_socket → serve → … → post → broadcast.
    let by_id: HashMap<u64, &Value> = enters
        .iter()
        .map(|r| (r["id"].as_u64().unwrap_or(0), *r))
        .collect();
    let post = enters
        .iter()
        .find(|r| {
            r["function"] == "post"
                && r["args"]
                    .as_str()
                    .is_some_and(|a| a.contains("hello trace"))
        })
        .expect("the post of alice's message");
    let mut chain = vec![];
    let mut cursor = Some(*post);
    while let Some(r) = cursor {
        chain.push(r["function"].as_str().unwrap_or_default());
        cursor = r["parent"].as_u64().and_then(|p| by_id.get(&p).copied());
    }
    assert_eq!(
        chain,
        [
            "post",
            "handle_text",
            "receive_half",
            "serve",
            "handle_socket"
        ]
    );
    let socket = chain_root(&by_id, post);
    let args: Value =
        serde_json::from_str(socket["args"].as_str().expect("args string")).expect("args JSON");
    assert_eq!(
        args,
        json!({"room_id":"traced","client_id":"alice","since":null})
    );
    let get = enters
        .iter()
        .find(|r| r["function"] == "get_room")
        .expect("get_room");
    let get_close = records
        .iter()
        .find(|r| r["id"] == get["id"] && r["event"] != "ENTER")
        .expect("get_room closed");
    assert_eq!(get_close["event"], "EXCEPTION");
    assert_eq!(get_close["error"], "Room not found");
}

fn chain_root<'a>(by_id: &HashMap<u64, &'a Value>, mut r: &'a Value) -> &'a Value {
    while let Some(parent) = r["parent"].as_u64().and_then(|p| by_id.get(&p)) {
        r = parent;
    }
    r
}
