//! How the writer turns a record into one JSON line, keys in the order of the record format.

use crate::captured;
use crate::clock;
use crate::copy::copy_short;
use crate::ids::hex16;
use crate::json;
use crate::record::{Event, Record};
use crate::stamp::Stamp;
use crate::thread_lines::ThreadLines;

/// Room for every part of a line but its variable texts (thread, names, payload).
const FIXED_LINE_BYTES: usize = 400;

/// The most bytes the line of `record` can take, from a thread whose lines are `lines`.
#[inline]
pub(crate) fn bound(record: &Record, lines: &ThreadLines) -> usize {
    let payload = if record.is_enter() {
        captured::bound(record.site, record.args())
    } else {
        record.payload.len()
    };
    FIXED_LINE_BYTES + lines.key().len() + record.site.names_json().len() + payload
}

/// Appends `record` as one JSON line; see [`encode_into`].
pub(crate) fn encode(
    record: &Record,
    lines: &mut ThreadLines,
    stamp: &mut Stamp,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.resize(start + bound(record, lines), 0);
    let len = encode_into(record, lines, stamp, &mut out[start..]);
    out.truncate(start + len);
}

/// Writes `record` as one JSON line, keys in the order of the record format, at the start of
/// `out`, which holds at least [`bound`] bytes; returns the line's length. `lines` are the
/// constant parts of the lines of the record's thread; `stamp` carries the formatted time from
/// one line to the next.
///
/// The writer encodes straight into its batch buffer, which stays allocated and initialised
/// between batches: appending piece by piece to a `Vec` checked its capacity and called
/// `memcpy` for every piece, while here the many constant pieces compile to plain stores.
pub(crate) fn encode_into(
    record: &Record,
    lines: &mut ThreadLines,
    stamp: &mut Stamp,
    out: &mut [u8],
) -> usize {
    stamp.set(clock::epoch_micros(record.at));
    let mut number = itoa::Buffer::new();
    let mut line = Line { out, at: 0 };
    line.put(b"{\"timestamp\":");
    line.put(stamp.millis());
    match record.event {
        Event::Enter | Event::EnterRoot | Event::EnterRemote => {
            line.put(lines.middle(record.site, true));
            captured::render(record.site, record.args(), &mut line);
            line.put(b"\"");
        }
        Event::Exit => {
            line.put(lines.middle(record.site, false));
            line.put(number.format(record.duration_micros()).as_bytes());
        }
        event => {
            line.put(event_key(event));
            line.put(lines.key());
            line.put(record.site.names_json());
            line.put(b",\"durationMicros\":");
            line.put(number.format(record.duration_micros()).as_bytes());
        }
    }
    line.put(b",\"id\":");
    line.put(number.format(record.id).as_bytes());
    let parent = record.parent();
    if parent != 0 {
        line.put(b",\"parent\":");
        line.put(number.format(parent).as_bytes());
    } else if let Some((trace, remote_parent)) = record.root() {
        line.put(b",\"trace\":\"");
        line.put(&trace.hex());
        if remote_parent != 0 {
            line.put(b"\",\"remoteParent\":\"");
            line.put(&hex16(remote_parent));
        }
        line.put(b"\"");
    }
    line.put(b",\"timestampMicros\":");
    line.put(stamp.micros());
    match record.event {
        Event::Exit if !record.payload.is_empty() => {
            line.put(b",\"result\":\"");
            line.put(&record.payload);
            line.put(b"\"");
        }
        Event::Exception | Event::Panic => {
            line.put(b",\"error\":\"");
            line.put(&record.payload);
            line.put(b"\"");
        }
        _ => {}
    }
    line.put(b"}\n");
    line.at
}

