//! An HTTP request with a W3C `traceparent` header continues its caller's trace: the handler's
//! root ENTER carries the caller's trace id and span id; without the header, or with a malformed
//! one, the handler starts a trace of its own and the request is answered as usual.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use demo_chat::{AppState, Limits, app};
use serde_json::Value;
use tower::ServiceExt;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The trace, kept in memory for the test to read.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<u8>>>);

impl Write for Memory {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("trace buffer")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /rooms` with these headers; returns the status and the root ENTER of its handler.
async fn get_rooms(
    state: &AppState,
    memory: &Memory,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    memory.0.lock().expect("trace buffer").clear();
    let mut request = Request::builder().uri("/rooms");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("valid request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    flowtrace_runtime::flush().expect("flush the trace");
    let text = String::from_utf8(memory.0.lock().expect("trace buffer").clone()).expect("utf-8");
    let root = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON line"))
        .find(|r| r["event"] == "ENTER" && r["function"] == "list_rooms")
        .unwrap_or_else(|| panic!("no ENTER of list_rooms in {text}"));
    (response.status(), root)
}

#[tokio::test]
async fn a_traceparent_header_continues_the_callers_trace_and_a_bad_one_is_ignored() {
    let memory = Memory::default();
    let guard = flowtrace_runtime::Config::new()
        .writer(memory.clone())
        .init()
        .expect("tracing into memory");
    let state = AppState::new(Limits::default());

    let header = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let (status, root) = get_rooms(&state, &memory, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root["trace"], CALLER_TRACE, "{root}");
    assert_eq!(root["remoteParent"], CALLER_SPAN, "{root}");
    assert!(root.get("parent").is_none(), "{root}");

    let (status, root) = get_rooms(&state, &memory, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        root["trace"]
            .as_str()
            .is_some_and(|t| t.len() == 32 && t != CALLER_TRACE),
        "{root}"
    );
    assert!(root.get("remoteParent").is_none(), "{root}");

    for malformed in [
        "00-zz-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "",
    ] {
        let (status, root) = get_rooms(&state, &memory, &[("traceparent", malformed)]).await;
        assert_eq!(status, StatusCode::OK, "{malformed:?}");
        assert_ne!(root["trace"], CALLER_TRACE, "{malformed:?}: {root}");
        assert!(root.get("remoteParent").is_none(), "{malformed:?}: {root}");
    }
    drop(guard);
}
