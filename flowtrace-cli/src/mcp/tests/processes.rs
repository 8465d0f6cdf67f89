//! Traces with `START` records: each `START` begins a process (segment), whether it opens a
//! file or follows another run appended to it, and a `START` is a record, never malformed.
//! The counts agree with the CLI's `check-*.txt`, `tree-*.txt` and `stats-*.txt` goldens.

use serde_json::json;

use super::*;
use crate::mcp::calltree::tree;
use crate::mcp::open::describe;

/// `(segment, lines, calls)` of each process `open` lists.
fn processes(opened: &Value) -> Vec<(u64, u64, u64)> {
    opened["processes"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["segment"].as_u64()?,
                p["lines"].as_u64()?,
                p["calls"].as_u64()?,
            ))
        })
        .collect()
}

#[test]
fn each_start_in_one_file_begins_a_process_with_ids_of_its_own() {
    let path = "tests/fixtures/check/two-runs.jsonl";
    let trace = open(&[path]);
    let opened = value(describe("t1", &trace, None));
    // `check-two-runs.txt`: 8 lines, 3 calls; `tree-two-runs.txt`: app (pid 7) with #1 and
    // #2, then app (pid 8) with another #1.
    assert_eq!(
        (
            opened["lines"].clone(),
            opened["records"].clone(),
            opened["malformed"].clone(),
            opened["calls"].clone(),
        ),
        (json!(8), json!(8), json!(0), json!(3))
    );
    assert_eq!(processes(&opened), [(0, 5, 2), (1, 3, 1)]);
    assert_eq!(opened["processes"]["total"], json!(2));
    assert_eq!(
        error(tree(&trace, &tree_params(1))),
        "call id 1 is in several processes (segments 0, 1): pass `segment`"
    );
    let second = value(tree(
        &trace,
        &TreeParams {
            segment: Some(1),
            ..tree_params(1)
        },
    ));
    assert_eq!(
        (second["nodes"][0]["args"].clone(), second["total"].clone()),
        (json!("n=2"), json!(1))
    );
}

#[test]
fn a_start_that_opens_a_file_begins_no_extra_process() {
    // `check-appended.txt`: 18 lines, 8 calls, two runs of 9 lines each.
    let appended = value(describe(
        "t1",
        &open(&["tests/fixtures/appended.jsonl"]),
        None,
    ));
    assert_eq!(processes(&appended), [(0, 9, 4), (1, 9, 4)]);
    assert_eq!(appended["malformed"], json!(0));
    // `tree-nodes.txt`: one process per file, chat-a with #41–#45, chat-b with #46–#49.
    let nodes = value(describe(
        "t1",
        &open(&["tests/fixtures/node-a.jsonl", "tests/fixtures/node-b.jsonl"]),
        None,
    ));
    assert_eq!(processes(&nodes), [(0, 11, 5), (1, 9, 4)]);
    assert_eq!(
        (nodes["lines"].clone(), nodes["malformed"].clone()),
        (json!(20), json!(0))
    );
}
