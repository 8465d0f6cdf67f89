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

/// The kinds of record, as written in the `event` key; three kinds of ENTER, which differ in
/// what their record's two words hold (see [`Record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A child's ENTER.
    Enter,
    /// A root's ENTER, starting a fresh trace.
    EnterRoot,
    /// A root's ENTER under a remote parent: the payload starts with its span id.
    EnterRemote,
    Exit,
    Exception,
    Panic,
    Cancel,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enter | Self::EnterRoot | Self::EnterRemote => "ENTER",
            Self::Exit => "EXIT",
            Self::Exception => "EXCEPTION",
            Self::Panic => "PANIC",
            Self::Cancel => "CANCEL",
        }
    }
}

/// One call event on its way to the writer.
///
/// Two words say what the event needs beyond its id, read according to `event`: a child's
/// ENTER holds its parent; a root's ENTER its trace id; a closing record its parent and
/// duration. Packed so, a record stays at 120 bytes: one of more than 128 bytes is moved with
/// a `memcpy` call on both threads, which measured as more than everything else trace ids add.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) event: Event,
    pub(crate) site: &'static CallSite,
    pub(crate) thread: ThreadLabel,
    pub(crate) id: u64,
    words: [u64; 2],
    /// When this record was made.
    pub(crate) at: Instant,
    /// ENTER: the args object (`{}` when empty), after the remote parent's span id (8 bytes)
    /// for [`Event::EnterRemote`]; EXIT: the result, only with `ret` (else empty);
    /// EXCEPTION/PANIC: the message. Escaped UTF-8, see [`Payload`].
    pub(crate) payload: Payload,
}

impl Record {
    /// The ENTER of a call: a child of `parent`, or (`parent` 0) a root of `trace`, under the
    /// remote parent `remote_parent` when not 0. Built in place, the args moved once: this is
    /// on every traced call's path.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enter(
        site: &'static CallSite,
        thread: ThreadLabel,
        id: u64,
        parent: u64,
        (trace, remote_parent): (TraceId, u64),
        at: Instant,
        args: Payload,
    ) -> Self {
        // Everything decided before the record is built: built as one literal, it goes
        // straight into the channel's slot (mutating it afterwards cost an extra copy).
        let (event, words) = if parent != 0 {
            (Event::Enter, [parent, 0])
        } else if remote_parent == 0 {
            (Event::EnterRoot, [trace.high, trace.low])
        } else {
            (Event::EnterRemote, [trace.high, trace.low])
        };
        let payload = if event == Event::EnterRemote {
            with_remote_parent(remote_parent, args)
        } else {
            args
        };
        Self {
            event,
            site,
            thread,
            id,
            words,
            at,
            payload,
        }
    }

    /// The closing record (`event`) of a call that entered at `entered`.
    #[inline(always)]
    pub(crate) fn close(
        event: Event,
        site: &'static CallSite,
        thread: ThreadLabel,
        (id, parent): (u64, u64),
        entered: Instant,
        at: Instant,
        payload: Payload,
    ) -> Self {
        Self {
            event,
            site,
            thread,
            id,
            words: [parent, clock::nanos_between(entered, at)],
            at,
            payload,
        }
    }

    pub(crate) fn is_enter(&self) -> bool {
        matches!(
            self.event,
            Event::Enter | Event::EnterRoot | Event::EnterRemote
        )
    }

    /// The parent's id, 0 at a root.
    pub(crate) fn parent(&self) -> u64 {
        match self.event {
            Event::EnterRoot | Event::EnterRemote => 0,
            _ => self.words[0],
        }
    }

    /// A root ENTER's trace id and remote parent's span id (0 if none).
    pub(crate) fn root(&self) -> Option<(TraceId, u64)> {
        let trace = TraceId {
            high: self.words[0],
            low: self.words[1],
        };
        match self.event {
            Event::EnterRoot => Some((trace, 0)),
            Event::EnterRemote => Some((trace, self.remote_parent())),
            _ => None,
        }
    }

    fn remote_parent(&self) -> u64 {
        self.payload
            .get(..8)
            .and_then(|bytes| bytes.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    }

    /// An ENTER's args.
    pub(crate) fn args(&self) -> &[u8] {
        match self.event {
            Event::EnterRemote => self.payload.get(8..).unwrap_or_default(),
            _ => &self.payload,
        }
    }

    /// A closing record's duration in whole microseconds: the difference of the two records'
    /// `timestampMicros` (design §7), which rounding the nanoseconds alone could miss by one.
    pub(crate) fn duration_micros(&self) -> u64 {
        let at = clock::nanos_since_anchor(self.at);
        let entered = at.saturating_sub(self.words[1]);
        at / 1000 - entered / 1000
    }
}

/// A root's ENTER payload under a remote parent: the parent's span id, then the args. Rare:
/// once per request from elsewhere.
#[cold]
fn with_remote_parent(span: u64, args: Payload) -> Payload {
    let mut payload = Payload::new();
    payload.extend_from_slice(&span.to_ne_bytes());
    payload.extend_from_slice(&args);
    payload
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
    if record.is_enter() {
        line.put(b",\"args\":\"");
        let args = record.args();
        line.put(if args.is_empty() { b"{}" } else { args });
        line.put(b"\"");
    } else {
        line.put(b",\"durationMicros\":");
        line.put(number.format(record.duration_micros()).as_bytes());
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
        record_with_parent(event, payload, 0)
    }

    fn record_with_parent(event: Event, payload: Option<&str>, parent: u64) -> Record {
        let at = clock::now();
        let payload = payload.map(|p| escaped(p.as_bytes())).unwrap_or_default();
        let thread = ThreadLabel::named("main");
        if event == Event::Enter {
            let trace = TraceId {
                high: 0x0af7_6519_16cd_43dd,
                low: 0x8448_eb21_1c80_319c,
            };
            return Record::enter(&SITE, thread, 5, parent, (trace, 0), at, payload);
        }
        let entered = at - Duration::from_micros(42);
        Record::close(event, &SITE, thread, (5, parent), entered, at, payload)
    }

    #[test]
    fn a_record_stays_small_enough_to_move_without_a_memcpy_call() {
        assert!(
            std::mem::size_of::<Message>() <= 120,
            "{}",
            std::mem::size_of::<Message>()
        );
    }

    #[test]
    fn root_enter_lines_carry_the_trace_and_the_remote_parent() {
        let at = clock::now();
        let trace = TraceId {
            high: 0x4bf9_2f35_77b3_4da6,
            low: 0xa3ce_929d_0e0e_4736,
        };
        let thread = ThreadLabel::named("main");
        let args = escaped(br#"{"n":1}"#);
        let remote = Record::enter(&SITE, thread, 9, 0, (trace, 0xf067aa0ba902b7), at, args);
        let text = line(&remote);
        assert!(
            text.contains(
                ",\"args\":\"{\\\"n\\\":1}\",\"id\":9,\"trace\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\
                 \"remoteParent\":\"00f067aa0ba902b7\",\"timestampMicros\":"
            ),
            "{text}"
        );
        let child = Record::enter(&SITE, thread, 10, 9, (trace, 0), at, Payload::new());
        let text = line(&child);
        assert!(
            text.contains(",\"id\":10,\"parent\":9,\"timestampMicros\":"),
            "{text}"
        );
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
