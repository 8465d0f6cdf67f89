//! demo-chat: a WebSocket chat server with rooms, history and presence.
//!
//! The protocol is the one of the original FastAPI example (see the crate README): HTTP routes to
//! list, create, inspect and delete rooms, and a WebSocket at `/ws/{room_id}/{client_id}` that
//! carries `history`, `message`, `typing`, `user_joined`, `user_left` and `error` frames.
//!
//! # Layout
//! - [`cli`]: the program's entry point (flags, tracing, runtime, signals);
//! - [`config`]: the limits (history length, text length, queue size, rate limit, keepalive);
//! - `error`: [`AppError`], the `{"detail": …}` HTTP error;
//! - `http`: [`app`], the router and the HTTP handlers;
//! - `engine`: the engine seam (memory or Redis): rooms, membership, history, fan-out;
//! - `room`: one room's local members and fan-out (and its history in the memory engine);
//! - `metrics`: the node's counters and `GET /metrics`;
//! - `protocol`: the JSON frames in both directions and the id rules;
//! - `ws` / `connection`: the WebSocket upgrade and one connection's send and receive halves;
//! - `rate_limit`: the per-connection token bucket.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(demo_chat::run(listener, demo_chat::AppState::default(), async {
//!     let _ = stopped.await;
//! }));
//! // … talk to the server …
//! let _ = stop.send(());
//! server.await??;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod config;
mod connection;
mod engine;
mod error;
mod http;
mod memory;
mod metrics;
mod protocol;
mod rate_limit;
mod room;
mod trace_context;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use config::Limits;
use engine::Engine;
pub use error::AppError;
pub use http::app;
use metrics::Metrics;
use tokio::net::TcpListener;

/// Everything the handlers share: the rooms, the limits, and the shutdown bookkeeping.
///
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    metrics: Arc<Metrics>,
    limits: Limits,
    /// Every live WebSocket connection holds a receiver; `closed()` tells when all have ended.
    connections: tokio::sync::watch::Sender<()>,
    /// A `malloc_trim` is queued and has not started: more requests add nothing to it.
    trim_queued: AtomicBool,
}

impl AppState {
    /// A fresh state with the room `general` and the given limits.
    pub fn new(limits: Limits) -> Self {
        let metrics = Arc::new(Metrics::new());
        let engine = Engine::memory(&limits, Arc::clone(&metrics));
        Self::with_engine(engine, metrics, limits)
    }

    /// A node of the Redis engine on `url` (`redis://HOST:PORT[/DB]`): every node on the same
    /// Redis is one chat. Redis need not be up yet; the node reconnects on its own. Must be
    /// called inside a tokio runtime (it starts the engine's background tasks).
    pub fn redis(url: &str, limits: Limits) -> Result<Self, String> {
        let metrics = Arc::new(Metrics::new());
        let engine = Engine::redis(url, &limits, Arc::clone(&metrics))?;
        Ok(Self::with_engine(engine, metrics, limits))
    }

    fn with_engine(engine: Engine, metrics: Arc<Metrics>, limits: Limits) -> Self {
        let (connections, _) = tokio::sync::watch::channel(());
        Self {
            shared: Arc::new(Shared {
                engine,
                metrics,
                limits,
                connections,
                trim_queued: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// A token that keeps [`AppState::connections_closed`] pending while it lives.
    pub(crate) fn connection_token(&self) -> ConnectionToken {
        ConnectionToken {
            live: Some(self.shared.connections.subscribe()),
            state: self.clone(),
        }
    }

    /// Number of WebSocket connections currently open.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.receiver_count()
    }

    /// Lets the allocator give freed memory back to the system, off the async workers (after a
    /// room is deleted, or when the last connection has gone).
    ///
    /// A burst of requests (room deletions in a loop) queues one trim, not one blocking thread
    /// each; a request that comes while a trim runs queues the next, so none is missed.
    pub(crate) fn release_freed_memory(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.shared.trim_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.shared.clone();
        runtime.spawn_blocking(move || {
            shared.trim_queued.store(false, Ordering::Release);
            memory::release_freed();
        });
    }

    /// Closes every WebSocket with 1001 and refuses new ones; HTTP keeps working.
    pub fn begin_shutdown(&self) {
        self.shared.engine.shutdown();
    }

    /// Resolves once every WebSocket connection has ended.
    pub async fn connections_closed(&self) {
        self.shared.connections.closed().await;
    }
}

/// Held by a live WebSocket connection; the last one to go lets the allocator give memory back.
pub(crate) struct ConnectionToken {
    live: Option<tokio::sync::watch::Receiver<()>>,
    state: AppState,
}

impl Drop for ConnectionToken {
    fn drop(&mut self) {
        drop(self.live.take());
        // Two connections ending together may both see zero: trimming twice is harmless, and
        // the one that ends last always sees it.
        if self.state.connection_count() == 0 {
            self.state.release_freed_memory();
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

/// Serves the chat on `listener` until `shutdown` resolves, then closes every WebSocket with
/// 1001 "server shutting down" and returns once all connections have ended.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        // Chat frames are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
    });
    let closer = state.clone();
    axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closer.begin_shutdown();
        })
        .await?;
    // Upgraded connections are not tracked by axum: wait for them here.
    state.connections_closed().await;
    Ok(())
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// 16 random lowercase hex digits (room epochs, node ids): std's randomly keyed hasher over the
/// clock and a counter, so no two calls in a process agree and processes differ.
pub(crate) fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}
