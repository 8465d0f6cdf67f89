//! Parsing for `check` on all cores, in file order: the reader cuts the stream into batches of
//! whole lines, worker threads apply the per-line rules and reduce each record to a [`Compact`]
//! form, and the results come back in the order the batches were cut, for the pairing rules
//! that need order.
//!
//! Batch `n` goes to worker `n % workers` and results are read back the same way, so each
//! worker's FIFO keeps the order. At most [`IN_FLIGHT`] batches are out at once (channels are
//! bounded by it, so nothing blocks in a cycle), which bounds memory at a few MiB; buffers travel
//! back with the results and are reused.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::error::Error;
use crate::ids::{IdHasher, name_hash};
use crate::input::{Item, LineReader, Stream};
use crate::progress::Progress;
use crate::record::{self, Body, Event, Record, Strictness};

/// Batches being parsed or waiting to be paired, at most.
const IN_FLIGHT: usize = 8;
/// Workers, at most (parsing scales; beyond this the reader or pairing is the limit).
const MAX_WORKERS: usize = 4;

/// What pairing needs of a record.
#[derive(Clone, Copy, Debug)]
pub(super) enum Compact {
    Enter {
        id: u64,
        parent: Option<u64>,
        /// Digest of `module` and `function`.
        name: u64,
        /// It carries a `trace` id.
        traced: bool,
    },
    Close {
        id: u64,
        parent: Option<u64>,
        name: u64,
        event: Event,
    },
    Dropped {
        count: u64,
    },
    Start,
}

impl Compact {
    fn of(record: &Record<'_>) -> Self {
        match &record.body {
            Body::Enter { call, link, .. } => Compact::Enter {
                id: call.id,
                parent: call.parent,
                name: name_hash(&call.module, &call.function),
                traced: link.trace.is_some(),
            },
            Body::Close { call, event, .. } => Compact::Close {
                id: call.id,
                parent: call.parent,
                name: name_hash(&call.module, &call.function),
                event: *event,
            },
            Body::Dropped { count } => Compact::Dropped { count: *count },
            Body::Start(_) => Compact::Start,
        }
    }
}

/// The verdict on one line.
#[derive(Debug)]
pub(super) struct Parsed {
    /// Line number relative to the batch's first line.
    pub(super) offset: u32,
    /// Why the line breaks the per-line rules, if it does.
    pub(super) malformed: Option<String>,
    /// The record, when usable for pairing (even if malformed: keys out of order, say, so one
    /// bad line is one violation rather than a cascade).
    pub(super) record: Option<Compact>,
}

/// Whole lines cut from one file, and then their verdicts.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) file: usize,
    pub(super) first_line: u64,
    data: Vec<u8>,
    pub(super) lines: Vec<Parsed>,
    /// Names first met by this batch's worker: digest and `module::function`.
    pub(super) names: Vec<(u64, Box<str>)>,
}

/// Parses every line of `batch.data` into `batch.lines`.
fn parse_batch(
    batch: &mut Batch,
    seen: &mut HashSet<u64, std::hash::BuildHasherDefault<IdHasher>>,
) {
    batch.lines.clear();
    batch.names.clear();
    let mut begin = 0;
    for (offset, end) in memchr::memchr_iter(b'\n', &batch.data).enumerate() {
        let mut line = &batch.data[begin..end];
        begin = end + 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let (malformed, record) = match record::parse(line, Strictness::Check) {
            Ok(record) => (None, Some(record)),
            Err(error) => (
                Some(error.to_string()),
                record::parse(line, Strictness::Lenient).ok(),
            ),
        };
        let record = record.map(|record| {
            if let Body::Enter { call, .. } = &record.body {
                let digest = name_hash(&call.module, &call.function);
                if seen.insert(digest) {
                    let name = format!("{}::{}", call.module, call.function);
                    batch.names.push((digest, name.into()));
                }
            }
            Compact::of(&record)
        });
        batch.lines.push(Parsed {
            offset: offset as u32,
            malformed,
            record,
        });
    }
}

/// Reads `stream`, has its lines parsed on worker threads, and calls `visit` with every batch
/// in file order. Returns the partial last lines skipped, as (file index, line).
pub(super) fn for_each_batch(
    stream: &Stream,
    progress: &mut Progress,
    mut visit: impl FnMut(&Batch),
) -> Result<Vec<(usize, u64)>, Error> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    std::thread::scope(|scope| {
        let mut inputs: Vec<SyncSender<Batch>> = Vec::with_capacity(workers);
        let mut outputs: Vec<Receiver<Batch>> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, from_main) = sync_channel::<Batch>(IN_FLIGHT);
            let (to_main, from_worker) = sync_channel::<Batch>(IN_FLIGHT);
            scope.spawn(move || {
                let mut seen = HashSet::default();
                for mut batch in from_main {
                    parse_batch(&mut batch, &mut seen);
                    if to_main.send(batch).is_err() {
                        break;
                    }
                }
            });
            inputs.push(to_worker);
            outputs.push(from_worker);
        }
        let mut pipeline = Pipeline {
            inputs,
            outputs,
            sent: 0,
            received: 0,
            spare: Vec::new(),
        };
        let mut partials = Vec::new();
        let mut reader = LineReader::new(stream, false);
        let result = loop {
            let item = match reader.next_chunk(progress) {
                Ok(item) => item,
                Err(error) => break Err(error),
            };
            match item {
                Item::Line { file, line, bytes } => {
                    let mut batch = pipeline.spare.pop().unwrap_or_default();
                    batch.file = file;
                    batch.first_line = line;
                    batch.data.clear();
                    batch.data.extend_from_slice(bytes);
                    pipeline.send(batch, &mut visit);
                }
                Item::Partial { file, line } => partials.push((file, line)),
                Item::Idle | Item::End => break Ok(partials),
            }
        };
        pipeline.drain(&mut visit);
        // Dropping the senders ends the workers; the scope joins them.
        result
    })
}

/// The batches out at the workers.
struct Pipeline {
    inputs: Vec<SyncSender<Batch>>,
    outputs: Vec<Receiver<Batch>>,
    sent: usize,
    received: usize,
    spare: Vec<Batch>,
}

impl Pipeline {
    fn send(&mut self, batch: Batch, visit: &mut impl FnMut(&Batch)) {
        if self.sent - self.received == IN_FLIGHT {
            self.receive(visit);
        }
        let worker = self.sent % self.inputs.len();
        // A worker only stops when its input is closed, so this send cannot fail.
        if self.inputs[worker].send(batch).is_ok() {
            self.sent += 1;
        }
    }

    fn receive(&mut self, visit: &mut impl FnMut(&Batch)) {
        let worker = self.received % self.outputs.len();
        if let Ok(batch) = self.outputs[worker].recv() {
            visit(&batch);
            self.spare.push(batch);
        }
        self.received += 1;
    }

    fn drain(&mut self, visit: &mut impl FnMut(&Batch)) {
        while self.received < self.sent {
            self.receive(visit);
        }
    }
}
