//! The web client in headless Chromium (Debian's `chromium` package), driven over the DevTools
//! protocol: two pages join one room, one sends `<b>hi</b>`, the other shows it as text.

mod chat_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_common::{DEADLINE, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with its own profile directory, killed and removed on drop.
struct Browser {
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
struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Cdp {
    /// A fresh browser and a DevTools connection to it; the browser goes when it is dropped.
    async fn launch() -> (Browser, Self) {
        let mut browser = Browser::launch();
        let url = browser.devtools_url().await;
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to DevTools");
        (browser, Self { ws, next_id: 0 })
    }

    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
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
    async fn open_page(&mut self, url: &str) -> String {
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
    async fn eval(&mut self, session: &str, expression: &str) -> Value {
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
fn wait_for(condition: &str) -> String {
    format!(
        "new Promise(resolve => {{ const check = () => {{ try {{ if ({condition}) return resolve(true); }} catch (e) {{}} setTimeout(check, 20); }}; check(); }})"
    )
}

async fn join(cdp: &mut Cdp, page: &str, client: &str) {
    cdp.eval(
        page,
        &wait_for("document.readyState === 'complete' && document.getElementById('connect')"),
    )
    .await;
    let script = format!(
        "document.getElementById('room').value = 'browser'; \
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_html_is_shown_as_text_in_another_page() {
    let server = Server::start().await;
    let (browser, mut cdp) = Cdp::launch().await;
    let origin = format!("http://{}/", server.addr);
    let sender = cdp.open_page(&origin).await;
    let receiver = cdp.open_page(&origin).await;
    join(&mut cdp, &receiver, "reader").await;
    join(&mut cdp, &sender, "writer").await;
    cdp.eval(
        &receiver,
        &wait_for("document.getElementById('participants').textContent === '2'"),
    )
    .await;

    let send = "document.getElementById('message').value = '<b>hi</b>'; \
                document.getElementById('send').click(); true";
    cdp.eval(&sender, send).await;
    cdp.eval(
        &receiver,
        &wait_for("document.getElementById('messages').textContent.includes('<b>hi</b>')"),
    )
    .await;
    let shown = cdp
        .eval(
            &receiver,
            "({ text: document.getElementById('messages').textContent, \
                bold: document.querySelectorAll('#messages b').length })",
        )
        .await;
    assert!(
        shown["text"]
            .as_str()
            .is_some_and(|t| t.contains("writer: <b>hi</b>")),
        "{shown}"
    );
    assert_eq!(shown["bold"], 0, "the text was not parsed as HTML");
    drop(browser);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_joins_refreshes_the_room_list_a_few_times_not_once_per_join() {
    let server = Server::start().await;
    let (browser, mut cdp) = Cdp::launch().await;
    let page = cdp.open_page(&format!("http://{}/", server.addr)).await;
    join(&mut cdp, &page, "watcher").await;
    let count_fetches = "window.roomListFetches = 0; const plainFetch = window.fetch; \
                         window.fetch = (url, options) => { \
                           if (String(url) === '/rooms') window.roomListFetches += 1; \
                           return plainFetch(url, options); }; true";
    cdp.eval(&page, count_fetches).await;
    let mut others = Vec::new();
    for i in 0..30 {
        others.push(server.join("browser", &format!("c{i}")).await);
    }
    cdp.eval(
        &page,
        &wait_for("document.getElementById('participants').textContent === '31'"),
    )
    .await;
    let fetches = cdp.eval(&page, "window.roomListFetches").await;
    // One per half second of joins (they take well under one here) plus the 5 s refresh;
    // without the coalescing it is one per join.
    assert!(
        fetches.as_u64().is_some_and(|n| n <= 10),
        "{fetches} fetches of /rooms for 30 joins"
    );
    drop(others);
    drop(browser);
    server.shutdown().await;
}
