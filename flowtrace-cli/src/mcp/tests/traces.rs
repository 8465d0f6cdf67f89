//! `search`, `tree` and `timeline` given a distributed trace id, on `node-a.jsonl` and
//! `node-b.jsonl`: two processes (chat-a, chat-b) sharing trace 4bf92f35…, whose root in chat-b
//! (#47) continues #43 of chat-a. The expected trees agree with the CLI's `tree-trace.txt` and
//! `tree-trace-one-node.txt`.

use serde_json::json;

use super::*;
use crate::mcp::calltree::tree;
use crate::mcp::timeline::timeline;

const NODE_A: &str = "tests/fixtures/node-a.jsonl";
const NODE_B: &str = "tests/fixtures/node-b.jsonl";
const SHARED: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn trace_tree(id: &str) -> TreeParams {
    TreeParams {
        id: None,
        trace: Some(id.to_owned()),
        ..tree_params(0)
    }
}

/// `(segment, id, depth, sharePercent)` of each node.
fn nodes(tree: &Value) -> Vec<(u64, u64, u64, Option<f64>)> {
    tree["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            Some((
                n["segment"].as_u64()?,
                n["id"].as_u64()?,
                n["depth"].as_u64()?,
                n["sharePercent"].as_f64(),
            ))
        })
        .collect()
}

#[test]
fn open_names_each_process_from_its_start() {
    let opened = value(crate::mcp::open::describe(
        "t1",
        &open(&[NODE_A, NODE_B]),
        None,
    ));
    let named: Vec<(Value, Value, Value)> = opened["processes"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["service"].clone(),
                p["pid"].clone(),
                p["instance"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (json!("chat-a"), json!(11073), json!("d020fb216287a6d8")),
            (json!("chat-b"), json!(11073), json!("c9c0324e23afad79")),
        ]
    );
    // A trace written before START records: nothing to name its process with.
    let old = value(crate::mcp::open::describe(
        "t1",
        &open(&["tests/fixtures/partial.jsonl"]),
        None,
    ));
    let process = &old["processes"]["items"][0];
    assert_eq!(
        (
            process.get("service"),
            process.get("pid"),
            process.get("instance")
        ),
        (None, None, None)
    );
}

#[test]
fn tree_of_a_trace_hangs_the_remote_root_under_its_parent_in_the_other_process() {
    let trace = open(&[NODE_A, NODE_B]);
    let stitched = value(tree(&trace, &trace_tree(SHARED)));
    // `tree-trace.txt`: #47 of chat-b under #43 of chat-a, after #44, with 68.7% of its time.
    assert_eq!(
        nodes(&stitched),
        [
            (0, 41, 0, None),
            (0, 42, 1, Some(12.4)),
            (0, 43, 1, Some(81.1)),
            (0, 44, 2, Some(92.6)),
            (1, 47, 2, Some(68.7)),
            (1, 48, 3, Some(21.4)),
            (1, 49, 3, Some(18.8)),
        ]
    );
    assert_eq!(stitched["nodes"][2]["children"], json!(2));
    assert_eq!(
        (stitched["total"].clone(), stitched["more"].clone()),
        (json!(7), json!(false))
    );
    let shallow = value(tree(
        &trace,
        &TreeParams {
            depth: Some(1),
            ..trace_tree(SHARED)
        },
    ));
    assert_eq!(ids(&shallow, "nodes"), [41, 42, 43]);
    assert_eq!(shallow["more"], json!(true));
    // `tree-trace-one-node.txt`: without chat-a, #47 is the top; the id in capitals is the same.
    let alone = open(&[NODE_B]);
    let top = value(tree(&alone, &trace_tree(&SHARED.to_uppercase())));
    assert_eq!(
        nodes(&top),
        [
            (0, 47, 0, None),
            (0, 48, 1, Some(21.4)),
            (0, 49, 1, Some(18.8))
        ]
    );
}

