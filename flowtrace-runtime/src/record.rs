//! What a traced call hands to the writer thread, and how the writer turns it into a line.
//!
//! A record is small and cheap to build on the caller's thread: static metadata by reference,
//! numbers, the thread's label and at most one pre-encoded text, inline when short. All JSON of
//! the whole line happens here, on the writer thread.

use crossbeam_channel::Sender;
use smallvec::SmallVec;

use crate::clock::{self, Instant};
use crate::ids::{TraceId, hex16};
use crate::json;
use crate::site::CallSite;
use crate::stamp::Stamp;
use crate::thread_label::ThreadLabel;

/// Encoded args, result or message, already escaped for the inside of a JSON string. Small ones
/// live inside the record: a heap buffer allocated on the caller's thread and freed on the
/// writer's costs more than the rest of the record.
pub type Payload = SmallVec<[u8; 48]>;

/// `text` as a payload: escaped for the inside of a JSON string.
pub(crate) fn escaped(text: &[u8]) -> Payload {
    let mut payload = Payload::new();
    json::write_contents(&mut payload, text);
    payload
}

/// The kinds of record, as written in the `event` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Enter,
    Exit,
    Exception,
    Panic,
    Cancel,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enter => "ENTER",
            Self::Exit => "EXIT",
            Self::Exception => "EXCEPTION",
            Self::Panic => "PANIC",
            Self::Cancel => "CANCEL",
        }
    }
}

/// One call event on its way to the writer.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) event: Event,
    pub(crate) site: &'static CallSite,
    pub(crate) thread: ThreadLabel,
    pub(crate) id: u64,
    /// 0 at a root.
    pub(crate) parent: u64,
    /// The call's trace; written on a root's ENTER only.
    pub(crate) trace: TraceId,
    /// The remote parent's span id, 0 if none; written on a root's ENTER only.
    pub(crate) remote_parent: u64,
    /// When this record was made.
    pub(crate) at: Instant,
    /// When the call entered (the same as `at` for ENTER).
    pub(crate) entered: Instant,
    /// ENTER: the args object (`{}` when empty); EXIT: the result, only with `ret` (else
    /// empty); EXCEPTION/PANIC: the message. Escaped UTF-8, see [`Payload`].
    pub(crate) payload: Payload,
}

/// What travels through the channel.
#[derive(Debug)]
pub(crate) enum Message {
    Record(Record),
    /// Write everything received so far, then acknowledge.
    Flush(Sender<()>),
    /// Write everything received so far, then stop.
    Shutdown,
}

/// Room for every part of a line but its variable texts (thread, names, payload).
const FIXED_LINE_BYTES: usize = 400;

/// The most bytes the line of `record` can take.
#[inline]
pub(crate) fn line_bound(record: &Record) -> usize {
    FIXED_LINE_BYTES
        + record.thread.json_len_bound()
        + record.site.names_json().len()
        + record.payload.len()
}

/// Appends `record` as one JSON line; see [`encode_into`].
pub(crate) fn encode(record: &Record, stamp: &mut Stamp, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + line_bound(record), 0);
    let len = encode_into(record, stamp, &mut out[start..]);
    out.truncate(start + len);
}

/// Writes `record` as one JSON line, keys in the order of the record format, at the start of
/// `out`, which holds at least [`line_bound`] bytes; returns the line's length. `stamp`
/// carries the formatted time from one line to the next.
///
/// The writer encodes straight into its batch buffer, which stays allocated and initialised
/// between batches: appending piece by piece to a `Vec` checked its capacity and called
/// `memcpy` for every piece, while here the many constant pieces compile to plain stores.
pub(crate) fn encode_into(record: &Record, stamp: &mut Stamp, out: &mut [u8]) -> usize {
    stamp.set(clock::epoch_micros(record.at));
    let mut number = itoa::Buffer::new();
    let mut line = Line { out, at: 0 };
    line.put(b"{\"timestamp\":");
    line.put(stamp.millis());
    line.put(b",\"event\":\"");
    line.put(record.event.as_str().as_bytes());
    line.put(b"\",\"thread\":");
    match record.thread {
        ThreadLabel::Named(json) => line.put(json.as_bytes()),
        ThreadLabel::Unnamed(thread) => {
            line.put(b"\"ThreadId(");
            line.put(number.format(thread).as_bytes());
            line.put(b")\"");
        }
    }
    line.put(b",");
    line.put(record.site.names_json());
    if record.event == Event::Enter {
        line.put(b",\"args\":\"");
        let args: &[u8] = &record.payload;
        line.put(if args.is_empty() { b"{}" } else { args });
        line.put(b"\"");
    } else {
        line.put(b",\"durationMicros\":");
        let duration = clock::micros_between(record.entered, record.at);
        line.put(number.format(duration).as_bytes());
    }
    line.put(b",\"id\":");
    line.put(number.format(record.id).as_bytes());
    if record.parent != 0 {
        line.put(b",\"parent\":");
        line.put(number.format(record.parent).as_bytes());
    } else if record.event == Event::Enter && !record.trace.is_none() {
        line.put(b",\"trace\":\"");
        line.put(&record.trace.hex());
        if record.remote_parent != 0 {
            line.put(b"\",\"remoteParent\":\"");
            line.put(&hex16(record.remote_parent));
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

/// A line being written into a slice with room for it.
struct Line<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Line<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        self.out[self.at..end].copy_from_slice(bytes);
        self.at = end;
    }
}

/// Appends a `DROPPED` line for `count` records lost to a full channel.
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
    use crate::site::ArgSpec;
    use std::time::Duration;

    static SITE: CallSite = CallSite::new(
        "greet",
        "app::hello",
        "src/hello.rs",
        7,
        &[ArgSpec::new("name", ",\\\"name\\\":", false)],
        0,
    );

    fn record(event: Event, payload: Option<&str>) -> Record {
        let at = clock::now();
        Record {
            event,
            site: &SITE,
            thread: ThreadLabel::named("main"),
            id: 5,
            parent: 0,
            trace: TraceId::NONE,
            remote_parent: 0,
            at,
            entered: at - Duration::from_micros(42),
            payload: payload.map(|p| escaped(p.as_bytes())).unwrap_or_default(),
        }
    }

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        encode(record, &mut Stamp::default(), &mut out);
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
                 \"timestampMicros\":{us}}}\n"
            )
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let args: serde_json::Value =
            serde_json::from_str(parsed["args"].as_str().expect("string")).expect("args JSON");
        assert_eq!(args["name"], "a\"b");
    }

    #[test]
    fn closing_lines_carry_duration_parent_and_payload() {
        let mut exit = record(Event::Exit, Some("7"));
        exit.parent = 3;
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
        let mut unnamed = record(Event::Exception, Some(&"x".repeat(5000)));
        unnamed.thread = ThreadLabel::Unnamed(u64::MAX);
        let records = [
            record(Event::Enter, None),
            unnamed,
            record(Event::Exit, None),
        ];
        let mut out = Vec::new();
        let mut stamp = Stamp::default();
        for record in &records {
            encode(record, &mut stamp, &mut out);
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
