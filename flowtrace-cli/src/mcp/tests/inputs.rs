//! The other fixtures (rotated sets, several processes, invalid and partial traces, a capped
//! index) and every kind of bad input, each answered with a tool error that says what to do.

use serde_json::json;

use super::*;
use crate::mcp::calls::{SlowestParams, slowest};
use crate::mcp::calltree::{CriticalPathParams, critical_path, tree};
use crate::mcp::common::{call_info, resolve};
use crate::mcp::open::describe;
use crate::mcp::server::FlowtraceServer;
use crate::mcp::summary::{ErrorsParams, SummaryParams, errors, summary};
use crate::mcp::timeline::timeline;
use crate::mcp::{Options, index};

#[test]
fn a_rotated_set_is_one_process_read_oldest_first() {
    let trace = open(&["tests/fixtures/rotated.jsonl"]);
    let opened = value(describe("t1", &trace, None));
    let files = [
        "tests/fixtures/rotated.jsonl.3",
        "tests/fixtures/rotated.jsonl.2",
        "tests/fixtures/rotated.jsonl.1",
        "tests/fixtures/rotated.jsonl",
    ];
    let page = json!({"items": files, "total": 4, "more": false});
    assert_eq!(opened["files"], page);
    assert_eq!(opened["processes"]["total"], json!(1));
    assert_eq!(opened["processes"]["items"][0]["files"], page);
    assert_eq!(
        (opened["lines"].clone(), opened["calls"].clone()),
        // As `flowtrace check` counts them (`check-rotated.txt`): the START is a line, not
        // a malformed one.
        (json!(57), json!(28))
    );
    assert_eq!(opened["malformed"], json!(0));
    assert_eq!(opened["check"]["ok"], json!(true));
    // A call that starts in one file and ends in the next is one call, found by position.
    let calls = &trace.calls;
    let crossing = calls
        .iter()
        .position(|c| c.enter_at >> 48 != c.close_at >> 48)
        .unwrap_or_else(|| panic!("no call crosses a rotation"));
    let info = value(call_info(&trace, crossing as u32));
    assert_eq!(info["end"], json!("EXIT"));
    assert!(
        info["args"].as_str().is_some_and(|a| a.contains("room_id")),
        "{info}"
    );
}

#[test]
fn several_traces_are_several_processes_and_a_shared_id_needs_its_segment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("again.jsonl");
    std::fs::copy(CHAT, &copy).unwrap_or_else(|e| panic!("{e}"));
    let copy = copy.to_string_lossy().into_owned();
    let trace = open(&[CHAT, &copy]);
    let opened = value(describe("t1", &trace, None));
    assert_eq!(
        opened["processes"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["segment"].clone(), p["calls"].clone()))
            .collect::<Vec<_>>(),
        [(json!(0), json!(18)), (json!(1), json!(18))]
    );
    assert_eq!(
        error(tree(&trace, &tree_params(2049))),
        "call id 2049 is in several processes (segments 0, 1): pass `segment`"
    );
    let second = value(tree(
        &trace,
        &TreeParams {
            segment: Some(1),
            depth: Some(0),
            ..tree_params(2049)
        },
    ));
    assert_eq!(second["nodes"][0]["segment"], json!(1));
    assert_eq!(
        second["nodes"][0]["args"],
        json!("room_id=\"general\", frames=[\"message:hello <world>\",\"garbage\",\"typing:\"]")
    );
    assert_eq!(resolve(&trace, 1, Some(0)).ok(), Some(0));
}

#[test]
fn an_invalid_trace_opens_with_checks_violations() {
    let trace = open(&["tests/fixtures/check/closed-twice.jsonl"]);
    let opened = value(describe("t1", &trace, None));
    assert_eq!(
        opened["check"],
        json!({
            "ok": false,
            "violations": 1,
            "first": [
                "tests/fixtures/check/closed-twice.jsonl:4: CANCEL of call 2, which was already closed"
            ],
            "more": false,
            "summary": "check failed: 1 violation in 5 lines (2 calls, 1 file)"
        })
    );
    let unchecked = index::build(
        &["tests/fixtures/check/closed-twice.jsonl".into()],
        10,
        false,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value(describe("t1", &unchecked, None)).get("check"), None);
}

#[test]
fn malformed_and_partial_lines_are_counted_and_skipped() {
    let trace = open(&["tests/fixtures/partial.jsonl"]);
    let opened = value(describe("t1", &trace, None));
    assert_eq!(
        (
            opened["lines"].clone(),
            opened["records"].clone(),
            opened["malformed"].clone(),
            opened["partialLines"].clone(),
        ),
        (json!(7), json!(6), json!(1), json!(1))
    );
    let ids_after_the_bad_line = searched(&trace, SearchParams::default());
    assert_eq!(ids(&ids_after_the_bad_line, "calls"), [1, 2, 3]);
}

