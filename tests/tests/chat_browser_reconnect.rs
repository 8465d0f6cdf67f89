//! The web client survives a lost connection and a restarted server: headless Chromium reaches
//! the server through a proxy; the test cuts the proxy (memory engine) or restarts the node
//! behind it (Redis engine) while another client sends; once it is back the page has reconnected
//! on its own, recovered with `since`/`epoch`, and shows every message exactly once, in order.

mod browser_common;
mod chat_common;
mod chat_redis_common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use browser_common::{Cdp, join, wait_for};
use chat_common::{Client, Server};
use chat_redis_common::{Node, Redis};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A TCP proxy in front of a server whose links the test can cut, which refuses new ones
/// (accepts and closes them at once) until it is restored, and which can be pointed at another
/// server.
struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let target = Arc::new(Mutex::new(target));
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (accept_target, accept_up, accept_links) = (target.clone(), up.clone(), links.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the browser sees a failed connection
                }
                let target = *accept_target.lock().expect("target");
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
            target,
            up,
            links,
            accepting,
        }
    }

    /// New links go to `target` from now on.
    fn retarget(&self, target: SocketAddr) {
        *self.target.lock().expect("target") = target;
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

/// Sends each text and waits for its echo: the server has stored and broadcast it.
async fn say_acknowledged(client: &mut Client, texts: &[&str]) {
    for text in texts {
        client.say(text).await;
        client.recv_type("message").await;
    }
}

fn page_shows(text: &str) -> String {
    wait_for(&format!(
        "document.getElementById('messages').textContent.includes('{text}')"
    ))
}

/// Waits until the page has lost its connection and says that it is reconnecting.
async fn says_it_is_reconnecting(cdp: &mut Cdp, page: &str) {
    let reconnecting = wait_for("document.body.dataset.reconnecting === 'true'");
    cdp.eval(page, &reconnecting).await;
    let status = cdp
        .eval(page, "document.getElementById('status').textContent")
        .await;
    assert!(
        status.as_str().is_some_and(|s| s.contains("reconnecting")),
        "the page says it is reconnecting: {status}"
    );
}

/// Once the page is back: it shows the two messages it missed and the next one, and every
/// message of the test exactly once, in order.
async fn shows_each_message_once(cdp: &mut Cdp, page: &str, other: &mut Client) {
    cdp.eval(page, &page_shows("other: missed 2")).await;
    cdp.eval(
        page,
        &wait_for("document.body.dataset.connected === 'true'"),
    )
    .await;
    say_acknowledged(other, &["after"]).await;
    cdp.eval(page, &page_shows("other: after")).await;
    let shown = cdp.eval(page, SHOWN_MESSAGES).await;
    let expected = ["before", "missed 1", "missed 2", "after"].map(|t| format!("other: {t}"));
    assert_eq!(shown, json!(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_reconnects_and_shows_what_it_missed_exactly_once() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let (browser, mut cdp) = Cdp::launch().await;
    let page = cdp.open_page(&format!("http://{}/", proxy.addr)).await;
    join(&mut cdp, &page, "recovery", "web").await;
    let mut other = server.join("recovery", "other").await;
    say_acknowledged(&mut other, &["before"]).await;
    cdp.eval(&page, &page_shows("other: before")).await;

    proxy.cut();
    says_it_is_reconnecting(&mut cdp, &page).await;
    say_acknowledged(&mut other, &["missed 1", "missed 2"]).await;
    proxy.restore();
    shows_each_message_once(&mut cdp, &page, &mut other).await;
    drop(browser);
    drop(proxy);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_survives_a_node_restart_on_redis_and_shows_what_it_missed_once() {
    let redis = Redis::start().await;
    let mut node = Node::start(&redis);
    let other_node = Node::start(&redis);
    let proxy = Proxy::start(node.addr).await;
    let (browser, mut cdp) = Cdp::launch().await;
    let page = cdp.open_page(&format!("http://{}/", proxy.addr)).await;
    join(&mut cdp, &page, "restart", "web").await;
    let (mut other, _) = other_node.join("restart", "other").await;
    say_acknowledged(&mut other, &["before"]).await;
    cdp.eval(&page, &page_shows("other: before")).await;

    // SIGTERM: the page gets 1001 and its retries fail until a node is back behind the proxy.
    node.stop();
    says_it_is_reconnecting(&mut cdp, &page).await;
    say_acknowledged(&mut other, &["missed 1", "missed 2"]).await;
    let restarted = Node::start(&redis);
    proxy.retarget(restarted.addr);
    shows_each_message_once(&mut cdp, &page, &mut other).await;
    drop(browser);
    drop(proxy);
}
