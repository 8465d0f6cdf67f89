//! The web client survives a lost connection: headless Chromium reaches the server through a
//! proxy that the test cuts; while it is down another client sends messages; once it is back the
//! page has reconnected on its own, recovered with `since`/`epoch`, and shows every message
//! exactly once, in order.

mod browser_common;
mod chat_common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use browser_common::{Cdp, join, wait_for};
use chat_common::Server;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A TCP proxy in front of the server whose links the test can cut, and which refuses new ones
/// (accepts and closes them at once) until it is restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (accept_up, accept_links) = (up.clone(), links.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the browser sees a failed connection
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accept_links
                    .lock()
                    .expect("links")
                    .push(link.abort_handle());
            }
        })
        .abort_handle();
        Self {
            addr,
            up,
            links,
            accepting,
        }
    }

    /// Drops every open link, as a network blip or a restarting load balancer would.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

/// The page's chat lines without their time stamps (`[12:00:00] other: hi` → `other: hi`).
const SHOWN_MESSAGES: &str = "[...document.querySelectorAll('#messages li:not(.event):not(.error)')]\
     .map(li => li.textContent.replace(/^\\[[^\\]]*\\] /, ''))";

fn page_shows(text: &str) -> String {
    wait_for(&format!(
        "document.getElementById('messages').textContent.includes('{text}')"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_reconnects_and_shows_what_it_missed_exactly_once() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let (browser, mut cdp) = Cdp::launch().await;
    let page = cdp.open_page(&format!("http://{}/", proxy.addr)).await;
    join(&mut cdp, &page, "recovery", "web").await;
    let mut other = server.join("recovery", "other").await;
    other.say("before").await;
    other.recv_type("message").await;
    cdp.eval(&page, &page_shows("other: before")).await;

    proxy.cut();
    cdp.eval(
        &page,
        &wait_for("document.body.dataset.reconnecting === 'true'"),
    )
    .await;
    let status = cdp
        .eval(&page, "document.getElementById('status').textContent")
        .await;
    assert!(
        status.as_str().is_some_and(|s| s.contains("reconnecting")),
        "the page says it is reconnecting: {status}"
    );
    for text in ["missed 1", "missed 2"] {
        other.say(text).await;
        other.recv_type("message").await; // acknowledged: stored and broadcast
    }
    proxy.restore();
    cdp.eval(&page, &page_shows("other: missed 2")).await;
    cdp.eval(
        &page,
        &wait_for("document.body.dataset.connected === 'true'"),
    )
    .await;
    other.say("after").await;
    cdp.eval(&page, &page_shows("other: after")).await;

    let shown = cdp.eval(&page, SHOWN_MESSAGES).await;
    assert_eq!(
        shown,
        json!([
            "other: before",
            "other: missed 1",
            "other: missed 2",
            "other: after"
        ])
    );
    drop(browser);
    drop(proxy);
    server.shutdown().await;
}
