//! Traces beyond one process: trace ids on root calls, `TraceContext` as the current call and
//! as a remote parent (sync scopes, futures across `.await` and thread hops), and the W3C
//! `traceparent` parser against valid and malformed headers.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use common::{YieldOnce, assert_well_formed, capture, id, is_hex, parent};
use flowtrace_runtime::{TraceContext, TraceparentError, flowtrace};
use serde_json::Value;
use serial_test::serial;

const REMOTE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[flowtrace]
fn leaf(n: u64) -> u64 {
    n + 1
}

#[flowtrace]
fn branch(n: u64) -> u64 {
    leaf(n) + leaf(n + 1)
}

/// The ENTER records of `function`.
fn enters<'a>(records: &'a [Value], function: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["event"] == "ENTER" && r["function"] == function)
        .collect()
}

fn remote() -> TraceContext {
    TraceContext::from_traceparent(REMOTE).expect("valid traceparent")
}

#[test]
#[serial]
fn every_root_enter_carries_a_fresh_trace_id_and_children_none() {
    let records = capture(|| {
        for n in 0..50 {
            branch(n);
        }
    });
    let roots = enters(&records, "branch");
    let traces: HashSet<&str> = roots.iter().filter_map(|r| r["trace"].as_str()).collect();
    assert_eq!(traces.len(), 50, "one fresh trace id per root");
    assert!(traces.iter().all(|t| is_hex(t, 32) && *t != "0".repeat(32)));
    for root in &roots {
        assert_eq!(
            common::keys(root),
            [
                "timestamp",
                "event",
                "thread",
                "module",
                "function",
                "args",
                "id",
                "trace",
                "timestampMicros"
            ]
        );
    }
    for child in enters(&records, "leaf") {
        assert!(parent(child).is_some());
        assert!(child.get("trace").is_none(), "{child}");
        assert!(child.get("remoteParent").is_none(), "{child}");
    }
    assert!(
        records
            .iter()
            .filter(|r| r["event"] != "ENTER")
            .all(|r| r.get("trace").is_none()),
        "closing records carry no trace"
    );
    assert_well_formed(&records);
}

