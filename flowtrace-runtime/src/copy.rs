//! Copying short byte strings whose length is known only at run time.
//!
//! `copy_from_slice` of such a slice calls `memcpy`, which measured as the largest single cost
//! of the writer and a visible one on the traced thread. Up to 128 bytes, two overlapping
//! fixed-size blocks do the same in a couple of moves.

/// Copies `bytes` into `out`, which has the same length.
#[inline(always)]
pub(crate) fn copy_short(out: &mut [u8], bytes: &[u8]) {
    let len = bytes.len();
    match len {
        65..=128 => {
            out[..64].copy_from_slice(&bytes[..64]);
            out[len - 64..].copy_from_slice(&bytes[len - 64..]);
        }
        33..=64 => {
            out[..32].copy_from_slice(&bytes[..32]);
            out[len - 32..].copy_from_slice(&bytes[len - 32..]);
        }
        16..=32 => {
            out[..16].copy_from_slice(&bytes[..16]);
            out[len - 16..].copy_from_slice(&bytes[len - 16..]);
        }
        8..=15 => {
            out[..8].copy_from_slice(&bytes[..8]);
            out[len - 8..].copy_from_slice(&bytes[len - 8..]);
        }
        4..=7 => {
            out[..4].copy_from_slice(&bytes[..4]);
            out[len - 4..].copy_from_slice(&bytes[len - 4..]);
        }
        1..=3 => {
            out[0] = bytes[0];
            out[len / 2] = bytes[len / 2];
            out[len - 1] = bytes[len - 1];
        }
        0 => {}
        _ => out.copy_from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_every_length_are_copied_whole_and_in_place() {
        let source: Vec<u8> = (0..150u8).map(|b| b'A' + b % 26).collect();
        for len in 0..=source.len() {
            let mut out = [b'.'; 160];
            copy_short(&mut out[3..3 + len], &source[..len]);
            assert_eq!(&out[3..3 + len], &source[..len], "length {len}");
            assert_eq!(&out[..3], b"...", "length {len}");
            assert!(out[3 + len..].iter().all(|&b| b == b'.'), "length {len}");
        }
    }
}
