//! The connection logic driven through `futures_channel::mpsc` instead of a socket.

use std::time::Duration;

use axum::extract::ws::Message;
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::{AppState, Limits};

/// A fake client: frames in, frames out.
struct Client {
    to_server: UnboundedSender<Result<Message, super::ReadError>>,
    from_server: UnboundedReceiver<Message>,
    task: tokio::task::JoinHandle<()>,
}

/// These tests look at frames, not traces: tracing stays off, so the first traced call does
/// not start writing `flowtrace.jsonl` into the crate's folder.
fn tracing_off() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(guard) = flowtrace_runtime::Config::new().enabled(false).init() {
            std::mem::forget(guard);
        }
    });
}

fn peer(room: &str, client: &str) -> super::Peer {
    super::Peer {
        room_id: room.into(),
        client_id: client.into(),
        since: None,
    }
}

fn connect(state: &AppState, room: &str, client: &str) -> Client {
    tracing_off();
    let (to_server, stream) = unbounded();
    let (sink, from_server) = unbounded();
    let task = tokio::spawn(super::serve(
        sink,
        stream,
        state.clone(),
        peer(room, client),
    ));
    Client {
        to_server,
        from_server,
        task,
    }
}

impl Client {
    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(60), self.from_server.next())
            .await
            .expect("a frame within the deadline")
            .expect("the server did not hang up")
    }

    async fn json(&mut self) -> Value {
        match self.next().await {
            Message::Text(text) => serde_json::from_str(text.as_str()).expect("JSON frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    fn send(&self, frame: Value) {
        let text = Message::Text(frame.to_string().into());
        self.to_server
            .unbounded_send(Ok(text))
            .expect("server is reading");
    }
}

#[tokio::test]
async fn join_sends_history_then_presence_and_echoes_messages() {
    let state = AppState::default();
    let mut alice = connect(&state, "general", "alice");
    let history = alice.json().await;
    assert_eq!(history["type"], "history");
    assert_eq!(history["messages"], json!([]));
    assert_eq!(history["offset"], 0);
    assert!(history.get("recovered").is_none());
    assert_eq!(
        alice.json().await,
        json!({"type":"user_joined","client_id":"alice","room_id":"general","participant_count":1})
    );
    alice.send(json!({"type":"message","text":"hello"}));
    let echo = alice.json().await;
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["text"], "hello");
    assert_eq!(echo["client_id"], "alice");
    assert!(echo["timestamp"].is_u64());
    assert_eq!(echo["offset"], 1);
}

#[tokio::test]
async fn a_bad_frame_gets_an_error_and_the_connection_goes_on() {
    let state = AppState::default();
    let mut bob = connect(&state, "r", "bob");
    bob.json().await; // history
    bob.json().await; // joined
    bob.to_server
        .unbounded_send(Ok(Message::Text("{oops".into())))
        .expect("reading");
    let error = bob.json().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "invalid_json");
    bob.to_server
        .unbounded_send(Ok(Message::Binary(vec![1, 2].into())))
        .expect("reading");
    assert_eq!(bob.json().await["code"], "binary_not_supported");
    bob.send(json!({"type":"message","text":"still here"}));
    assert_eq!(bob.json().await["text"], "still here");
}

#[tokio::test]
async fn a_client_close_leaves_the_room() {
    let state = AppState::default();
    let mut carol = connect(&state, "r", "carol");
    let mut dave = connect(&state, "r", "dave");
    carol.json().await;
    carol.json().await;
    assert_eq!(carol.json().await["client_id"], "dave");
    carol
        .to_server
        .unbounded_send(Ok(Message::Close(None)))
        .expect("reading");
    dave.json().await;
    dave.json().await;
    let left = dave.json().await;
    assert_eq!(left["type"], "user_left");
    assert_eq!(left["client_id"], "carol");
    assert_eq!(left["participant_count"], 1);
    tokio::time::timeout(Duration::from_secs(60), carol.task)
        .await
        .expect("carol's connection ended")
        .expect("no panic");
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_ping_drops_the_client() {
    let limits = Limits {
        ping_interval: Duration::from_secs(25),
        ping_timeout: Duration::from_secs(20),
        ..Limits::default()
    };
    let state = AppState::new(limits);
    let mut eve = connect(&state, "r", "eve");
    let mut frank = connect(&state, "r", "frank");
    eve.json().await;
    eve.json().await;
    eve.json().await; // frank joined
    frank.json().await;
    frank.json().await;
    // Both get pinged; only frank answers, every time.
    assert!(matches!(eve.next().await, Message::Ping(_)));
    let mut pings = 0;
    loop {
        match frank.next().await {
            Message::Ping(_) => {
                pings += 1;
                frank
                    .to_server
                    .unbounded_send(Ok(Message::Pong(Default::default())))
                    .expect("reading");
            }
            Message::Text(text) => {
                let left: Value = serde_json::from_str(text.as_str()).expect("JSON");
                assert_eq!(left["type"], "user_left");
                assert_eq!(left["client_id"], "eve");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 1);
    tokio::time::timeout(Duration::from_secs(60), eve.task)
        .await
        .expect("eve's connection ended")
        .expect("no panic");
    // frank, who answers, survives several more intervals.
    for _ in 0..3 {
        assert!(matches!(frank.next().await, Message::Ping(_)));
        frank
            .to_server
            .unbounded_send(Ok(Message::Pong(Default::default())))
            .expect("reading");
    }
    assert!(!frank.task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_dropped_even_while_a_write_waits() {
    let state = AppState::new(Limits::default());
    let mut watcher = connect(&state, "r", "watcher");
    watcher.json().await; // history
    watcher.json().await; // own user_joined
    // A socket that takes one frame and then never another: the client stopped reading.
    let (to_server, stream) = unbounded::<Result<Message, super::ReadError>>();
    let (sink, _never_read) = futures_channel::mpsc::channel::<Message>(0);
    let stuck = tokio::spawn(super::serve(
        sink,
        stream,
        state.clone(),
        peer("r", "stuck"),
    ));
    assert_eq!(watcher.json().await["client_id"], "stuck"); // user_joined
    // Before its pings it waits for the socket, so no ping could ever tell it is gone.
    for _ in 0..4 {
        match watcher.next().await {
            Message::Ping(_) => watcher
                .to_server
                .unbounded_send(Ok(Message::Pong(Default::default())))
                .expect("reading"),
            Message::Text(text) => {
                let left: Value = serde_json::from_str(text.as_str()).expect("JSON");
                assert_eq!(left["type"], "user_left");
                assert_eq!(left["client_id"], "stuck");
                tokio::time::timeout(Duration::from_secs(60), stuck)
                    .await
                    .expect("the stuck connection ended")
                    .expect("no panic");
                drop(to_server);
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("the stuck client was still in the room after 100 s");
}
