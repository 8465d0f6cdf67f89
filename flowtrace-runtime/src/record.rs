//! What a traced call hands to the writer thread, and how the writer turns it into a line.
//!
//! A record is small and cheap to build on the caller's thread: static metadata by reference,
//! numbers, the thread's shared name and at most one pre-encoded string. All JSON of the whole
//! line happens here, on the writer thread.

use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::site::CallSite;

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
    pub(crate) thread: Arc<str>,
    pub(crate) id: u64,
    /// 0 at a root.
    pub(crate) parent: u64,
    pub(crate) micros: u64,
    /// Ignored for ENTER.
    pub(crate) duration_micros: u64,
    /// ENTER: the args object; EXIT: the result (with `ret`); EXCEPTION/PANIC: the message.
    pub(crate) payload: Option<String>,
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

/// Appends `record` as one JSON line, keys in the order of the record format.
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let mut number = itoa::Buffer::new();
    out.extend_from_slice(b"{\"timestamp\":");
    out.extend_from_slice(number.format(record.micros / 1000).as_bytes());
    out.extend_from_slice(b",\"event\":\"");
    out.extend_from_slice(record.event.as_str().as_bytes());
    out.extend_from_slice(b"\",\"thread\":");
    write_json_str(out, &record.thread);
    out.extend_from_slice(b",\"module\":");
    write_json_str(out, record.site.module);
    out.extend_from_slice(b",\"function\":");
    write_json_str(out, record.site.function);
    if record.event == Event::Enter {
        out.extend_from_slice(b",\"args\":");
        write_json_str(out, record.payload.as_deref().unwrap_or("{}"));
    } else {
        out.extend_from_slice(b",\"durationMicros\":");
        out.extend_from_slice(number.format(record.duration_micros).as_bytes());
    }
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(number.format(record.id).as_bytes());
    if record.parent != 0 {
        out.extend_from_slice(b",\"parent\":");
        out.extend_from_slice(number.format(record.parent).as_bytes());
    }
    out.extend_from_slice(b",\"timestampMicros\":");
    out.extend_from_slice(number.format(record.micros).as_bytes());
    match (record.event, &record.payload) {
        (Event::Exit, Some(result)) => {
            out.extend_from_slice(b",\"result\":");
            write_json_str(out, result);
        }
        (Event::Exception | Event::Panic, Some(message)) => {
            out.extend_from_slice(b",\"error\":");
            write_json_str(out, message);
        }
        _ => {}
    }
    out.extend_from_slice(b"}\n");
}

/// Appends a `DROPPED` line for `count` records lost to a full channel.
pub(crate) fn encode_dropped(micros: u64, count: u64, out: &mut Vec<u8>) {
    let mut number = itoa::Buffer::new();
    out.extend_from_slice(b"{\"timestamp\":");
    out.extend_from_slice(number.format(micros / 1000).as_bytes());
    out.extend_from_slice(b",\"event\":\"DROPPED\",\"timestampMicros\":");
    out.extend_from_slice(number.format(micros).as_bytes());
    out.extend_from_slice(b",\"count\":");
    out.extend_from_slice(number.format(count).as_bytes());
    out.extend_from_slice(b"}\n");
}

fn write_json_str(out: &mut Vec<u8>, value: &str) {
    // Writing JSON into a Vec cannot fail: serde_json only errors on I/O or non-string keys.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::ArgSpec;

    static SITE: CallSite = CallSite::new(
        "greet",
        "app::hello",
        "src/hello.rs",
        7,
        &[ArgSpec::new("name", false)],
        0,
    );

    fn record(event: Event, payload: Option<&str>) -> Record {
        Record {
            event,
            site: &SITE,
            thread: Arc::from("main"),
            id: 5,
            parent: 0,
            micros: 1_700_000_000_123_456,
            duration_micros: 42,
            payload: payload.map(str::to_owned),
        }
    }

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        encode(record, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn enter_line_has_the_keys_in_order_and_args_as_a_string() {
        let text = line(&record(Event::Enter, Some(r#"{"name":"a\"b"}"#)));
        assert_eq!(
            text,
            "{\"timestamp\":1700000000123,\"event\":\"ENTER\",\"thread\":\"main\",\"module\":\"app::hello\",\
             \"function\":\"greet\",\"args\":\"{\\\"name\\\":\\\"a\\\\\\\"b\\\"}\",\"id\":5,\
             \"timestampMicros\":1700000000123456}\n"
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
        assert_eq!(
            line(&exit),
            "{\"timestamp\":1700000000123,\"event\":\"EXIT\",\"thread\":\"main\",\"module\":\"app::hello\",\
             \"function\":\"greet\",\"durationMicros\":42,\"id\":5,\"parent\":3,\
             \"timestampMicros\":1700000000123456,\"result\":\"7\"}\n"
        );
        let text = line(&record(Event::Panic, Some("boom\n")));
        assert!(text.ends_with(",\"error\":\"boom\\n\"}\n"), "{text}");
        let text = line(&record(Event::Cancel, None));
        assert!(text.contains("\"event\":\"CANCEL\",") && !text.contains("error"));
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
