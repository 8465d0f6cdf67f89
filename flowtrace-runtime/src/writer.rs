//! The `flowtrace-writer` thread: receives records in batches, encodes them, writes each batch
//! with one write and one flush, and keeps going whatever the sink does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::clock;
use crate::exporter::Exporter;
use crate::record::{self, Message, Record};
use crate::sink::Sink;
use crate::stamp::Stamp;
use crate::stats;

/// A batch is written once it holds this many bytes, so memory stays bounded and `tail -f`
/// sees progress even under a flood.
const BATCH_BYTES: usize = 256 * 1024;
/// The batch buffer: room for a full batch plus the lines that take it past `BATCH_BYTES`.
/// A line that does not fit in what is left is written after the batch; one longer than the
/// whole buffer gets a buffer of its own.
const BUFFER_BYTES: usize = BATCH_BYTES + 64 * 1024;

/// When a batch this large emptied the channel, the writer pauses before waiting for more.
/// Under a steady flood a writer that keeps up would otherwise sit right behind the traced
/// threads: every send would wake it (a system call) or fight it for the channel's cache lines,
/// which measured as a third of a traced call's cost. During the pause the traced threads send
/// uncontended and the next batch builds up (the channel holds far more than a pause's worth).
/// Light traffic never triggers it: an idle writer is simply parked, and `tail -f` lags by at
/// most the pause. `flush()` and shutdown cut the pause short.
const BUSY_BATCH_RECORDS: u64 = 64;
const BUSY_PAUSE: Duration = Duration::from_millis(1);
/// Channels smaller than this are not worth pausing for: they would fill during the pause.
const PAUSE_MIN_CAPACITY: usize = 4096;

/// Starts the thread. `done` is signalled when it has written everything and stopped.
pub(crate) fn spawn(
    receiver: Receiver<Message>,
    sink: Sink,
    start_line: Vec<u8>,
    exporter: Option<Exporter>,
    pending_dropped: Arc<AtomicU64>,
    capacity: usize,
    done: Sender<()>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("flowtrace-writer".to_owned())
        .spawn(move || {
            crate::dispatch::untrace_this_thread();
            let mut writer = Writer {
                sink,
                exporter,
                pending_dropped,
                buffer: vec![0; BUFFER_BYTES].into_boxed_slice(),
                filled: 0,
                batch_records: 0,
                reported_error: false,
                pause_when_busy: capacity >= PAUSE_MIN_CAPACITY,
                stamp: Stamp::default(),
            };
            // START opens the segment, before any record a traced call could have queued.
            writer.add_line(&start_line);
            writer.run(&receiver);
            if let Some(exporter) = writer.exporter.take() {
                exporter.finish();
            }
            let _ = done.send(());
        })
}

struct Writer {
    sink: Sink,
    /// Also ships completed calls as spans (`FLOWTRACE_OTLP_ENDPOINT`).
    exporter: Option<Exporter>,
    pending_dropped: Arc<AtomicU64>,
    /// Allocated and initialised once; lines are encoded straight into it.
    buffer: Box<[u8]>,
    /// How much of `buffer` the current batch fills.
    filled: usize,
    batch_records: u64,
    reported_error: bool,
    pause_when_busy: bool,
    stamp: Stamp,
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
            let mut caught_up = false;
            while !stop && self.filled < BATCH_BYTES {
                match receiver.try_recv() {
                    Ok(message) => stop = self.take(message, &mut acks),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                        caught_up = true;
                        break;
                    }
                }
            }
            if stop {
                // Producers racing the shutdown: take what they already queued.
                while let Ok(message) = receiver.try_recv() {
                    self.take(message, &mut acks);
                }
                self.note_dropped();
            }
            let busy = caught_up && self.batch_records >= BUSY_BATCH_RECORDS;
            self.write_out(&mut acks);
            if stop {
                return;
            }
            if busy && self.pause_when_busy {
                // Parked rather than asleep: a flush or a shutdown unparks it at once.
                thread::park_timeout(BUSY_PAUSE);
            }
        }
    }

    /// Encodes a record or notes an acknowledgement; true on shutdown.
    fn take(&mut self, message: Message, acks: &mut Vec<Sender<()>>) -> bool {
        match message {
            Message::Record(record) => {
                self.add_record(&record);
                if let Some(exporter) = &mut self.exporter {
                    exporter.record(record);
                }
                false
            }
            Message::Flush(ack) => {
                acks.push(ack);
                if let Some(exporter) = &mut self.exporter {
                    exporter.flush();
                }
                false
            }
            Message::Shutdown => true,
        }
    }

    fn note_dropped(&mut self) {
        // Read before writing: an unconditional swap would dirty this cache line every batch.
        if self.pending_dropped.load(Ordering::Relaxed) == 0 {
            return;
        }
        let count = self.pending_dropped.swap(0, Ordering::Relaxed);
        if count > 0 {
            let mut line = Vec::new();
            record::encode_dropped(clock::now_micros(), count, &mut line);
            self.add_line(&line);
        }
    }

    fn add_record(&mut self, record: &Record) {
        let bound = record::line_bound(record);
        if self.filled + bound > self.buffer.len() {
            self.write_batch();
        }
        if bound > self.buffer.len() {
            let mut line = Vec::new();
            record::encode(record, &mut self.stamp, &mut line);
            self.add_line(&line);
            return;
        }
        let len = record::encode_into(record, &mut self.stamp, &mut self.buffer[self.filled..]);
        self.filled += len;
        self.batch_records += 1;
    }

    /// Adds a line encoded elsewhere (rare: `DROPPED`, or a record longer than the buffer).
    fn add_line(&mut self, line: &[u8]) {
        if self.filled + line.len() > self.buffer.len() {
            self.write_batch();
        }
        self.batch_records += 1;
        if line.len() > self.buffer.len() {
            self.write(line);
            return;
        }
        self.buffer[self.filled..self.filled + line.len()].copy_from_slice(line);
        self.filled += line.len();
    }

    /// Writes the batch and acknowledges the flushes received up to now.
    fn write_out(&mut self, acks: &mut Vec<Sender<()>>) {
        self.write_batch();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }

    fn write_batch(&mut self) {
        if self.filled > 0 {
            let filled = std::mem::take(&mut self.filled);
            let batch = std::mem::take(&mut self.buffer);
            self.write(&batch[..filled]);
            self.buffer = batch;
        }
    }

    /// Writes whole lines, counting the records they hold as written or lost.
    fn write(&mut self, lines: &[u8]) {
        match self.sink.write_batch(lines) {
            Ok(()) => stats::add(&stats::COUNTERS.written, self.batch_records),
            Err(error) => {
                stats::add(&stats::COUNTERS.write_errors, 1);
                stats::add(&stats::COUNTERS.lost, self.batch_records);
                if !self.reported_error {
                    self.reported_error = true;
                    crate::error::report(format_args!(
                        "cannot write to {}: {error}; the program goes on, and \
                         lost records are counted in flowtrace_runtime::stats()",
                        self.sink.describe()
                    ));
                }
            }
        }
        self.batch_records = 0;
    }
}
