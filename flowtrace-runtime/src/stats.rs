//! Process-wide counters the user can read: what was written, dropped, or lost.

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) static WRITTEN: AtomicU64 = AtomicU64::new(0);
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);
pub(crate) static LOST: AtomicU64 = AtomicU64::new(0);
pub(crate) static WRITE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// A snapshot of flowtrace's counters since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records written to the sink.
    pub written: u64,
    /// Records dropped because the channel was full (`drop` overflow policy only).
    pub dropped: u64,
    /// Records produced but not written: a failed write, or a call racing a shutdown.
    pub lost: u64,
    /// Failed writes to the sink (each may have carried many records).
    pub write_errors: u64,
}

/// Reads the counters.
pub fn stats() -> Stats {
    Stats {
        written: WRITTEN.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        lost: LOST.load(Ordering::Relaxed),
        write_errors: WRITE_ERRORS.load(Ordering::Relaxed),
    }
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
