//! The writer side: files, flushing, rotation, overflow policies and failing sinks.

mod common;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use common::{MemorySink, assert_well_formed};
use crossbeam_channel::{Receiver, Sender};
use flowtrace_runtime::{Config, Error, Overflow, flowtrace};
use serial_test::serial;

#[flowtrace]
fn work(n: u64) -> u64 {
    n + 1
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("trace file")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
#[serial]
fn dropping_the_guard_writes_every_record_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trace.jsonl");
    let guard = Config::new().file(&path).init().expect("init");
    for n in 0..1000 {
        work(n);
    }
    drop(guard);
    let lines = lines(&path);
    assert_eq!(lines.len(), 1 + 2000);
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    common::assert_start(records.first());
    assert_well_formed(&records);
}

#[test]
#[serial]
fn every_start_writes_a_start_record_with_a_new_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trace.jsonl");
    for n in 0..3 {
        let guard = Config::new()
            .file(&path)
            .service_name("appended")
            .init()
            .expect("init");
        work(n);
        drop(guard);
    }
    let records: Vec<serde_json::Value> = lines(&path)
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.len(), 3 * 3);
    let starts: Vec<&serde_json::Value> = records.iter().step_by(3).collect();
    for start in &starts {
        common::assert_start(Some(start));
        assert_eq!(start["service"], "appended");
    }
    let instances: std::collections::HashSet<&str> = starts
        .iter()
        .filter_map(|s| s["instance"].as_str())
        .collect();
    assert_eq!(instances.len(), 3, "a new instance per start");
    // Each run's ids start afresh in its own segment; the checker accepts the repeats.
    assert_well_formed(&records);
}

#[flowtrace(max_arg_length = 1_000_000)]
fn big(text: &str) -> usize {
    text.len()
}

#[test]
#[serial]
fn lines_of_any_size_keep_their_order_across_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trace.jsonl");
    let guard = Config::new().file(&path).init().expect("init");
    // Small lines fill most of a batch, then lines that do not fit what is left, then one
    // longer than the writer's whole buffer.
    let sizes = [10, 200_000, 30, 300_000, 700_000, 5];
    for (n, size) in sizes.iter().enumerate() {
        for i in 0..1000 {
            work(i + n as u64 * 1000);
        }
        big(&"x".repeat(*size));
    }
    drop(guard);
    let records: Vec<serde_json::Value> = lines(&path)
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.len(), 1 + sizes.len() * 2002);
    assert_well_formed(&records);
    let big_args: Vec<usize> = records
        .iter()
        .filter(|r| r["function"] == "big" && r["event"] == "ENTER")
        .map(|r| common::args(r)["text"].as_str().map_or(0, str::len))
        .collect();
    assert_eq!(big_args, sizes);
    let works: Vec<u64> = records
        .iter()
        .filter(|r| r["function"] == "work" && r["event"] == "ENTER")
        .filter_map(|r| common::args(r)["n"].as_u64())
        .collect();
    assert_eq!(works, (0..6000).collect::<Vec<u64>>());
}

#[test]
#[serial]
fn flush_makes_records_visible_while_tracing_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trace.jsonl");
    let guard = Config::new().file(&path).init().expect("init");
    work(1);
    guard.flush().expect("flush");
    assert_eq!(lines(&path).len(), 1 + 2);
    work(2);
    flowtrace_runtime::flush().expect("flush");
    assert_eq!(lines(&path).len(), 1 + 4);
}

#[test]
#[serial]
fn a_second_init_is_refused_until_the_guard_is_dropped() {
    let guard = Config::new().writer(io::sink()).init().expect("init");
    assert!(matches!(
        Config::new().writer(io::sink()).init(),
        Err(Error::AlreadyInitialized)
    ));
    drop(guard);
    let again = Config::new().writer(io::sink()).init();
    assert!(again.is_ok());
}

#[test]
#[serial]
fn rotation_splits_the_trace_into_whole_line_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trace.jsonl");
    let guard = Config::new()
        .file(&path)
        .rotation(2_000, 100)
        .init()
        .expect("init");
    for n in 0..200 {
        work(n);
    }
    drop(guard);
    let mut total = lines(&path).len();
    let mut n = 1;
    loop {
        let rotated = dir.path().join(format!("trace.jsonl.{n}"));
        if !rotated.exists() {
            break;
        }
        assert!(std::fs::metadata(&rotated).expect("meta").len() <= 2_000);
        total += lines(&rotated).len();
        n += 1;
    }
    assert!(n > 2, "expected several rotated files, got {}", n - 1);
    assert_eq!(total, 1 + 400);
}

/// A sink whose writes wait until the test opens the gate.
struct GateSink {
    entered: Sender<()>,
    gate: Receiver<()>,
    inner: MemorySink,
    open: bool,
}

