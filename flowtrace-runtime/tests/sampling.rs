//! Sampling: `sample = F` on a function and `FLOWTRACE_SAMPLE` (`Config::sample`) decide at
//! each call that starts a trace whether it is recorded, and its whole subtree follows that
//! decision, across `.await` and thread hops.

mod common;

use std::collections::HashMap;

use common::{assert_well_formed, capture_with, id, parent};
use flowtrace_runtime::flowtrace;
use serde_json::Value;
use serial_test::serial;

#[flowtrace(sample = 0.5)]
fn half_root(n: u64) -> u64 {
    rare_child(n) + plain_child(n)
}

/// Its own option does not matter inside a recorded call: it follows its parent.
#[flowtrace(sample = 0.001)]
fn rare_child(n: u64) -> u64 {
    n
}

#[flowtrace]
fn plain_child(n: u64) -> u64 {
    n + 1
}

#[flowtrace(sample = 1)]
fn always_root() -> u64 {
    plain_child(0)
}

#[flowtrace]
fn configured_root(n: u64) -> u64 {
    plain_child(n)
}

fn enters<'a>(records: &'a [Value], function: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["event"] == "ENTER" && r["function"] == function)
        .collect()
}

/// How many ENTERs have each id as their parent.
fn children_per_parent(records: &[Value]) -> HashMap<u64, usize> {
    let mut children = HashMap::new();
    for record in records.iter().filter(|r| r["event"] == "ENTER") {
        if let Some(parent) = parent(record) {
            *children.entry(parent).or_insert(0) += 1;
        }
    }
    children
}

#[test]
#[serial]
fn a_sampled_root_keeps_its_whole_subtree_and_an_unsampled_one_leaves_nothing() {
    const CALLS: u64 = 2000;
    let records = capture_with(
        |config| config,
        || {
            for n in 0..CALLS {
                assert_eq!(half_root(n), 2 * n + 1);
            }
        },
    );
    assert_well_formed(&records);
    let roots = enters(&records, "half_root");
    // Binomial(2000, 0.5): 1000 ± 22 (one standard deviation); this range is ±9.
    assert!((800..=1200).contains(&roots.len()), "{} roots", roots.len());
    // Every recorded root has both children, and nothing else was recorded.
    let children = children_per_parent(&records);
    for root in &roots {
        assert_eq!(children.get(&id(root)), Some(&2), "{root}");
    }
    assert_eq!(records.len(), roots.len() * 3 * 2);
    // A root's sampling never leaks into the next root: the draws are independent, so the
    // recorded roots are not one block.
    let recorded: std::collections::HashSet<u64> = roots
        .iter()
        .map(|r| common::args(r)["n"].as_u64().expect("n"))
        .collect();
    let switches = (1..CALLS)
        .filter(|n| recorded.contains(n) != recorded.contains(&(n - 1)))
        .count();
    assert!(
        switches > 500,
        "{switches} switches between recorded and not"
    );
}

#[test]
#[serial]
fn the_configured_fraction_applies_to_roots_without_the_option() {
    const CALLS: u64 = 2000;
    let records = capture_with(
        |config| config.sample(0.25),
        || {
            for n in 0..CALLS {
                configured_root(n);
                always_root();
            }
        },
    );
    assert_well_formed(&records);
    let configured = enters(&records, "configured_root").len();
    // Binomial(2000, 0.25): 500 ± 19.
    assert!((330..=670).contains(&configured), "{configured} roots");
    // `sample = 1` wins over the configuration.
    assert_eq!(enters(&records, "always_root").len() as u64, CALLS);
}

#[flowtrace(sample = 0.5)]
async fn sampled_session(n: u64) -> u64 {
    let mut total = 0;
    for step in 0..3 {
        tokio::task::yield_now().await;
        total += sampled_hop(n + step).await;
    }
    total
}

#[flowtrace]
async fn sampled_hop(n: u64) -> u64 {
    tokio::task::yield_now().await;
    plain_child(n)
}

#[test]
#[serial]
fn the_decision_follows_a_future_across_awaits_and_threads() {
    const TASKS: u64 = 400;
    let records = capture_with(
        |config| config,
        || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let tasks: Vec<_> = (0..TASKS)
                    .map(|n| tokio::spawn(sampled_session(n)))
                    .collect();
                for (n, task) in tasks.into_iter().enumerate() {
                    let n = n as u64;
                    assert_eq!(task.await.expect("task"), 3 * n + 3 + 3);
                }
            });
        },
    );
    assert_well_formed(&records);
    let roots = enters(&records, "sampled_session");
    assert!((120..=280).contains(&roots.len()), "{} roots", roots.len());
    // Each recorded session has its 3 hops, each hop its child; unrecorded sessions left
    // no hop and no child behind (every ENTER but the roots has a recorded parent, which
    // assert_well_formed checked).
    let children = children_per_parent(&records);
    for root in &roots {
        assert_eq!(children.get(&id(root)), Some(&3), "{root}");
    }
    assert_eq!(records.len(), roots.len() * 7 * 2);
}
