//! The WebSocket route `/ws/{room_id}/{client_id}`: small buffers, the id rules, then
//! [`connection::serve`](crate::connection::serve) on the split socket.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use flowtrace_runtime::flowtrace;
use futures_util::StreamExt;

use crate::connection::{self, CLOSE_INVALID_ID, ReadError};
use crate::protocol::validate_id;
use crate::{AppError, AppState};

/// Upgrades the request; invalid ids are refused after the upgrade with close 4400 and the reason,
/// so that browsers, which cannot read an HTTP error on a WebSocket, see why.
#[flowtrace(skip(ws, state))]
pub(crate) async fn upgrade(
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    Path((room_id, client_id)): Path<(String, String)>,
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
    let invalid = validate_id("room_id", &room_id)
        .and_then(|()| validate_id("client_id", &client_id))
        .err();
    Ok(ws.on_upgrade(move |socket| async move {
        match invalid {
            Some(reason) => refuse(socket, &reason, &state).await,
            None => handle_socket(socket, room_id, client_id, state).await,
        }
    }))
}

#[flowtrace(skip(socket, state))]
async fn refuse(mut socket: WebSocket, reason: &str, state: &AppState) {
    connection::close(&mut socket, CLOSE_INVALID_ID, reason, state.limits()).await;
}

/// One chat connection, from join to leave.
#[flowtrace(skip(socket, state))]
async fn handle_socket(socket: WebSocket, room_id: String, client_id: String, state: AppState) {
    let (sink, stream) = socket.split();
    let stream = stream.map(|frame| frame.map_err(ReadError::from_axum));
    connection::serve(sink, stream, state, room_id, client_id).await;
}
