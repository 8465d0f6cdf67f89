//! `flowtrace export --format chrome`: the Chrome Trace Event Format (JSON object form), which
//! ui.perfetto.dev and chrome://tracing open.
//!
//! Each call becomes a pair of nestable async events, `b` at its `ENTER` and `e` at its end,
//! matched by `cat` (the module), `name` (the function) and `id` (the call id, as a hex string so
//! 64-bit ids survive JavaScript numbers). Pairing by id, not by nesting on a thread, keeps async
//! calls that enter on one thread and finish on another correct. The `b` event carries the
//! arguments, parent and thread; the `e` event the outcome (`EXIT`, `EXCEPTION`, … with result
//! or error) and the closing thread. Every process segment (a stream, or a run after a START in
//! it) is a process (`pid`, named after its file and START), every thread name a `tid`
//! with its name in metadata. A call never closed ends at the last timestamp of its process with
//! `"event": "unclosed"`; a closing record whose `ENTER` is missing gets its `b` computed from
//! its duration. So every `b` has exactly one `e`.
//!
//! Streaming: events are written as they are read; only open calls are remembered.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::ids::IdMap;
use crate::input::{self, Stream, Summary};
use crate::progress::Progress;
use crate::record::{Body, Call, Event, decoded};

/// One Trace Event Format event.
#[derive(Serialize)]
struct TraceEvent<'a, A: Serialize> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'a str,
    ph: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<u64>,
    pid: usize,
    tid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    args: A,
}

#[derive(Serialize)]
struct BeginArgs<'a> {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<u64>,
    thread: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Box<RawValue>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EndArgs<'a> {
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_micros: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// An `ENTER` waiting for its end.
struct Open {
    start: u64,
    module: Box<str>,
    function: Box<str>,
}

/// Writes the events, comma-separated, tracking per-process state (index: `pid - 1`).
struct Writer<'w, W: Write + ?Sized> {
    out: &'w mut W,
    first: bool,
    /// Thread name → tid, per process.
    tids: Vec<HashMap<String, usize>>,
    open: Vec<IdMap<Open>>,
    last_ts: Vec<u64>,
}

impl<W: Write + ?Sized> Writer<'_, W> {
    /// Makes room for process segment `segment` the first time it is seen, naming it after its
    /// file and, when its first record is a START, its service and pid.
    fn process(&mut self, segment: usize, path: &Path, body: &Body<'_>) -> std::io::Result<()> {
        if segment < self.open.len() {
            return Ok(());
        }
        self.tids.resize_with(segment + 1, HashMap::new);
        self.open.resize_with(segment + 1, IdMap::default);
        self.last_ts.resize(segment + 1, 0);
        let file = path.display();
        let name = match body {
            Body::Start(start) => format!("{} (pid {}) {file}", start.service, start.pid),
            _ => file.to_string(),
        };
        self.event(&TraceEvent {
            name: "process_name",
            cat: "",
            ph: "M",
            ts: None,
            pid: segment + 1,
            tid: 0,
            id: None,
            s: None,
            args: serde_json::json!({ "name": name }),
        })
    }

    fn event<A: Serialize>(&mut self, event: &TraceEvent<'_, A>) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *self.out, event).map_err(std::io::Error::from)
    }

    fn tid(&mut self, pid: usize, thread: &str) -> std::io::Result<usize> {
        if let Some(&tid) = self.tids[pid - 1].get(thread) {
            return Ok(tid);
        }
        let tid = self.tids[pid - 1].len() + 1;
        self.tids[pid - 1].insert(thread.to_owned(), tid);
        self.event(&TraceEvent {
            name: "thread_name",
            cat: "",
            ph: "M",
            ts: None,
            pid,
            tid,
            id: None,
            s: None,
            args: serde_json::json!({ "name": thread }),
        })?;
        Ok(tid)
    }

    fn begin(
        &mut self,
        pid: usize,
        call: &Call<'_>,
        ts: u64,
        args: Option<&RawValue>,
    ) -> std::io::Result<()> {
        let tid = self.tid(pid, &call.thread)?;
        let args = args.and_then(|raw| RawValue::from_string(decoded(raw).into_owned()).ok());
        self.event(&TraceEvent {
            name: &call.function,
            cat: &call.module,
            ph: "b",
            ts: Some(ts),
            pid,
            tid,
            id: Some(format!("{:#x}", call.id)),
            s: None,
            args: BeginArgs {
                id: call.id,
                parent: call.parent,
                thread: &call.thread,
                args,
            },
        })
    }

    fn end(
        &mut self,
        pid: usize,
        tid: usize,
        id: u64,
        names: (&str, &str),
        ts: u64,
        args: EndArgs<'_>,
    ) -> std::io::Result<()> {
        let (module, function) = names;
        self.event(&TraceEvent {
            name: function,
            cat: module,
            ph: "e",
            ts: Some(ts),
            pid,
            tid,
            id: Some(format!("{id:#x}")),
            s: None,
            args,
        })
    }
}

