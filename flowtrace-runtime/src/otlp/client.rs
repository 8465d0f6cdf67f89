//! The `flowtrace-otlp` thread: batches spans and POSTs them as OTLP/HTTP protobuf.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::{Item, spans};
use crate::stats::{self, COUNTERS};

/// Spans per request.
const BATCH: usize = 512;
/// A batch not full is sent after this long.
const DELAY: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Tries per batch (0.1 + 0.2 + 0.4 + 0.8 s of backoff); once a batch was given up, one try
/// per batch until the receiver answers again, so a dead receiver is not waited for over and
/// over; two once tracing is stopping.
const ATTEMPTS: u32 = 5;
const ATTEMPTS_STOPPING: u32 = 2;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until the writer drops its end of `items`, then sends what is left.
pub(super) fn run(url: &str, resource: &Resource, instance: u64, items: &Receiver<Item>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .new_agent();
    let mut client = Client {
        agent,
        url,
        resource,
        items,
        down: false,
    };
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let item = if batch.is_empty() {
            items.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            items.recv_timeout(DELAY)
        };
        match item {
            Ok(Item::Call(enter, close)) => {
                batch.push(spans::span(instance, &enter, Some(&close), 0));
                if batch.len() >= BATCH {
                    client.send(&mut batch, ATTEMPTS);
                }
            }
            Ok(Item::Open(enter, end)) => {
                batch.push(spans::span(instance, &enter, None, end));
                if batch.len() >= BATCH {
                    client.send(&mut batch, ATTEMPTS);
                }
            }
            Ok(Item::Flush) | Err(RecvTimeoutError::Timeout) => client.send(&mut batch, ATTEMPTS),
            Err(RecvTimeoutError::Disconnected) => {
                client.send(&mut batch, ATTEMPTS_STOPPING);
                return;
            }
        }
    }
}

struct Client<'a> {
    agent: ureq::Agent,
    url: &'a str,
    resource: &'a Resource,
    items: &'a Receiver<Item>,
    /// The last batch was given up: try the next ones once, until one gets through.
    down: bool,
}

/// How one POST went.
enum Outcome {
    Sent,
    Retry(Option<Duration>),
    Refused(String),
}

impl Client<'_> {
    /// Sends `batch` (emptying it), retrying while the receiver asks for it, the queue behind
    /// has room and `attempts` last; what it gives up is counted as failed.
    fn send(&mut self, batch: &mut Vec<Span>, attempts: u32) {
        if batch.is_empty() {
            return;
        }
        let attempts = if self.down { 1 } else { attempts };
        let count = batch.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "flowtrace".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    spans: std::mem::take(batch),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let body = request.encode_to_vec();
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=attempts {
            match self.post(&body) {
                Outcome::Sent => {
                    stats::add(&COUNTERS.otlp_exported, count);
                    self.down = false;
                    return;
                }
                Outcome::Refused(why) => {
                    report_once(&why);
                    break;
                }
                Outcome::Retry(asked) => {
                    // Waiting longer would let the queue overflow: give this batch up instead.
                    if attempt == attempts || self.items.is_full() {
                        report_once(&format!("the OTLP receiver at {} is unavailable", self.url));
                        break;
                    }
                    std::thread::sleep(asked.unwrap_or(backoff).min(MAX_BACKOFF));
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        stats::add(&COUNTERS.otlp_failed, count);
        self.down = true;
    }

    fn post(&self, body: &[u8]) -> Outcome {
        let response = match self
            .agent
            .post(self.url)
            .header("Content-Type", "application/x-protobuf")
            .send(body)
        {
            Ok(response) => response,
            Err(_) => return Outcome::Retry(None),
        };
        let status = response.status().as_u16();
        match status {
            200..=299 => Outcome::Sent,
            429 | 502 | 503 | 504 => Outcome::Retry(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            ),
            _ => Outcome::Refused(format!(
                "the OTLP receiver at {} refused spans with HTTP {status}",
                self.url
            )),
        }
    }
}

/// Says once per process why spans are lost; the counts are in `stats()`.
fn report_once(why: &str) {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !REPORTED.swap(true, Ordering::Relaxed) {
        crate::error::report(format_args!(
            "{why}; spans not delivered are counted in flowtrace_runtime::stats() \
             (the trace file is complete)"
        ));
    }
}
