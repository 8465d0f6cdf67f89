//! Headless Chromium (Debian's `chromium` package) for the web client's tests, driven over the
//! DevTools protocol: a browser with its own profile, a minimal CDP client, and the page steps
//! the tests share.

#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::chat_common::DEADLINE;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with its own profile directory, killed and removed on drop.
pub struct Browser {
    child: Child,
    profile: PathBuf,
}

impl Browser {
    fn launch() -> Self {
        // One profile per browser: the tests of this file run side by side.
        static LAUNCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!("chat-browser-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("profile dir");
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMIUM} ({e}): install Debian's chromium"));
        Self { child, profile }
    }

    /// The browser's DevTools WebSocket URL, from the `DevToolsActivePort` file it writes.
    async fn devtools_url(&mut self) -> String {
        let file = self.profile.join("DevToolsActivePort");
        let read = async {
            loop {
                if let Some(url) = parse_active_port(&file) {
                    return url;
                }
                if let Some(status) = self.child.try_wait().expect("try_wait") {
                    panic!("chromium exited early: {status}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await; // polling a file, not syncing
            }
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("chromium opens its DevTools port")
    }
}

fn parse_active_port(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    let port = lines.next()?.trim().parse::<u16>().ok()?;
    let path = lines.next()?.trim();
    path.starts_with('/')
        .then(|| format!("ws://127.0.0.1:{port}{path}"))
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A minimal DevTools protocol client (flattened sessions).
pub struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Cdp {
    /// A fresh browser and a DevTools connection to it; the browser goes when it is dropped.
    pub async fn launch() -> (Browser, Self) {
        let mut browser = Browser::launch();
        let url = browser.devtools_url().await;
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to DevTools");
        (browser, Self { ws, next_id: 0 })
    }

    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(command.to_string()))
            .await
            .expect("send CDP command");
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("CDP answer within the deadline")
                .expect("CDP socket open")
                .expect("CDP frame");
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).expect("CDP JSON");
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Opens a blank page, attaches to it, then navigates it to `url` (the navigation has
    /// committed when `Page.navigate` answers, so later evaluations run in the new document).
    pub async fn open_page(&mut self, url: &str) -> String {
        let blank = json!({ "url": "about:blank" });
        let target = self.call(None, "Target.createTarget", blank).await;
        let attach = json!({ "targetId": target["targetId"], "flatten": true });
        let session = self.call(None, "Target.attachToTarget", attach).await;
        let session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        let navigated = self
            .call(Some(&session), "Page.navigate", json!({ "url": url }))
            .await;
        assert!(
            navigated.get("errorText").is_none(),
            "navigation failed: {navigated}"
        );
        session
    }

    /// Evaluates `expression` in the page, awaiting it if it is a promise, and returns its value.
    pub async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        let result = self.call(Some(session), "Runtime.evaluate", params).await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression} threw: {result}"
        );
        result["result"]["value"].clone()
    }
}

/// JavaScript that resolves once `condition` holds in the page (checked every 20 ms).
pub fn wait_for(condition: &str) -> String {
    format!(
        "new Promise(resolve => {{ const check = () => {{ try {{ if ({condition}) return resolve(true); }} catch (e) {{}} setTimeout(check, 20); }}; check(); }})"
    )
}

/// Fills the join form of `page` with `room` and `client`, clicks Connect and waits until the
/// page says it is connected.
pub async fn join(cdp: &mut Cdp, page: &str, room: &str, client: &str) {
    cdp.eval(
        page,
        &wait_for("document.readyState === 'complete' && document.getElementById('connect')"),
    )
    .await;
    let script = format!(
        "document.getElementById('room').value = '{room}'; \
         document.getElementById('client').value = '{client}'; \
         document.getElementById('connect').click(); true"
    );
    cdp.eval(page, &script).await;
    cdp.eval(
        page,
        &wait_for("document.body.dataset.connected === 'true'"),
    )
    .await;
}
