//! The one clock every record is stamped with.
//!
//! Wall-clock time is read once, at first use, and every later reading is that anchor plus the
//! monotonic time elapsed since. So timestamps are epoch-based (as the record format requires),
//! durations never go negative when the system clock is stepped, and a record costs one
//! monotonic clock read on the traced thread: it carries the raw `Instant`, and the writer
//! thread does the arithmetic.
//!
//! The monotonic clock is `quanta`'s: a TSC read scaled to nanoseconds where the processor has
//! an invariant TSC (a few ns), the OS clock elsewhere. Two reads per call made the OS clock the
//! largest single cost of a traced call. It is read through a [`quanta::Clock`] of our own:
//! `quanta::Instant::now()` first looks for a test override in a thread-local and for its global
//! clock, which took 60 instructions per read where the read itself takes a dozen.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The monotonic instant a record is stamped with.
pub(crate) type Instant = quanta::Instant;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// Reads the clock.
#[inline(always)]
pub(crate) fn now() -> Instant {
    CLOCK.now()
}

struct Anchor {
    instant: Instant,
    epoch_micros: u64,
}

static ANCHOR: LazyLock<Anchor> = LazyLock::new(|| Anchor {
    instant: now(),
    epoch_micros: SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| saturating_micros(since.as_micros())),
});

/// Fixes the anchor; called when tracing starts, before any record is stamped.
pub(crate) fn start() {
    LazyLock::force(&ANCHOR);
}

/// The instant every other is measured from: a placeholder where no time is read.
#[inline]
pub(crate) fn anchor() -> Instant {
    ANCHOR.instant
}

/// Microseconds since the Unix epoch at `at`, monotonic within the process.
pub(crate) fn epoch_micros(at: Instant) -> u64 {
    let anchor = &*ANCHOR;
    anchor.epoch_micros + micros_between(anchor.instant, at)
}

/// Whole microseconds from `earlier` to `later` (0 if `later` is not later).
pub(crate) fn micros_between(earlier: Instant, later: Instant) -> u64 {
    let elapsed = later.saturating_duration_since(earlier);
    elapsed.as_secs() * 1_000_000 + u64::from(elapsed.subsec_micros())
}

/// Whole nanoseconds from `earlier` to `later` (0 if `later` is not later).
#[inline]
pub(crate) fn nanos_between(earlier: Instant, later: Instant) -> u64 {
    let elapsed = later.saturating_duration_since(earlier);
    elapsed.as_secs() * 1_000_000_000 + u64::from(elapsed.subsec_nanos())
}

/// Nanoseconds from the anchor to `at`: [`epoch_micros`] is the anchor's epoch microseconds
/// plus this divided by 1000.
pub(crate) fn nanos_since_anchor(at: Instant) -> u64 {
    nanos_between(ANCHOR.instant, at)
}

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_micros() -> u64 {
    epoch_micros(now())
}

fn saturating_micros(micros: u128) -> u64 {
    u64::try_from(micros).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_microseconds_and_never_negative() {
        let earlier = now();
        let later = earlier + std::time::Duration::from_nanos(2_500_999);
        assert_eq!(micros_between(earlier, later), 2_500);
        assert_eq!(micros_between(later, earlier), 0);
    }

    #[test]
    fn readings_never_go_backwards_and_track_the_wall_clock() {
        let first = now_micros();
        let second = now_micros();
        assert!(second >= first);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        // The anchor was taken moments ago in this process: within a minute of the wall clock.
        assert!(
            wall.abs_diff(second) < 60_000_000,
            "wall {wall} vs clock {second}"
        );
    }
}
