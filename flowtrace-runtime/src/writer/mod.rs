//! The `flowtrace-writer` thread: takes the records of every traced thread's ring, in an
//! order that keeps the record format's invariants (`order`), encodes them into one batch
//! (`batch`), writes each batch with one write and one flush, and keeps going whatever the
//! sink does.
//!
//! It sleeps when there is nothing to do. A traced thread wakes it only when it sleeps (one
//! relaxed load per record otherwise); `flush()`, shutdown, a full ring in `block` mode and
//! an exiting thread's last records wake it at once.

mod batch;
mod order;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::exporter::Exporter;
use crate::record::Record;
use crate::ring::RingReader;
use crate::sink::Sink;
use crate::thread_label::ThreadLabel;
use crate::{clock, line};

use batch::Batch;
use order::Reading;

/// When a round took this many records, but less than a quarter of a ring, the writer pauses
/// before the next one. Under a steady flood a writer that keeps up would otherwise sit right
/// behind the traced threads, reading each record's cache lines while they are still being
/// written; during the pause the traced threads run uncontended and the next round builds
/// up. Light traffic never triggers it, and `tail -f` lags by at most the pause. A round that
/// found rings filling up means the writer is the bottleneck: it goes on at once, since a
/// pause then only makes traced threads wait for room. `flush()` and shutdown cut it short.
const BUSY_ROUND_RECORDS: u64 = 64;
const BUSY_PAUSE: Duration = Duration::from_micros(200);
/// Rings smaller than this are not worth pausing for: they would fill during the pause.
const PAUSE_MIN_CAPACITY: usize = 4096;
/// How long an idle writer sleeps at first, and at most: a record pushed just as the writer
/// fell asleep may wait that long (a traced thread does not pay for a full handshake).
const FIRST_IDLE_WAIT: Duration = Duration::from_millis(1);
const LONGEST_IDLE_WAIT: Duration = Duration::from_millis(50);

/// What the writer and the traced threads both write, on a line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct WriterShared {
    /// The writer sleeps (or is about to) until someone unparks it.
    pub(crate) idle: AtomicBool,
    /// Records dropped in `drop` mode since the writer last wrote a DROPPED line.
    pub(crate) pending_dropped: AtomicU64,
}

/// What reaches the writer besides records.
#[derive(Debug)]
pub(crate) enum Control {
    /// A thread's new ring.
    Ring(RingReader),
    /// A record from a thread whose ring is gone (it is exiting).
    Orphan(Record, ThreadLabel),
    /// Write everything produced so far, then acknowledge.
    Flush(Sender<()>),
    /// Write everything produced so far, then stop.
    Shutdown,
}

/// Everything the writer thread starts with.
pub(crate) struct Setup {
    pub(crate) controls: Receiver<Control>,
    pub(crate) sink: Sink,
    /// START opens the segment, before any record.
    pub(crate) start_line: Vec<u8>,
    /// Also ships completed calls as spans (`FLOWTRACE_OTLP_ENDPOINT`).
    pub(crate) exporter: Option<Exporter>,
    pub(crate) shared: Arc<WriterShared>,
    /// Records each ring holds.
    pub(crate) ring_capacity: usize,
}

/// Starts the thread. `done` is signalled when it has written everything and stopped.
pub(crate) fn spawn(setup: Setup, done: Sender<()>) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("flowtrace-writer".to_owned())
        .spawn(move || {
            crate::own_thread::mark();
            let mut writer = Writer {
                controls: setup.controls,
                rings: Vec::new(),
                orphans: Vec::new(),
                deferred: Vec::new(),
                batch: Batch::new(setup.sink),
                exporter: setup.exporter,
                shared: setup.shared,
                acks: Vec::new(),
                stop: false,
                pause_below: pause_below(setup.ring_capacity),
            };
            writer.batch.add_line(&setup.start_line);
            writer.run();
            if let Some(exporter) = writer.exporter.take() {
                exporter.finish();
            }
            let _ = done.send(());
        })
}

struct Writer {
    controls: Receiver<Control>,
    /// The rings of the traced threads, in the order they arrived.
    rings: Vec<Reading>,
    orphans: Vec<(Record, ThreadLabel)>,
    /// Control messages that arrived while a round was looking for a new ring: handled
    /// before the next round (a flush must not be acknowledged by a round that began before
    /// it was asked for).
    deferred: Vec<Control>,
    batch: Batch,
    exporter: Option<Exporter>,
    shared: Arc<WriterShared>,
    /// Flushes waiting for the end of the current round.
    acks: Vec<Sender<()>>,
    stop: bool,
    /// Rounds from `BUSY_ROUND_RECORDS` to this (exclusive) are followed by a pause.
    pause_below: u64,
}

