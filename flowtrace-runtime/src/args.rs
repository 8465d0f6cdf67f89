//! Recording a call's arguments (and a `ret` value) on the caller's thread.
//!
//! Values borrowed by the call can only be read while it runs. Strings and integers are only
//! captured here, for the writer to encode (see `captured`); everything else is encoded here,
//! into the JSON text the line will hold: each value goes through `serde::Serialize` when its
//! type implements it, else `Debug` (as a JSON string), else its type name in angle brackets —
//! the macro picks the first that applies at compile time (see `private.rs`). Redacted names
//! become `"***"`; a value longer than the limit is cut and marked with `…` (see `value`).

use std::fmt::{self, Debug};

use serde::Serialize;

use crate::captured;
use crate::filter::Selection;
use crate::json::Payload;
use crate::site::{CallSite, Resolution};
use crate::value;

/// `"***"`, escaped like everything in the args text (see [`Payload`]).
const REDACTED: &str = "\\\"***\\\"";

/// Collects the arguments of one call; handed to the macro's encoding closure.
pub struct ArgsEncoder<'a> {
    /// The thread's reusable buffer: serde_json writes in pieces of a few bytes, and a `Vec`
    /// appends them for a fraction of what the record's inline payload costs per append.
    out: &'a mut Vec<u8>,
    site: &'static CallSite,
    /// `None` when encoding a single value (`ret`) rather than the arguments.
    resolution: Option<Resolution>,
    selection: &'a Selection,
    max_length: usize,
    /// Arguments recorded so far: every one after the first has a comma before its key.
    written: usize,
}

impl Debug for ArgsEncoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgsEncoder").finish_non_exhaustive()
    }
}

impl<'a> ArgsEncoder<'a> {
    /// Records the arguments into `out`, in their captured form (see `captured`).
    pub(crate) fn object(
        out: &'a mut Vec<u8>,
        site: &'static CallSite,
        resolution: Resolution,
        selection: &'a Selection,
    ) -> Self {
        Self::new(out, site, Some(resolution), selection)
    }

    /// Encodes one value (`ret`) into `out`, as text.
    pub(crate) fn value(
        out: &'a mut Vec<u8>,
        site: &'static CallSite,
        selection: &'a Selection,
    ) -> Self {
        Self::new(out, site, None, selection)
    }

    #[inline]
    fn new(
        out: &'a mut Vec<u8>,
        site: &'static CallSite,
        resolution: Option<Resolution>,
        selection: &'a Selection,
    ) -> Self {
        let max_length = match site.max_arg_length {
            0 => selection.max_arg_length,
            n => n,
        };
        Self {
            out,
            site,
            resolution,
            selection,
            max_length,
            written: 0,
        }
    }

    /// The recorded arguments (captured) or value (escaped text), for the record.
    #[inline]
    pub(crate) fn finish(self) -> Payload {
        Payload::from_slice(self.out)
    }

    /// Whether argument `index` is captured rather than encoded: recording arguments, and the
    /// argument is not redacted.
    #[inline(always)]
    fn captures(&self, index: usize) -> bool {
        self.resolution.is_some_and(|resolution| {
            !resolution.is_redacted(self.site, index, &self.selection.redaction)
        })
    }

    /// Records argument `index` as the text `write` encodes (given the length limit); as a
    /// text segment with its key when recording arguments, `"***"` instead when redacted.
    fn text(&mut self, index: usize, write: impl FnOnce(&mut Vec<u8>, usize)) {
        let Some(resolution) = self.resolution else {
            return write(self.out, self.max_length);
        };
        let start = captured::begin_text(self.out);
        let key = captured::key(self.site, index, self.written);
        self.out.extend_from_slice(key);
        if resolution.is_redacted(self.site, index, &self.selection.redaction) {
            self.out.extend_from_slice(REDACTED.as_bytes());
        } else {
            write(self.out, self.max_length);
        }
        captured::end_text(self.out, start);
        self.written += 1;
    }

    /// Records argument `index` with `serde::Serialize`.
    pub fn serialize<T: Serialize + ?Sized>(&mut self, index: usize, value: &T) {
        self.text(index, |out, max| value::write_serialized(out, value, max));
    }

    /// Records argument `index`, a string: captured, for the writer to encode, unless it is
    /// long enough that it might have to be cut.
    #[inline(always)]
    pub fn str(&mut self, index: usize, value: &str) {
        if self.captures(index) && captured::can_capture_str(index, value, self.max_length) {
            captured::push_str(self.out, self.written, index, value);
            self.written += 1;
        } else {
            self.text_cold(index, |out, max| value::write_str(out, value, max));
        }
    }

    /// Records argument `index`, an unsigned integer: captured, for the writer to encode.
    #[inline(always)]
    pub fn unsigned(&mut self, index: usize, value: u64) {
        self.integer(index, value, captured::push_unsigned);
    }

