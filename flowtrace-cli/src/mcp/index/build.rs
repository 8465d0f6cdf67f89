//! Building a [`TraceIndex`] in one streaming pass over the trace, with the CLI's reader and
//! record parser, while `check` runs over the same files on another thread.
//!
//! The pass reads whole chunks of lines ([`LineReader::next_chunk`]) so that it knows the byte
//! offset of every line, which is all a call needs to find its arguments again later. Calls are
//! paired by id within one process (segment); only calls still open are kept in a map, so the
//! pass itself holds nothing per closed call beyond its [`Call`].

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{
    Call, End, ErrorGroup, Interner, NO_CALL, NO_POSITION, ProcessStart, Segment, TraceFile,
    TraceIndex, TraceRoot,
};
use crate::check;
use crate::error::Error;
use crate::ids::IdMap;
use crate::input::{self, Item, LineReader, Place, Stream};
use crate::progress::Progress;
use crate::record::{
    self, Body, Call as RecordCall, Event, Record, Start, Strictness, TraceLink, decoded,
};
use crate::render;

/// Distinct (function, event, message) error groups kept; further messages are only counted.
pub(crate) const MAX_ERROR_GROUPS: usize = 1_000;
/// Characters of an error message used to group errors and shown.
const MAX_MESSAGE_CHARS: usize = 300;

