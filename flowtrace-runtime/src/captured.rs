//! A call's arguments as its ENTER record carries them from the traced thread to the writer.
//!
//! Most arguments are short strings and integers. Encoding them (escaping, digits, keys) was a
//! quarter of a traced call's own instructions, so the traced thread only captures them: the
//! string's bytes, the integer's eight. The writer, which has a core of its own, turns them into
//! the `args` text. What the traced thread has to encode itself while the value can still be
//! read (anything through serde or `Debug`, a redacted value, a string that might be cut at
//! the length limit) travels as finished text.
//!
//! The captured form is a run of segments, each starting with a tag byte: its kind, and
//! whether a comma goes before its key (every argument but the first):
//! - text: `u32` length (native endian), then escaped text, key included;
//! - string: the argument's index, the string's length as a `u8`, then the string between
//!   escaped quotes (`\"…\"`), as the line will hold it when it needs no escape;
//! - unsigned / signed: the argument's index, then eight bytes (native endian).

use crate::json::Sink;
use crate::site::CallSite;
use crate::value;

const TEXT: u8 = 1;
const STR: u8 = 2;
const UNSIGNED: u8 = 3;
const SIGNED: u8 = 4;
const KIND: u8 = 0x0f;
const COMMA: u8 = 0x10;

/// What an argument of a call with `written` arguments before it starts with.
#[inline(always)]
fn tag(kind: u8, written: usize) -> u8 {
    if written == 0 { kind } else { kind | COMMA }
}

/// Whether the string `value`, argument `index`, can be captured rather than encoded: its
/// escaped text (at most 7 bytes per byte, plus quotes) cannot reach the length limit `max`,
/// so the writer will never have to cut it.
#[inline(always)]
pub(crate) fn can_capture_str(index: usize, value: &str, max: usize) -> bool {
    index <= usize::from(u8::MAX)
        && value.len() <= usize::from(u8::MAX)
        && value.len() * 7 + 4 <= max
}

/// Whether an integer, argument `index`, can be captured: its digits cannot reach `max`.
#[inline(always)]
pub(crate) fn can_capture_integer(index: usize, max: usize) -> bool {
    index <= usize::from(u8::MAX) && max >= 20
}

/// Captures the string `value` as argument `index` (checked by [`can_capture_str`]).
#[inline(always)]
pub(crate) fn push_str(out: &mut Vec<u8>, written: usize, index: usize, value: &str) {
    out.reserve(7 + value.len());
    out.extend_from_slice(&[
        tag(STR, written),
        index as u8,
        value.len() as u8,
        b'\\',
        b'"',
    ]);
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\\\"");
}

/// Captures an unsigned integer as argument `index` (checked by [`can_capture_integer`]).
#[inline(always)]
pub(crate) fn push_unsigned(out: &mut Vec<u8>, written: usize, index: usize, value: u64) {
    push_word(out, tag(UNSIGNED, written), index, value.to_ne_bytes());
}

/// Captures a signed integer as argument `index` (checked by [`can_capture_integer`]).
#[inline(always)]
pub(crate) fn push_signed(out: &mut Vec<u8>, written: usize, index: usize, value: i64) {
    push_word(out, tag(SIGNED, written), index, value.to_ne_bytes());
}

#[inline(always)]
fn push_word(out: &mut Vec<u8>, tag: u8, index: usize, word: [u8; 8]) {
    let mut segment = [0; 10];
    segment[0] = tag;
    segment[1] = index as u8;
    segment[2..].copy_from_slice(&word);
    out.extend_from_slice(&segment);
}

/// Starts a text segment for the argument after `written` others; the text (key first, its
/// comma as [`key`] gives it) follows, then [`end_text`] with what this returned.
pub(crate) fn begin_text(out: &mut Vec<u8>) -> usize {
    out.push(TEXT);
    out.extend_from_slice(&[0; 4]);
    out.len()
}

/// Ends the text segment begun at `start`.
pub(crate) fn end_text(out: &mut [u8], start: usize) {
    let len = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    out[start - 4..start].copy_from_slice(&len.to_ne_bytes());
}

