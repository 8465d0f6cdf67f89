//! The index `open` builds once per trace and every other tool answers from: one compact
//! [`Call`] per call (ids, times, names and threads as numbers, and where its two lines are in
//! the files), the children of each call, the calls sorted by id, the `stats` table and the
//! error groups. Arguments, results and errors stay in the files and are read back by position
//! ([`lines`]) only for the few calls a tool shows, so memory grows with the number of calls
//! kept (about 76 bytes each, at most `max_calls` of them, and about 48 more for each root call
//! that carries a distributed trace id), not with the size of the file.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::check::CheckReport;
use crate::stats::Stats;

mod build;
mod lines;

pub(crate) use build::build;

/// No call (a root's parent).
pub(crate) const NO_CALL: u32 = u32::MAX;
/// A position of a line that does not exist (an unclosed call's closing record).
pub(crate) const NO_POSITION: u64 = u64::MAX;
/// Bits of a [`Call`] position that hold the byte offset; the file's index is above them.
const OFFSET_BITS: u32 = 48;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum End {
    Exit,
    Exception,
    Panic,
    Cancel,
    /// No closing record by the end of the trace.
    Open,
}

impl End {
    /// The event name, or `OPEN` for a call never closed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            End::Exit => "EXIT",
            End::Exception => "EXCEPTION",
            End::Panic => "PANIC",
            End::Cancel => "CANCEL",
            End::Open => "OPEN",
        }
    }
}

/// One call, in 64 bytes.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) id: u64,
    /// Epoch microseconds of its `ENTER`.
    pub(crate) start: u64,
    /// `durationMicros` of its closing record; meaningless while `end` is [`End::Open`].
    pub(crate) duration: u64,
    /// Where its `ENTER` line is: file index and byte offset, see [`position`].
    pub(crate) enter_at: u64,
    /// Where its closing line is, or [`NO_POSITION`].
    pub(crate) close_at: u64,
    /// Index of the parent call, or [`NO_CALL`].
    pub(crate) parent: u32,
    /// Index into [`TraceIndex::names`].
    pub(crate) name: u32,
    /// Index into [`TraceIndex::threads`] of the `ENTER`'s thread.
    pub(crate) thread: u32,
    /// Index into [`TraceIndex::threads`] of the closing record's thread (`thread` when open).
    pub(crate) closed_on: u32,
    /// Index into [`TraceIndex::segments`]: the process the call ran in.
    pub(crate) segment: u32,
    pub(crate) end: End,
}

/// Packs a file index and a byte offset into one `u64`, ordered like the lines of a stream.
pub(crate) fn position(file: usize, offset: u64) -> u64 {
    ((file as u64) << OFFSET_BITS) | offset
}

fn unpack(position: u64) -> (usize, u64) {
    (
        (position >> OFFSET_BITS) as usize,
        position & ((1 << OFFSET_BITS) - 1),
    )
}

/// A trace file, kept open so that rotation or deletion after `open` does not lose it.
#[derive(Debug)]
pub(crate) struct TraceFile {
    pub(crate) path: PathBuf,
    pub(crate) file: Mutex<File>,
}

/// What a `START` record said about the process it began.
#[derive(Clone, Debug)]
pub(crate) struct ProcessStart {
    pub(crate) service: Box<str>,
    pub(crate) pid: u64,
    /// 16 hex digits, random per start: span ids derive from it (design §7).
    pub(crate) instance: Box<str>,
}

/// A kept root call whose `ENTER` names a distributed trace (design §7).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TraceRoot {
    /// Index of the call.
    pub(crate) call: u32,
    /// The W3C trace id.
    pub(crate) trace: u128,
    /// The span id of the call in another process it continues, if any.
    pub(crate) remote_parent: Option<u64>,
}

/// One traced process: a file and its rotated set, or the lines from a `START` on.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    /// Its files, as indexes into [`TraceIndex::files`].
    pub(crate) files: Range<usize>,
    pub(crate) lines: u64,
    /// `ENTER` records, kept or not.
    pub(crate) calls: u64,
    /// Epoch microseconds of its first and last record (0 when it has none).
    pub(crate) first: u64,
    pub(crate) last: u64,
    /// Its `START` record, when it began with one.
    pub(crate) start: Option<ProcessStart>,
}

/// The calls that ended with one error event, function and message.
#[derive(Clone, Debug)]
pub(crate) struct ErrorGroup {
    pub(crate) name: u32,
    pub(crate) end: End,
    /// The error message (none for `CANCEL`).
    pub(crate) message: Option<Box<str>>,
    pub(crate) count: u64,
    /// The first such call, or [`NO_CALL`] when it was not kept.
    pub(crate) example: u32,
}

