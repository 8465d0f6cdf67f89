//! A one-message WebSocket session against a running demo-chat: joins a room, sends one chat
//! message, and checks that the server answers as the protocol says (`history` first, then
//! `user_joined` for this client, then its own `message` back). Given a second node's URL, a
//! listener joins the room there first and must receive the message too (two nodes on one
//! Redis are one chat). Exits non-zero with the reason otherwise. CI runs it against the
//! README's run command.
//!
//! Run with `cargo run -p demo-chat --example ws_probe -- http://127.0.0.1:8000 [http://127.0.0.1:8001]`.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const ANSWER_WITHIN: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let Some(base) = std::env::args().nth(1) else {
        eprintln!("usage: ws_probe http://HOST:PORT [http://OTHER-NODE:PORT]");
        return ExitCode::FAILURE;
    };
    let listener_node = std::env::args().nth(2);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ws_probe: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe(&base, listener_node.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("ws_probe: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn probe(base: &str, listener_node: Option<&str>) -> Result<(), String> {
    let client_id = format!("probe-{}", std::process::id());
    let mut listener = match listener_node {
        Some(node) => Some(join(node, &format!("{client_id}-listener")).await?),
        None => None,
    };
    let (mut socket, url) = join(base, &client_id).await?;

    let text = format!("hello from {client_id}");
    let frame = serde_json::json!({"type": "message", "text": text}).to_string();
    socket
        .send(Message::text(frame))
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    let echo = next_json(&mut socket).await?;
    expect_type(&echo, "message")?;
    if echo["text"] != text.as_str() || echo["client_id"] != client_id.as_str() {
        return Err(format!("expected our message back, got {echo}"));
    }
    println!("ws_probe: {url}: history, user_joined and our message back: {echo}");
    if let Some((listener, listener_url)) = &mut listener {
        let heard = loop {
            let frame = next_json(listener).await?;
            if frame["type"] == "message" {
                break frame;
            }
        };
        if heard["text"] != text.as_str() {
            return Err(format!("{listener_url} heard another message: {heard}"));
        }
        println!("ws_probe: {listener_url} heard it too: {heard}");
    }
    socket
        .close(None)
        .await
        .map_err(|e| format!("cannot close: {e}"))
}

/// Opens `/ws/probe/{client_id}` on the node at `base` and reads its `history` and own
/// `user_joined`.
async fn join(base: &str, client_id: &str) -> Result<(Socket, String), String> {
    let host = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("expected an http:// URL, got {base:?}"))?
        .trim_end_matches('/');
    let url = format!("ws://{host}/ws/probe/{client_id}");
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .map_err(|e| format!("cannot open {url}: {e}"))?;
    let history = next_json(&mut socket).await?;
    expect_type(&history, "history")?;
    let joined = next_json(&mut socket).await?;
    expect_type(&joined, "user_joined")?;
    if joined["client_id"] != client_id {
        return Err(format!("user_joined names another client: {joined}"));
    }
    Ok((socket, url))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON; anything else within the deadline is an error.
async fn next_json(socket: &mut Socket) -> Result<Value, String> {
    loop {
        let frame = tokio::time::timeout(ANSWER_WITHIN, socket.next())
            .await
            .map_err(|_| format!("no frame within {ANSWER_WITHIN:?}"))?
            .ok_or("the server closed the connection")?
            .map_err(|e| format!("WebSocket error: {e}"))?;
        match frame {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str())
                    .map_err(|e| format!("not JSON ({e}): {}", text.as_str()));
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return Err(format!("expected a text frame, got {other:?}")),
        }
    }
}

fn expect_type(frame: &Value, kind: &str) -> Result<(), String> {
    if frame["type"] == kind {
        Ok(())
    } else {
        Err(format!("expected a {kind} frame, got {frame}"))
    }
}