#[test]
fn search_and_timeline_of_a_trace_cover_every_process() {
    let trace = open(&[NODE_A, NODE_B]);
    let all = searched(
        &trace,
        SearchParams {
            trace: Some(SHARED.to_owned()),
            ..Default::default()
        },
    );
    // Not #45 (login, another trace) nor #46 (average, another trace of chat-b).
    assert_eq!(ids(&all, "calls"), [41, 42, 43, 44, 47, 48, 49]);
    assert_eq!(all["total"], json!(7));
    let sanitized = searched(
        &trace,
        SearchParams {
            trace: Some(SHARED.to_owned()),
            function: Some("sanitize".to_owned()),
            ..Default::default()
        },
    );
    assert_eq!(ids(&sanitized, "calls"), [42, 48, 49]);
    let records = value(timeline(
        &trace,
        &TimelineParams {
            trace: Some(SHARED.to_owned()),
            ..timeline_params()
        },
    ));
    let seen: Vec<(u64, u64, &str, u64)> = records["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["segment"].as_u64()?,
                r["id"].as_u64()?,
                r["event"].as_str()?,
                r["depth"].as_u64()?,
            ))
        })
        .collect();
    assert_eq!(
        seen,
        [
            (0, 41, "ENTER", 0),
            (0, 42, "ENTER", 1),
            (0, 42, "EXIT", 1),
            (0, 43, "ENTER", 1),
            (0, 44, "ENTER", 2),
            (0, 44, "EXIT", 2),
            (0, 43, "EXIT", 1),
            (0, 41, "EXIT", 0),
            (1, 47, "ENTER", 2),
            (1, 48, "ENTER", 3),
            (1, 48, "EXIT", 3),
            (1, 49, "ENTER", 3),
            (1, 49, "EXIT", 3),
            (1, 47, "EXIT", 2),
        ]
    );
    assert_eq!(
        (records["total"].clone(), records["more"].clone()),
        (json!(14), json!(false))
    );
}

#[test]
fn a_bad_or_unknown_trace_id_is_a_tool_error() {
    let trace = open(&[NODE_A]);
    assert_eq!(
        error(tree(&trace, &trace_tree("4bf92f35"))),
        "invalid trace id `4bf92f35`: expected 32 hex digits"
    );
    // `tree-no-such-trace.txt`: this id is in no file given.
    assert_eq!(
        error(search(
            &trace,
            &SearchParams {
                handle: handle(),
                trace: Some("0af7651916cd43dd8448eb211c80319c".to_owned()),
                ..Default::default()
            }
        )),
        "no call of trace 0af7651916cd43dd8448eb211c80319c in the trace"
    );
    assert_eq!(
        error(tree(
            &trace,
            &TreeParams {
                id: Some(41),
                ..trace_tree(SHARED)
            }
        )),
        "give exactly one of `id` and `trace`"
    );
    assert_eq!(
        error(timeline(
            &trace,
            &TimelineParams {
                id: Some(41),
                trace: Some(SHARED.to_owned()),
                ..timeline_params()
            }
        )),
        "give exactly one of `thread`, `id` and `trace`"
    );
}

#[test]
fn remote_parents_in_a_cycle_lose_no_call_and_hang_nothing() {
    // A damaged trace: two processes whose roots each name the other's root as remote parent.
    let (a, b) = ("00000000000000a1", "00000000000000b2");
    let span = |instance: &str| {
        crate::ids::span_id(instance, 1)
            .map(|span| format!("{span:016x}"))
            .unwrap_or_else(|| panic!("no span id for {instance}"))
    };
    let run = |instance: &str, parent: &str, micros: u64| {
        format!(
            "{{\"timestamp\":1,\"event\":\"START\",\"service\":\"s\",\"pid\":1,\"instance\":\"{instance}\",\"timestampMicros\":{micros}}}\n\
             {{\"timestamp\":1,\"event\":\"ENTER\",\"thread\":\"main\",\"module\":\"m\",\"function\":\"f\",\"args\":\"{{}}\",\"id\":1,\"trace\":\"{SHARED}\",\"remoteParent\":\"{parent}\",\"timestampMicros\":{}}}\n\
             {{\"timestamp\":1,\"event\":\"EXIT\",\"thread\":\"main\",\"module\":\"m\",\"function\":\"f\",\"durationMicros\":5,\"id\":1,\"timestampMicros\":{}}}\n",
            micros + 1,
            micros + 6
        )
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("cycle.jsonl");
    let text = run(a, &span(b), 1_000) + &run(b, &span(a), 2_000);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let path = path.to_string_lossy().into_owned();
    let trace = open(&[&path]);
    let stitched = value(tree(&trace, &trace_tree(SHARED)));
    assert_eq!(nodes(&stitched), [(0, 1, 0, None), (1, 1, 0, None)]);
    assert_eq!(stitched["total"], json!(2));
}
