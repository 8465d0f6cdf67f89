//! The writer's batch: lines are encoded straight into one buffer, allocated once, and each
//! batch goes to the sink in one write; failures are counted, reported once, and never stop
//! the writer.

use crate::line;
use crate::record::Record;
use crate::sink::Sink;
use crate::stamp::Stamp;
use crate::stats;
use crate::thread_lines::ThreadLines;

/// A batch is written once it holds this many bytes, so memory stays bounded and `tail -f`
/// sees progress even under a flood.
const BATCH_BYTES: usize = 256 * 1024;
/// The buffer: room for a full batch plus the lines that take it past `BATCH_BYTES`. A line
/// that does not fit in what is left is written after the batch; one longer than the whole
/// buffer gets a buffer of its own.
const BUFFER_BYTES: usize = BATCH_BYTES + 64 * 1024;

pub(super) struct Batch {
    sink: Sink,
    /// Allocated and initialised once; lines are encoded straight into it.
    buffer: Box<[u8]>,
    /// How much of `buffer` the current batch fills.
    filled: usize,
    /// Records in the current batch, counted as written or lost with it.
    records: u64,
    reported_error: bool,
    stamp: Stamp,
}

impl Batch {
    pub(super) fn new(sink: Sink) -> Self {
        Self {
            sink,
            buffer: vec![0; BUFFER_BYTES].into_boxed_slice(),
            filled: 0,
            records: 0,
            reported_error: false,
            stamp: Stamp::default(),
        }
    }

    /// Adds `record`'s line, from a thread whose lines are `lines`; writes the batch when
    /// full.
    #[inline]
    pub(super) fn add_record(&mut self, record: &Record, lines: &mut ThreadLines) {
        let bound = line::bound(record, lines);
        if self.filled + bound > self.buffer.len() {
            self.write();
        }
        if bound > self.buffer.len() {
            let mut text = Vec::new();
            line::encode(record, lines, &mut self.stamp, &mut text);
            self.add_line(&text);
            return;
        }
        let out = &mut self.buffer[self.filled..];
        self.filled += line::encode_into(record, lines, &mut self.stamp, out);
        self.records += 1;
        if self.filled >= BATCH_BYTES {
            self.write();
        }
    }

    /// Adds a line encoded elsewhere (rare: START, DROPPED, a record longer than the buffer).
    pub(super) fn add_line(&mut self, text: &[u8]) {
        if self.filled + text.len() > self.buffer.len() {
            self.write();
        }
        self.records += 1;
        if text.len() > self.buffer.len() {
            self.write_out(text);
            return;
        }
        self.buffer[self.filled..self.filled + text.len()].copy_from_slice(text);
        self.filled += text.len();
    }

    /// Writes the batch, if there is one.
    pub(super) fn write(&mut self) {
        if self.filled > 0 {
            let filled = std::mem::take(&mut self.filled);
            let buffer = std::mem::take(&mut self.buffer);
            self.write_out(&buffer[..filled]);
            self.buffer = buffer;
        }
    }

    /// Writes whole lines, counting the records they hold as written or lost.
    fn write_out(&mut self, lines: &[u8]) {
        match self.sink.write_batch(lines) {
            Ok(()) => stats::add(&stats::COUNTERS.written, self.records),
            Err(error) => {
                stats::add(&stats::COUNTERS.write_errors, 1);
                stats::add(&stats::COUNTERS.lost, self.records);
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
        self.records = 0;
    }
}
