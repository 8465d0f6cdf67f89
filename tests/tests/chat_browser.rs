//! The web client in headless Chromium: two pages join one room, one sends `<b>hi</b>`, the
//! other shows it as text; a burst of joins refreshes the room list a few times, not per join.

mod browser_common;
mod chat_common;

use browser_common::{Cdp, join, wait_for};
use chat_common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_html_is_shown_as_text_in_another_page() {
    let server = Server::start().await;
    let (browser, mut cdp) = Cdp::launch().await;
    let origin = format!("http://{}/", server.addr);
    let sender = cdp.open_page(&origin).await;
    let receiver = cdp.open_page(&origin).await;
    join(&mut cdp, &receiver, "browser", "reader").await;
    join(&mut cdp, &sender, "browser", "writer").await;
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
    join(&mut cdp, &page, "browser", "watcher").await;
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
