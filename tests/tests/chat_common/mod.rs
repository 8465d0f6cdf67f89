//! Helpers for the chat end-to-end tests: a demo-chat server on 127.0.0.1:0 stopped by a oneshot,
//! WebSocket clients with deadlines, and a minimal HTTP/1.1 GET.

#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use demo_chat::{AppState, Limits};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Deadline for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A server running in this process.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Traces the servers of this test binary into `target/tmp/<binary>.jsonl`, rewritten each run,
/// instead of letting the first traced call start tracing into `flowtrace.jsonl` in the source
/// tree. A test that sets tracing up itself (`chat_trace.rs`) has done so first and keeps its own.
fn trace_into_target_dir() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let binary = module_path!().split("::").next().unwrap_or("chat");
        let path =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{binary}.jsonl"));
        let _ = std::fs::remove_file(&path);
        match flowtrace_runtime::Config::new().file(&path).init() {
            // Kept for the life of the process; records still queued at exit are written then.
            Ok(guard) => std::mem::forget(guard),
            Err(flowtrace_runtime::Error::AlreadyInitialized) => {}
            Err(error) => panic!("tracing the chat tests into {}: {error}", path.display()),
        }
    });
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(Limits::default()).await
    }

    pub async fn start_with(limits: Limits) -> Self {
        trace_into_target_dir();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(demo_chat::run(listener, AppState::new(limits), async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Signals shutdown and waits until the server has closed every connection.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(DEADLINE, &mut self.task)
            .await
            .expect("server stops within the deadline")
            .expect("server task did not panic")
            .expect("server ran without I/O error");
    }

    pub async fn connect(&self, room: &str, client: &str) -> Client {
        Client::connect(self.addr, room, client).await
    }

    /// Connects and reads the `history` and own `user_joined` frames.
    pub async fn join(&self, room: &str, client: &str) -> Client {
        let mut c = self.connect(room, client).await;
        assert_eq!(c.recv_json().await["type"], "history");
        let joined = c.recv_json().await;
        assert_eq!(joined["type"], "user_joined");
        assert_eq!(joined["client_id"], client);
        c
    }

    /// `GET path`, returning the status code and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        http(self.addr, "GET", path).await
    }

    /// `DELETE path`, returning the status code and the JSON body.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        http(self.addr, "DELETE", path).await
    }
}

/// A WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr, room: &str, client: &str) -> Self {
        Self::connect_path(addr, &format!("{room}/{client}")).await
    }

    /// Connects to `/ws/{path}`, e.g. `room/client?since=3&epoch=…`.
    pub async fn connect_path(addr: SocketAddr, path: &str) -> Self {
        let url = format!("ws://{addr}/ws/{path}");
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect within the deadline")
            .expect("WebSocket handshake");
        Self { ws }
    }

    /// The next data or close frame, skipping pings and pongs.
    pub async fn recv(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("a frame within the deadline")
                .expect("stream still open")
                .expect("no socket error");
            if !matches!(frame, Message::Ping(_) | Message::Pong(_)) {
                return frame;
            }
        }
    }

    pub async fn recv_json(&mut self) -> Value {
        match self.recv().await {
            Message::Text(text) => serde_json::from_str(text.as_str()).expect("JSON text frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Reads frames until one of type `kind`, which it returns.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv_json().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Reads until the close frame, returning its code and reason (text frames before it are
    /// skipped).
    pub async fn recv_close(&mut self) -> (u16, String) {
        loop {
            match self.recv().await {
                Message::Close(Some(CloseFrame { code, reason })) => {
                    return (u16::from(code), reason.to_string());
                }
                Message::Close(None) => return (1005, String::new()),
                _ => {}
            }
        }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        tokio::time::timeout(DEADLINE, self.ws.send(Message::text(text)))
            .await
            .expect("send within the deadline")
            .expect("send");
    }

    pub async fn say(&mut self, text: &str) {
        self.send_json(serde_json::json!({ "type": "message", "text": text }))
            .await;
    }
}

/// A minimal HTTP/1.1 request without a body, with `Connection: close`; the body as JSON.
pub async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, Value) {
    let (status, body) = http_text(addr, method, path).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A minimal HTTP/1.1 request without a body, with `Connection: close`; the body as text.
pub async fn http_text(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.expect("read response");
        response
    };
    let response = tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("HTTP answer within the deadline");
    let text = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (status, body.to_owned())
}

/// Limits for tests that send fast: no practical rate limit.
pub fn unlimited() -> Limits {
    Limits {
        rate_per_sec: 1e9,
        rate_burst: 1e9,
        ..Limits::default()
    }
}