/// Writes `streams` as one Chrome trace to `out`.
pub(super) fn run(
    streams: &[Stream],
    progress: &mut Progress,
    out: &mut dyn Write,
) -> Result<Summary, Error> {
    let io = |result: std::io::Result<()>| result.map_err(Error::Stdout);
    let mut writer = Writer {
        out,
        first: true,
        tids: Vec::new(),
        open: Vec::new(),
        last_ts: Vec::new(),
    };
    io(writer
        .out
        .write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":["))?;
    let summary = input::for_each_record(streams, progress, |segment, place, record| {
        io(writer.process(segment, place.path, &record.body))?;
        let pid = segment + 1;
        writer.last_ts[segment] = writer.last_ts[segment].max(record.micros);
        io(match record.body {
            Body::Enter { call, args, .. } => enter(&mut writer, pid, &call, args, record.micros),
            Body::Start(_) => Ok(()),
            Body::Close {
                call,
                event,
                duration_micros,
                result,
                error,
            } => close(
                &mut writer,
                pid,
                &call,
                event,
                duration_micros,
                (result, error),
                record.micros,
            ),
            Body::Dropped { count } => writer.event(&TraceEvent {
                name: "DROPPED",
                cat: "flowtrace",
                ph: "i",
                ts: Some(record.micros),
                pid,
                tid: 0,
                id: None,
                s: Some("p"),
                args: serde_json::json!({ "count": count }),
            }),
        })
    })?;
    for segment in 0..writer.open.len() {
        let mut still_open: Vec<(u64, Open)> = writer.open[segment].drain().collect();
        still_open.sort_by_key(|(id, open)| (open.start, *id));
        let end = writer.last_ts[segment];
        for (id, open) in still_open {
            let args = unclosed();
            io(writer.end(
                segment + 1,
                0,
                id,
                (&open.module, &open.function),
                end.max(open.start),
                args,
            ))?;
        }
    }
    io(writer.out.write_all(b"\n]}\n"))?;
    io(writer.out.flush())?;
    Ok(summary)
}

fn enter<W: Write + ?Sized>(
    writer: &mut Writer<'_, W>,
    pid: usize,
    call: &Call<'_>,
    args: &RawValue,
    micros: u64,
) -> std::io::Result<()> {
    let open = Open {
        start: micros,
        module: call.module.as_ref().into(),
        function: call.function.as_ref().into(),
    };
    if let Some(previous) = writer.open[pid - 1].insert(call.id, open) {
        // The id is still open (an invalid trace): end that call here, so every `b` keeps
        // exactly one `e`.
        let names = (&*previous.module, &*previous.function);
        writer.end(pid, 0, call.id, names, micros, unclosed())?;
    }
    writer.begin(pid, call, micros, Some(args))
}

/// The end of a call that has no closing record.
fn unclosed() -> EndArgs<'static> {
    EndArgs {
        event: "unclosed",
        duration_micros: None,
        thread: None,
        result: None,
        error: None,
    }
}

fn close<W: Write + ?Sized>(
    writer: &mut Writer<'_, W>,
    pid: usize,
    call: &Call<'_>,
    event: Event,
    duration: u64,
    (result, error): (Option<&RawValue>, Option<&RawValue>),
    micros: u64,
) -> std::io::Result<()> {
    let start = match writer.open[pid - 1].remove(&call.id) {
        Some(open) => open.start,
        None => {
            // Its ENTER is not in the input (rotated away, or lost): begin it from the duration.
            let start = micros.saturating_sub(duration);
            writer.begin(pid, call, start, None)?;
            start
        }
    };
    let tid = writer.tid(pid, &call.thread)?;
    let args = EndArgs {
        event: event.name(),
        duration_micros: Some(duration),
        thread: Some(&call.thread),
        result: result.and_then(|raw| RawValue::from_string(decoded(raw).into_owned()).ok()),
        error: error.map(|raw| decoded(raw).into_owned()),
    };
    writer.end(
        pid,
        tid,
        call.id,
        (&call.module, &call.function),
        start + duration,
        args,
    )
}
