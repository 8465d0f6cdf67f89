//! The functions measured: the same body (a `&str` and a `u64` in, a `u64` out) plain,
//! under `#[flowtrace]`, under `#[tracing::instrument]` and under `#[fastrace::trace]`, sync
//! and async, and a nested shape (an outer call making two inner ones).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use flowtrace_runtime::flowtrace;

pub(crate) fn plain_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

pub(crate) async fn plain_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

pub(crate) fn plain_nested(name: &str, n: u64) -> u64 {
    plain_sync(name, n) + plain_sync(name, n + 1)
}

#[flowtrace]
pub(crate) fn flowtrace_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[flowtrace]
pub(crate) async fn flowtrace_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[flowtrace]
pub(crate) fn flowtrace_nested(name: &str, n: u64) -> u64 {
    flowtrace_sync(name, n) + flowtrace_sync(name, n + 1)
}

/// A root that sampling (practically) never records: the calls inside it are the
/// "unsampled" ones.
#[flowtrace(skip_all, sample = 0.000_000_001)]
pub(crate) fn flowtrace_unsampled_root(body: &mut dyn FnMut()) {
    body();
}

#[tracing::instrument]
pub(crate) fn tracing_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[tracing::instrument]
pub(crate) async fn tracing_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[tracing::instrument]
pub(crate) fn tracing_nested(name: &str, n: u64) -> u64 {
    tracing_sync(name, n) + tracing_sync(name, n + 1)
}

#[fastrace::trace(short_name = true, properties = { "name": "{name}", "n": "{n}" })]
pub(crate) fn fastrace_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[fastrace::trace(short_name = true, properties = { "name": "{name}", "n": "{n}" })]
pub(crate) async fn fastrace_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[fastrace::trace(short_name = true, properties = { "name": "{name}", "n": "{n}" })]
pub(crate) fn fastrace_nested(name: &str, n: u64) -> u64 {
    fastrace_sync(name, n) + fastrace_sync(name, n + 1)
}

#[fastrace::trace(short_name = true)]
pub(crate) fn fastrace_noargs_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[fastrace::trace(short_name = true)]
pub(crate) async fn fastrace_noargs_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

/// Polls a future that completes without waiting (all of these do) to its output.
pub(crate) fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}
