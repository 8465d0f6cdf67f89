//! JSON string escaping for the writer's hot loop.
//!
//! serde_json escapes through its `Formatter` and one `io::Write` call per fragment; every line
//! the writer builds escapes an `args` text full of quotes, so this works on the `Vec` directly.
//! Output is byte-for-byte what serde_json writes (tested below).

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends UTF-8 text as a quoted JSON string. Takes bytes: payloads are built as UTF-8 and
/// only ASCII bytes are ever escaped, so they need no second validation here.
///
/// Text is escaped branch-free, a chunk at a time, into a stack buffer appended at once:
/// pushing byte by byte into the `Vec` made the compiler reload its length after every byte.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
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
        out.extend_from_slice(&escaped[..len]);
    }
    out.push(b'"');
}

const CHUNK: usize = 64;

/// The rare chunk with newlines, tabs or other control characters.
#[cold]
fn write_with_controls(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20.. => out.push(byte),
            _ => write_control(out, byte),
        }
    }
}

fn write_control(out: &mut Vec<u8>, byte: u8) {
    match byte {
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
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
