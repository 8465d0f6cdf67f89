//! W3C trace context at a node's edges (design §7): an HTTP request with a `traceparent`
//! header continues its caller's trace, and a chat message published through Redis carries its
//! sender's traceparent, so that the fan-out on every node continues the sender's trace.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use flowtrace_runtime::TraceContext;

/// The header W3C Trace Context names.
const TRACEPARENT: &str = "traceparent";

/// Runs the request's handler under its caller's trace when the request carries a valid
/// `traceparent`. An invalid one is ignored, as the W3C recommendation asks: the handler then
/// starts a trace of its own, and the request is answered as usual.
pub(crate) async fn continue_caller_trace(request: Request, next: Next) -> Response {
    let caller = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| TraceContext::from_traceparent(value).ok());
    match caller {
        Some(context) => context.instrument(next.run(request)).await,
        None => next.run(request).await,
    }
}

/// The traceparent of the traced call running now, to send along with what it publishes.
pub(crate) fn current_traceparent() -> Option<String> {
    TraceContext::current().map(|context| context.traceparent())
}

/// Runs `fan_out` under the sender's trace when the published message carried a valid
/// traceparent, else as a trace of its own.
pub(crate) fn under_sender<R>(traceparent: Option<&str>, fan_out: impl FnOnce() -> R) -> R {
    match traceparent.and_then(|value| TraceContext::from_traceparent(value).ok()) {
        Some(context) => context.in_scope(fan_out),
        None => fan_out(),
    }
}