/// Reads the trace in `paths` (each with its rotated set), keeping at most `max_calls` calls
/// (the first ones; later calls still count in the statistics and error groups), and runs
/// `check` alongside when `with_check`.
pub(crate) fn build(
    paths: &[PathBuf],
    max_calls: usize,
    with_check: bool,
) -> Result<TraceIndex, Error> {
    let streams = input::streams(paths);
    let mut index = TraceIndex::default();
    // Opening every file first makes a missing one an error before any work, and keeps the
    // files readable whatever happens to their paths later (rotation).
    for path in streams.iter().flat_map(|s| &s.files) {
        let file = File::open(path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        index.files.push(TraceFile {
            path: path.clone(),
            file: Mutex::new(file),
        });
    }
    let max_calls = max_calls.min(NO_CALL as usize - 1);
    let (built, report) = std::thread::scope(|scope| {
        let checker = with_check
            .then(|| scope.spawn(|| check::check_streams(&streams, &mut Progress::hidden())));
        let built = Builder::new(&mut index, max_calls).run(&streams);
        let report = checker.map(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (built, report)
    });
    built?;
    index.check = report.transpose()?;
    Ok(index)
}

/// The state of one pass.
struct Builder<'a> {
    index: &'a mut TraceIndex,
    interner: Interner,
    /// Open calls of the current segment: id → call index.
    open: IdMap<u32>,
    /// (name, end, message) → index into `index.error_groups`.
    groups: HashMap<(u32, End, Option<Box<str>>), usize>,
    max_calls: usize,
    progress: Progress,
    /// The files of the stream being read, as indexes into `index.files`.
    stream_files: Range<usize>,
}

impl<'a> Builder<'a> {
    fn new(index: &'a mut TraceIndex, max_calls: usize) -> Self {
        Self {
            index,
            interner: Interner::default(),
            open: IdMap::default(),
            groups: HashMap::new(),
            max_calls,
            progress: Progress::hidden(),
            stream_files: 0..0,
        }
    }

    fn run(mut self, streams: &[Stream]) -> Result<(), Error> {
        let mut file_base = 0;
        for stream in streams {
            self.stream_files = file_base..file_base + stream.files.len();
            self.begin_segment();
            let mut reader = LineReader::new(stream, false);
            let (mut current, mut offset) = (usize::MAX, 0u64);
            loop {
                match reader.next_chunk(&mut self.progress)? {
                    Item::Line { file, line, bytes } => {
                        if file != current {
                            (current, offset) = (file, 0);
                        }
                        let mut number = line;
                        let mut begin = 0;
                        for end in memchr::memchr_iter(b'\n', bytes) {
                            let text = &bytes[begin..end];
                            let text = text.strip_suffix(b"\r").unwrap_or(text);
                            let place = Place {
                                path: &stream.files[file],
                                line: number,
                            };
                            let at = super::position(file_base + file, offset + begin as u64);
                            self.line(text, at, place);
                            (begin, number) = (end + 1, number + 1);
                        }
                        offset += bytes.len() as u64;
                    }
                    Item::Partial { file, line } => {
                        self.index.partial_lines += 1;
                        let place = Place {
                            path: &stream.files[file],
                            line,
                        };
                        self.progress
                            .warn(format_args!("{place}: skipped a partial last line"));
                    }
                    Item::Idle | Item::End => break,
                }
            }
            file_base += stream.files.len();
        }
        self.finish();
        Ok(())
    }

    /// Starts a new process, whose ids are new, in the stream being read. Each stream begins
    /// one, and so does a `START` record (design §7) after other lines.
    fn begin_segment(&mut self) {
        self.open.clear();
        self.index.segments.push(Segment {
            files: self.stream_files.clone(),
            lines: 0,
            calls: 0,
            first: 0,
            last: 0,
            start: None,
        });
    }

    fn segment(&mut self) -> &mut Segment {
        let last = self.index.segments.len() - 1;
        &mut self.index.segments[last]
    }

    fn line(&mut self, text: &[u8], at: u64, place: Place<'_>) {
        let parsed = record::parse(text, Strictness::Lenient);
        // A START after other lines is another run of the program appending to the file.
        if matches!(
            &parsed,
            Ok(Record {
                body: Body::Start(_),
                ..
            })
        ) && self.segment().lines > 0
        {
            self.begin_segment();
        }
        self.segment().lines += 1;
        let record = match parsed {
            Ok(record) => record,
            Err(error) => {
                self.index.malformed += 1;
                self.progress
                    .warn(format_args!("{place}: skipped: {error}"));
                return;
            }
        };
        self.index.records += 1;
        let segment = self.segment();
        if segment.first == 0 || record.micros < segment.first {
            segment.first = record.micros;
        }
        segment.last = segment.last.max(record.micros);
        self.index.stats.add(&record);
        match record.body {
            Body::Enter { call, link, .. } => self.enter(&call, &link, record.micros, at),
            Body::Close {
                call,
                event,
                duration_micros,
                error,
                ..
            } => {
                let message =
                    error.map(|raw| render::shorten(&decoded(raw), MAX_MESSAGE_CHARS).into());
                self.close(&call, event, duration_micros, at, message);
            }
            Body::Start(start) => self.start(&start),
            // DROPPED is counted by `stats`.
            Body::Dropped { .. } => {}
        }
    }

    /// Keeps what the `START` beginning this segment says (a later one began another).
    fn start(&mut self, start: &Start<'_>) {
        let segment = self.segment();
        if segment.start.is_none() {
            segment.start = Some(ProcessStart {
                service: start.service.as_ref().into(),
                pid: start.pid,
                instance: start.instance.into(),
            });
        }
    }

    fn enter(&mut self, call: &RecordCall<'_>, link: &TraceLink<'_>, micros: u64, at: u64) {
        self.segment().calls += 1;
        self.index.calls_seen += 1;
        // Once full, no later call is kept, so that no kept call misses its parent.
        if self.index.calls.len() >= self.max_calls {
            return;
        }
        let parent = call
            .parent
            .and_then(|parent| self.open.get(&parent).copied())
            .unwrap_or(NO_CALL);
        let name = self.interner.name(self.index, &call.module, &call.function);
        let thread = self.interner.thread(self.index, &call.thread);
        let index = self.index.calls.len() as u32;
        self.index.calls.push(Call {
            id: call.id,
            start: micros,
            duration: 0,
            enter_at: at,
            close_at: NO_POSITION,
            parent,
            name,
            thread,
            closed_on: thread,
            segment: self.index.segments.len() as u32 - 1,
            end: End::Open,
        });
        self.open.insert(call.id, index);
        // Lenient parsing lets a malformed trace id through; such a root is in no trace.
        let trace = link.trace.and_then(|t| u128::from_str_radix(t, 16).ok());
        if let (None, Some(trace)) = (call.parent, trace) {
            self.index.trace_roots.push(TraceRoot {
                call: index,
                trace,
                remote_parent: link
                    .remote_parent
                    .and_then(|span| u64::from_str_radix(span, 16).ok()),
            });
        }
    }

    fn close(
        &mut self,
        call: &RecordCall<'_>,
        event: Event,
        duration: u64,
        at: u64,
        message: Option<Box<str>>,
    ) {
        let end = match event {
            Event::Exception => End::Exception,
            Event::Panic => End::Panic,
            Event::Cancel => End::Cancel,
            _ => End::Exit,
        };
        let index = self.open.remove(&call.id);
        if let Some(index) = index {
            let thread = self.interner.thread(self.index, &call.thread);
            let kept = &mut self.index.calls[index as usize];
            kept.duration = duration;
            kept.end = end;
            kept.close_at = at;
            kept.closed_on = thread;
        }
        if end != End::Exit {
            let name = self.interner.name(self.index, &call.module, &call.function);
            self.group_error(name, end, message, index.unwrap_or(NO_CALL));
        }
    }

    fn group_error(&mut self, name: u32, end: End, message: Option<Box<str>>, call: u32) {
        let key = (name, end, message);
        if let Some(&group) = self.groups.get(&key) {
            self.index.error_groups[group].count += 1;
            return;
        }
        if self.groups.len() >= MAX_ERROR_GROUPS {
            self.index.error_groups_dropped += 1;
            return;
        }
        self.groups
            .insert(key.clone(), self.index.error_groups.len());
        self.index.error_groups.push(ErrorGroup {
            name,
            end,
            message: key.2,
            count: 1,
            example: call,
        });
    }

    /// Links children to parents and sorts the ids for lookups.
    fn finish(self) {
        let index = self.index;
        let calls = &index.calls;
        let mut start = vec![0u32; calls.len() + 1];
        for call in calls.iter().filter(|c| c.parent != NO_CALL) {
            start[call.parent as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut children = vec![0u32; start[calls.len()] as usize];
        for (i, call) in calls.iter().enumerate() {
            if call.parent != NO_CALL {
                let slot = &mut next[call.parent as usize];
                children[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        let mut by_id: Vec<u32> = (0..calls.len() as u32).collect();
        by_id.sort_unstable_by_key(|&i| {
            let call = &calls[i as usize];
            (call.segment, call.id, i)
        });
        index.child_start = start;
        index.children = children;
        index.by_id = by_id;
        index.calls.shrink_to_fit();
    }
}
