//! The one clock every record is stamped with.
//!
//! Wall-clock time is read once, at first use, and every later reading is that anchor plus the
//! monotonic time elapsed since. So timestamps are epoch-based (as the record format requires),
//! durations never go negative when the system clock is stepped, and a record costs one
//! monotonic clock read.

use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    instant: Instant,
    epoch_micros: u64,
}

static ANCHOR: LazyLock<Anchor> = LazyLock::new(|| Anchor {
    instant: Instant::now(),
    epoch_micros: SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| saturating_micros(since.as_micros())),
});

/// Microseconds since the Unix epoch, monotonic within the process.
#[inline]
pub(crate) fn now_micros() -> u64 {
    let anchor = &*ANCHOR;
    anchor.epoch_micros + saturating_micros(anchor.instant.elapsed().as_micros())
}

fn saturating_micros(micros: u128) -> u64 {
    u64::try_from(micros).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

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
