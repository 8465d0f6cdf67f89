//! Sampling: which calls that start a trace are recorded, each with its whole subtree.
//!
//! A fraction is kept as a threshold on a random `u64`, so that the decision at a root call
//! is one comparison with a number the thread draws anyway for trace ids. The macro's
//! `sample = F` computes the same threshold at compile time (`CallSite::sample`); 0 there
//! means "no option: use `FLOWTRACE_SAMPLE`".

/// The threshold that keeps every call.
pub(crate) const ALWAYS: u64 = u64::MAX;

/// `fraction` of the `u64` range, so that a random `u64` below it has that probability:
/// [`ALWAYS`] for 1, never 0 (which a call site uses for "no option"). `fraction` is
/// checked (0 < `fraction` ≤ 1) by the configuration or the macro.
pub(crate) const fn threshold(fraction: f64) -> u64 {
    /// 2^64, exactly representable as an `f64`.
    const RANGE: f64 = 18_446_744_073_709_551_616.0;
    if fraction >= 1.0 {
        return ALWAYS;
    }
    // `as` saturates: NaN and negative fractions give 0, lifted to the smallest threshold.
    let threshold = (fraction * RANGE) as u64;
    if threshold == 0 { 1 } else { threshold }
}

/// Whether a root call drawing `random` is recorded under `threshold`.
#[inline]
pub(crate) fn keeps(threshold: u64, random: u64) -> bool {
    threshold == ALWAYS || random < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_keep_the_fraction_asked_for() {
        assert_eq!(threshold(1.0), ALWAYS);
        assert_eq!(threshold(0.5), 1 << 63);
        assert_eq!(threshold(1e-30), 1);
        assert!(threshold(1e-6) > 1);
        assert!(keeps(ALWAYS, u64::MAX));
        assert!(!keeps(1 << 63, 1 << 63));
        assert!(keeps(1 << 63, (1 << 63) - 1));
        // Drawn from a spread of values, a quarter is kept.
        let quarter = threshold(0.25);
        let kept = (0..1000u64)
            .filter(|n| keeps(quarter, n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .count();
        assert!((200..300).contains(&kept), "{kept}");
    }
}
