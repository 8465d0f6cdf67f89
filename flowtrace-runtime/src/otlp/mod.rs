//! The live OTLP exporter (cargo feature `otlp`): with `FLOWTRACE_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) set, every completed call is also shipped as a span to an
//! OTLP/HTTP receiver.
//!
//! The traced threads are not involved: the writer thread, which sees every record anyway,
//! turns closing records into spans (`spans`) and offers them to a bounded queue without ever
//! waiting; the `flowtrace-otlp` thread (`client`) batches them and POSTs protobuf to
//! `ENDPOINT/v1/traces`, retrying with backoff on 429/502/503/504 and connection errors while
//! its queue has room. Spans that find the queue full, and batches finally given up, are counted
//! in [`stats`](crate::stats). The JSONL file stays the lossless source of truth.

mod client;
mod spans;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::exporter::traces_url;
use crate::record::Record;
use crate::stats;

/// Spans waiting for the exporter thread, at most: a dead receiver costs this much memory.
const QUEUE: usize = 8192;
/// How long the end of tracing waits for the exporter to send what it holds.
const DRAIN: Duration = Duration::from_secs(3);

/// The writer's side: builds spans, hands them to the exporter thread.
pub(crate) struct Exporter {
    spans: spans::Builder,
    queue: Option<Sender<client::Item>>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl Exporter {
    /// Starts the `flowtrace-otlp` thread for `endpoint` (already checked by the config).
    pub(crate) fn start(
        endpoint: &str,
        service: &str,
        instance: u64,
        pid: u32,
    ) -> std::io::Result<Self> {
        let url = traces_url(endpoint).unwrap_or_else(|| endpoint.to_owned());
        let (queue, items) = crossbeam_channel::bounded(QUEUE);
        let (done_sender, done) = crossbeam_channel::bounded(1);
        let resource = Arc::new(spans::resource(service, instance, pid));
        let thread = std::thread::Builder::new()
            .name("flowtrace-otlp".to_owned())
            .spawn(move || {
                crate::dispatch::untrace_this_thread();
                client::run(&url, &resource, &items);
                let _ = done_sender.send(());
            })?;
        Ok(Self {
            spans: spans::Builder::new(instance),
            queue: Some(queue),
            thread: Some(thread),
            done,
        })
    }

    /// Takes in a record the writer received; a call that closes becomes a span.
    pub(crate) fn record(&mut self, record: &Record) {
        if let Some(span) = self.spans.record(record) {
            self.offer(client::Item::Span(Box::new(span)));
        }
    }

    /// Asks the exporter to send what it holds now (a `flush()` of the trace).
    pub(crate) fn flush(&mut self) {
        self.offer(client::Item::Flush);
    }

    fn offer(&mut self, item: client::Item) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(client::Item::Span(_))) => {
                stats::add(&stats::COUNTERS.otlp_dropped, 1);
            }
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => {
                stats::add(&stats::COUNTERS.otlp_failed, 1);
            }
        }
    }

    /// Tracing stops: calls still open are sent as incomplete spans, then the exporter gets
    /// a bounded time to deliver; what it could not is counted as failed.
    pub(crate) fn finish(mut self) {
        for span in self.spans.finish() {
            self.offer(client::Item::Span(Box::new(span)));
        }
        drop(self.queue.take());
        if self.done.recv_timeout(DRAIN).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}