impl Write for GateSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.open {
            let _ = self.entered.send(());
            self.open = self.gate.recv().is_ok();
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
#[serial]
fn drop_mode_counts_what_it_drops_and_says_so_in_the_trace() {
    let (entered_tx, entered) = crossbeam_channel::bounded(1);
    let (open_gate, gate) = crossbeam_channel::bounded(1);
    let memory = MemorySink::default();
    let before = flowtrace_runtime::stats();
    let guard = Config::new()
        .writer(GateSink {
            entered: entered_tx,
            gate,
            inner: memory.clone(),
            open: false,
        })
        .overflow(Overflow::Drop)
        .capacity(1)
        .init()
        .expect("init");
    work(0);
    entered
        .recv()
        .expect("writer is now stuck in its first write");
    for n in 0..100 {
        work(n);
    }
    let dropped = flowtrace_runtime::stats().dropped - before.dropped;
    assert!(
        dropped >= 198,
        "only {dropped} dropped with a full capacity-1 channel"
    );
    open_gate.send(()).expect("open the gate");
    drop(guard);
    let records = memory.records();
    common::assert_start(records.first());
    let calls = records[1..]
        .iter()
        .filter(|r| r["event"] != "DROPPED")
        .count() as u64;
    let counted: u64 = records
        .iter()
        .filter(|r| r["event"] == "DROPPED")
        .map(|r| r["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(counted, dropped);
    assert_eq!(
        calls + counted,
        202,
        "every produced record is written or counted"
    );
}

/// A sink that fails every write, like a full disk.
struct FailingSink(Arc<Mutex<u32>>);

impl Write for FailingSink {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        *self.0.lock().expect("lock") += 1;
        Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
#[serial]
fn a_failing_sink_never_fails_the_program() {
    let attempts = Arc::new(Mutex::new(0));
    let before = flowtrace_runtime::stats();
    let guard = Config::new()
        .writer(FailingSink(attempts.clone()))
        .init()
        .expect("init");
    let mut total = 0;
    for n in 0..100 {
        total += work(n);
        guard.flush().expect("flush still answers");
    }
    drop(guard);
    assert_eq!(total, 5050);
    let after = flowtrace_runtime::stats();
    assert!(*attempts.lock().expect("lock") >= 100);
    assert!(after.write_errors - before.write_errors >= 100);
    // The 200 call records and the START record.
    assert_eq!(after.lost - before.lost, 201);
}

#[flowtrace]
fn noted(bytes: usize) -> usize {
    bytes
}

/// A sink that calls a traced function on every write, as a user's own sink might.
#[derive(Clone, Default)]
struct TracingSink(MemorySink);

impl Write for TracingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        noted(buf.len());
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[test]
#[serial]
fn traced_calls_made_by_the_sink_are_not_traced_and_never_hang_the_writer() {
    let sink = TracingSink::default();
    let memory = sink.0.clone();
    let (finished, outcome) = std::sync::mpsc::channel();
    // On a thread of its own, so that a hang fails this test instead of stalling the suite.
    std::thread::spawn(move || {
        let guard = Config::new().writer(sink).capacity(4).init().expect("init");
        for n in 0..1_000 {
            work(n);
        }
        let flushed = flowtrace_runtime::flush();
        drop(guard);
        let _ = finished.send(flushed);
    });
    let flushed = outcome
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the traced program finishes");
    assert!(flushed.is_ok(), "{flushed:?}");
    let records = memory.records();
    assert_eq!(records.len(), 1 + 2_000);
    common::assert_start(records.first());
    assert!(records[1..].iter().all(|r| r["function"] == "work"));
    assert_well_formed(&records);
}

/// An argument whose encoding restarts tracing and makes a traced call, as another thread
/// re-initialising at that moment would have it.
struct Restarts {
    guard: std::cell::RefCell<Option<flowtrace_runtime::FlushGuard>>,
    next: MemorySink,
}

impl serde::Serialize for Restarts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        drop(self.guard.borrow_mut().take());
        let guard = Config::new()
            .writer(self.next.clone())
            .init()
            .expect("re-init");
        work(1);
        *self.guard.borrow_mut() = Some(guard);
        serializer.serialize_str("restarted")
    }
}

#[flowtrace]
fn takes(arg: &Restarts) -> u8 {
    let _ = arg;
    7
}

#[test]
#[serial]
fn a_restart_while_an_argument_is_encoded_never_panics() {
    let restarts = Restarts {
        guard: std::cell::RefCell::new(Some(
            Config::new().writer(io::sink()).init().expect("init"),
        )),
        next: MemorySink::default(),
    };
    work(0); // this thread now holds the current dispatch
    assert_eq!(takes(&restarts), 7);
    drop(restarts.guard.borrow_mut().take());
    let records = restarts.next.records();
    common::assert_start(records.first());
    assert!(
        records.iter().filter(|r| r["function"] == "work").count() == 2,
        "{records:?}"
    );
}
