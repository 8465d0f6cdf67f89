//! Tests of the tools, called directly on indexes of the CLI's fixture traces: `tools` compares
//! each tool's exact structured result, `inputs` covers the other fixtures (rotated sets,
//! several processes, invalid and partial traces, a capped index) and every kind of bad input,
//! `processes` the segments `START` records begin, `traces` one distributed trace across them.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::mcp::calls::{SearchParams, search};
use crate::mcp::calltree::TreeParams;
use crate::mcp::error::ToolError;
use crate::mcp::index::{TraceIndex, build};
use crate::mcp::timeline::TimelineParams;

pub(super) const CHAT: &str = "tests/fixtures/chat.jsonl";

pub(super) fn open_with(paths: &[&str], max_calls: usize) -> TraceIndex {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    build(&paths, max_calls, true).unwrap_or_else(|e| panic!("{paths:?}: {e}"))
}

pub(super) fn open(paths: &[&str]) -> TraceIndex {
    open_with(paths, 1_000)
}

pub(super) fn value<T: Serialize>(result: Result<T, ToolError>) -> Value {
    match result {
        Ok(found) => serde_json::to_value(found).unwrap_or_else(|e| panic!("{e}")),
        Err(error) => panic!("unexpected tool error: {error}"),
    }
}

pub(super) fn error<T: std::fmt::Debug>(result: Result<T, ToolError>) -> String {
    match result {
        Ok(found) => panic!("expected an error, got {found:?}"),
        Err(error) => error.to_string(),
    }
}

/// The `id`s of the objects in the list at `key`.
pub(super) fn ids(value: &Value, key: &str) -> Vec<u64> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no list `{key}` in {value}"))
        .iter()
        .filter_map(|item| item["id"].as_u64())
        .collect()
}

pub(super) fn handle() -> String {
    "t1".to_owned()
}

pub(super) fn searched(trace: &TraceIndex, params: SearchParams) -> Value {
    value(search(
        trace,
        &SearchParams {
            handle: handle(),
            ..params
        },
    ))
}

pub(super) fn timeline_params() -> TimelineParams {
    TimelineParams {
        handle: handle(),
        thread: None,
        id: None,
        trace: None,
        segment: None,
        from: None,
        limit: None,
        offset: None,
    }
}

pub(super) fn tree_params(id: u64) -> TreeParams {
    TreeParams {
        handle: handle(),
        id: Some(id),
        trace: None,
        segment: None,
        depth: None,
        limit: None,
        min_duration: None,
    }
}

mod inputs;
mod processes;
mod tools;
mod traces;

/// The expected result `tests/mcp-golden/{name}.json`.
pub(super) fn golden(name: &str) -> Value {
    let path = format!("tests/mcp-golden/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
