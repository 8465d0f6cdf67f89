//! demo-chat over real WebSockets: slow consumers, abrupt disconnects, room deletion, and a
//! broadcast to 500 clients.

mod chat_common;

use chat_common::{Client, DEADLINE, Server, unlimited};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::net::TcpSocket;

/// A client whose socket has a tiny receive buffer and that never reads until told to.
async fn slow_client(server: &Server, room: &str, client: &str) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(server.addr).await.expect("connect");
    let url = format!("ws://{}/ws/{room}/{client}", server.addr);
    let (ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .expect("handshake");
    Client { ws }
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_4008_while_the_fast_keep_receiving() {
    let limits = demo_chat::Limits {
        queue_capacity: 16,
        ..unlimited()
    };
    let server = Server::start_with(limits).await;
    let mut sender = server.join("busy", "sender").await;
    let mut reader = server.join("busy", "reader").await;
    let mut slow = slow_client(&server, "busy", "slow").await;
    sender.recv_type("user_joined").await; // reader
    sender.recv_type("user_joined").await; // slow
    reader.recv_type("user_joined").await; // slow

    // The reader drains concurrently and records every message text in order.
    let reader_task = tokio::spawn(async move {
        let mut texts = Vec::new();
        loop {
            let frame = reader.recv_json().await;
            match frame["type"].as_str() {
                Some("message") if frame["text"] == "done" => return (texts, reader),
                Some("message") => {
                    texts.push(frame["text"].as_str().unwrap_or_default().to_owned())
                }
                Some("user_left") => assert_eq!(frame["client_id"], "slow"),
                _ => panic!("reader got {frame}"),
            }
        }
    });

    // Send in lockstep with our own echo until the room announces that `slow` left.
    let padding = "p".repeat(3_900);
    let mut sent = Vec::new();
    let mut slow_left = None;
    while slow_left.is_none() {
        assert!(
            sent.len() < 50_000,
            "the slow client was never disconnected"
        );
        let text = format!("{} {padding}", sent.len());
        sender.say(&text).await;
        loop {
            let frame = sender.recv_json().await;
            match frame["type"].as_str() {
                Some("message") => {
                    assert_eq!(frame["text"], text.as_str(), "own messages arrive in order");
                    break;
                }
                Some("user_left") => slow_left = Some(frame),
                _ => panic!("sender got {frame}"),
            }
        }
        sent.push(text);
    }
    let left = slow_left.expect("loop ended on user_left");
    assert_eq!(left["client_id"], "slow");
    assert_eq!(left["participant_count"], 2);
    sender.say("done").await;
    let (texts, _reader) = tokio::time::timeout(DEADLINE, reader_task)
        .await
        .expect("reader finishes")
        .expect("reader did not panic");
    assert_eq!(texts, sent, "the fast reader lost or reordered nothing");

    let (code, reason) = slow.recv_close().await;
    assert_eq!((code, reason.as_str()), (4008, "slow"));
    let (_, room) = server.get("/rooms/busy").await;
    assert_eq!(room["participants"], json!(["reader", "sender"]));
    server.shutdown().await;
}

#[tokio::test]
async fn an_abrupt_disconnect_is_announced_and_the_count_corrects_itself() {
    let server = Server::start().await;
    let mut stay = server.join("drop", "stay").await;
    let vanish = server.join("drop", "vanish").await;
    stay.recv_json().await; // vanish joined
    drop(vanish); // the TCP connection closes without a close frame
    assert_eq!(
        stay.recv_json().await,
        json!({"type":"user_left","client_id":"vanish","room_id":"drop","participant_count":1})
    );
    let (_, room) = server.get("/rooms/drop").await;
    assert_eq!(room["participant_count"], 1);
    assert_eq!(room["participants"], json!(["stay"]));
    // The id is free again.
    let _back = server.join("drop", "vanish").await;
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_a_room_tells_its_members_closes_them_with_4410_and_frees_it() {
    let server = Server::start().await;
    let mut a = server.join("doomed", "a").await;
    let mut b = server.join("doomed", "b").await;
    a.say("before").await;
    let (status, body) = server.delete("/rooms/doomed").await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Room deleted successfully");
    for member in [&mut a, &mut b] {
        assert_eq!(
            member.recv_type("room_deleted").await,
            json!({"type":"room_deleted","room_id":"doomed"})
        );
        assert_eq!(member.recv_close().await, (4410, "room deleted".to_owned()));
    }
    assert_eq!(server.get("/rooms/doomed").await.0, 404);
    assert_eq!(server.delete("/rooms/doomed").await.0, 404);
    // Connecting again creates a fresh, empty room.
    let mut again = server.connect("doomed", "a").await;
    assert_eq!(again.recv_json().await["messages"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn five_hundred_clients_in_one_room_all_receive_a_broadcast() {
    const N: usize = 500;
    let server = Server::start().await;
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        clients.push(server.connect("crowd", &format!("c{i}")).await);
    }
    let (_, room) = server.get("/rooms/crowd").await;
    assert_eq!(room["participant_count"], N);
    clients[0].say("to all").await;
    let received: Vec<Value> = join_all(clients.iter_mut().map(|c| c.recv_type("message"))).await;
    for frame in &received {
        assert_eq!(frame["text"], "to all");
        assert_eq!(frame["client_id"], "c0");
    }
    assert_eq!(received.len(), N);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_dropped_and_one_that_does_stays() {
    let limits = demo_chat::Limits {
        ping_interval: std::time::Duration::from_millis(200),
        ping_timeout: std::time::Duration::from_secs(2),
        ..demo_chat::Limits::default()
    };
    let server = Server::start_with(limits).await;
    let mut watcher = server.join("keepalive", "watcher").await;
    // `silent` is never read again after joining, so its pings go unanswered.
    let _silent = server.join("keepalive", "silent").await;
    assert_eq!(watcher.recv_json().await["client_id"], "silent");
    // The watcher answers pings as it reads (tungstenite replies with pongs) while it waits.
    assert_eq!(
        watcher.recv_json().await,
        json!({"type":"user_left","client_id":"silent","room_id":"keepalive","participant_count":1})
    );
    // By now the watcher has lived through several ping intervals.
    watcher.say("still here").await;
    assert_eq!(watcher.recv_json().await["text"], "still here");
    server.shutdown().await;
}