#[test]
fn a_capped_index_keeps_the_first_calls_and_still_counts_every_call() {
    let trace = open_with(&[CHAT], 3);
    let opened = value(describe("t1", &trace, None));
    assert_eq!(
        (opened["calls"].clone(), opened["indexedCalls"].clone()),
        (json!(18), json!(3))
    );
    let params = SummaryParams {
        handle: handle(),
        sort: None,
        function: Some("handle_frame".to_owned()),
        limit: None,
    };
    let frames = value(summary(&trace, &params));
    assert_eq!(frames["functions"]["items"][0]["calls"], json!(3));
    assert_eq!(
        error(tree(&trace, &tree_params(2049))),
        "call 2049 is not in the index: the trace has more calls than `--max-calls` keeps"
    );
    // The failure of a call not kept is still grouped, without an example.
    let failed = value(errors(
        &trace,
        &ErrorsParams {
            handle: handle(),
            function: Some("parse_frame".to_owned()),
            limit: None,
        },
    ));
    assert_eq!(failed["groups"]["items"][0]["count"], json!(1));
    assert_eq!(failed["groups"]["items"][0].get("example"), None);
}

#[test]
fn bad_input_is_a_tool_error_that_says_what_was_wrong() {
    let missing = index::build(&["tests/fixtures/missing.jsonl".into()], 10, true);
    assert_eq!(
        error(missing.map_err(ToolError::from)),
        "cannot open tests/fixtures/missing.jsonl: No such file or directory (os error 2)"
    );
    let trace = open(&[CHAT]);
    let search_error = |params: SearchParams| error(search(&trace, &params));
    assert_eq!(
        search_error(SearchParams {
            limit: Some(5_000),
            ..Default::default()
        }),
        "`limit` 5000 is over the maximum 1000"
    );
    assert_eq!(
        search_error(SearchParams {
            limit: Some(0),
            ..Default::default()
        }),
        "`limit` must be at least 1"
    );
    assert_eq!(
        search_error(SearchParams {
            min_duration: Some("fast".to_owned()),
            ..Default::default()
        }),
        "invalid duration `fast`: expected a number and a unit (us, ms, s or m), e.g. `5ms`"
    );
    assert_eq!(
        search_error(SearchParams {
            event: Some("EXITED".to_owned()),
            ..Default::default()
        }),
        "unknown event `EXITED`: expected EXIT, EXCEPTION, PANIC, CANCEL or OPEN"
    );
    assert_eq!(
        search_error(SearchParams {
            function: Some(String::new()),
            ..Default::default()
        }),
        "empty `function` pattern: leave it out to match everything"
    );
    assert_eq!(
        search_error(SearchParams {
            from: Some(2),
            to: Some(1),
            ..Default::default()
        }),
        "`from` 2 is after `to` 1"
    );
    assert_eq!(
        search_error(SearchParams {
            thread: Some("nobody".to_owned()),
            ..Default::default()
        }),
        "no thread named `nobody` in the trace (threads: main, tokio-rt-worker, worker-a, worker-b)"
    );
    assert_eq!(
        error(tree(&trace, &tree_params(99))),
        "no call with id 99 in the trace"
    );
    assert_eq!(
        error(critical_path(
            &trace,
            &CriticalPathParams {
                handle: handle(),
                id: 2049,
                segment: Some(3),
                limit: None,
            }
        )),
        "no call with id 2049 in the trace (segment 3)"
    );
    assert_eq!(
        error(timeline(&trace, &timeline_params())),
        "give exactly one of `thread`, `id` and `trace`"
    );
    assert_eq!(
        error(timeline(
            &trace,
            &TimelineParams {
                offset: Some(100_001),
                thread: Some("main".to_owned()),
                ..timeline_params()
            }
        )),
        "`offset` 100001 is over the maximum 100000"
    );
    assert_eq!(
        error(slowest(
            &trace,
            &SlowestParams {
                handle: handle(),
                function: Some(String::new()),
                limit: None,
            }
        )),
        "empty `function` pattern: leave it out to match everything"
    );
}

#[test]
fn an_unknown_handle_names_the_open_ones() {
    let server = FlowtraceServer::new(Options {
        max_calls: 10,
        max_traces: 2,
    });
    assert_eq!(
        error(server.trace("t7")),
        "no open trace `t7` (none is open); call `open` first"
    );
}

#[test]
fn open_refuses_empty_paths_a_bad_limit_and_too_many_traces_before_any_work() {
    use rmcp::handler::server::wrapper::Parameters;

    use crate::mcp::open::OpenParams;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let server = FlowtraceServer::new(Options {
        max_calls: 100,
        max_traces: 1,
    });
    let open = |paths: &[&str], limit: Option<u64>| {
        let params = OpenParams {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            check: Some(false),
            limit,
        };
        runtime
            .block_on(server.open(Parameters(params)))
            .map(|opened| opened.0.handle)
    };
    assert_eq!(
        error(open(&[], None)),
        "`paths` is empty: give at least one trace file"
    );
    assert_eq!(
        error(open(&[CHAT], Some(1_001))),
        "`limit` 1001 is over the maximum 1000"
    );
    // Neither refusal kept a trace: the one allowed still opens, and is the first handle.
    assert_eq!(open(&[CHAT], None).ok().as_deref(), Some("t1"));
    assert_eq!(
        error(open(&[CHAT], None)),
        "as many traces are open as `--max-traces` allows (1): `close` one first"
    );
}
