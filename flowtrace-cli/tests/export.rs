//! `flowtrace export --format chrome` output is JSON that trace viewers accept: every `b` event
//! has exactly one `e` with the same `cat`, `name`, `id` and `pid`, not earlier than it, and the
//! arguments of each `ENTER` are attached to its `b`.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Exports `fixture` to a file with `-o` and returns the parsed document.
fn export(fixture: &str) -> Value {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let output = dir.path().join("trace.json");
    let status = Command::new(env!("CARGO_BIN_EXE_flowtrace"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["export", "--format", "chrome", fixture, "-o"])
        .arg(&output)
        .status()
        .unwrap_or_else(|e| panic!("cannot run flowtrace: {e}"));
    assert!(status.success(), "export of {fixture} failed: {status}");
    let text = std::fs::read_to_string(&output).unwrap_or_else(|e| panic!("read output: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("export of {fixture} is not JSON: {e}"))
}

fn events(document: &Value) -> &Vec<Value> {
    document["traceEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("no traceEvents array in {document}"))
}

/// Checks the pairing; returns the number of pairs.
fn assert_pairs_match(document: &Value) -> usize {
    let mut open: HashMap<(String, String, String, u64), u64> = HashMap::new();
    let mut pairs = 0;
    for event in events(document) {
        let ph = event["ph"].as_str().unwrap_or_default();
        if ph != "b" && ph != "e" {
            continue;
        }
        let key = (
            event["cat"].as_str().unwrap_or_default().to_owned(),
            event["name"].as_str().unwrap_or_default().to_owned(),
            event["id"].as_str().unwrap_or_default().to_owned(),
            event["pid"].as_u64().unwrap_or_default(),
        );
        let ts = event["ts"]
            .as_u64()
            .unwrap_or_else(|| panic!("no ts in {event}"));
        if ph == "b" {
            assert!(open.insert(key, ts).is_none(), "second b for {event}");
        } else {
            let begin = open
                .remove(&key)
                .unwrap_or_else(|| panic!("e without b: {event}"));
            assert!(ts >= begin, "e before its b: {event}");
            pairs += 1;
        }
    }
    assert!(open.is_empty(), "b without e: {open:?}");
    pairs
}

fn enter_count(fixture: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|line| line.contains(r#""event":"ENTER""#))
        .count()
}

#[test]
fn chat_export_pairs_every_call_across_thread_hops() {
    let document = export("tests/fixtures/chat.jsonl");
    assert_eq!(
        assert_pairs_match(&document),
        enter_count("tests/fixtures/chat.jsonl")
    );
    // `fan_out` entered on worker-a and finished on worker-b: still one pair, by id.
    let fan_out: Vec<&Value> = events(&document)
        .iter()
        .filter(|e| e["name"] == "fan_out")
        .collect();
    assert_eq!(fan_out.len(), 2, "{fan_out:?}");
    assert_eq!(fan_out[0]["args"]["thread"], "worker-a");
    assert_eq!(fan_out[1]["args"]["thread"], "worker-b");
    assert_eq!(fan_out[0]["args"]["args"]["room_id"], "general");
    // Outcomes travel on the end event.
    let outcomes: Vec<&str> = events(&document)
        .iter()
        .filter(|e| e["ph"] == "e")
        .filter_map(|e| e["args"]["event"].as_str())
        .collect();
    for outcome in ["EXIT", "EXCEPTION", "PANIC", "CANCEL"] {
        assert!(outcomes.contains(&outcome), "no {outcome} in {outcomes:?}");
    }
}

#[test]
fn rotated_set_exports_as_one_process_with_matching_pairs() {
    let document = export("tests/fixtures/rotated.jsonl");
    let enters: usize = [
        "rotated.jsonl.3",
        "rotated.jsonl.2",
        "rotated.jsonl.1",
        "rotated.jsonl",
    ]
    .iter()
    .map(|name| enter_count(&format!("tests/fixtures/{name}")))
    .sum();
    assert_eq!(assert_pairs_match(&document), enters);
    let pids: std::collections::BTreeSet<u64> = events(&document)
        .iter()
        .filter_map(|e| e["pid"].as_u64())
        .collect();
    assert_eq!(pids.into_iter().collect::<Vec<_>>(), [1]);
}

#[test]
fn unpaired_records_still_give_matching_pairs() {
    for (fixture, pairs) in [
        ("tests/fixtures/check/never-closed.jsonl", 2),
        ("tests/fixtures/check/close-without-enter.jsonl", 2),
        ("tests/fixtures/check/duplicate-enter.jsonl", 3),
        ("tests/fixtures/check/duplicate-open-enter.jsonl", 3),
    ] {
        let document = export(fixture);
        assert_eq!(assert_pairs_match(&document), pairs, "{fixture}");
    }
}
