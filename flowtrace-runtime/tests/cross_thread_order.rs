//! The record format's order across threads: each thread hands its records to the writer
//! through a ring of its own, and the file must still show a child's ENTER after its
//! parent's and a closing record after its ENTER, whichever threads they ran on.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{assert_well_formed, capture_with, id, parent};
use flowtrace_runtime::flowtrace;
use serial_test::serial;

#[flowtrace]
async fn session(n: u64) -> u64 {
    let mut total = 0;
    for step in 0..4 {
        // Each await may resume on the other worker: the children of one call are spread
        // over both threads' rings, and so are the call's own ENTER and EXIT.
        tokio::task::yield_now().await;
        total += hop(n, step).await;
    }
    total
}

#[flowtrace]
async fn hop(n: u64, step: u64) -> u64 {
    tokio::task::yield_now().await;
    leaf(n + step)
}

#[flowtrace]
fn leaf(n: u64) -> u64 {
    n
}

/// Workers named apart, so that the test can see calls cross threads.
fn worker_name() -> String {
    static WORKERS: AtomicU64 = AtomicU64::new(0);
    format!("worker-{}", WORKERS.fetch_add(1, Ordering::Relaxed))
}

/// Many tasks on a multi-thread runtime with small rings (full often, so the writer takes
/// them in many rounds): every invariant holds, calls did hop threads, and every call is
/// there.
#[test]
#[serial]
fn calls_that_hop_threads_keep_the_file_in_causal_order() {
    const TASKS: u64 = 300;
    let records = capture_with(
        |config| config.capacity(64),
        || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(3)
                .thread_name_fn(worker_name)
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let tasks: Vec<_> = (0..TASKS).map(|n| tokio::spawn(session(n))).collect();
                for (n, task) in tasks.into_iter().enumerate() {
                    assert_eq!(task.await.expect("task"), 4 * n as u64 + 6);
                }
            });
        },
    );
    // session + 4 × (hop + leaf), ENTER and a closing record each.
    assert_eq!(records.len() as u64, TASKS * 9 * 2);
    assert_well_formed(&records);
    // The test means something only if calls did cross threads: a child on another thread
    // than its parent's ENTER, or an EXIT on another thread than its ENTER.
    let mut thread_of = std::collections::HashMap::new();
    let mut crossings = 0;
    for record in &records {
        let thread = record["thread"].as_str().expect("thread").to_owned();
        if record["event"] == "ENTER" {
            if let Some(parent) = parent(record)
                && thread_of.get(&parent) != Some(&thread)
            {
                crossings += 1;
            }
            thread_of.insert(id(record), thread);
        } else if thread_of.get(&id(record)) != Some(&thread) {
            crossings += 1;
        }
    }
    assert!(crossings > 0, "no call crossed threads");
}

/// A parent whose ENTER sits in a ring the writer reads after the rings of its children:
/// the parent's thread keeps its ring busy while the children run elsewhere.
#[test]
#[serial]
fn a_busy_parent_thread_never_lets_its_children_go_first() {
    let records = capture_with(
        |config| config.capacity(32),
        || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("runtime");
            for round in 0..50 {
                // Entered on this thread, behind a burst of this thread's own records...
                let mut parent = Box::pin(session(round));
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                let _ = parent.as_mut().poll(&mut cx);
                for n in 0..40 {
                    leaf(n);
                }
                // ...then finished on the runtime's workers.
                let finished = runtime.block_on(runtime.spawn(parent)).expect("task");
                assert_eq!(finished, 4 * round + 6);
            }
        },
    );
    assert_eq!(records.len(), 50 * (9 + 40) * 2);
    assert_well_formed(&records);
}
