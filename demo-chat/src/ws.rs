//! The WebSocket route `/ws/{room_id}/{client_id}`: small buffers, the id rules, then
//! [`connection::serve`](crate::connection::serve) on the split socket.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use flowtrace_runtime::flowtrace;
use futures_util::StreamExt;

use crate::connection::{self, CLOSE_INVALID_ID, ReadError};
use crate::protocol::{Since, validate_id};
use crate::{AppError, AppState};

/// `?since=N&epoch=E`: where a reconnecting client left off (design §6).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Resume {
    since: Option<String>,
    epoch: Option<String>,
}

/// Upgrades the request; invalid ids or a malformed `since` are refused after the upgrade with
/// close 4400 and the reason, so that browsers, which cannot read an HTTP error on a WebSocket,
/// see why.
#[flowtrace(skip(ws, state))]
pub(crate) async fn upgrade(
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    Path((room_id, client_id)): Path<(String, String)>,
    Query(resume): Query<Resume>,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let ws = ws.map_err(|e| AppError::NotWebSocket(e.body_text()))?;
    let limits = state.limits();
    // The socket flushes before it accepts the next frame, so its buffer never holds more than
    // `write_buffer_bytes` plus one frame; a frame over this bound would be refused outright,
    // so it must admit the largest the server sends (a full history).
    let ws = ws
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_write_buffer_size(limits.write_buffer_bytes + limits.largest_outgoing_frame_bytes())
        .max_frame_size(limits.max_frame_bytes)
        .max_message_size(limits.max_frame_bytes);
    let checked = validate_id("room_id", &room_id)
        .and_then(|()| validate_id("client_id", &client_id))
        .and_then(|()| Since::parse(resume.since.as_deref(), resume.epoch.as_deref()));
    Ok(ws.on_upgrade(move |socket| async move {
        // Held until the traced call below has returned, its closing record written: a
        // graceful shutdown waits for every token, and then ends tracing (taken inside the
        // call, it was dropped before the call's EXIT, which the shutdown could overtake).
        let _token = state.connection_token();
        match checked {
            Err(reason) => refuse(socket, &reason, &state).await,
            Ok(since) => handle_socket(socket, room_id, client_id, since, state).await,
        }
    }))
}

#[flowtrace(skip(socket, state))]
async fn refuse(mut socket: WebSocket, reason: &str, state: &AppState) {
    connection::close(&mut socket, CLOSE_INVALID_ID, reason, state.limits()).await;
}

/// One chat connection, from join to leave.
#[flowtrace(skip(socket, state))]
async fn handle_socket(
    socket: WebSocket,
    room_id: String,
    client_id: String,
    since: Option<Since>,
    state: AppState,
) {
    let (sink, stream) = socket.split();
    let stream = stream.map(|frame| frame.map_err(ReadError::from_axum));
    let peer = connection::Peer {
        room_id,
        client_id,
        since,
    };
    connection::serve(sink, stream, state, peer).await;
}
