//! Trace ids, span ids and the random numbers behind them.
//!
//! A root call draws a fresh W3C trace id from a per-thread generator (two multiply-xor steps,
//! no lock, no system call); an instance id is drawn once per start from the standard library's
//! randomly keyed hasher. A call's span id is not stored anywhere: it is derived from the
//! process segment's `instance` and the call's `id`, so the writer, [`TraceContext`] and the
//! CLI all compute the same one.
//!
//! [`TraceContext`]: crate::TraceContext

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

/// A W3C trace id (16 bytes, big-endian halves); all zeros means "none".
///
/// Two `u64`s rather than a `u128`, whose 16-byte alignment would pad every open call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct TraceId {
    pub(crate) high: u64,
    pub(crate) low: u64,
}

impl TraceId {
    pub(crate) const NONE: Self = Self { high: 0, low: 0 };

    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self.high == 0 && self.low == 0
    }

    /// 32 lowercase hex digits.
    pub(crate) fn hex(self) -> [u8; 32] {
        let mut out = [0; 32];
        out[..16].copy_from_slice(&hex16(self.high));
        out[16..].copy_from_slice(&hex16(self.low));
        out
    }
}

/// The span id of call `id` in the process segment `instance`: a bijection of the id keyed by
/// the (mixed) instance, so ids unique in the segment give span ids unique in it, and segments
/// with different instances give unrelated ones. The bijection's input always has the top bit
/// set (ids stay far below 2^63), and the mix maps only zero to zero, so a span id is never
/// zero.
#[inline]
pub(crate) fn span_id(instance: u64, id: u64) -> u64 {
    mix(id ^ (mix(instance) | 1 << 63))
}

/// The splitmix64 finaliser: xor-shifts and odd multiplications, each invertible.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 16 lowercase hex digits of `value`. Branch-free (the writer formats one trace id per root
/// call): the nibbles are spread one per byte, then each byte is offset to its digit.
pub(crate) fn hex16(value: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&hex8((value >> 32) as u32));
    out[8..].copy_from_slice(&hex8(value as u32));
    out
}

fn hex8(value: u32) -> [u8; 8] {
    let x = u64::from(value);
    let x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    let x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    let nibbles = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // 1 in each byte whose nibble is 10 or more: those become letters.
    let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (nibbles + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)).to_be_bytes()
}

/// A random id for a new process segment: never zero.
pub(crate) fn instance() -> u64 {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let start = STARTS.fetch_add(1, Ordering::Relaxed);
    loop {
        let value = seed(start);
        if value != 0 {
            return value;
        }
    }
}

/// A random 64-bit number from the standard library's hasher, whose keys come from the
/// operating system's generator once per thread; `salt` keeps successive draws apart.
fn seed(salt: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    RandomState::new().hash_one((salt, now, std::process::id()))
}

/// A per-thread generator of trace ids (wyrand): fast enough for every root call, seeded from
/// [`seed`] on first use.
#[derive(Debug)]
pub(crate) struct TraceIds {
    state: Cell<u64>,
}

impl TraceIds {
    pub(crate) const fn new() -> Self {
        Self {
            state: Cell::new(0),
        }
    }

    /// A fresh trace id, never all zeros.
    #[inline]
    pub(crate) fn fresh(&self) -> TraceId {
        loop {
            let id = TraceId {
                high: self.next(),
                low: self.next(),
            };
            if !id.is_none() {
                return id;
            }
        }
    }

    #[inline]
    pub(crate) fn next(&self) -> u64 {
        let mut state = self.state.get();
        if state == 0 {
            state = self.reseed();
        }
        state = state.wrapping_add(0xa076_1d64_78bd_642f);
        self.state.set(state);
        let product = u128::from(state) * u128::from(state ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    }

    #[cold]
    fn reseed(&self) -> u64 {
        // The cell's address tells this thread's generator from every other thread's.
        let address = std::ptr::from_ref(self) as u64;
        seed(address) | 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn span_ids_are_distinct_and_never_zero_within_a_segment() {
        for instance in [0, 1, u64::MAX, 0x8000_0000_0000_0000, 0x1234_5678_9abc_def0] {
            let ids: HashSet<u64> = (0..10_000).map(|id| span_id(instance, id)).collect();
            assert_eq!(ids.len(), 10_000, "instance {instance:x}");
            assert!(!ids.contains(&0), "instance {instance:x}");
        }
        // Ids equal to the instance, and swapped pairs (which a plain xor would confuse).
        assert_ne!(span_id(5, 5), 0);
        assert_ne!(span_id(3, 7), span_id(7, 3));
        // The derivation is part of the record format: the CLI computes the same values.
        assert_eq!(span_id(0x1234_5678_9abc_def0, 1), 0x2de3_2f89_89a3_6fe5);
    }

    #[test]
    fn hex_is_lowercase_and_fixed_width() {
        assert_eq!(&hex16(0xab), b"00000000000000ab");
        for value in [
            0,
            1,
            9,
            10,
            15,
            u64::MAX,
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
        ] {
            assert_eq!(
                hex16(value),
                *format!("{value:016x}").as_bytes(),
                "{value:x}"
            );
        }
        let trace = TraceId {
            high: 0x0af7_6519_16cd_43dd,
            low: 0x8448_eb21_1c80_319c,
        };
        assert_eq!(&trace.hex(), b"0af7651916cd43dd8448eb211c80319c");
    }

    #[test]
    fn fresh_trace_ids_differ() {
        let ids = TraceIds::new();
        let drawn: HashSet<TraceId> = (0..1000).map(|_| ids.fresh()).collect();
        assert_eq!(drawn.len(), 1000);
        assert!(!drawn.contains(&TraceId::NONE));
        let other = TraceIds::new();
        assert!(!drawn.contains(&other.fresh()));
        assert_ne!(instance(), instance());
    }
}
