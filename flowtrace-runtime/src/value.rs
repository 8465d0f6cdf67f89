//! The JSON text of one argument or `ret` value, as it appears inside the `args` (or `result`)
//! string of a line: escaped one more level, cut to the length limit and marked with `…`.
//!
//! Used on the traced thread for values it must encode while it can still read them (anything
//! through serde or `Debug`), and on the writer for the strings and integers a call only
//! captured (see `captured`): both write exactly the same text.

use std::fmt::Write as _;

use serde::Serialize;

const ELLIPSIS: char = '…';

/// Appends `value` as a JSON string, cut to `max` characters.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str, max: usize) {
    if !crate::json::needs_no_escape(value.as_bytes()) {
        return write_serialized(out, value, max);
    }
    let start = out.len();
    out.reserve(value.len() + 4);
    out.extend_from_slice(b"\\\"");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\\\"");
    if out.len() - start > max {
        truncate_encoded(out, start, max);
    }
}

/// Appends an integer, cut to `max` characters (as a string, when it is that long).
#[inline]
pub(crate) fn write_integer<I: itoa::Integer>(out: &mut Vec<u8>, value: I, max: usize) {
    let start = out.len();
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    if out.len() - start > max {
        truncate_encoded(out, start, max);
    }
}

/// Appends `value` through `serde::Serialize`; a value that fails to serialize becomes a string
/// saying why.
pub(crate) fn write_serialized<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, max: usize) {
    let start = out.len();
    if let Err(error) = write_json(out, value) {
        out.truncate(start);
        write_text(out, format!("<unserializable: {error}>"), max);
        return;
    }
    if out.len() - start > max {
        truncate_encoded(out, start, max);
    }
}

/// Appends `text` as a JSON string, cut to `max` characters.
pub(crate) fn write_text(out: &mut Vec<u8>, mut text: String, max: usize) {
    cut_chars(&mut text, max);
    let _ = write_json(out, text.as_str());
}

/// Appends `value`'s `Debug` text as a JSON string, cut to `max` characters.
pub(crate) fn write_debug<T: std::fmt::Debug + ?Sized>(out: &mut Vec<u8>, value: &T, max: usize) {
    let mut text = String::new();
    let _ = write!(text, "{value:?}");
    write_text(out, text, max);
}

/// Slow path for a value whose escaped text (from `start`) passed the limit: a string is cut
/// inside its quotes; anything else is replaced by its JSON text, cut, as a string.
#[cold]
fn truncate_encoded(out: &mut Vec<u8>, start: usize, max: usize) {
    let json = unescape(&out[start..]);
    let text = if json.starts_with('"') {
        serde_json::from_str::<String>(&json).ok()
    } else {
        None
    };
    let text = text.unwrap_or(json);
    if text.chars().count() > max {
        out.truncate(start);
        write_text(out, text, max);
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

    #[test]
    fn cut_counts_characters_not_bytes() {
        let mut text = "héllo wörld".to_owned();
        cut_chars(&mut text, 5);
        assert_eq!(text, "héllo…");
        let mut short = "ab".to_owned();
        cut_chars(&mut short, 2);
        assert_eq!(short, "ab");
    }

    #[test]
    fn strings_and_integers_written_directly_equal_what_serde_writes() {
        let both = |direct: &dyn Fn(&mut Vec<u8>), serde: &dyn Fn(&mut Vec<u8>)| {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            direct(&mut ours);
            serde(&mut theirs);
            (String::from_utf8(ours), String::from_utf8(theirs))
        };
        for text in [
            "alpha",
            "",
            "héllo wörld",
            "quote \" in",
            "back\\slash",
            "tab\t",
        ] {
            for max in [1, 3, 7, 1000] {
                let (ours, theirs) = both(&|out| write_str(out, text, max), &|out| {
                    write_serialized(out, text, max)
                });
                assert_eq!(ours, theirs, "{text:?} at {max}");
            }
        }
        for number in [0u64, 7, u64::MAX] {
            for max in [1, 5, 1000] {
                let (ours, theirs) = both(&|out| write_integer(out, number, max), &|out| {
                    write_serialized(out, &number, max)
                });
                assert_eq!(ours, theirs, "{number} at {max}");
            }
        }
    }
}
