//! The demo-chat server under test, as a child process, and the client-side plumbing: a small
//! WebSocket client configuration, a raw HTTP GET, and the server's resident memory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running `demo-chat` process.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) trace: PathBuf,
}

impl Server {
    /// Starts the `demo-chat` binary next to this one on a free port, rate limit lifted.
    pub(crate) fn start(traced: bool, queue: usize) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let server = exe.with_file_name("demo-chat");
        let trace = std::env::temp_dir().join(format!("chat-bench-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&trace);
        let mut child = Command::new(&server)
            .args([
                "--port", "0", "--rate", "1000000", "--burst", "1000000", "--queue",
            ])
            .arg(queue.to_string())
            .arg("--trace-file")
            .arg(&trace)
            .env("FLOWTRACE_ENABLED", if traced { "1" } else { "0" })
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it first)", server.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut banner = String::new();
        BufReader::new(stdout)
            .read_line(&mut banner)
            .map_err(|e| e.to_string())?;
        let addr = banner
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected banner {banner:?}"))?;
        Ok(Self { child, addr, trace })
    }

    /// Resident set size in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The anonymous part of the resident set (heap, stacks), in KiB: without the pages of the
    /// binary and libraries, which are mapped in as code paths first run.
    pub(crate) fn rss_anon_kib(&self) -> u64 {
        self.status_kib("RssAnon:")
    }

    fn status_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()));
        status
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time (user + system) the server has used, in seconds. Assumes the usual Linux clock
    /// tick of 100 Hz for `/proc/<pid>/stat`.
    pub(crate) fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()));
        let ticks: u64 = stat
            .ok()
            .and_then(|s| {
                // Fields after the parenthesised command name; utime and stime are 14 and 15.
                let rest = s.rsplit_once(')')?.1.to_owned();
                let fields: Vec<&str> = rest.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        ticks as f64 / 100.0
    }

    /// Bytes written to the trace file so far.
    pub(crate) fn trace_bytes(&self) -> u64 {
        std::fs::metadata(&self.trace).map_or(0, |m| m.len())
    }

    /// Stops the server with SIGTERM and waits for it.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.trace);
    }

    /// `GET path` as JSON.
    pub(crate) async fn get(&self, path: &str) -> Result<Value, String> {
        self.request("GET", path).await
    }

    /// `DELETE path`, its answer as JSON.
    pub(crate) async fn delete(&self, path: &str) -> Result<Value, String> {
        self.request("DELETE", path).await
    }

    async fn request(&self, method: &str, path: &str) -> Result<Value, String> {
        let mut tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        tcp.read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).map_err(|e| format!("bad JSON from {path}: {e}"))
    }

    /// Waits until `/health` reports `n` WebSocket connections.
    pub(crate) async fn wait_connections(&self, n: u64) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let health = self.get("/health").await?;
            if health["connections"].as_u64() == Some(n) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "server has {} connections, expected {n}",
                    health["connections"]
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Connects a client with small buffers (the bench holds thousands of them).
    pub(crate) async fn connect(&self, room: &str, client: &str) -> Result<Ws, String> {
        let url = format!("ws://{}/ws/{room}/{client}", self.addr);
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| format!("connect {room}/{client}: {e}"))?;
        Ok(ws)
    }
}