/// Everything `open` learnt about a trace.
#[derive(Debug, Default)]
pub(crate) struct TraceIndex {
    pub(crate) files: Vec<TraceFile>,
    pub(crate) segments: Vec<Segment>,
    /// Every call kept, in the order of their `ENTER` records.
    pub(crate) calls: Vec<Call>,
    /// `children[child_start[i]..child_start[i + 1]]` are the children of call `i`, in order.
    pub(crate) child_start: Vec<u32>,
    pub(crate) children: Vec<u32>,
    /// Indexes of the calls sorted by (segment, id), for lookups by id.
    pub(crate) by_id: Vec<u32>,
    /// `(module, function)` of each name index.
    pub(crate) names: Vec<(Box<str>, Box<str>)>,
    pub(crate) threads: Vec<Box<str>>,
    pub(crate) stats: Stats,
    pub(crate) error_groups: Vec<ErrorGroup>,
    /// The kept root calls with a trace id, in the order of their `ENTER` records.
    pub(crate) trace_roots: Vec<TraceRoot>,
    /// Error groups not kept because there were too many distinct messages.
    pub(crate) error_groups_dropped: u64,
    /// Valid records, malformed lines and partial last lines read.
    pub(crate) records: u64,
    pub(crate) malformed: u64,
    pub(crate) partial_lines: u64,
    /// `ENTER` records seen; more than `calls.len()` when `max_calls` cut the index short.
    pub(crate) calls_seen: u64,
    /// `check`'s verdict, when it was asked for.
    pub(crate) check: Option<CheckReport>,
}

impl TraceIndex {
    /// The children of call `index`, in the order they started.
    pub(crate) fn children_of(&self, index: u32) -> &[u32] {
        let i = index as usize;
        &self.children[self.child_start[i] as usize..self.child_start[i + 1] as usize]
    }

    /// `module::function` of a call.
    pub(crate) fn full_name(&self, call: &Call) -> String {
        let (module, function) = &self.names[call.name as usize];
        if module.is_empty() {
            function.to_string()
        } else {
            format!("{module}::{function}")
        }
    }

    /// The duration of a call; for one never closed, until the last record of its process.
    pub(crate) fn effective_duration(&self, call: &Call) -> u64 {
        match call.end {
            End::Open => self.segments[call.segment as usize]
                .last
                .saturating_sub(call.start),
            _ => call.duration,
        }
    }

    /// Indexes of the calls with this id, in `segment` when given.
    pub(crate) fn find(&self, id: u64, segment: Option<u32>) -> Vec<u32> {
        let key = |index: &u32| {
            let call = &self.calls[*index as usize];
            (call.segment, call.id)
        };
        let segments = match segment {
            Some(segment) => segment..segment.saturating_add(1),
            None => 0..self.segments.len() as u32,
        };
        segments
            .flat_map(|segment| {
                let begin = self.by_id.partition_point(|i| key(i) < (segment, id));
                let end = self.by_id.partition_point(|i| key(i) <= (segment, id));
                self.by_id[begin..end].iter().copied()
            })
            .collect()
    }

    /// The thread index of a thread name.
    pub(crate) fn thread_index(&self, name: &str) -> Option<u32> {
        self.threads
            .iter()
            .position(|t| **t == *name)
            .map(|i| i as u32)
    }

    /// First and last timestamps over every process, `(0, 0)` for an empty trace.
    pub(crate) fn time_range(&self) -> (u64, u64) {
        let with_records = self.segments.iter().filter(|s| s.first > 0);
        let first = with_records.clone().map(|s| s.first).min().unwrap_or(0);
        let last = with_records.map(|s| s.last).max().unwrap_or(0);
        (first, last)
    }
}

/// Interns names and threads while building, borrowing the record's strings for lookups.
#[derive(Debug, Default)]
struct Interner {
    /// module → function → name index.
    names: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    threads: HashMap<Box<str>, u32>,
}

impl Interner {
    fn name(&mut self, index: &mut TraceIndex, module: &str, function: &str) -> u32 {
        if let Some(&found) = self.names.get(module).and_then(|m| m.get(function)) {
            return found;
        }
        let next = index.names.len() as u32;
        index.names.push((module.into(), function.into()));
        self.names
            .entry(module.into())
            .or_default()
            .insert(function.into(), next);
        next
    }

    fn thread(&mut self, index: &mut TraceIndex, thread: &str) -> u32 {
        if let Some(&found) = self.threads.get(thread) {
            return found;
        }
        let next = index.threads.len() as u32;
        index.threads.push(thread.into());
        self.threads.insert(thread.into(), next);
        next
    }
}