/// The key of argument `index` of `site` (`,\"name\":`), without its comma for the first.
#[inline]
pub(crate) fn key(site: &CallSite, index: usize, written: usize) -> &'static [u8] {
    let key = site.args.get(index).map_or(",\\\"?\\\":", |arg| arg.key);
    if written == 0 {
        &key.as_bytes()[1..]
    } else {
        key.as_bytes()
    }
}

/// The most bytes [`render`] writes for `captured`, the arguments of a call at `site`: no
/// segment grows more than sevenfold (see [`can_capture_str`]; an integer's 20 digits come
/// from a 10-byte segment), plus the keys it adds.
#[inline]
pub(crate) fn bound(site: &CallSite, captured: &[u8]) -> usize {
    2 + captured.len() * 7 + site.keys_len
}

/// Writes the args text of `captured`, the arguments of a call at `site`: `{…}`, escaped for
/// the inside of the `args` string; at most [`bound`] bytes.
#[inline]
pub(crate) fn render(site: &CallSite, captured: &[u8], out: &mut impl Sink) {
    out.push_bytes(b"{");
    let mut rest = captured;
    while let Some((&tag, after)) = rest.split_first() {
        let written = usize::from(tag & COMMA != 0);
        let Some(next) = (match tag & KIND {
            TEXT => render_text(after, out),
            STR => render_str(site, written, after, out),
            kind @ (UNSIGNED | SIGNED) => render_word(after, |index, word| {
                out.push_bytes(key(site, index, written));
                let mut digits = itoa::Buffer::new();
                let digits = if kind == UNSIGNED {
                    digits.format(u64::from_ne_bytes(word))
                } else {
                    digits.format(i64::from_ne_bytes(word))
                };
                out.push_bytes(digits.as_bytes());
            }),
            _ => None,
        }) else {
            debug_assert!(false, "malformed captured args {captured:?}");
            break;
        };
        rest = next;
    }
    out.push_bytes(b"}");
}

/// A text segment's text into `out`; what follows it.
#[inline]
fn render_text<'a>(segment: &'a [u8], out: &mut impl Sink) -> Option<&'a [u8]> {
    let (len, rest) = segment.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_ne_bytes(*len)).ok()?;
    let (text, rest) = rest.split_at_checked(len)?;
    out.push_bytes(text);
    Some(rest)
}

#[inline]
fn render_str<'a>(
    site: &CallSite,
    written: usize,
    segment: &'a [u8],
    out: &mut impl Sink,
) -> Option<&'a [u8]> {
    let ([index, len], rest) = segment.split_first_chunk::<2>()?;
    let (quoted, rest) = rest.split_at_checked(usize::from(*len) + 4)?;
    let bytes = quoted.get(2..quoted.len() - 2)?;
    out.push_bytes(key(site, usize::from(*index), written));
    if crate::json::needs_no_escape(bytes) {
        out.push_bytes(quoted);
    } else {
        render_escaped_str(bytes, out);
    }
    Some(rest)
}

/// A string that needs escaping: through serde, as the traced thread would have written it.
#[cold]
fn render_escaped_str(bytes: &[u8], out: &mut impl Sink) {
    let mut text = Vec::new();
    // The bytes of a `&str`: borrowed back as one, not copied.
    value::write_str(&mut text, &String::from_utf8_lossy(bytes), usize::MAX);
    out.push_bytes(&text);
}

#[inline]
fn render_word(segment: &[u8], write: impl FnOnce(usize, [u8; 8])) -> Option<&[u8]> {
    let (index, rest) = segment.split_first()?;
    let (word, rest) = rest.split_first_chunk::<8>()?;
    write(usize::from(*index), *word);
    Some(rest)
}

/// The captured form of the args object `object` (JSON, not yet escaped): one text segment.
#[cfg(test)]
pub(crate) fn from_object_text(object: &str) -> crate::json::Payload {
    let inner = &object[1..object.len() - 1];
    let mut out = Vec::new();
    if !inner.is_empty() {
        let start = begin_text(&mut out);
        crate::json::write_contents(&mut out, inner.as_bytes());
        end_text(&mut out, start);
    }
    crate::json::Payload::from_slice(&out)
}
