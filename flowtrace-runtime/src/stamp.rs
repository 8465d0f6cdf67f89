//! Writing the two timestamps of a line fast.
//!
//! Every line carries epoch microseconds twice (`timestamp` in ms, `timestampMicros`), and the
//! lines of one batch are microseconds apart: the whole seconds are formatted once and reused,
//! and only the six fractional digits are written per line, from a table of three-digit groups.
//! Under a flood several lines fall in the same microsecond: those reuse all of it.

/// `"000"` … `"999"`.
static TRIPLETS: [[u8; 3]; 1000] = {
    let mut table = [[0u8; 3]; 1000];
    let mut n = 0;
    while n < 1000 {
        table[n] = [
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ];
        n += 1;
    }
    table
};

/// The decimal text of one epoch-microseconds value, split as the line needs it.
#[derive(Default)]
pub(crate) struct Stamp {
    /// The value the text holds, once set.
    micros: Option<u64>,
    /// How many digits of the whole seconds lead `text` (0: none to reuse).
    seconds_len: usize,
    text: [u8; 26],
    len: usize,
}

impl Stamp {
    /// Sets the value, reusing the seconds' digits when they have not changed.
    #[inline]
    pub(crate) fn set(&mut self, micros: u64) {
        let previous = self.micros.replace(micros);
        if previous == Some(micros) {
            return;
        }
        let seconds = micros / 1_000_000;
        if seconds == 0 {
            // Not a real epoch time (a clock before 1970-01-01T00:00:01): no leading zeros.
            let mut buffer = itoa::Buffer::new();
            let digits = buffer.format(micros).as_bytes();
            self.text[..digits.len()].copy_from_slice(digits);
            self.len = digits.len();
            self.seconds_len = 0;
            return;
        }
        if self.seconds_len == 0 || previous.map(|before| before / 1_000_000) != Some(seconds) {
            let mut buffer = itoa::Buffer::new();
            let digits = buffer.format(seconds).as_bytes();
            self.text[..digits.len()].copy_from_slice(digits);
            self.seconds_len = digits.len();
        }
        let fraction = (micros % 1_000_000) as usize;
        let at = self.seconds_len;
        self.text[at..at + 3].copy_from_slice(&TRIPLETS[fraction / 1000]);
        self.text[at + 3..at + 6].copy_from_slice(&TRIPLETS[fraction % 1000]);
        self.len = at + 6;
    }

    /// Epoch microseconds.
    #[inline]
    pub(crate) fn micros(&self) -> &[u8] {
        &self.text[..self.len]
    }

    /// Epoch milliseconds: the same digits less the last three.
    #[inline]
    pub(crate) fn millis(&self) -> &[u8] {
        if self.len > 3 {
            &self.text[..self.len - 3]
        } else {
            b"0"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_plain_formatting_across_seconds_and_small_values() {
        let mut stamp = Stamp::default();
        for micros in [
            1_764_147_600_123_456u64,
            1_764_147_600_123_457,
            1_764_147_600_123_457,
            1_764_147_601_000_001,
            1_764_147_601_999_999,
            999_999,
            1_000,
            7,
            1_000_000,
            1_000_000,
            1_764_147_602_000_000,
            1_764_147_602_000_000,
        ] {
            stamp.set(micros);
            assert_eq!(stamp.micros(), micros.to_string().as_bytes(), "{micros}");
            assert_eq!(
                stamp.millis(),
                (micros / 1000).to_string().as_bytes(),
                "{micros}"
            );
        }
    }
}
