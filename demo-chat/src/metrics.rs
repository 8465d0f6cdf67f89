//! The node's metrics and `GET /metrics` in the Prometheus text format (design §6), encoded by
//! `prometheus-client`.
//!
//! Counters are atomics: a fan-out adds its recipient count once, never one increment per
//! delivery. The gauges (connections, rooms) and the tracer's counters are read at scrape time.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why a connection ended, as the `reason` label of `demo_chat_disconnects_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disconnect {
    Client,
    Slow,
    Keepalive,
    Duplicate,
    RoomDeleted,
    Shutdown,
    Error,
}

impl Disconnect {
    fn label(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Slow => "slow",
            Self::Keepalive => "keepalive",
            Self::Duplicate => "duplicate",
            Self::RoomDeleted => "room_deleted",
            Self::Shutdown => "shutdown",
            Self::Error => "error",
        }
    }
}

type Labels = [(&'static str, &'static str); 1];

/// Every metric of one node.
pub(crate) struct Metrics {
    registry: Registry,
    connections: Gauge,
    rooms: Gauge,
    messages: Counter,
    deliveries: Counter,
    disconnects: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    redis_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let connections = Gauge::default();
        let rooms = Gauge::default();
        let messages = Counter::default();
        let deliveries = Counter::default();
        let disconnects = Family::<Labels, Counter>::default();
        let rejected = Family::<Labels, Counter>::default();
        let redis_errors = Counter::default();
        registry.register(
            "demo_chat_connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register("demo_chat_rooms", "Rooms", rooms.clone());
        registry.register(
            "demo_chat_messages",
            "Chat messages accepted",
            messages.clone(),
        );
        registry.register(
            "demo_chat_deliveries",
            "Frames queued to clients",
            deliveries.clone(),
        );
        registry.register(
            "demo_chat_disconnects",
            "WebSocket connections ended, by reason",
            disconnects.clone(),
        );
        registry.register(
            "demo_chat_rejected_frames",
            "Client frames refused, by error code",
            rejected.clone(),
        );
        registry.register(
            "demo_chat_redis_errors",
            "Failed Redis commands and lost Redis connections",
            redis_errors.clone(),
        );
        registry.register_collector(Box::new(TracerStats));
        Self {
            registry,
            connections,
            rooms,
            messages,
            deliveries,
            disconnects,
            rejected,
            redis_errors,
        }
    }

    pub(crate) fn message_accepted(&self) {
        self.messages.inc();
    }

    pub(crate) fn delivered(&self, frames: u64) {
        if frames > 0 {
            self.deliveries.inc_by(frames);
        }
    }

    pub(crate) fn disconnected(&self, why: Disconnect) {
        self.disconnects
            .get_or_create(&[("reason", why.label())])
            .inc();
    }

    pub(crate) fn rejected(&self, code: &'static str) {
        self.rejected.get_or_create(&[("code", code)]).inc();
    }

    pub(crate) fn redis_error(&self) {
        self.redis_errors.inc();
    }

    /// The exposition text, with the gauges set to the given current values.
    pub(crate) fn render(&self, connections: usize, rooms: usize) -> String {
        self.connections
            .set(i64::try_from(connections).unwrap_or(i64::MAX));
        self.rooms.set(i64::try_from(rooms).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The tracer's own counters, read from `flowtrace_runtime::stats()` at each scrape.
#[derive(Debug)]
struct TracerStats;

impl Collector for TracerStats {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stats = flowtrace_runtime::stats();
        let counters = [
            (
                "flowtrace_records_written",
                "Trace records written",
                stats.written,
            ),
            (
                "flowtrace_records_dropped",
                "Trace records dropped (drop overflow policy)",
                stats.dropped,
            ),
            (
                "flowtrace_write_errors",
                "Failed trace file writes",
                stats.write_errors,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// The `Content-Type` of the answer.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
