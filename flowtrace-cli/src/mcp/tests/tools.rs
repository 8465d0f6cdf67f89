//! Each tool on `chat.jsonl`, compared with its exact structured result in
//! `tests/mcp-golden/<case>.json`; the durations and shares there agree with the CLI's
//! `tests/golden/tree-chat.txt` and `stats-chat.txt`.

use serde_json::json;

use super::*;
use crate::mcp::calls::{SearchParams, SlowestParams, slowest};
use crate::mcp::calltree::{CriticalPathParams, TreeParams, critical_path, tree};
use crate::mcp::open::describe;
use crate::mcp::summary::{ErrorsParams, SummaryParams, SummarySort, errors, summary};
use crate::mcp::timeline::{TimelineParams, timeline};

#[test]
fn open_reports_counts_time_range_processes_functions_and_the_check_verdict() {
    let trace = open(&[CHAT]);
    let expected = golden("open");
    assert_eq!(value(describe("t1", &trace, Some(2))), expected);
}

#[test]
fn summary_is_the_stats_table_sorted_and_cut_to_the_limit() {
    let trace = open(&[CHAT]);
    let params = SummaryParams {
        handle: handle(),
        sort: Some(SummarySort::P99),
        function: None,
        limit: Some(3),
    };
    let expected = golden("summary-p99");
    assert_eq!(value(summary(&trace, &params)), expected);
    let only = SummaryParams {
        sort: Some(SummarySort::Count),
        function: Some("*chat::*frame".to_owned()),
        limit: None,
        ..params
    };
    let found = value(summary(&trace, &only));
    let names: Vec<&str> = found["functions"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| row["function"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "gen_fixtures::chat::handle_frame",
            "gen_fixtures::chat::parse_frame"
        ]
    );
}

#[test]
fn search_by_event_pages_in_start_order() {
    let trace = open(&[CHAT]);
    let params = SearchParams {
        event: Some("EXCEPTION".to_owned()),
        limit: Some(2),
        ..Default::default()
    };
    let expected = golden("search-exceptions");
    assert_eq!(searched(&trace, params), expected);
    let next = searched(
        &trace,
        SearchParams {
            event: Some("EXCEPTION".to_owned()),
            limit: Some(2),
            offset: Some(2),
            ..Default::default()
        },
    );
    assert_eq!(ids(&next, "calls"), [2055]);
    assert_eq!(
        (next["more"].clone(), next["total"].clone()),
        (json!(false), json!(3))
    );
}

#[test]
fn search_filters_by_name_text_duration_thread_and_time() {
    let trace = open(&[CHAT]);
    let by = |params: SearchParams| ids(&searched(&trace, params), "calls");
    assert_eq!(
        by(SearchParams {
            function: Some("parse_frame".to_owned()),
            ..Default::default()
        }),
        [2051, 2055, 2057]
    );
    assert_eq!(
        by(SearchParams {
            function: Some("*_f*".to_owned()),
            module: Some("gen_fixtures::*".to_owned()),
            ..Default::default()
        }),
        [2050, 2051, 2054, 2055, 2056, 2057]
    );
    let garbage = searched(
        &trace,
        SearchParams {
            text: Some("garbage".to_owned()),
            ..Default::default()
        },
    );
    // `deliver` has it in its frames, the parse of `garbage` in its arguments and error.
    assert_eq!(ids(&garbage, "calls"), [2049, 2054, 2055]);
    assert_eq!(
        garbage.get("total"),
        None,
        "text search stops early: no total"
    );
    assert_eq!(
        by(SearchParams {
            // join, load_history, presence, deliver and fan_out: the functions whose max is at
            // least 300µs in `stats-chat.txt`.
            min_duration: Some("300us".to_owned()),
            ..Default::default()
        }),
        [1025, 1026, 1027, 2049, 2059]
    );
    assert_eq!(
        by(SearchParams {
            thread: Some("worker-b".to_owned()),
            ..Default::default()
        }),
        [2049, 2059]
    );
    assert_eq!(
        by(SearchParams {
            // From the start of 2054 (and 2055, the same microsecond) to that of 2056.
            from: Some(1_796_212_090_291_214),
            to: Some(1_796_212_090_291_253),
            ..Default::default()
        }),
        [2054, 2055, 2056]
    );
    assert_eq!(
        by(SearchParams {
            event: Some("OPEN".to_owned()),
            ..Default::default()
        }),
        [] as [u64; 0]
    );
}

