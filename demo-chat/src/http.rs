//! The router ([`app`]) and the HTTP handlers: the web client, health, and the room API. A
//! request with a `traceparent` header continues its caller's trace.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use flowtrace_runtime::flowtrace;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::protocol::{MAX_NAME_CHARS, validate_id};
use crate::room::RoomInfo;
use crate::{AppError, AppState, trace_context, ws};

/// The web client, built into the binary.
const INDEX_HTML: &str = include_str!("../static/index.html");

/// Every route of the chat server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/rooms", get(list_rooms).post(create_room))
        .route("/rooms/{room_id}", get(get_room).delete(delete_room))
        .route("/ws/{room_id}/{client_id}", get(ws::upgrade))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(
            trace_context::continue_caller_trace,
        ))
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

/// 200 `healthy`, or 503 `degraded` while the Redis engine cannot reach Redis.
#[flowtrace(skip(state))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let healthy = state.engine().healthy();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "service": "demo-chat",
        "timestamp": crate::now_ms(),
        "rooms": state.engine().room_count(),
        "connections": state.connection_count(),
    });
    (status, Json(body))
}

/// The node's metrics in the Prometheus text format.
#[flowtrace(skip(state))]
async fn metrics(State(state): State<AppState>) -> Response {
    let rooms = state.engine().room_count();
    let text = state.metrics().render(state.connection_count(), rooms);
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

#[flowtrace(skip(state))]
async fn list_rooms(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let rooms = state.engine().rooms().await?;
    Ok(Json(json!({ "count": rooms.len(), "rooms": rooms })))
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
    Ok(Json(state.engine().create(&room_id, &name).await?))
}

#[flowtrace(skip(state))]
async fn get_room(
    State(state): State<AppState>,
    room_id: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomInfo>, AppError> {
    let Path(room_id) = room_id?;
    validate_id("room_id", &room_id).map_err(AppError::InvalidInput)?;
    Ok(Json(state.engine().room(&room_id).await?))
}

#[flowtrace(skip(state))]
async fn delete_room(
    State(state): State<AppState>,
    room_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, AppError> {
    let Path(room_id) = room_id?;
    validate_id("room_id", &room_id).map_err(AppError::InvalidInput)?;
    state.engine().delete(&room_id).await?;
    state.release_freed_memory();
    Ok(Json(
        json!({ "message": "Room deleted successfully", "room_id": room_id }),
    ))
}