fn pause_below(ring_capacity: usize) -> u64 {
    if ring_capacity < PAUSE_MIN_CAPACITY {
        0
    } else {
        ring_capacity as u64 / 4
    }
}

impl Writer {
    /// A writer run by the test itself, writing to `sink`.
    #[cfg(test)]
    fn for_tests(controls: Receiver<Control>, sink: Box<dyn std::io::Write + Send>) -> Self {
        Self {
            controls,
            rings: Vec::new(),
            orphans: Vec::new(),
            deferred: Vec::new(),
            batch: Batch::new(Sink::Writer(sink)),
            exporter: None,
            shared: Arc::default(),
            acks: Vec::new(),
            stop: false,
            pause_below: 0,
        }
    }

    fn run(&mut self) {
        let mut idle_wait = FIRST_IDLE_WAIT;
        loop {
            self.take_controls();
            let taken = self.round();
            if self.stop {
                // Threads racing the shutdown: take what they already pushed.
                while {
                    self.take_controls();
                    self.round() > 0
                } {}
                self.finish_round();
                return;
            }
            self.finish_round();
            if taken == 0 {
                if self.sleep(idle_wait) {
                    idle_wait = (idle_wait * 2).min(LONGEST_IDLE_WAIT);
                }
            } else {
                idle_wait = FIRST_IDLE_WAIT;
                if (BUSY_ROUND_RECORDS..self.pause_below).contains(&taken) {
                    // Parked rather than asleep: a flush or a shutdown unparks it at once.
                    thread::park_timeout(BUSY_PAUSE);
                }
            }
        }
    }

    /// Takes every record and control message there is now; how many records.
    fn round(&mut self) -> u64 {
        self.note_dropped();
        let taken = self.take_rings();
        taken + self.take_orphans()
    }

    /// Writes the batch, acknowledges the flushes it covers, lets go of finished rings.
    fn finish_round(&mut self) {
        self.batch.write();
        for ack in self.acks.drain(..) {
            let _ = ack.send(());
        }
        self.retire_rings();
    }

    /// Sleeps until woken or `wait` has passed, unless something arrived meanwhile; true
    /// when nothing woke it.
    fn sleep(&mut self, wait: Duration) -> bool {
        self.shared.idle.store(true, Ordering::Relaxed);
        if self.has_work() {
            self.shared.idle.store(false, Ordering::Relaxed);
            return false;
        }
        thread::park_timeout(wait);
        // Still set: nobody woke it.
        self.shared.idle.swap(false, Ordering::Relaxed)
    }

    fn has_work(&self) -> bool {
        !self.controls.is_empty()
            || self
                .rings
                .iter()
                .any(|ring| !ring.reader.consumer.is_empty())
    }

    fn take_controls(&mut self) {
        for control in std::mem::take(&mut self.deferred) {
            self.handle(control);
        }
        while let Ok(control) = self.controls.try_recv() {
            self.handle(control);
        }
    }

    fn handle(&mut self, control: Control) {
        match control {
            Control::Ring(reader) => self.adopt(reader),
            Control::Orphan(record, thread) => self.orphans.push((record, thread)),
            Control::Flush(ack) => {
                self.acks.push(ack);
                if let Some(exporter) = &mut self.exporter {
                    exporter.flush();
                }
            }
            Control::Shutdown => self.stop = true,
        }
    }

    /// Records of exiting threads, each after the record it must follow.
    fn take_orphans(&mut self) -> u64 {
        let orphans = std::mem::take(&mut self.orphans);
        let count = orphans.len() as u64;
        for (record, thread) in orphans {
            self.satisfy(record.after);
            let mut lines = crate::thread_lines::ThreadLines::new(thread);
            self.batch.add_record(&record, &mut lines);
            if let Some(exporter) = &mut self.exporter {
                exporter.record(record, thread);
            }
        }
        count
    }

    fn note_dropped(&mut self) {
        // Read before writing: an unconditional swap would dirty this cache line every round.
        if self.shared.pending_dropped.load(Ordering::Relaxed) == 0 {
            return;
        }
        let count = self.shared.pending_dropped.swap(0, Ordering::Relaxed);
        if count > 0 {
            let mut text = Vec::new();
            line::encode_dropped(clock::now_micros(), count, &mut text);
            self.batch.add_line(&text);
        }
    }
}
