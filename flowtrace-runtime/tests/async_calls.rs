//! Behaviour of `#[flowtrace]` on async functions: ENTER at the first poll, the closing record
//! when the future completes or is dropped, and parents that survive `.await` and thread hops.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{YieldOnce, args, assert_well_formed, capture, events, id, parent};
use flowtrace_runtime::flowtrace;
use serial_test::serial;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(e, f)| ((*e).to_owned(), (*f).to_owned()))
        .collect()
}

/// A single-thread runtime with timers, for the tests that need no thread hops.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

#[flowtrace]
async fn hop_parent(label: String) -> usize {
    let before = hop_child(1).await;
    YieldOnce(false).await;
    let after = hop_child(2).await;
    label.len() + before + after
}

#[flowtrace]
async fn hop_child(n: u64) -> usize {
    YieldOnce(false).await;
    n as usize
}

#[test]
#[serial]
fn parent_and_id_survive_a_move_to_another_thread() {
    let records = capture(|| {
        let mut future = Box::pin(hop_parent("ab".to_owned()));
        let mut cx = Context::from_waker(Waker::noop());
        // First poll here: ENTER hop_parent, ENTER hop_child, pending inside the child.
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let value = std::thread::Builder::new()
            .name("second".to_owned())
            .spawn(move || {
                let mut cx = Context::from_waker(Waker::noop());
                loop {
                    if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                        return value;
                    }
                }
            })
            .expect("spawn")
            .join()
            .expect("second thread");
        assert_eq!(value, 5);
    });
    assert_eq!(
        events(&records),
        pairs(&[
            ("ENTER", "hop_parent"),
            ("ENTER", "hop_child"),
            ("EXIT", "hop_child"),
            ("ENTER", "hop_child"),
            ("EXIT", "hop_child"),
            ("EXIT", "hop_parent"),
        ])
    );
    let here = std::thread::current().name().unwrap_or("main").to_owned();
    let threads: Vec<_> = records
        .iter()
        .map(|r| r["thread"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        threads,
        [here.as_str(), &here, "second", "second", "second", "second"]
    );
    let root = id(&records[0]);
    assert_eq!(parent(&records[1]), Some(root));
    assert_eq!(parent(&records[3]), Some(root));
    assert_eq!(args(&records[0]), serde_json::json!({"label": "ab"}));
    assert_well_formed(&records);
}

#[flowtrace]
async fn request(n: u64) -> u64 {
    let mut total = 0;
    for step in 0..3 {
        tokio::task::yield_now().await;
        total += step_work(n, step).await;
    }
    total
}

#[flowtrace]
async fn step_work(n: u64, step: u64) -> u64 {
    tokio::task::yield_now().await;
    n + step
}

#[test]
#[serial]
fn concurrent_tasks_on_a_multi_thread_runtime_keep_their_own_trees() {
    let records = capture(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("traced-worker")
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let tasks: Vec<_> = (0..50).map(|n| tokio::spawn(request(n))).collect();
            for (n, task) in tasks.into_iter().enumerate() {
                assert_eq!(task.await.expect("task"), 3 * n as u64 + 3);
            }
        });
    });
    assert_eq!(records.len(), 50 * 2 * 4);
    assert_well_formed(&records);
    // Every step_work ENTER names the request with the same n as its parent.
    let mut request_of = std::collections::HashMap::new();
    for record in records.iter().filter(|r| r["event"] == "ENTER") {
        let a = args(record);
        if record["function"] == "request" {
            assert_eq!(parent(record), None);
            request_of.insert(id(record), a["n"].clone());
        } else {
            let owner = parent(record).expect("step_work has a parent");
            assert_eq!(request_of.get(&owner), Some(&a["n"]), "{record}");
        }
    }
    assert!(records.iter().all(|r| r["thread"] == "traced-worker"));
}

#[flowtrace]
async fn slow(millis: u64) -> &'static str {
    nested_wait(millis).await;
    "slow"
}

#[flowtrace]
async fn nested_wait(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[flowtrace]
async fn fast() -> &'static str {
    tokio::time::sleep(Duration::from_millis(20)).await;
    "fast"
}

#[test]
#[serial]
fn a_dropped_future_writes_cancel_for_itself_and_what_it_awaited() {
    let records = capture(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let winner = runtime.block_on(async {
            tokio::select! {
                value = slow(60_000) => value,
                value = fast() => value,
            }
        });
        assert_eq!(winner, "fast");
    });
    let mut closing: Vec<_> = events(&records)
        .into_iter()
        .filter(|(e, _)| e != "ENTER")
        .collect();
    closing.sort();
    assert_eq!(
        closing,
        pairs(&[
            ("CANCEL", "nested_wait"),
            ("CANCEL", "slow"),
            ("EXIT", "fast")
        ])
    );
    let fast_exit = records
        .iter()
        .find(|r| r["event"] == "EXIT")
        .expect("fast exit");
    assert!(fast_exit["durationMicros"].as_u64().expect("duration") >= 20_000);
    assert_well_formed(&records);
}

