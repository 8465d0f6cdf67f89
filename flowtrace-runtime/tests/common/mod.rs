//! Shared by the behaviour tests: run traced code against an in-memory sink and read the records.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use flowtrace_runtime::Config;
use serde_json::Value;

/// An in-memory sink the writer thread can own while the test keeps a handle.
#[derive(Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("sink lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl MemorySink {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("sink lock").clone()).expect("utf-8 trace")
    }

    pub fn records(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect()
    }
}

/// Runs `body` with tracing into memory (configured by `configure`) and returns the records
/// written once the guard is dropped, after the START record that must open them (none at
/// all when the configuration disables tracing).
pub fn capture_with(configure: impl FnOnce(Config) -> Config, body: impl FnOnce()) -> Vec<Value> {
    let sink = MemorySink::default();
    let guard = configure(Config::new().writer(sink.clone()))
        .init()
        .expect("init tracing");
    body();
    drop(guard);
    let mut records = sink.records();
    if !records.is_empty() {
        assert_start(records.first());
        records.remove(0);
    }
    records
}

/// Checks that `record` is a START record: keys in order, service, pid and a 16-hex instance.
pub fn assert_start(record: Option<&Value>) {
    let record = record.expect("a START record first");
    assert_eq!(record["event"], "START", "first record: {record}");
    assert_eq!(
        keys(record),
        [
            "timestamp",
            "event",
            "service",
            "pid",
            "instance",
            "timestampMicros"
        ]
    );
    assert_eq!(record["pid"].as_u64(), Some(u64::from(std::process::id())));
    assert!(record["service"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        is_hex(record["instance"].as_str().unwrap_or(""), 16),
        "{record}"
    );
}

/// True when `text` is `len` lowercase hex digits.
pub fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn capture(body: impl FnOnce()) -> Vec<Value> {
    capture_with(|config| config, body)
}

/// `(event, function)` of each record, for sequence assertions.
pub fn events(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap_or("").to_owned(),
                r["function"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The keys of a record, in file order.
pub fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .expect("record is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The `args` of an ENTER record, decoded.
pub fn args(record: &Value) -> Value {
    serde_json::from_str(record["args"].as_str().expect("args is a string")).expect("args JSON")
}

pub fn id(record: &Value) -> u64 {
    record["id"].as_u64().expect("id")
}

pub fn parent(record: &Value) -> Option<u64> {
    record.get("parent").and_then(Value::as_u64)
}

/// Checks the record-format invariants: every ENTER closed exactly once by a later record with
/// the same id and parent, every parent open when its child enters, and a trace id on exactly
/// the root ENTERs. A START record opens a new segment, in which ids start afresh.
pub fn assert_well_formed(records: &[Value]) {
    use std::collections::HashMap;
    let mut open: HashMap<u64, Option<u64>> = HashMap::new();
    let mut entered_at: HashMap<u64, u64> = HashMap::new();
    let mut closed = std::collections::HashSet::new();
    for (line, record) in records.iter().enumerate() {
        let event = record["event"].as_str().expect("event");
        if event == "DROPPED" {
            continue;
        }
        if event == "START" {
            assert!(
                open.is_empty(),
                "line {line}: START with calls open: {open:?}"
            );
            closed.clear();
            entered_at.clear();
            continue;
        }
        let is_root_enter = event == "ENTER" && parent(record).is_none();
        assert_eq!(
            record.get("trace").is_some(),
            is_root_enter,
            "line {line}: `trace` on root ENTERs only: {record}"
        );
        let id = id(record);
        if event == "ENTER" {
            assert!(
                !open.contains_key(&id) && !closed.contains(&id),
                "line {line}: id {id} reused"
            );
            if let Some(parent) = parent(record) {
                assert!(
                    open.contains_key(&parent),
                    "line {line}: parent {parent} not open"
                );
            }
            open.insert(id, parent(record));
            entered_at.insert(id, record["timestampMicros"].as_u64().expect("micros"));
        } else {
            let micros = record["timestampMicros"].as_u64().expect("micros");
            let duration = record["durationMicros"].as_u64().expect("duration");
            if let Some(entered) = entered_at.remove(&id) {
                assert_eq!(
                    micros - entered,
                    duration,
                    "line {line}: closing timestampMicros - ENTER's is not durationMicros"
                );
            }
            let entered = open.remove(&id);
            assert!(
                entered.is_some(),
                "line {line}: {event} of id {id} without an open ENTER"
            );
            assert_eq!(
                entered.flatten(),
                parent(record),
                "line {line}: parent differs from ENTER"
            );
            // A call ends inside its parent: the parent is still open when it closes.
            if let Some(parent) = parent(record) {
                assert!(
                    open.contains_key(&parent),
                    "line {line}: {event} of id {id} after its parent {parent} closed"
                );
            }
            closed.insert(id);
        }
    }
    assert!(open.is_empty(), "ENTER never closed: {open:?}");
}

/// Pending exactly once, so a test can move a half-run future to another thread.
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
