//! The `demo-chat` binary as a process: it reports a taken port clearly, on SIGTERM closes its
//! WebSocket clients with 1001, exits 0, and leaves a complete trace file, and it keeps the
//! trace within its rotation bound.

#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const DEADLINE: Duration = Duration::from_secs(30);

/// Starts the binary on port 0 and returns it with the address it printed.
fn start(trace: &std::path::Path) -> (Child, String) {
    start_with(trace, &[])
}

/// [`start`] with more flags.
fn start_with(trace: &std::path::Path, flags: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-chat"))
        .args(["--port", "0", "--trace-file"])
        .arg(trace)
        .args(flags)
        .env_remove("DEMO_CHAT_PORT")
        .env_remove("FLOWTRACE_MAX_FILE_BYTES")
        .env_remove("FLOWTRACE_MAX_FILES")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn demo-chat");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read banner");
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("banner names the address")
        .to_owned();
    (child, addr)
}

/// Sends SIGTERM, as a service manager stopping the server would.
fn terminate(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
}

/// Kills the server if the test fails before stopping it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "demo-chat did not exit"
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_completes_the_trace() {
    let dir = std::env::temp_dir().join(format!("demo-chat-signal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("trace.jsonl");
    let (mut child, addr) = start(&trace);

    // A second instance on the same port fails with a clear message.
    let port = addr.rsplit(':').next().expect("port");
    let taken = Command::new(env!("CARGO_BIN_EXE_demo-chat"))
        .args(["--port", port, "--trace-file"])
        .arg(dir.join("other.jsonl"))
        .output()
        .expect("run second instance");
    assert!(!taken.status.success());
    let stderr = String::from_utf8_lossy(&taken.stderr);
    assert!(
        stderr.contains("cannot listen on") && stderr.contains(port),
        "{stderr}"
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/general/sig"))
        .await
        .expect("connect");
    ws.send(Message::text(r#"{"type":"message","text":"bye"}"#))
        .await
        .expect("send");
    let mut saw_message = false;
    while !saw_message {
        let frame = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("frame")
            .expect("open");
        if let Ok(Message::Text(t)) = frame {
            saw_message = t.as_str().contains("\"bye\"");
        }
    }

    terminate(&child);
    let close = loop {
        let frame = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("frame");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close, 1001);
    assert!(wait(&mut child).success());

    let text = std::fs::read_to_string(&trace).expect("trace file");
    std::fs::remove_dir_all(&dir).ok();
    let mut open: HashMap<u64, String> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let r: Value = serde_json::from_str(line).expect("JSON line");
        if r["event"] == "START" {
            assert_eq!(n, 0, "one START, the first line: {line}");
            continue;
        }
        let id = r["id"].as_u64().expect("id");
        if r["event"] == "ENTER" {
            open.insert(id, r["function"].as_str().unwrap_or_default().to_owned());
        } else {
            assert!(open.remove(&id).is_some(), "{line} closes an open ENTER");
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    assert!(text.contains(r#""function":"post""#) && text.contains(r#""function":"shutdown""#));
}

#[test]
fn sigterm_right_after_the_banner_still_shuts_down_cleanly() {
    let dir = std::env::temp_dir().join(format!("demo-chat-early-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("trace.jsonl");
    let (mut child, _addr) = start(&trace);
    terminate(&child);
    let status = wait(&mut child);
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    assert!(status.success(), "{status:?}: killed instead of shut down");
    assert!(text.contains(r#""function":"shutdown""#), "{text}");
}

#[tokio::test]
async fn the_trace_rotates_within_its_bound_under_load() {
    const MAX_BYTES: u64 = 16 * 1024;
    let dir = std::env::temp_dir().join(format!("demo-chat-rotate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("trace.jsonl");
    let flags = ["--trace-max-bytes", "16384", "--trace-max-files", "2"];
    // Unthrottled, with room for every echo: the client reads only after sending them all.
    let unlimited = ["--rate", "100000", "--burst", "100000", "--queue", "1024"];
    let (child, addr) = start_with(&trace, &[&flags[..], &unlimited[..]].concat());
    let mut child = KillOnDrop(child);

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/general/rot"))
        .await
        .expect("connect");
    // ~6 records of ~300 bytes per chat message: 300 messages write ~30 files' worth.
    let last = 300;
    for n in 1..=last {
        let frame = format!(r#"{{"type":"message","text":"message {n}"}}"#);
        ws.send(Message::text(frame)).await.expect("send");
    }
    let last_echo = format!("\"message {last}\"");
    loop {
        let frame = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("frame")
            .expect("open");
        if let Ok(Message::Text(t)) = frame
            && t.as_str().contains(&last_echo)
        {
            break;
        }
    }
    terminate(&child.0);
    assert!(wait(&mut child.0).success());

    let mut kept = vec![trace.clone()];
    kept.extend((1..=2).map(|n| dir.join(format!("trace.jsonl.{n}"))));
    for file in &kept {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("{} was not kept: {e}", file.display()));
        assert!(
            text.len() as u64 <= MAX_BYTES,
            "{} has {} bytes",
            file.display(),
            text.len()
        );
        for line in text.lines() {
            serde_json::from_str::<Value>(line).expect("whole JSON lines only");
        }
    }
    let beyond = dir.join("trace.jsonl.3").exists();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!beyond, "only --trace-max-files rotated files are kept");
}