    /// Records argument `index`, a signed integer: captured, for the writer to encode.
    #[inline(always)]
    pub fn signed(&mut self, index: usize, value: i64) {
        self.integer(index, value, captured::push_signed);
    }

    /// Records integer argument `index` with `capture`, or as text when it cannot be
    /// captured (redacted, or a length limit shorter than its digits may be).
    #[inline(always)]
    fn integer<I: itoa::Integer + Copy>(
        &mut self,
        index: usize,
        value: I,
        capture: fn(&mut Vec<u8>, usize, usize, I),
    ) {
        if self.captures(index) && captured::can_capture_integer(index, self.max_length) {
            capture(self.out, self.written, index, value);
            self.written += 1;
        } else {
            self.text_cold(index, |out, max| value::write_integer(out, value, max));
        }
    }

    /// [`Self::text`] for a string or integer that could not be captured: rare, and kept out
    /// of the captured path's way.
    #[cold]
    #[inline(never)]
    fn text_cold(&mut self, index: usize, write: impl FnOnce(&mut Vec<u8>, usize)) {
        self.text(index, write);
    }

    /// Records argument `index` with `Debug`, as a JSON string.
    pub fn debug<T: Debug + ?Sized>(&mut self, index: usize, value: &T) {
        self.text(index, |out, max| value::write_debug(out, value, max));
    }

    /// Records argument `index` as `"<type name>"` when nothing else applies.
    pub fn type_name<T: ?Sized>(&mut self, index: usize) {
        self.text(index, |out, max| {
            value::write_text(out, format!("<{}>", std::any::type_name::<T>()), max);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{ModuleFilter, Redaction};
    use crate::site::ArgSpec;

    static SITE: CallSite = CallSite::new(
        "f",
        "m",
        "f.rs",
        1,
        &[
            ArgSpec::new("a", ",\\\"a\\\":", false),
            ArgSpec::new("b", ",\\\"b\\\":", false),
            ArgSpec::new("secret", ",\\\"secret\\\":", true),
        ],
        0,
    );

    /// The args text of the arguments `encode` records under `max_arg_length`, as the writer
    /// renders it.
    fn args(max_arg_length: usize, encode: impl FnOnce(&mut ArgsEncoder<'_>)) -> String {
        let selection = Selection {
            generation: 1,
            modules: ModuleFilter::default(),
            redaction: Redaction::default(),
            max_arg_length,
        };
        let resolution = SITE.resolve(&selection).expect("traced");
        let mut out = Vec::new();
        let mut encoder = ArgsEncoder::object(&mut out, &SITE, resolution, &selection);
        encode(&mut encoder);
        let mut text = Vec::new();
        captured::render(&SITE, &encoder.finish(), &mut text);
        String::from_utf8(text).expect("utf-8")
    }

    #[test]
    fn captured_strings_and_integers_are_rendered_as_serde_writes_them() {
        let long = "x".repeat(200);
        for text in [
            "alpha",
            "",
            "héllo wörld",
            "quote \" inside",
            "back\\slash",
            "tab\t",
            "\u{1}",
            &long,
        ] {
            for max in [1, 3, 7, 11, 12, 20, 1000, 2000] {
                assert_eq!(
                    args(max, |e| e.str(0, text)),
                    args(max, |e| e.serialize(0, text)),
                    "{text:?} at {max}"
                );
            }
        }
        for number in [0u64, 7, u64::MAX] {
            for max in [1, 5, 19, 20, 1000] {
                assert_eq!(
                    args(max, |e| e.unsigned(0, number)),
                    args(max, |e| e.serialize(0, &number)),
                    "{number} at {max}"
                );
            }
        }
        for number in [i64::MIN, -1, 0, i64::MAX] {
            assert_eq!(
                args(1000, |e| e.signed(1, number)),
                args(1000, |e| e.serialize(1, &number))
            );
        }
        assert_eq!(
            args(1000, |e| e.str(0, "alpha")),
            "{\\\"a\\\":\\\"alpha\\\"}"
        );
    }

    #[test]
    fn captured_and_encoded_arguments_mix_in_order_with_one_comma_between() {
        let text = args(1000, |e| {
            e.str(0, "alpha");
            e.debug(1, &Some(1));
            e.unsigned(2, 42);
        });
        assert_eq!(
            text,
            "{\\\"a\\\":\\\"alpha\\\",\\\"b\\\":\\\"Some(1)\\\",\\\"secret\\\":\\\"***\\\"}"
        );
        assert_eq!(
            args(1000, |e| {
                e.serialize(0, &[1, 2]);
                e.signed(1, -3);
            }),
            "{\\\"a\\\":[1,2],\\\"b\\\":-3}"
        );
        assert_eq!(args(1000, |_| {}), "{}");
    }
}
