//! Fast maps keyed by call id, and the compact set of closed ids used by `check`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Hashes a `u64` call id with one multiplication (ids are trusted input for a lookup table, not
/// keys an attacker chooses, so SipHash's protection buys nothing here).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map from call id (or another `u64`) to `V`.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A 64-bit digest of `module::function`, to compare a closing record with its `ENTER` without
/// keeping the strings of every open call.
pub(crate) fn name_hash(module: &str, function: &str) -> u64 {
    let mut hasher = IdHasher::default();
    module.hash(&mut hasher);
    function.hash(&mut hasher);
    hasher.finish()
}

/// The span id of call `id` in the process segment whose START names `instance` (16 hex
/// digits), as the runtime derives it (design §7): a bijection of the id keyed by the mixed
/// instance. `None` when `instance` is not hex.
pub(crate) fn span_id(instance: &str, id: u64) -> Option<u64> {
    let instance = u64::from_str_radix(instance, 16).ok()?;
    Some(mix(id ^ (mix(instance) | 1 << 63)))
}

/// The splitmix64 finaliser, as the runtime uses it.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A set of ids stored as disjoint half-open ranges `start → end`, merged as they touch.
#[derive(Debug, Default)]
pub(crate) struct IdRanges(BTreeMap<u64, u64>);

impl IdRanges {
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.0
            .range(..=id)
            .next_back()
            .is_some_and(|(_, &end)| id < end)
    }

    pub(crate) fn insert(&mut self, id: u64) {
        if self.contains(id) {
            return;
        }
        let end = id.saturating_add(1);
        let before = self
            .0
            .range(..id)
            .next_back()
            .filter(|(_, e)| **e == id)
            .map(|(s, _)| *s);
        let after = self.0.remove(&end);
        match before {
            Some(start) => {
                self.0.insert(start, after.unwrap_or(end));
            }
            None => {
                self.0.insert(id, after.unwrap_or(end));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hash_apart() {
        assert_ne!(name_hash("a::b", "c"), name_hash("a", "b::c"));
        assert_eq!(name_hash("m", "f"), name_hash("m", "f"));
    }

    #[test]
    fn span_ids_are_the_runtimes() {
        // The runtime's own unit test pins the same value.
        assert_eq!(span_id("123456789abcdef0", 1), Some(0x2de3_2f89_89a3_6fe5));
        assert_eq!(span_id("not hex", 1), None);
    }

    #[test]
    fn id_ranges_merge_and_answer_membership() {
        let mut ids = IdRanges::default();
        for id in [5, 1, 3, 2, 7, 4] {
            ids.insert(id);
        }
        assert_eq!(ids.0.iter().collect::<Vec<_>>(), [(&1, &6), (&7, &8)]);
        for (id, expected) in [
            (0, false),
            (1, true),
            (5, true),
            (6, false),
            (7, true),
            (8, false),
        ] {
            assert_eq!(ids.contains(id), expected, "{id}");
        }
    }
}
