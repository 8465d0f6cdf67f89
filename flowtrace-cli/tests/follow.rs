//! `flowtrace tail -f` prints records as they are appended, waits for the end of a line being
//! written, and carries on in the new file after the trace is rotated (renamed to `.1`).
//!
//! Synchronisation is by reading the child's output: each step blocks until the expected line
//! arrives. A watchdog kills the child if the test is stuck, so a regression fails instead of
//! hanging.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};

fn record(event: &str, id: u64, micros: u64) -> String {
    let (thread, module, function) = ("main", "app", "poll");
    match event {
        "ENTER" => format!(
            r#"{{"timestamp":{},"event":"ENTER","thread":"{thread}","module":"{module}","function":"{function}","args":"{{\"n\":{id}}}","id":{id},"timestampMicros":{micros}}}"#,
            micros / 1000
        ),
        _ => format!(
            r#"{{"timestamp":{},"event":"{event}","thread":"{thread}","module":"{module}","function":"{function}","durationMicros":5,"id":{id},"timestampMicros":{micros}}}"#,
            micros / 1000
        ),
    }
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Kills the child when dropped (the test ended or panicked).
struct Guard(Arc<Mutex<Child>>);

impl Guard {
    fn kill(child: &Mutex<Child>) {
        if let Ok(mut child) = child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        Self::kill(&self.0);
    }
}

#[test]
fn follows_growth_partial_lines_and_rotation() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join("trace.jsonl");
    append(&path, &format!("{}\n", record("ENTER", 1, 1_000_000)));

    let mut child = Command::new(env!("CARGO_BIN_EXE_flowtrace"))
        .args(["tail", "-f", "--color", "never"])
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run flowtrace: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let guard = Guard(Arc::new(Mutex::new(child)));
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Safety net only: a stuck test ends with the child killed and a failed read below.
    let watched = Arc::clone(&guard.0);
    let (done_tx, done) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) =
            done.recv_timeout(std::time::Duration::from_secs(120))
        {
            Guard::kill(&watched);
        }
    });
    let next = || {
        lines
            .recv()
            .unwrap_or_else(|_| panic!("flowtrace tail -f stopped printing"))
    };

    assert!(next().ends_with("→ app::poll(n=1)"));
    // A line written in two pieces is printed once, whole.
    let exit = record("EXIT", 1, 1_000_010);
    let (head, tail) = exit.split_at(40);
    append(&path, head);
    append(&path, &format!("{tail}\n"));
    let line = next();
    assert!(line.ends_with("← app::poll"), "{line}");
    assert!(line.contains("5µs"), "{line}");

    // Rotation: the file is renamed to .1 and a new one started.
    append(&path, &format!("{}\n", record("ENTER", 2, 1_000_020)));
    assert!(next().ends_with("→ app::poll(n=2)"));
    std::fs::rename(&path, dir.path().join("trace.jsonl.1"))
        .unwrap_or_else(|e| panic!("rotate: {e}"));
    append(&path, &format!("{}\n", record("CANCEL", 2, 1_000_030)));
    let line = next();
    assert!(line.ends_with("⊘ CANCEL app::poll"), "{line}");
    append(&path, &format!("{}\n", record("ENTER", 3, 1_000_040)));
    assert!(next().ends_with("→ app::poll(n=3)"));
    drop(done_tx);
    drop(guard);
}
