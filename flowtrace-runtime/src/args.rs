//! Encoding a call's arguments (and a `ret` value) on the caller's thread.
//!
//! Values borrowed by the call can only be read while it runs, so they are encoded here, into
//! one small JSON text: `{"name":value,…}`. Each value goes through `serde::Serialize` when its
//! type implements it, else `Debug` (as a JSON string), else its type name in angle brackets —
//! the macro picks the first that applies at compile time (see `private.rs`). Redacted names
//! become `"***"`; a value longer than the limit is cut and marked with `…`.

use std::fmt::{self, Debug, Write as _};

use serde::Serialize;

use crate::filter::Selection;
use crate::json::Payload;
use crate::site::{CallSite, Resolution};

/// `"***"`, escaped like everything in the args text (see [`Payload`]).
const REDACTED: &str = "\\\"***\\\"";
const ELLIPSIS: char = '…';

/// Collects the encoded arguments of one call; handed to the macro's encoding closure.
pub struct ArgsEncoder<'a> {
    /// The thread's reusable buffer: serde_json writes in pieces of a few bytes, and a `Vec`
    /// appends them for a fraction of what the record's inline payload costs per append.
    out: &'a mut Vec<u8>,
    site: &'static CallSite,
    /// `None` when encoding a single value (`ret`) rather than the args object.
    resolution: Option<Resolution>,
    selection: &'a Selection,
    max_length: usize,
    scratch: String,
}

impl Debug for ArgsEncoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgsEncoder").finish_non_exhaustive()
    }
}

impl<'a> ArgsEncoder<'a> {
    /// Encodes the args object into `out`.
    pub(crate) fn object(
        out: &'a mut Vec<u8>,
        site: &'static CallSite,
        resolution: Resolution,
        selection: &'a Selection,
    ) -> Self {
        out.push(b'{');
        Self::new(out, site, Some(resolution), selection)
    }

    /// Encodes one value (`ret`) into `out`.
    pub(crate) fn value(
        out: &'a mut Vec<u8>,
        site: &'static CallSite,
        selection: &'a Selection,
    ) -> Self {
        Self::new(out, site, None, selection)
    }

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
            scratch: String::new(),
        }
    }

    /// The encoded text, escaped for the record (see [`Payload`]).
    pub(crate) fn finish(self) -> Payload {
        if self.resolution.is_some() {
            self.out.push(b'}');
        }
        Payload::from_slice(self.out)
    }

    /// Writes the key for argument `index`; false when its value must be redacted instead.
    #[inline]
    fn key(&mut self, index: usize) -> bool {
        let Some(resolution) = self.resolution else {
            return true;
        };
        let key = self.site.args.get(index).map_or(",\"?\":", |arg| arg.key);
        let key = if self.out.len() > 1 { key } else { &key[1..] };
        self.out.extend_from_slice(key.as_bytes());
        if resolution.is_redacted(self.site, index, &self.selection.redaction) {
            self.out.extend_from_slice(REDACTED.as_bytes());
            return false;
        }
        true
    }

    /// Encodes argument `index` with `serde::Serialize`.
    pub fn serialize<T: Serialize + ?Sized>(&mut self, index: usize, value: &T) {
        if !self.key(index) {
            return;
        }
        let start = self.out.len();
        if let Err(error) = write_json(self.out, value) {
            self.out.truncate(start);
            self.scratch.clear();
            let _ = write!(self.scratch, "<unserializable: {error}>");
            self.push_text(start);
            return;
        }
        if self.out.len() - start > self.max_length {
            self.truncate_encoded(start);
        }
    }

    /// Encodes argument `index`, a string, straight into the args text: the common case, for
    /// which serde's serializer and its escaping took more instructions than the rest of the
    /// call's encoding. Text that needs escaping goes through serde.
    #[inline]
    pub fn str(&mut self, index: usize, value: &str) {
        if !crate::json::needs_no_escape(value.as_bytes()) {
            return self.serialize(index, value);
        }
        if !self.key(index) {
            return;
        }
        let start = self.out.len();
        self.out.extend_from_slice(b"\\\"");
        self.out.extend_from_slice(value.as_bytes());
        self.out.extend_from_slice(b"\\\"");
        if self.out.len() - start > self.max_length {
            self.truncate_encoded(start);
        }
    }

    /// Encodes argument `index`, an integer, straight into the args text.
    #[inline]
    pub fn integer<I: itoa::Integer>(&mut self, index: usize, value: I) {
        if !self.key(index) {
            return;
        }
        let start = self.out.len();
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        if self.out.len() - start > self.max_length {
            self.truncate_encoded(start);
        }
    }

    /// Encodes argument `index` with `Debug`, as a JSON string.
    pub fn debug<T: Debug + ?Sized>(&mut self, index: usize, value: &T) {
        if !self.key(index) {
            return;
        }
        self.scratch.clear();
        let _ = write!(self.scratch, "{value:?}");
        let start = self.out.len();
        self.push_text(start);
    }

    /// Encodes argument `index` as `"<type name>"` when nothing else applies.
    pub fn type_name<T: ?Sized>(&mut self, index: usize) {
        if !self.key(index) {
            return;
        }
        self.scratch.clear();
        self.scratch.push('<');
        self.scratch.push_str(std::any::type_name::<T>());
        self.scratch.push('>');
        let start = self.out.len();
        self.push_text(start);
    }

    /// Writes `self.scratch` at `start` as a JSON string, cut to the length limit.
    fn push_text(&mut self, start: usize) {
        cut_chars(&mut self.scratch, self.max_length);
        self.out.truncate(start);
        let _ = write_json(self.out, self.scratch.as_str());
    }

    /// Slow path for a value whose escaped text passed the limit: a string is cut inside its
    /// quotes; anything else is replaced by its JSON text, cut, as a string.
    #[cold]
    fn truncate_encoded(&mut self, start: usize) {
        let json = unescape(&self.out[start..]);
        let text = if json.starts_with('"') {
            serde_json::from_str::<String>(&json).ok()
        } else {
            None
        };
        self.scratch = text.unwrap_or(json);
        if self.scratch.chars().count() > self.max_length {
            self.push_text(start);
        }
    }
}

