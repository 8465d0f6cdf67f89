//! The live OTLP exporter (cargo feature `otlp`): with `FLOWTRACE_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) set, every completed call is also shipped as a span to an
//! OTLP/HTTP receiver.
//!
//! The traced threads are not involved, and the writer thread does as little as it can: it
//! keeps each ENTER record it has written (moved, not copied) until its call closes, then
//! offers the pair, with the call's trace id, to a bounded queue without ever waiting. The
//! `flowtrace-otlp` thread (`client`) turns pairs into spans (`spans`), batches them and POSTs
//! protobuf to `ENDPOINT/v1/traces`, retrying with backoff on 429/502/503/504 and connection
//! errors while its queue has room. Calls that find the queue full, and batches finally given
//! up, are counted in [`stats`](crate::stats). The JSONL file stays the lossless source of
//! truth.

mod client;
mod spans;

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::ids::{TraceId, span_id};
use crate::record::Record;
use crate::stats;
use crate::thread_label::ThreadLabel;

/// Calls waiting for the exporter thread, at most: a dead receiver costs this much memory.
const QUEUE: usize = 8192;
/// How long the end of tracing waits for the exporter to send what it holds.
const DRAIN: Duration = Duration::from_secs(3);

/// What the writer hands to the exporter thread.
pub(crate) enum Item {
    /// A call that closed: its ENTER and its closing record.
    Call(Entered, Record),
    /// A call still open when tracing stopped, ending at the given epoch nanoseconds.
    Open(Entered, u64),
    /// Send the batch now.
    Flush,
}

/// A call's ENTER with what the span needs besides: its thread and its trace.
pub(crate) struct Entered {
    pub(crate) record: Record,
    pub(crate) thread: ThreadLabel,
    pub(crate) trace: TraceId,
}

/// The writer's side: pairs records and hands them over.
pub(crate) struct Exporter {
    instance: u64,
    /// The calls still open, by id.
    open: HashMap<u64, Entered>,
    last_nanos: u64,
    queue: Option<Sender<Item>>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl Exporter {
    /// Starts the `flowtrace-otlp` thread POSTing to `url` (the receiver's `/v1/traces`).
    pub(crate) fn start(
        url: String,
        service: &str,
        instance: u64,
        pid: u32,
    ) -> std::io::Result<Self> {
        let (queue, items) = crossbeam_channel::bounded(QUEUE);
        let (done_sender, done) = crossbeam_channel::bounded(1);
        let resource = Arc::new(spans::resource(service, instance, pid));
        let thread = std::thread::Builder::new()
            .name("flowtrace-otlp".to_owned())
            .spawn(move || {
                crate::own_thread::mark();
                client::run(&url, &resource, instance, &items);
                let _ = done_sender.send(());
            })?;
        Ok(Self {
            instance,
            open: HashMap::new(),
            last_nanos: 0,
            queue: Some(queue),
            thread: Some(thread),
            done,
        })
    }

    /// Takes in a record the writer has written, made on `thread`.
    pub(crate) fn record(&mut self, record: Record, thread: ThreadLabel) {
        if record.is_enter() {
            let trace = match record.root() {
                Some((trace, _)) => trace,
                None => {
                    let parent = record.parent();
                    self.open.get(&parent).map_or_else(
                        // A parent not seen (lost in `drop` mode): a trace of its own.
                        || TraceId {
                            high: self.instance,
                            low: span_id(self.instance, parent),
                        },
                        |entered| entered.trace,
                    )
                }
            };
            let entered = Entered {
                record,
                thread,
                trace,
            };
            self.open.insert(entered.record.id, entered);
            return;
        }
        if let Some(enter) = self.open.remove(&record.id) {
            self.last_nanos = self
                .last_nanos
                .max(crate::clock::epoch_micros(record.at).saturating_mul(1000));
            self.offer(Item::Call(enter, record));
        }
    }

    /// Asks the exporter to send what it holds now (a `flush()` of the trace).
    pub(crate) fn flush(&mut self) {
        self.offer(Item::Flush);
    }

    fn offer(&mut self, item: Item) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(item) {
            Ok(()) | Err(TrySendError::Full(Item::Flush)) => {}
            Err(TrySendError::Full(_)) => stats::add(&stats::COUNTERS.otlp_dropped, 1),
            Err(TrySendError::Disconnected(_)) => stats::add(&stats::COUNTERS.otlp_failed, 1),
        }
    }

    /// Tracing stops: calls still open are sent as incomplete spans, then the exporter gets
    /// a bounded time to deliver.
    pub(crate) fn finish(mut self) {
        let mut open: Vec<Entered> = self.open.drain().map(|(_, entered)| entered).collect();
        open.sort_by_key(|entered| entered.record.id);
        let end = self.last_nanos;
        for enter in open {
            self.offer(Item::Open(enter, end));
        }
        drop(self.queue.take());
        if self.done.recv_timeout(DRAIN).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}
