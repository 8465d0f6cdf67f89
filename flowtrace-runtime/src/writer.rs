//! The `flowtrace-writer` thread: receives records in batches, encodes them, writes each batch
//! with one write and one flush, and keeps going whatever the sink does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::clock;
use crate::record::{self, Message};
use crate::sink::Sink;
use crate::stats;

/// A batch is written once it holds this many bytes, so memory stays bounded and `tail -f`
/// sees progress even under a flood.
const BATCH_BYTES: usize = 256 * 1024;

/// Starts the thread. `done` is signalled when it has written everything and stopped.
pub(crate) fn spawn(
    receiver: Receiver<Message>,
    sink: Sink,
    pending_dropped: Arc<AtomicU64>,
    done: Sender<()>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("flowtrace-writer".to_owned())
        .spawn(move || {
            Writer {
                sink,
                pending_dropped,
                buffer: Vec::with_capacity(BATCH_BYTES + 4096),
                batch_records: 0,
                reported_error: false,
            }
            .run(&receiver);
            let _ = done.send(());
        })
}

struct Writer {
    sink: Sink,
    pending_dropped: Arc<AtomicU64>,
    buffer: Vec<u8>,
    batch_records: u64,
    reported_error: bool,
}

impl Writer {
    fn run(&mut self, receiver: &Receiver<Message>) {
        let mut acks = Vec::new();
        loop {
            // Block for the first message, then drain whatever else is already queued.
            let Ok(first) = receiver.recv() else {
                self.write_out(&mut acks);
                return;
            };
            self.note_dropped();
            let mut stop = self.take(first, &mut acks);
            while !stop && self.buffer.len() < BATCH_BYTES {
                match receiver.try_recv() {
                    Ok(message) => stop = self.take(message, &mut acks),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            if stop {
                // Producers racing the shutdown: take what they already queued.
                while let Ok(message) = receiver.try_recv() {
                    self.take(message, &mut acks);
                }
                self.note_dropped();
            }
            self.write_out(&mut acks);
            if stop {
                return;
            }
        }
    }

    /// Encodes a record or notes an acknowledgement; true on shutdown.
    fn take(&mut self, message: Message, acks: &mut Vec<Sender<()>>) -> bool {
        match message {
            Message::Record(record) => {
                record::encode(&record, &mut self.buffer);
                self.batch_records += 1;
                false
            }
            Message::Flush(ack) => {
                acks.push(ack);
                false
            }
            Message::Shutdown => true,
        }
    }

    fn note_dropped(&mut self) {
        let count = self.pending_dropped.swap(0, Ordering::Relaxed);
        if count > 0 {
            record::encode_dropped(clock::now_micros(), count, &mut self.buffer);
            self.batch_records += 1;
        }
    }

    fn write_out(&mut self, acks: &mut Vec<Sender<()>>) {
        if !self.buffer.is_empty() {
            match self.sink.write_batch(&self.buffer) {
                Ok(()) => stats::add(&stats::WRITTEN, self.batch_records),
                Err(error) => {
                    stats::add(&stats::WRITE_ERRORS, 1);
                    stats::add(&stats::LOST, self.batch_records);
                    if !self.reported_error {
                        self.reported_error = true;
                        eprintln!(
                            "flowtrace: cannot write to {}: {error}; the program goes on, and \
                             lost records are counted in flowtrace_runtime::stats()",
                            self.sink.describe()
                        );
                    }
                }
            }
            self.buffer.clear();
            self.batch_records = 0;
        }
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}