#[test]
fn slowest_lists_the_longest_calls_with_their_paths() {
    let trace = open(&[CHAT]);
    let params = SlowestParams {
        handle: handle(),
        function: None,
        limit: Some(2),
    };
    let expected = golden("slowest");
    assert_eq!(value(slowest(&trace, &params)), expected);
    let frames = value(slowest(
        &trace,
        &SlowestParams {
            function: Some("handle_frame".to_owned()),
            limit: None,
            ..params
        },
    ));
    let found: Vec<u64> = frames["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["call"]["id"].as_u64())
        .collect();
    assert_eq!(found, [2050, 2056, 2054]);
    assert_eq!(frames["more"], json!(false));
}

#[test]
fn errors_are_grouped_by_function_event_and_message_with_an_example() {
    let trace = open(&[CHAT]);
    let params = ErrorsParams {
        handle: handle(),
        function: None,
        limit: Some(2),
    };
    let expected = golden("errors");
    assert_eq!(value(errors(&trace, &params)), expected);
    let all = value(errors(
        &trace,
        &ErrorsParams {
            limit: None,
            ..params
        },
    ));
    let groups: Vec<(&str, &str)> = all["groups"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| Some((g["function"].as_str()?, g["event"].as_str()?)))
        .collect();
    assert_eq!(
        groups,
        [
            ("gen_fixtures::chat::average", "PANIC"),
            ("gen_fixtures::chat::handle_frame", "EXCEPTION"),
            ("gen_fixtures::chat::load_history", "CANCEL"),
            ("gen_fixtures::chat::login", "EXCEPTION"),
            ("gen_fixtures::chat::parse_frame", "EXCEPTION"),
        ]
    );
}

#[test]
fn tree_shows_each_childs_share_of_its_parent_like_flowtrace_tree() {
    let trace = open(&[CHAT]);
    let params = TreeParams {
        depth: Some(1),
        ..tree_params(2049)
    };
    let expected = golden("tree-2049-depth-1");
    assert_eq!(value(tree(&trace, &params)), expected);
    let whole = value(tree(&trace, &tree_params(2049)));
    assert_eq!(
        ids(&whole, "nodes"),
        [
            2049, 2050, 2051, 2052, 2053, 2054, 2055, 2056, 2057, 2058, 2059
        ]
    );
    assert_eq!(whole["more"], json!(false));
    let fast_hidden = value(tree(
        &trace,
        &TreeParams {
            min_duration: Some("100us".to_owned()),
            ..tree_params(2049)
        },
    ));
    assert_eq!(ids(&fast_hidden, "nodes"), [2049, 2050, 2053, 2059]);
    // 2051, 2052, then 2054 and 2056 with their children.
    assert_eq!(fast_hidden["hiddenFaster"], json!(7));
    let cut = value(tree(
        &trace,
        &TreeParams {
            limit: Some(3),
            ..tree_params(2049)
        },
    ));
    assert_eq!(ids(&cut, "nodes"), [2049, 2050, 2051]);
    assert_eq!(
        (cut["more"].clone(), cut["total"].clone()),
        (json!(true), json!(11))
    );
}

#[test]
fn timeline_of_a_thread_and_of_a_call_in_time_order() {
    let trace = open(&[CHAT]);
    let params = TimelineParams {
        thread: Some("worker-b".to_owned()),
        limit: Some(5),
        ..timeline_params()
    };
    let expected = golden("timeline-worker-b");
    assert_eq!(value(timeline(&trace, &params)), expected);
    let call = value(timeline(
        &trace,
        &TimelineParams {
            id: Some(2050),
            limit: Some(4),
            offset: Some(1),
            ..timeline_params()
        },
    ));
    let records: Vec<(u64, &str, Option<&str>)> = call["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["id"].as_u64()?,
                r["event"].as_str()?,
                r["result"].as_str(),
            ))
        })
        .collect();
    assert_eq!(
        records,
        [
            (2051, "ENTER", None),
            (2051, "EXIT", None),
            (2052, "ENTER", None),
            (2052, "EXIT", Some("\"hello &lt;world>\"")),
        ]
    );
    assert_eq!(
        (call["total"].clone(), call["more"].clone()),
        (json!(8), json!(true))
    );
}

#[test]
fn critical_path_follows_the_longest_child_to_the_hotspot() {
    let trace = open(&[CHAT]);
    let params = CriticalPathParams {
        handle: handle(),
        id: 2049,
        segment: None,
        limit: None,
    };
    let expected = golden("critical-path-2049");
    assert_eq!(value(critical_path(&trace, &params)), expected);
    let cut = value(critical_path(
        &trace,
        &CriticalPathParams {
            id: 2050,
            limit: Some(1),
            ..params
        },
    ));
    assert_eq!(ids(&cut, "steps"), [2050]);
    assert_eq!(cut["more"], json!(true));
    // `store` (151 µs of 230) is where handle_frame's time goes, but the chain stopped above it.
    assert_eq!(cut["hotspot"]["id"], json!(2050));
}

#[test]
fn the_readme_workflow_on_a_demo_chat_trace() {
    // Recorded from demo-chat while two WebSocket clients chatted (see the README).
    let trace = open(&["tests/fixtures/demo-chat.jsonl"]);
    let slow = value(slowest(
        &trace,
        &SlowestParams {
            handle: handle(),
            function: None,
            limit: Some(3),
        },
    ));
    let found: Vec<(u64, &str)> = slow["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["call"]["id"].as_u64()?, c["call"]["function"].as_str()?)))
        .collect();
    assert_eq!(
        found,
        [
            (4, "demo_chat::ws::handle_socket"),
            (5, "demo_chat::connection::serve"),
            (10, "demo_chat::connection::send_half"),
        ]
    );
    let path = value(critical_path(
        &trace,
        &CriticalPathParams {
            handle: handle(),
            id: 4,
            segment: None,
            limit: None,
        },
    ));
    assert_eq!(ids(&path, "steps"), [4, 5, 10]);
    assert_eq!(
        path["hotspot"],
        json!({
            "id": 10,
            "function": "demo_chat::connection::send_half",
            "selfMicros": 1_463_429,
            "ofTotalPercent": 100.0
        })
    );
    assert_eq!(path["steps"][2]["end"], json!("CANCEL"));
}
