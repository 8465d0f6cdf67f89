//! [`AppError`]: every way an HTTP request can fail, rendered as a status and `{"detail": …}`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An HTTP error. The body is `{"detail": "…"}`, the convention of the original FastAPI app.
#[derive(Debug, PartialEq, Eq)]
pub enum AppError {
    /// A room or client id, or a room name, breaks the id rules (400).
    InvalidInput(String),
    /// No room with this id (404).
    RoomNotFound,
    /// A room with this id already exists (409).
    RoomExists,
    /// The query string is missing a field or has a wrong one (422, as FastAPI answers).
    BadQuery(String),
    /// The request is not a WebSocket upgrade where one is required (400).
    NotWebSocket(String),
    /// No route has this path (404).
    NoRoute,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// The room cap is reached (503).
    TooManyRooms,
    /// The Redis engine cannot reach Redis (503).
    StorageUnavailable,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidInput(why) | Self::BadQuery(why) | Self::NotWebSocket(why) => {
                f.write_str(why)
            }
            Self::RoomNotFound => f.write_str("Room not found"),
            Self::RoomExists => f.write_str("Room already exists"),
            // FastAPI's wording for the same two cases.
            Self::NoRoute => f.write_str("Not Found"),
            Self::MethodNotAllowed => f.write_str("Method Not Allowed"),
            Self::TooManyRooms => f.write_str("too many rooms"),
            Self::StorageUnavailable => f.write_str("storage unavailable"),
        }
    }
}

impl std::error::Error for AppError {}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidInput(_) | Self::NotWebSocket(_) => StatusCode::BAD_REQUEST,
            Self::RoomNotFound | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RoomExists => StatusCode::CONFLICT,
            Self::BadQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRooms | Self::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "detail": self.to_string() }))).into_response()
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::InvalidInput(rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadQuery(rejection.body_text())
    }
}
