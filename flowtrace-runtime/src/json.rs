//! JSON string escaping.
//!
//! Payloads encoded on the traced thread (results, messages, arguments that are not simply
//! captured) are escaped once, as they are finished, and the writer only copies them between
//! quotes; captured strings are escaped by the writer (see `captured`). Static names are escaped
//! once per call site or thread. Output is byte-for-byte what serde_json writes (tested below).

use std::any::Any;
use std::io;

use serde_json::ser::CharEscape;
use smallvec::SmallVec;

/// Encoded args, result or message, already escaped for the inside of a JSON string. Small ones
/// live inside the record: a heap buffer allocated on the caller's thread and freed on the
/// writer's costs more than the rest of the record.
pub type Payload = SmallVec<[u8; 48]>;

/// `text` as a payload: escaped for the inside of a JSON string.
pub(crate) fn escaped(text: &[u8]) -> Payload {
    let mut payload = Payload::new();
    write_contents(&mut payload, text);
    payload
}

/// The message of a panic, from its payload, as a payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Payload {
    let message = if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.as_str()
    } else {
        "Box<dyn Any>"
    };
    escaped(message.as_bytes())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Where escaped text goes: the writer's line buffer or a record's payload.
pub(crate) trait Sink {
    fn push_bytes(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn push_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Payload {
    #[inline]
    fn push_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Appends UTF-8 text as a quoted JSON string.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    write_contents(out, bytes);
    out.push(b'"');
}

/// Appends UTF-8 text escaped for the inside of a JSON string (no quotes). Takes bytes: only
/// ASCII bytes are ever escaped, so multi-byte characters pass through unchanged.
///
/// Runs of bytes that need no escape (nearly all text) are appended whole: pushing byte by
/// byte made the compiler reload the buffer's length after every byte.
#[inline]
pub(crate) fn write_contents(out: &mut impl Sink, bytes: &[u8]) {
    let mut run_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.push_bytes(&bytes[run_start..index]);
        write_escape(out, byte, escape);
        run_start = index + 1;
    }
    out.push_bytes(&bytes[run_start..]);
}

/// True when `bytes` go into a JSON string as they are (no quote, backslash or control
/// character).
#[inline]
pub(crate) fn needs_no_escape(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| ESCAPE[usize::from(byte)] == 0)
}

/// For each byte, the letter of its escape (`\"`, `\\`, `\n`, …; `u` for `\u00XX`), or 0.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[inline]
fn write_escape(out: &mut impl Sink, byte: u8, escape: u8) {
    if escape == b'u' {
        out.push_bytes(&unicode_escape(byte));
    } else {
        out.push_bytes(&[b'\\', escape]);
    }
}

/// `\u00XX` for a control character.
fn unicode_escape(byte: u8) -> [u8; 6] {
    [
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[usize::from(byte >> 4)],
        HEX[usize::from(byte & 0xf)],
    ]
}

/// A `serde_json` formatter whose output is already escaped for the inside of a JSON string:
/// the `args` key holds a JSON text *as a string*, and encoding it in one pass instead of
/// encoding then escaping halved the cost of a call's arguments.
///
/// Only the pieces that can contain `"`, `\` or control characters differ from the default:
/// strings (their fragments never need escaping, their quotes and escapes get one more level)
/// and raw JSON fragments.
pub(crate) struct InString;

impl serde_json::ser::Formatter for InString {
    #[inline]
    fn begin_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\\\"")
    }

    #[inline]
    fn end_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\\\"")
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // The one-level escape (`\n`, `\"`, `\u001f`) with its backslash escaped, and a quote
        // or backslash after it escaped too.
        let escape: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\\\\\"",
            CharEscape::ReverseSolidus => b"\\\\\\\\",
            CharEscape::Solidus => b"\\\\/",
            CharEscape::Backspace => b"\\\\b",
            CharEscape::FormFeed => b"\\\\f",
            CharEscape::LineFeed => b"\\\\n",
            CharEscape::CarriageReturn => b"\\\\r",
            CharEscape::Tab => b"\\\\t",
            CharEscape::AsciiControl(byte) => {
                writer.write_all(b"\\")?;
                return writer.write_all(&unicode_escape(byte));
            }
        };
        writer.write_all(escape)
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut escaped = Vec::with_capacity(fragment.len() + 8);
        write_contents(&mut escaped, fragment.as_bytes());
        writer.write_all(&escaped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn ours(value: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, value.as_bytes());
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn matches_serde_json_for_every_ascii_byte_and_unicode() {
        for byte in 0u8..128 {
            let text = format!("a{}b", char::from(byte));
            assert_eq!(
                ours(&text),
                serde_json::to_string(&text).expect("serde"),
                "byte {byte}"
            );
        }
        for text in [
            "",
            "plain",
            "{\"n\":\"a\\\"b\"}",
            "héllo → wörld ✓",
            "\u{7f}\u{80}\u{2028}",
        ] {
            assert_eq!(ours(text), serde_json::to_string(text).expect("serde"));
        }
    }

    #[test]
    fn in_string_formatter_equals_encoding_then_escaping() {
        let values = [
            serde_json::json!("plain"),
            serde_json::json!(
                "quote \" backslash \\ slash / tab \t nl \n cr \r \u{8}\u{c}\u{1}\u{1f}"
            ),
            serde_json::json!({"k\"ey": ["a", 1, -2.5, true, null, {"nested": "\\\""}], "ü": "→"}),
            serde_json::json!(12345),
            serde_json::json!([]),
        ];
        for value in values {
            let mut ours = Payload::new();
            value
                .serialize(&mut serde_json::Serializer::with_formatter(
                    &mut ours, InString,
                ))
                .expect("serialize");
            let mut expected = Vec::new();
            write_contents(
                &mut expected,
                serde_json::to_string(&value).expect("json").as_bytes(),
            );
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected),
                "{value}"
            );
        }
    }
}
