//! The router ([`app`]) and the HTTP handlers: the web client, health, and the room API.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use flowtrace_runtime::flowtrace;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::protocol::{MAX_NAME_CHARS, validate_id};
use crate::room::RoomInfo;
use crate::{AppError, AppState, ws};

/// The web client, built into the binary.
const INDEX_HTML: &str = include_str!("../static/index.html");

/// Every route of the chat server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/rooms", get(list_rooms).post(create_room))
        .route("/rooms/{room_id}", get(get_room).delete(delete_room))
        .route("/ws/{room_id}/{client_id}", get(ws::upgrade))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

#[flowtrace]
async fn no_route() -> AppError {
    AppError::NoRoute
}

#[flowtrace]
async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

#[flowtrace]
async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

#[flowtrace(skip(state))]
async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "healthy",
        "service": "demo-chat",
        "timestamp": crate::now_ms(),
        "rooms": state.rooms().list().len(),
        "connections": state.connection_count(),
    }))
}

#[flowtrace(skip(state))]
async fn list_rooms(State(state): State<AppState>) -> Json<Value> {
    let rooms = state.rooms().infos();
    Json(json!({ "count": rooms.len(), "rooms": rooms }))
}

/// `POST /rooms?room_id=…&name=…`.
#[derive(Debug, Deserialize)]
struct CreateRoom {
    room_id: String,
    name: Option<String>,
}

#[flowtrace(skip(state))]
async fn create_room(
    State(state): State<AppState>,
    query: Result<Query<CreateRoom>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RoomInfo>, AppError> {
    let Query(CreateRoom { room_id, name }) = query?;
    validate_id("room_id", &room_id).map_err(AppError::InvalidInput)?;
    let name = name.unwrap_or_else(|| room_id.clone());
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS {
        return Err(AppError::InvalidInput(format!(
            "name must be 1-{MAX_NAME_CHARS} characters and not blank"
        )));
    }
    let room = state.rooms().create(&room_id, &name)?;
    Ok(Json(room.info(true)))
}

#[flowtrace(skip(state))]
async fn get_room(
    State(state): State<AppState>,
    room_id: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomInfo>, AppError> {
    let Path(room_id) = room_id?;
    validate_id("room_id", &room_id).map_err(AppError::InvalidInput)?;
    let room = state.rooms().get(&room_id).ok_or(AppError::RoomNotFound)?;
    Ok(Json(room.info(true)))
}

#[flowtrace(skip(state))]
async fn delete_room(
    State(state): State<AppState>,
    room_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, AppError> {
    let Path(room_id) = room_id?;
    validate_id("room_id", &room_id).map_err(AppError::InvalidInput)?;
    state.rooms().delete(&room_id)?;
    state.release_freed_memory();
    Ok(Json(
        json!({ "message": "Room deleted successfully", "room_id": room_id }),
    ))
}