#[test]
#[serial]
fn roots_in_scope_of_a_remote_parent_continue_its_trace() {
    let records = capture(|| {
        branch(0); // before: a trace of its own
        let remote = remote();
        let value = remote.in_scope(|| {
            assert_eq!(TraceContext::current(), Some(remote));
            branch(1) + leaf(9)
        });
        assert_eq!(value, 15);
        branch(2); // after: a trace of its own again
    });
    let roots: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "ENTER" && parent(r).is_none())
        .collect();
    assert_eq!(roots.len(), 4);
    let fresh = [roots[0], roots[3]];
    for root in fresh {
        assert_ne!(root["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(root.get("remoteParent").is_none(), "{root}");
    }
    for root in &roots[1..3] {
        assert_eq!(root["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root["remoteParent"], "00f067aa0ba902b7");
        let keys = common::keys(root);
        assert_eq!(
            keys[keys.len() - 3..],
            ["trace", "remoteParent", "timestampMicros"]
        );
    }
    assert_well_formed(&records);
}

#[flowtrace]
fn outer_with_scope(context: String) -> u64 {
    let remote = TraceContext::from_traceparent(&context).expect("valid");
    remote.in_scope(|| leaf(1))
}

#[test]
#[serial]
fn a_scope_inside_a_call_detaches_its_calls_from_the_local_caller() {
    let records = capture(|| {
        outer_with_scope(REMOTE.to_owned());
    });
    let inner = enters(&records, "leaf")[0];
    assert!(parent(inner).is_none(), "{inner}");
    assert_eq!(inner["remoteParent"], "00f067aa0ba902b7");
    assert_well_formed(&records);
}

#[test]
#[serial]
fn current_names_the_innermost_call_and_links_the_next_process() {
    #[flowtrace]
    fn sender() -> TraceContext {
        inner_sender()
    }

    #[flowtrace]
    fn inner_sender() -> TraceContext {
        TraceContext::current().expect("inside a traced call")
    }

    let mut sent = None;
    let records = capture(|| {
        assert_eq!(TraceContext::current(), None, "outside any call");
        let context = sender();
        let header = context.traceparent();
        sent = Some(context);
        // The receiving side, here in the same test: a root under the header's context.
        TraceContext::from_traceparent(&header)
            .expect("our own header parses")
            .in_scope(|| leaf(0));
    });
    let sent = sent.expect("context");
    let header = sent.traceparent();
    assert!(
        header.starts_with("00-") && header.ends_with("-01"),
        "{header}"
    );
    let root = enters(&records, "sender")[0];
    assert_eq!(root["trace"].as_str(), Some(sent.trace_id().as_str()));
    let receiver = enters(&records, "leaf")[0];
    assert_eq!(receiver["trace"], root["trace"]);
    assert_eq!(
        receiver["remoteParent"].as_str(),
        Some(sent.span_id().as_str())
    );
    assert_ne!(sent.span_id(), "0".repeat(16));
    assert_eq!(TraceContext::from_traceparent(&header), Ok(sent));
    assert_well_formed(&records);
}

#[flowtrace]
async fn fan_out(n: u64) -> u64 {
    YieldOnce(false).await;
    leaf(n)
}

#[test]
#[serial]
fn an_instrumented_future_keeps_its_remote_parent_across_await_and_threads() {
    let records = capture(|| {
        let mut future = Box::pin(remote().instrument(async {
            let first = fan_out(1).await;
            YieldOnce(false).await;
            // Polled on another thread by now: the scope moved with the future.
            first + fan_out(2).await + leaf(3)
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        // Between polls this thread is outside the scope again.
        assert_eq!(TraceContext::current(), None);
        let value = std::thread::spawn(move || {
            let mut cx = Context::from_waker(Waker::noop());
            loop {
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
            }
        })
        .join()
        .expect("second thread");
        assert_eq!(value, 2 + 3 + 4);
    });
    let roots: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "ENTER" && parent(r).is_none())
        .collect();
    let names: Vec<&str> = roots
        .iter()
        .filter_map(|r| r["function"].as_str())
        .collect();
    assert_eq!(names, ["fan_out", "fan_out", "leaf"]);
    for root in &roots {
        assert_eq!(root["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root["remoteParent"], "00f067aa0ba902b7");
    }
    let threads: HashSet<&str> = roots.iter().filter_map(|r| r["thread"].as_str()).collect();
    assert_eq!(
        threads.len(),
        2,
        "the roots ran on both threads: {threads:?}"
    );
    // The leaves inside fan_out are children, without a trace of their own.
    let fan_out_ids: HashSet<u64> = enters(&records, "fan_out").iter().map(|r| id(r)).collect();
    let inner_leaves = enters(&records, "leaf")
        .into_iter()
        .filter(|r| parent(r).is_some_and(|p| fan_out_ids.contains(&p)))
        .count();
    assert_eq!(inner_leaves, 2);
    assert_well_formed(&records);
}

#[test]
#[serial]
fn an_instrumented_task_on_a_multi_thread_runtime_continues_the_remote_trace() {
    let records = capture(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let total = runtime.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|n| {
                    tokio::spawn(remote().instrument(async move {
                        tokio::task::yield_now().await;
                        fan_out(n).await
                    }))
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.expect("task");
            }
            total
        });
        assert_eq!(total, (1..=8).sum::<u64>());
    });
    let roots = enters(&records, "fan_out");
    assert_eq!(roots.len(), 8);
    for root in roots {
        assert!(parent(root).is_none());
        assert_eq!(root["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root["remoteParent"], "00f067aa0ba902b7");
    }
    assert_well_formed(&records);
}

#[test]
fn valid_traceparents_parse_and_print_back() {
    for (header, flags) in [
        (REMOTE, 0x01),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            0x01,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
            0x00,
        ),
        // Unknown flags are kept as they are.
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09",
            0x09,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff",
            0xff,
        ),
    ] {
        let context = TraceContext::from_traceparent(header).expect(header);
        assert_eq!(context.flags(), flags, "{header}");
        assert_eq!(context.traceparent(), header);
        assert_eq!(header.parse::<TraceContext>(), Ok(context));
    }
    // A later version: parsed as version 00, with any fields after the fourth ignored.
    for header in [
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds",
    ] {
        let context = TraceContext::from_traceparent(header).expect(header);
        assert_eq!(context.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(context.span_id(), "b7ad6b7169203331");
        assert_eq!(
            context.traceparent(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
    }
}

#[test]
fn every_malformed_traceparent_is_an_error() {
    use TraceparentError::*;
    let cases: &[(&str, TraceparentError)] = &[
        ("", Length(0)),
        ("00", Length(2)),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
            Length(54),
        ),
        // Version 00 is exactly 55 characters.
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
            Length(56),
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n",
            Length(56),
        ),
        (
            " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            NotHex("version"),
        ),
        (
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ForbiddenVersion,
        ),
        (
            "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            NotHex("version"),
        ),
        (
            "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            NotHex("version"),
        ),
        (
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            NotHex("trace id"),
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
            NotHex("parent id"),
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0X",
            NotHex("trace flags"),
        ),
        (
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            ZeroTraceId,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            ZeroParentId,
        ),
        (
            "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Separator,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
            Separator,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
            Separator,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
            Separator,
        ),
        // A later version still needs a `-` after the fourth field.
        (
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
            Separator,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333é-1",
            Separator,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033é-01",
            NotHex("parent id"),
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-é",
            NotHex("trace flags"),
        ),
        (
            "00-0af7651916cd43dd8448eb211c8031-9c-b7ad6b7169203331-01",
            Length(56),
        ),
    ];
    for (header, expected) in cases {
        assert_eq!(
            TraceContext::from_traceparent(header).as_ref(),
            Err(expected),
            "{header:?}"
        );
        assert!(!expected.to_string().is_empty());
    }
    // Every truncation and every one-byte change of a valid header: an answer, never a panic.
    for end in 0..REMOTE.len() {
        assert!(TraceContext::from_traceparent(&REMOTE[..end]).is_err());
    }
    for index in 0..REMOTE.len() {
        for byte in [b'-', b'0', b'f', b'G', b'z', b' ', 0xc3] {
            let mut bytes = REMOTE.as_bytes().to_vec();
            bytes[index] = byte;
            let header = String::from_utf8_lossy(&bytes);
            assert_eq!(
                TraceContext::from_traceparent(&header).is_ok(),
                plainly_valid(&header),
                "{header:?}"
            );
        }
    }
}

/// A version-00-shaped header checked the slow, obvious way.
fn plainly_valid(header: &str) -> bool {
    let fields: Vec<&str> = header.split('-').collect();
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    fields.len() == 4
        && hex(fields[0], 2)
        && fields[0] != "ff"
        && hex(fields[1], 32)
        && fields[1].bytes().any(|b| b != b'0')
        && hex(fields[2], 16)
        && fields[2].bytes().any(|b| b != b'0')
        && hex(fields[3], 2)
}
