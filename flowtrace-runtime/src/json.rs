//! JSON string escaping.
//!
//! Payloads (args, results, messages) are escaped once, on the traced thread, as they are
//! finished: the single writer thread is the bottleneck when every thread traces flat out, so
//! it only copies them between quotes. Static names are escaped once per call site or thread.
//! Output is byte-for-byte what serde_json writes (tested below).

use crate::record::Payload;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Where escaped text goes: the writer's line buffer or a record's payload.
pub(crate) trait Sink {
    fn push_byte(&mut self, byte: u8);
    fn push_bytes(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn push_byte(&mut self, byte: u8) {
        self.push(byte);
    }

    #[inline]
    fn push_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Payload {
    #[inline]
    fn push_byte(&mut self, byte: u8) {
        self.push(byte);
    }

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
/// Text is escaped branch-free, a chunk at a time, into a stack buffer appended at once:
/// pushing byte by byte made the compiler reload the buffer's length after every byte.
#[inline]
pub(crate) fn write_contents(out: &mut impl Sink, bytes: &[u8]) {
    for chunk in bytes.chunks(CHUNK) {
        if chunk.iter().any(|&byte| byte < 0x20) {
            write_with_controls(out, chunk);
            continue;
        }
        let mut escaped = [0u8; 2 * CHUNK];
        let mut len = 0;
        for &byte in chunk {
            // Always write a backslash; keep it only before `"` and `\`.
            escaped[len] = b'\\';
            len += usize::from(byte == b'"') | usize::from(byte == b'\\');
            escaped[len] = byte;
            len += 1;
        }
        out.push_bytes(&escaped[..len]);
    }
}

const CHUNK: usize = 64;

/// The rare chunk with newlines, tabs or other control characters.
#[cold]
fn write_with_controls(out: &mut impl Sink, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'"' => out.push_bytes(b"\\\""),
            b'\\' => out.push_bytes(b"\\\\"),
            0x20.. => out.push_byte(byte),
            b'\n' => out.push_bytes(b"\\n"),
            b'\r' => out.push_bytes(b"\\r"),
            b'\t' => out.push_bytes(b"\\t"),
            0x08 => out.push_bytes(b"\\b"),
            0x0c => out.push_bytes(b"\\f"),
            _ => out.push_bytes(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
