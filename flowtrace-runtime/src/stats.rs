//! Process-wide counters the user can read: what was written, dropped, or lost.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters, on cache lines of their own: the writer bumps `written` after every batch, and
/// sharing a line with the flags every traced call reads (`STATE`, `GENERATION`) would cost
/// each call a cache miss.
#[repr(align(128))]
pub(crate) struct Counters {
    pub(crate) written: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) otlp_exported: AtomicU64,
    pub(crate) otlp_dropped: AtomicU64,
    pub(crate) otlp_failed: AtomicU64,
}

pub(crate) static COUNTERS: Counters = Counters {
    written: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    lost: AtomicU64::new(0),
    write_errors: AtomicU64::new(0),
    otlp_exported: AtomicU64::new(0),
    otlp_dropped: AtomicU64::new(0),
    otlp_failed: AtomicU64::new(0),
};

/// A snapshot of flowtrace's counters since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records written to the sink.
    pub written: u64,
    /// Records dropped because a thread's ring was full (`drop` overflow policy only).
    pub dropped: u64,
    /// Records produced but not written: a failed write, or a call racing a shutdown.
    pub lost: u64,
    /// Failed writes to the sink (each may have carried many records).
    pub write_errors: u64,
    /// Spans the live OTLP exporter delivered (feature `otlp`).
    pub otlp_exported: u64,
    /// Spans the live OTLP exporter dropped because its queue was full (the receiver was slow
    /// or down for a while).
    pub otlp_dropped: u64,
    /// Spans the live OTLP exporter gave up on: refused, or the receiver stayed unavailable.
    pub otlp_failed: u64,
}

/// Reads the counters.
pub fn stats() -> Stats {
    Stats {
        written: COUNTERS.written.load(Ordering::Relaxed),
        dropped: COUNTERS.dropped.load(Ordering::Relaxed),
        lost: COUNTERS.lost.load(Ordering::Relaxed),
        write_errors: COUNTERS.write_errors.load(Ordering::Relaxed),
        otlp_exported: COUNTERS.otlp_exported.load(Ordering::Relaxed),
        otlp_dropped: COUNTERS.otlp_dropped.load(Ordering::Relaxed),
        otlp_failed: COUNTERS.otlp_failed.load(Ordering::Relaxed),
    }
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