#[flowtrace]
async fn async_fails(fail: bool) -> Result<u8, std::io::Error> {
    tokio::task::yield_now().await;
    if fail {
        return Err(std::io::Error::other("disk on fire"));
    }
    Ok(1)
}

#[flowtrace]
async fn async_panics() {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[test]
#[serial]
fn async_errors_and_panics() {
    let records = capture(|| {
        let runtime = current_thread();
        runtime.block_on(async {
            assert!(async_fails(false).await.is_ok());
            assert!(async_fails(true).await.is_err());
            let panicked = tokio::spawn(async_panics()).await;
            assert!(panicked.expect_err("panics").is_panic());
        });
    });
    let closing: Vec<_> = records.iter().filter(|r| r["event"] != "ENTER").collect();
    assert_eq!(closing[0]["event"], "EXIT");
    assert_eq!(closing[1]["event"], "EXCEPTION");
    assert_eq!(closing[1]["error"], "disk on fire");
    assert_eq!(closing[2]["event"], "PANIC");
    assert_eq!(closing[2]["error"], "async boom");
    assert_well_formed(&records);
}

#[flowtrace]
async fn panics_beside_a_wait() {
    tokio::join!(async_panics(), nested_wait(60_000));
}

/// Polls both futures in turn. Unlike an `async` block, a plain struct future keeps its fields
/// when a panic unwinds out of its `poll`.
struct Both<A, B>(Pin<Box<A>>, Pin<Box<B>>);

impl<A: Future, B: Future> Future for Both<A, B> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let first = self.0.as_mut().poll(cx).is_ready();
        let second = self.1.as_mut().poll(cx).is_ready();
        if first && second {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[flowtrace]
fn returns_panics_beside_a_wait() -> impl Future<Output = ()> + Send {
    Both(Box::pin(nested_wait(60_000)), Box::pin(async_panics()))
}

#[test]
#[serial]
fn a_panic_closes_what_the_call_was_awaiting_before_the_call_itself() {
    for (function, run) in [
        (
            "panics_beside_a_wait",
            (|| tokio::spawn(panics_beside_a_wait())) as fn() -> tokio::task::JoinHandle<()>,
        ),
        ("returns_panics_beside_a_wait", || {
            tokio::spawn(returns_panics_beside_a_wait())
        }),
    ] {
        let records = capture(|| {
            let runtime = current_thread();
            let panicked = runtime.block_on(async { run().await });
            assert!(panicked.expect_err("panics").is_panic());
        });
        let closing: Vec<_> = events(&records)
            .into_iter()
            .filter(|(e, _)| e != "ENTER")
            .collect();
        assert_eq!(
            closing,
            pairs(&[
                ("PANIC", "async_panics"),
                ("CANCEL", "nested_wait"),
                ("PANIC", function)
            ])
        );
        assert_well_formed(&records);
    }
}

#[flowtrace]
fn returns_future(n: u64) -> impl Future<Output = u64> + Send {
    async move {
        tokio::task::yield_now().await;
        step_work(n, 1).await
    }
}

#[test]
#[serial]
fn a_function_returning_impl_future_closes_when_the_future_completes() {
    let records = capture(|| {
        let runtime = current_thread();
        assert_eq!(runtime.block_on(returns_future(4)), 5);
    });
    assert_eq!(
        events(&records),
        pairs(&[
            ("ENTER", "returns_future"),
            ("ENTER", "step_work"),
            ("EXIT", "step_work"),
            ("EXIT", "returns_future"),
        ])
    );
    assert_eq!(parent(&records[1]), Some(id(&records[0])));
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
#[serial]
fn traced_futures_stay_send() {
    let records = capture(|| {
        let runtime = current_thread();
        runtime.block_on(async {
            assert_send(request(1)).await;
            assert_send(returns_future(1)).await;
        });
    });
    assert_eq!(records.len(), 2 * 4 + 4);
}

#[flowtrace]
async fn serves_forever(ticks: u64) -> ! {
    loop {
        nested_wait(ticks).await;
    }
}

#[test]
#[serial]
fn an_async_fn_that_never_returns_is_cancelled_when_dropped() {
    let records = capture(|| {
        let runtime = current_thread();
        runtime.block_on(async {
            let stopped = tokio::time::timeout(Duration::from_millis(30), serves_forever(1)).await;
            assert!(stopped.is_err());
        });
    });
    let closing = events(&records);
    assert_eq!(
        closing.first(),
        Some(&("ENTER".to_owned(), "serves_forever".to_owned()))
    );
    assert_eq!(
        closing.last(),
        Some(&("CANCEL".to_owned(), "serves_forever".to_owned()))
    );
    assert!(
        closing
            .iter()
            .filter(|(e, f)| e == "EXIT" && f == "nested_wait")
            .count()
            >= 2
    );
    assert_well_formed(&records);
}
