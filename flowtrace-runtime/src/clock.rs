//! The one clock every record is stamped with.
//!
//! Wall-clock time is read once, at first use, and every later reading is that anchor plus the
//! monotonic time elapsed since. So timestamps are epoch-based (as the record format requires),
//! durations never go negative when the system clock is stepped, and a record costs one
//! monotonic clock read on the traced thread.
//!
//! The monotonic clock is `quanta`'s: a TSC read scaled to nanoseconds where the processor has
//! an invariant TSC (a few ns), the OS clock elsewhere. Two reads per call made the OS clock the
//! largest single cost of a traced call. It is read through a [`quanta::Clock`] of our own
//! (`quanta::Instant::now()` first looks for a test override in a thread-local: 60 instructions
//! per read where the read itself takes a dozen), and a reading is kept as plain nanoseconds
//! since the anchor, so that the writer's arithmetic on it (timestamps, durations) is integer
//! division, not `Duration`'s seconds-and-nanoseconds.

use std::ops::{Add, Sub};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The monotonic instant a record is stamped with: nanoseconds since the anchor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

struct Anchor {
    clock: quanta::Clock,
    /// The clock's raw reading at the anchor.
    raw: u64,
    epoch_micros: u64,
}

static ANCHOR: LazyLock<Anchor> = LazyLock::new(|| {
    let clock = quanta::Clock::new();
    Anchor {
        raw: clock.raw(),
        clock,
        epoch_micros: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| saturating_micros(since.as_micros())),
    }
});

/// Reads the clock.
#[inline(always)]
pub(crate) fn now() -> Instant {
    let anchor = &*ANCHOR;
    Instant(anchor.clock.delta_as_nanos(anchor.raw, anchor.clock.raw()))
}

/// Fixes the anchor; called when tracing starts, before any record is stamped.
pub(crate) fn start() {
    LazyLock::force(&ANCHOR);
}

/// The instant every other is measured from: a placeholder where no time is read.
#[inline]
pub(crate) fn anchor() -> Instant {
    Instant(0)
}

/// Microseconds since the Unix epoch at `at`, monotonic within the process.
#[inline]
pub(crate) fn epoch_micros(at: Instant) -> u64 {
    ANCHOR.epoch_micros + at.0 / 1000
}

/// Whole nanoseconds from `earlier` to `later` (0 if `later` is not later).
#[inline]
pub(crate) fn nanos_between(earlier: Instant, later: Instant) -> u64 {
    later.0.saturating_sub(earlier.0)
}

/// Nanoseconds from the anchor to `at`: [`epoch_micros`] is the anchor's epoch microseconds
/// plus this divided by 1000.
#[inline]
pub(crate) fn nanos_since_anchor(at: Instant) -> u64 {
    at.0
}

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_micros() -> u64 {
    epoch_micros(now())
}

fn saturating_micros(micros: u128) -> u64 {
    u64::try_from(micros).unwrap_or(u64::MAX)
}

fn saturating_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(saturating_nanos(duration)))
    }
}

impl Sub<Duration> for Instant {
    type Output = Self;

    fn sub(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(saturating_nanos(duration)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_never_negative() {
        let earlier = now();
        let later = earlier + std::time::Duration::from_nanos(2_500_999);
        assert_eq!(nanos_between(earlier, later), 2_500_999);
        assert_eq!(nanos_between(later, earlier), 0);
        assert!(now() >= earlier);
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