/// `,"event":"…",` for a closing `event` other than EXIT (those take their middle whole from
/// [`ThreadLines`]).
fn event_key(event: Event) -> &'static [u8] {
    match event {
        Event::Exception => b",\"event\":\"EXCEPTION\",",
        Event::Panic => b",\"event\":\"PANIC\",",
        Event::Cancel => b",\"event\":\"CANCEL\",",
        Event::Enter | Event::EnterRoot | Event::EnterRemote => b",\"event\":\"ENTER\",",
        Event::Exit => b",\"event\":\"EXIT\",",
        Event::Link => b",\"event\":\"LINK\",",
    }
}

/// A line being written into a slice with room for it.
struct Line<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Line<'_> {
    /// Appends `bytes`: most pieces of a line are a few to a few dozen bytes of a length
    /// known only at run time (digits, names), copied without a `memcpy` call (see `copy`).
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        copy_short(&mut self.out[self.at..self.at + len], bytes);
        self.at += len;
    }
}

impl json::Sink for Line<'_> {
    #[inline(always)]
    fn push_bytes(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }
}

/// Appends a `DROPPED` line for `count` records lost to full rings.
pub(crate) fn encode_dropped(micros: u64, count: u64, out: &mut Vec<u8>) {
    let mut number = itoa::Buffer::new();
    let mut stamp = Stamp::default();
    stamp.set(micros);
    out.extend_from_slice(b"{\"timestamp\":");
    out.extend_from_slice(stamp.millis());
    out.extend_from_slice(b",\"event\":\"DROPPED\",\"timestampMicros\":");
    out.extend_from_slice(stamp.micros());
    out.extend_from_slice(b",\"count\":");
    out.extend_from_slice(number.format(count).as_bytes());
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TraceId;
    use crate::json::{Payload, escaped};
    use crate::record::Origin;
    use crate::site::{ArgSpec, CallSite};
    use crate::thread_label::ThreadLabel;
    use std::time::Duration;

    fn main_thread() -> ThreadLines {
        ThreadLines::new(ThreadLabel::named("main"))
    }

    static SITE: CallSite = CallSite::new(
        "greet",
        "app::hello",
        "src/hello.rs",
        7,
        &[ArgSpec::new("name", ",\\\"name\\\":", false)],
        0,
    );

    fn record(event: Event, payload: Option<&str>) -> Record {
        record_with_parent(event, payload, 0)
    }

    fn record_with_parent(event: Event, payload: Option<&str>, parent: u64) -> Record {
        // Well after the clock's anchor, so that the ENTER 42 µs earlier is too.
        let at = clock::anchor() + Duration::from_secs(1);
        if event == Event::Enter {
            let payload = captured::from_object_text(payload.unwrap_or("{}"));
            let trace = TraceId {
                high: 0x0af7_6519_16cd_43dd,
                low: 0x8448_eb21_1c80_319c,
            };
            return Record::enter(&SITE, 5, (parent, Origin::NONE), (trace, 0), at, payload);
        }
        let payload = payload.map(|p| escaped(p.as_bytes())).unwrap_or_default();
        let entered = at - Duration::from_micros(42);
        Record::close(
            event,
            &SITE,
            (5, parent),
            (entered, Origin::NONE),
            at,
            payload,
        )
    }

    #[test]
    fn a_record_stays_small_enough_to_move_without_a_memcpy_call() {
        assert!(
            std::mem::size_of::<Record>() <= 120,
            "{}",
            std::mem::size_of::<Record>()
        );
    }

    #[test]
    fn root_enter_lines_carry_the_trace_and_the_remote_parent() {
        let at = clock::now();
        let trace = TraceId {
            high: 0x4bf9_2f35_77b3_4da6,
            low: 0xa3ce_929d_0e0e_4736,
        };
        let args = captured::from_object_text(r#"{"n":1}"#);
        let root = (0, Origin::NONE);
        let remote = Record::enter(&SITE, 9, root, (trace, 0xf067aa0ba902b7), at, args);
        let text = line(&remote);
        assert!(
            text.contains(
                ",\"args\":\"{\\\"n\\\":1}\",\"id\":9,\"trace\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\
                 \"remoteParent\":\"00f067aa0ba902b7\",\"timestampMicros\":"
            ),
            "{text}"
        );
        let child = Record::enter(&SITE, 10, (9, Origin::NONE), (trace, 0), at, Payload::new());
        let text = line(&child);
        assert!(
            text.contains(",\"id\":10,\"parent\":9,\"timestampMicros\":"),
            "{text}"
        );
    }

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        encode(record, &mut main_thread(), &mut Stamp::default(), &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    fn times(record: &Record) -> (u64, u64) {
        let micros = clock::epoch_micros(record.at);
        (micros / 1000, micros)
    }

    #[test]
    fn enter_line_has_the_keys_in_order_and_args_as_a_string() {
        let enter = record(Event::Enter, Some(r#"{"name":"a\"b"}"#));
        let (ms, us) = times(&enter);
        let text = line(&enter);
        assert_eq!(
            text,
            format!(
                "{{\"timestamp\":{ms},\"event\":\"ENTER\",\"thread\":\"main\",\"module\":\"app::hello\",\
                 \"function\":\"greet\",\"args\":\"{{\\\"name\\\":\\\"a\\\\\\\"b\\\"}}\",\"id\":5,\
                 \"trace\":\"0af7651916cd43dd8448eb211c80319c\",\"timestampMicros\":{us}}}\n"
            )
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let args: serde_json::Value =
            serde_json::from_str(parsed["args"].as_str().expect("string")).expect("args JSON");
        assert_eq!(args["name"], "a\"b");
    }

    #[test]
    fn closing_lines_carry_duration_parent_and_payload() {
        let exit = record_with_parent(Event::Exit, Some("7"), 3);
        let (ms, us) = times(&exit);
        assert_eq!(
            line(&exit),
            format!(
                "{{\"timestamp\":{ms},\"event\":\"EXIT\",\"thread\":\"main\",\"module\":\"app::hello\",\
                 \"function\":\"greet\",\"durationMicros\":42,\"id\":5,\"parent\":3,\
                 \"timestampMicros\":{us},\"result\":\"7\"}}\n"
            )
        );
        let text = line(&record(Event::Panic, Some("boom\n")));
        assert!(text.ends_with(",\"error\":\"boom\\n\"}\n"), "{text}");
        let text = line(&record(Event::Cancel, None));
        assert!(text.contains("\"event\":\"CANCEL\",") && !text.contains("error"));
    }

    #[test]
    fn lines_follow_each_other_in_one_buffer_whatever_their_sizes() {
        let records = [
            record(Event::Enter, None),
            record(Event::Exception, Some(&"x".repeat(5000))),
            record(Event::Exit, None),
        ];
        let mut threads = [
            main_thread(),
            ThreadLines::new(ThreadLabel::Unnamed(u64::MAX)),
            main_thread(),
        ];
        let mut out = Vec::new();
        let mut stamp = Stamp::default();
        for (record, thread) in records.iter().zip(&mut threads) {
            encode(record, thread, &mut stamp, &mut out);
        }
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], line(&records[0]).trim_end());
        assert!(lines[0].contains("\"args\":\"{}\""), "{}", lines[0]);
        let parsed: serde_json::Value = serde_json::from_str(lines[1]).expect("valid JSON");
        assert_eq!(parsed["thread"], format!("ThreadId({})", u64::MAX));
        assert_eq!(parsed["error"].as_str().map(str::len), Some(5000));
        assert_eq!(lines[2], line(&records[2]).trim_end());
    }

    #[test]
    fn dropped_line() {
        let mut out = Vec::new();
        encode_dropped(2_000_000, 9, &mut out);
        assert_eq!(
            out,
            b"{\"timestamp\":2000,\"event\":\"DROPPED\",\"timestampMicros\":2000000,\"count\":9}\n"
        );
    }
}