/// Writes `value` as JSON already escaped for the inside of a JSON string.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        out,
        crate::json::InString,
    ))
}

/// The JSON text behind its escaped form (what [`write_json`] wrote).
fn unescape(escaped: &[u8]) -> String {
    let mut quoted = Vec::with_capacity(escaped.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(escaped);
    quoted.push(b'"');
    serde_json::from_slice(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(escaped).into_owned())
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
fn cut_chars(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    if let Some((byte, _)) = text.char_indices().nth(max) {
        text.truncate(byte);
        text.push(ELLIPSIS);
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
        &[ArgSpec::new("a", ",\\\"a\\\":", false)],
        0,
    );

    /// The args text of one argument encoded by `encode` under `max_arg_length`.
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
        String::from_utf8(encoder.finish().to_vec()).expect("utf-8")
    }

    #[test]
    fn strings_and_integers_written_directly_equal_what_serde_writes() {
        for text in [
            "alpha",
            "",
            "héllo wörld",
            "quote \" inside",
            "back\\slash",
            "tab\t",
        ] {
            for max in [1, 3, 7, 1000] {
                assert_eq!(
                    args(max, |e| e.str(0, text)),
                    args(max, |e| e.serialize(0, text)),
                    "{text:?} at {max}"
                );
            }
        }
        for number in [0u64, 7, u64::MAX] {
            for max in [1, 5, 1000] {
                assert_eq!(
                    args(max, |e| e.integer(0, number)),
                    args(max, |e| e.serialize(0, &number)),
                    "{number} at {max}"
                );
            }
        }
        assert_eq!(
            args(1000, |e| e.integer(0, i64::MIN)),
            args(1000, |e| e.serialize(0, &i64::MIN))
        );
        assert_eq!(
            args(1000, |e| e.str(0, "alpha")),
            "{\\\"a\\\":\\\"alpha\\\"}"
        );
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        let mut text = "héllo wörld".to_owned();
        cut_chars(&mut text, 5);
        assert_eq!(text, "héllo…");
        let mut short = "ab".to_owned();
        cut_chars(&mut short, 2);
        assert_eq!(short, "ab");
    }
}
