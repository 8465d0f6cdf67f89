//! The demo-chat servers under test, as child processes: one memory-engine process, or
//! `--nodes N` nodes on a `redis-server` the bench starts (`--redis`), clients spread
//! round-robin over the nodes. Also the client-side plumbing: a small WebSocket client
//! configuration, a raw HTTP request, the servers' resident memory and CPU time, and Redis's
//! command counts.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which engine and how many nodes the next servers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Topology {
    pub(crate) redis: bool,
    pub(crate) nodes: usize,
}

impl Topology {
    pub(crate) const MEMORY: Self = Self {
        redis: false,
        nodes: 1,
    };
}

impl std::fmt::Display for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.redis {
            write!(f, "redis, {} node(s)", self.nodes)
        } else {
            f.write_str("memory")
        }
    }
}

static TOPOLOGY: Mutex<Topology> = Mutex::new(Topology::MEMORY);

/// Sets the topology of the servers started from now on.
pub(crate) fn set_topology(topology: Topology) {
    *TOPOLOGY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = topology;
}

pub(crate) fn topology() -> Topology {
    *TOPOLOGY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One process and the /proc readings of it.
struct Process {
    child: Child,
}

impl Process {
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

    /// CPU time (user + system) in seconds; assumes Linux's usual 100 Hz clock tick.
    fn cpu_secs(&self) -> f64 {
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

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }
}

/// A demo-chat process.
struct Node {
    process: Process,
    addr: SocketAddr,
    trace: PathBuf,
}

/// The servers of one measurement.
pub(crate) struct Server {
    nodes: Vec<Node>,
    redis: Option<(Process, u16)>,
    next: AtomicUsize,
    traced: bool,
    queue: usize,
    pub(crate) topology: Topology,
}

impl Server {
    /// Starts the servers of the current topology, rate limit lifted, and waits until they are
    /// healthy.
    pub(crate) async fn start(traced: bool, queue: usize) -> Result<Self, String> {
        let topology = topology();
        let redis = if topology.redis {
            Some(start_redis()?)
        } else {
            None
        };
        let mut server = Self {
            nodes: Vec::new(),
            redis,
            next: AtomicUsize::new(0),
            traced,
            queue,
            topology,
        };
        for _ in 0..topology.nodes.max(1) {
            let node = server.start_node()?;
            server.nodes.push(node);
        }
        server.wait_healthy().await?;
        Ok(server)
    }

    fn start_node(&self) -> Result<Node, String> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let binary = exe.with_file_name("demo-chat");
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let trace =
            std::env::temp_dir().join(format!("chat-bench-{}-{n}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&trace);
        let mut command = Command::new(&binary);
        command
            .args(["--port", "0", "--rate", "1000000", "--burst", "1000000"])
            .arg("--queue")
            .arg(self.queue.to_string())
            .arg("--trace-file")
            .arg(&trace)
            .env("FLOWTRACE_ENABLED", if self.traced { "1" } else { "0" })
            .env_remove("DEMO_CHAT_REDIS_URL")
            .stdout(Stdio::piped());
        if let Some((_, port)) = &self.redis {
            command
                .arg("--redis")
                .arg(format!("redis://127.0.0.1:{port}"));
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it first)", binary.display()))?;
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
        Ok(Node {
            process: Process { child },
            addr,
            trace,
        })
    }

    /// Stops node `i` with SIGTERM and starts a fresh one in its place (a new port).
    pub(crate) async fn restart_node(&mut self, i: usize) -> Result<(), String> {
        let fresh = self.start_node()?;
        let old = std::mem::replace(&mut self.nodes[i], fresh);
        old.process.stop();
        let _ = std::fs::remove_file(&old.trace);
        self.wait_healthy().await
    }

    /// Resident set size of all nodes, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.process.status_kib("VmRSS:"))
            .sum()
    }

    /// The anonymous part of the nodes' resident sets (heap, stacks), in KiB: without the pages
    /// of the binary and libraries, which are mapped in as code paths first run.
    pub(crate) fn rss_anon_kib(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.process.status_kib("RssAnon:"))
            .sum()
    }

    /// CPU time the nodes have used, in seconds.
    pub(crate) fn cpu_secs(&self) -> f64 {
        self.nodes.iter().map(|n| n.process.cpu_secs()).sum()
    }

    /// CPU time redis-server has used, in seconds (0 with the memory engine).
    pub(crate) fn redis_cpu_secs(&self) -> f64 {
        self.redis.as_ref().map_or(0.0, |(p, _)| p.cpu_secs())
    }

    /// Bytes written to the trace files so far.
    pub(crate) fn trace_bytes(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| std::fs::metadata(&n.trace).map_or(0, |m| m.len()))
            .sum()
    }

    /// Stops every node with SIGTERM, then Redis.
    pub(crate) fn stop(self) {
        for node in self.nodes {
            node.process.stop();
            let _ = std::fs::remove_file(&node.trace);
        }
        if let Some((redis, _)) = self.redis {
            redis.stop();
        }
    }

    /// `GET path` on the first node, as JSON.
    pub(crate) async fn get(&self, path: &str) -> Result<Value, String> {
        request(self.nodes[0].addr, "GET", path).await
    }

    /// `DELETE path` on the first node, its answer as JSON.
    pub(crate) async fn delete(&self, path: &str) -> Result<Value, String> {
        request(self.nodes[0].addr, "DELETE", path).await
    }

    /// Waits until the nodes' `/health` reports `n` WebSocket connections in all.
    pub(crate) async fn wait_connections(&self, n: u64) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let mut total = 0;
            for node in &self.nodes {
                let health = request(node.addr, "GET", "/health").await?;
                total += health["connections"].as_u64().unwrap_or(0);
            }
            if total == n {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("servers have {total} connections, expected {n}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every node reports itself healthy (the Redis engine has reached Redis).
    pub(crate) async fn wait_healthy(&self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        for node in &self.nodes {
            while request(node.addr, "GET", "/health").await?["status"] != "healthy" {
                if tokio::time::Instant::now() > deadline {
                    return Err(format!("node {} never became healthy", node.addr));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Connects a client to the next node in turn, with small buffers (the bench holds
    /// thousands of them).
    pub(crate) async fn connect(&self, room: &str, client: &str) -> Result<Ws, String> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.nodes.len();
        self.connect_to(i, &format!("{room}/{client}")).await
    }

    /// Connects to `/ws/{path}` on node `i`.
    pub(crate) async fn connect_to(&self, i: usize, path: &str) -> Result<Ws, String> {
        let url = format!("ws://{}/ws/{path}", self.nodes[i].addr);
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| format!("connect {path}: {e}"))?;
        Ok(ws)
    }

    /// Commands Redis has executed so far (the sum of `INFO commandstats` calls).
    pub(crate) async fn redis_calls(&self) -> Result<u64, String> {
        let Some((_, port)) = &self.redis else {
            return Ok(0);
        };
        let info = redis_command(*port, "INFO commandstats").await?;
        Ok(info
            .lines()
            .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
            .filter_map(|l| {
                l.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum())
    }
}

/// Starts `redis-server` on a free loopback port without persistence, and waits for PING.
fn start_redis() -> Result<(Process, u16), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e} (apt-get install redis-server)"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err("redis-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((Process { child }, port))
}

/// One inline Redis command, its raw reply.
async fn redis_command(port: u16, line: &str) -> Result<String, String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    tcp.write_all(format!("{line}\r\nQUIT\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    tcp.read_to_string(&mut reply)
        .await
        .map_err(|e| e.to_string())?;
    Ok(reply)
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> Result<Value, String> {
    let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
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
