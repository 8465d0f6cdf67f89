//! The multi-node harness: a `redis-server` started by the test on a free port, and demo-chat
//! nodes as real processes pointed at it. Everything started here is killed on drop.

#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::chat_common::{Client, DEADLINE, http};

/// A free loopback port (bound then released: the server started on it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of this test.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    /// With an append-only file here, data survives a restart of Redis.
    dir: Option<tempfile::TempDir>,
}

impl Redis {
    /// No persistence: `--save '' --appendonly no`.
    pub async fn start() -> Self {
        Self::launch(free_port(), None).await
    }

    /// With an append-only file (fsync always), so that a restart keeps what was acknowledged.
    pub async fn start_persistent() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::launch(free_port(), Some(dir)).await
    }

    async fn launch(port: u16, dir: Option<tempfile::TempDir>) -> Self {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .stdout(Stdio::null());
        match &dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir.path()),
            None => command.args(["--appendonly", "no"]),
        };
        let child = command
            .spawn()
            .expect("redis-server on the PATH (scripts/test installs it)");
        let redis = Self {
            child: Some(child),
            port,
            dir,
        };
        redis.wait_ping().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ping(&self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if self
                .command("PING")
                .await
                .is_some_and(|r| r.starts_with("+PONG"))
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends one inline command and returns the raw reply (enough for PING and INFO).
    pub async fn command(&self, line: &str) -> Option<String> {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
        tcp.write_all(format!("{line}\r\nQUIT\r\n").as_bytes())
            .await
            .ok()?;
        let mut reply = String::new();
        tokio::time::timeout(DEADLINE, tcp.read_to_string(&mut reply))
            .await
            .ok()?
            .ok()?;
        Some(reply)
    }

    /// Stops Redis (SIGTERM: an append-only file is complete) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sigterm(&child);
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port, with the same data directory.
    pub async fn restart(&mut self) {
        self.stop();
        let dir = self.dir.take();
        let again = Self::launch(self.port, dir).await;
        *self = again;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// A demo-chat node: the real program as a process, on a free port, on the Redis engine.
pub struct Node {
    child: Option<Child>,
    pub addr: SocketAddr,
    trace: PathBuf,
}

impl Node {
    pub fn start(redis: &Redis) -> Self {
        Self::start_with(redis, &[])
    }

    /// With extra flags, e.g. `["--max-rooms", "3"]`.
    pub fn start_with(redis: &Redis, flags: &[&str]) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let binary = module_path!().split("::").next().unwrap_or("chat_redis");
        let trace = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{binary}-{}-node{n}.jsonl", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo_chat_node"))
            .args(["--port", "0", "--rate", "1000000", "--burst", "1000000"])
            .args(["--redis", &redis.url()])
            .args(flags)
            .arg("--trace-file")
            .arg(&trace)
            .env_remove("DEMO_CHAT_PORT")
            .env_remove("DEMO_CHAT_REDIS_URL")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn demo_chat_node");
        let stdout = child.stdout.take().expect("stdout");
        let mut banner = String::new();
        BufReader::new(stdout)
            .read_line(&mut banner)
            .expect("read the banner");
        let addr = banner
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
        Self {
            child: Some(child),
            addr,
            trace,
        }
    }

    /// SIGTERM, as a deploy stops a node, and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sigterm(&child);
            let status = child.wait().expect("wait for the node");
            assert!(status.success(), "node exited with {status}");
        }
    }

    /// The node's trace file (complete once [`Node::stop`] has returned).
    pub fn trace(&self) -> &std::path::Path {
        &self.trace
    }

    /// `kill -9`: the node vanishes without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        http(self.addr, "GET", path).await
    }

    pub async fn connect(&self, room: &str, client: &str) -> Client {
        Client::connect(self.addr, room, client).await
    }

    /// Connects and reads the `history` and own `user_joined`; returns the client and history.
    pub async fn join(&self, room: &str, client: &str) -> (Client, Value) {
        let mut c = self.connect(room, client).await;
        let history = c.recv_json().await;
        assert_eq!(history["type"], "history", "{history}");
        let joined = c.recv_json().await;
        assert_eq!(joined["type"], "user_joined", "{joined}");
        assert_eq!(joined["client_id"], client);
        (c, history)
    }

    /// Polls `GET /health` until its status is `want` (200 or 503).
    pub async fn wait_health(&self, want: u16) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let (status, body) = self.get("/health").await;
            if status == want {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health stayed {status} {body}, expected {want}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.trace);
    }
}

/// Reads frames until `n` `message` frames have come, returning them (other frames skipped).
pub async fn messages(client: &mut Client, n: usize) -> Vec<Value> {
    let mut seen = Vec::with_capacity(n);
    while seen.len() < n {
        let frame = client.recv_json().await;
        if frame["type"] == "message" {
            seen.push(frame);
        }
    }
    seen
}

/// Polls until `check` holds for the JSON at `GET path` on `node`.
pub async fn wait_for(node: &Node, path: &str, check: impl Fn(u16, &Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (status, body) = node.get(path).await;
        if check(status, &body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "GET {path} stayed {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
