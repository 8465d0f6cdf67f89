//! A log-bucketed histogram of durations: percentiles in bounded memory with at most 1% relative
//! error.
//!
//! Values below 128 µs have a bucket each (exact). Above, bucket `k` covers
//! `[128·1.02^k, 128·1.02^(k+1))` and reports its geometric middle, which is within
//! `√1.02 − 1 ≈ 0.995%` of any value in it. Covering up to `u64::MAX` µs takes about 2,130
//! buckets (17 KiB), allocated only as far as the largest value seen.

/// Values below this are counted exactly.
const EXACT: u64 = 128;
/// Width ratio of the logarithmic buckets.
const RATIO: f64 = 1.02;

/// Durations in microseconds, bucketed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    count: u64,
    min: u64,
    max: u64,
}

fn bucket_of(value: u64) -> usize {
    if value < EXACT {
        value as usize
    } else {
        EXACT as usize + ((value as f64 / EXACT as f64).ln() / RATIO.ln()) as usize
    }
}

fn value_of(bucket: usize) -> u64 {
    if bucket < EXACT as usize {
        bucket as u64
    } else {
        let low = EXACT as f64 * RATIO.powi((bucket - EXACT as usize) as i32);
        (low * RATIO.sqrt()).round() as u64
    }
}

impl Histogram {
    /// Counts one value.
    pub(crate) fn record(&mut self, value: u64) {
        let bucket = bucket_of(value);
        if bucket >= self.counts.len() {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += 1;
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.count += 1;
    }

    /// The largest value counted (exact), 0 when empty.
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The value at `percentile` (0–100) by the nearest-rank method, within 1% (exact for the
    /// smallest and largest values); 0 when empty.
    pub(crate) fn percentile(&self, percentile: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((percentile / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        // The extremes are known exactly.
        if rank >= self.count {
            return self.max;
        }
        if rank == 1 {
            return self.min;
        }
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return value_of(bucket).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[u64], percentile: f64) -> u64 {
        let rank = ((percentile / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank - 1]
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        // A deterministic spread from 1 µs to about 10 s (a multiplicative walk).
        let mut values: Vec<u64> = (0..20_000u64)
            .map(|i| ((i * 7_919) % 20_000) as f64)
            .map(|x| (1.0 + x).powf(1.63) as u64)
            .collect();
        let mut histogram = Histogram::default();
        for &value in &values {
            histogram.record(value);
        }
        values.sort_unstable();
        for percentile in [1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
            let (got, want) = (histogram.percentile(percentile), exact(&values, percentile));
            let error = got.abs_diff(want) as f64 / want.max(1) as f64;
            assert!(error <= 0.01, "p{percentile}: {got} vs {want}");
        }
        assert_eq!(histogram.max(), *values.last().unwrap_or(&0));
    }

    #[test]
    fn small_values_are_exact_and_empty_is_zero() {
        let mut histogram = Histogram::default();
        assert_eq!(histogram.percentile(50.0), 0);
        for value in [3, 1, 2, 100] {
            histogram.record(value);
        }
        assert_eq!(histogram.percentile(50.0), 2);
        assert_eq!(histogram.percentile(75.0), 3);
        assert_eq!(histogram.percentile(100.0), 100);
    }

    #[test]
    fn memory_is_bounded_even_for_huge_values() {
        let mut histogram = Histogram::default();
        histogram.record(u64::MAX);
        assert!(histogram.counts.len() < 2_200, "{}", histogram.counts.len());
        assert_eq!(histogram.percentile(50.0), u64::MAX);
    }
}
