//! Sampling: which calls that start a trace are recorded, each with its whole subtree.
//!
//! A fraction is kept as a threshold on a random `u64`, so that the decision at a root call
//! is one comparison with a number the thread draws anyway for trace ids. The macro's
//! `sample = F` computes the same threshold at compile time (`CallSite::sample`); 0 there
//! means "no option: use `FLOWTRACE_SAMPLE`".

/// The threshold that keeps every call.
pub(crate) const ALWAYS: u64 = u64::MAX;

/// The threshold for `fraction` (0 < `fraction` ≤ 1, checked by the configuration).
pub(crate) fn threshold(fraction: f64) -> u64 {
    if fraction >= 1.0 {
        ALWAYS
    } else {
        // 2^64 · fraction, at least 1 so that a tiny fraction is not "never".
        ((fraction * 18_446_744_073_709_551_616.0) as u64).max(1)
    }
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
