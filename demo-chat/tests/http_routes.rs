//! The HTTP routes, driven without a socket through `tower::ServiceExt::oneshot` on `app()`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use demo_chat::{AppState, app};
use serde_json::Value;
use tower::ServiceExt;

/// Traces this binary's requests into `target/tmp/http_routes.jsonl` (rewritten each run), not
/// into `flowtrace.jsonl` in the crate's folder where the first traced call would start it.
fn trace_into_target_dir() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("http_routes.jsonl");
        let _ = std::fs::remove_file(&path);
        let guard = flowtrace_runtime::Config::new()
            .file(&path)
            .init()
            .expect("tracing into target/tmp");
        std::mem::forget(guard); // records still queued are written at exit
    });
}

async fn call(state: &AppState, method: Method, uri: &str) -> (StatusCode, Value) {
    trace_into_target_dir();
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("valid request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn health_reports_healthy_with_a_timestamp() {
    let (status, body) = call(&AppState::default(), Method::GET, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["service"], "demo-chat");
    assert!(
        body["timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );
}

#[tokio::test]
async fn general_exists_at_start() {
    let state = AppState::default();
    let (status, body) = call(&state, Method::GET, "/rooms").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 1);
    let general = &body["rooms"][0];
    assert_eq!(general["room_id"], "general");
    assert_eq!(general["participant_count"], 0);
    assert_eq!(general["message_count"], 0);
    assert!(general["created_at"].as_u64().is_some());
    assert!(general["name"].is_string());
}

#[tokio::test]
async fn create_get_list_delete_a_room() {
    let state = AppState::default();
    let (status, room) = call(&state, Method::POST, "/rooms?room_id=test&name=Test%20Room").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["room_id"], "test");
    assert_eq!(room["name"], "Test Room");
    assert_eq!(room["participant_count"], 0);

    let (status, room) = call(&state, Method::GET, "/rooms/test").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["name"], "Test Room");
    assert_eq!(room["participants"], serde_json::json!([]));
    assert_eq!(room["message_count"], 0);

    let (_, list) = call(&state, Method::GET, "/rooms").await;
    assert_eq!(list["count"], 2);
    let ids: Vec<&str> = list["rooms"]
        .as_array()
        .expect("rooms is a list")
        .iter()
        .filter_map(|r| r["room_id"].as_str())
        .collect();
    assert_eq!(ids, ["general", "test"]);

    let (status, body) = call(&state, Method::DELETE, "/rooms/test").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Room deleted successfully");
    let (status, body) = call(&state, Method::GET, "/rooms/test").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Room not found");
}

#[tokio::test]
async fn name_defaults_to_the_id() {
    let state = AppState::default();
    let (status, room) = call(&state, Method::POST, "/rooms?room_id=lobby").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["name"], "lobby");
}

#[tokio::test]
async fn an_existing_room_is_a_conflict() {
    let state = AppState::default();
    let (status, body) = call(&state, Method::POST, "/rooms?room_id=general&name=x").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"], "Room already exists");
}

#[tokio::test]
async fn unknown_rooms_are_not_found() {
    let state = AppState::default();
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = call(&state, method, "/rooms/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["detail"], "Room not found");
    }
}

#[tokio::test]
async fn bad_ids_and_names_are_bad_requests_with_a_reason() {
    let state = AppState::default();
    let long = "x".repeat(65);
    let cases = [
        (Method::POST, "/rooms?room_id=a%20b".to_owned()),
        (Method::POST, format!("/rooms?room_id={long}")),
        (Method::POST, "/rooms?room_id=ok&name=%20".to_owned()),
        (
            Method::POST,
            format!("/rooms?room_id=ok&name={}", "n".repeat(101)),
        ),
        (Method::GET, "/rooms/%3Cscript%3E".to_owned()),
        (Method::DELETE, format!("/rooms/{long}")),
    ];
    for (method, uri) in cases {
        let (status, body) = call(&state, method, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{uri}: {body}"
        );
    }
    let (_, list) = call(&state, Method::GET, "/rooms").await;
    assert_eq!(list["count"], 1, "nothing was created");
}

#[tokio::test]
async fn every_error_has_a_json_detail_even_outside_the_routes() {
    let state = AppState::default();
    let cases = [
        (Method::GET, "/nope", StatusCode::NOT_FOUND, "Not Found"),
        (
            Method::PUT,
            "/rooms",
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ),
        (
            Method::POST,
            "/health",
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ),
    ];
    for (method, uri, expected, detail) in cases {
        let (status, body) = call(&state, method, uri).await;
        assert_eq!(status, expected, "{uri}");
        assert_eq!(body["detail"], detail, "{uri}");
    }
    // Not UTF-8 once decoded: refused by the path extractor itself.
    let (status, body) = call(&state, Method::GET, "/rooms/%FF").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn a_missing_room_id_is_unprocessable() {
    let (status, body) = call(&AppState::default(), Method::POST, "/rooms?name=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("room_id")),
        "{body}"
    );
}

#[tokio::test]
async fn a_plain_get_on_the_websocket_route_is_a_bad_request() {
    let (status, body) = call(&AppState::default(), Method::GET, "/ws/general/alice").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn the_web_client_is_served_with_its_element_ids() {
    let request = Request::builder()
        .uri("/")
        .body(Body::empty())
        .expect("request");
    let response = app(AppState::default())
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let html = String::from_utf8(bytes.to_vec()).expect("utf-8");
    for id in [
        "room",
        "client",
        "connect",
        "message",
        "send",
        "messages",
        "participants",
        "typing",
        "rooms",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
    assert!(
        !html.contains("innerHTML"),
        "messages must be rendered as text"
    );
}
