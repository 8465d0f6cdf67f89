//! `timeline`: the records of one thread, of one call and everything under it, or of one
//! distributed trace across processes, in time order, windowed by a start time, an offset and
//! a limit.

use std::collections::BinaryHeap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calls::thread_named;
use super::common::{limit, offset, resolve, utc};
use super::error::ToolError;
use super::index::{End, NO_CALL, NO_POSITION, TraceIndex};
use super::traces::Stitched;

const DEFAULT_RECORDS: u64 = 50;
const MAX_RECORDS: u64 = 1_000;
const MAX_OFFSET: u64 = 100_000;

/// The input of `timeline`: give `thread`, `id` or `trace`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TimelineParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// The records written on this thread (exact name).
    pub(crate) thread: Option<String>,
    /// The records of this call and of every call under it.
    pub(crate) id: Option<u64>,
    /// The records of this distributed trace (32 hex digits), in every process.
    pub(crate) trace: Option<String>,
    /// Only this process (for `thread`), or the process of `id` when it is in several.
    pub(crate) segment: Option<u32>,
    /// Start at this time (epoch microseconds).
    pub(crate) from: Option<u64>,
    /// Records to return (default 50, at most 1000).
    pub(crate) limit: Option<u64>,
    /// Records to skip first, for the next page (at most 100000; use `from` to go further).
    pub(crate) offset: Option<u64>,
}

/// One record of the timeline.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    /// UTC.
    pub(crate) time: String,
    pub(crate) micros: u64,
    /// ENTER, EXIT, EXCEPTION, PANIC or CANCEL.
    pub(crate) event: &'static str,
    pub(crate) segment: u32,
    pub(crate) id: u64,
    /// `module::function`.
    pub(crate) function: String,
    pub(crate) thread: String,
    /// Calls above this one (0 at a root; with `trace`, counted across processes).
    pub(crate) depth: u32,
    /// On ENTER: the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) args: Option<String>,
    /// On closing records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_micros: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The result of `timeline`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Timeline {
    pub(crate) records: Vec<Entry>,
    /// Records selected in all (from `from` on).
    pub(crate) total: u64,
    pub(crate) offset: u64,
    /// Whether records follow these (ask again with `offset` + `limit`, or a later `from`).
    pub(crate) more: bool,
}

/// A record to place: its time, then its place in the file (for ties), the call, and whether
/// it is the call's closing record.
type Key = (u64, u32, u64, u32, bool);

/// Runs `timeline`.
pub(crate) fn timeline(trace: &TraceIndex, params: &TimelineParams) -> Result<Timeline, ToolError> {
    let shown = limit("limit", params.limit, DEFAULT_RECORDS, MAX_RECORDS)?;
    let skip = offset(params.offset, MAX_OFFSET)?;
    let from = params.from.unwrap_or(0);
    let window = skip + shown;
    // The first `window` records in time order: a max-heap that drops the latest.
    let mut heap: BinaryHeap<Key> = BinaryHeap::with_capacity(window + 1);
    let mut total = 0u64;
    let mut take = |key: Key| {
        if key.0 < from {
            return;
        }
        total += 1;
        heap.push(key);
        if heap.len() > window {
            heap.pop();
        }
    };
    let keys = |index: u32| {
        let call = &trace.calls[index as usize];
        let enter = (call.start, call.segment, call.enter_at, index, false);
        let close = (call.close_at != NO_POSITION).then(|| {
            (
                call.start.saturating_add(call.duration),
                call.segment,
                call.close_at,
                index,
                true,
            )
        });
        (enter, close)
    };
    // With a trace, depths count the calls above across processes.
    let mut depths: Option<std::collections::HashMap<u32, u32>> = None;
    match (&params.thread, params.id, params.trace.as_deref()) {
        (Some(name), None, None) => {
            let thread = thread_named(trace, name)?;
            for (index, call) in trace.calls.iter().enumerate() {
                if params.segment.is_some_and(|s| s != call.segment) {
                    continue;
                }
                let (enter, close) = keys(index as u32);
                if call.thread == thread {
                    take(enter);
                }
                if call.closed_on == thread
                    && let Some(close) = close
                {
                    take(close);
                }
            }
        }
        (None, None, Some(id)) => {
            let members = Stitched::of(trace, id)?.members;
            for &(index, _) in &members {
                let (enter, close) = keys(index);
                take(enter);
                close.into_iter().for_each(&mut take);
            }
            depths = Some(members.into_iter().collect());
        }
        (None, Some(id), None) => {
            let mut stack = vec![resolve(trace, id, params.segment)?];
            while let Some(index) = stack.pop() {
                let (enter, close) = keys(index);
                take(enter);
                close.into_iter().for_each(&mut take);
                stack.extend_from_slice(trace.children_of(index));
            }
        }
        _ => return Err(ToolError::ThreadOrId),
    }
    let mut selected = heap.into_sorted_vec();
    let records = selected
        .drain(skip.min(selected.len())..)
        .map(|key| {
            let depth = depths.as_ref().and_then(|d| d.get(&key.3).copied());
            entry(trace, key, depth)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Timeline {
        more: total > (skip + records.len()) as u64,
        records,
        total,
        offset: skip as u64,
    })
}

/// The record `key`, at `depth` when known, else at its depth in its process.
fn entry(
    trace: &TraceIndex,
    (micros, segment, _, index, closing): Key,
    depth: Option<u32>,
) -> Result<Entry, ToolError> {
    let call = &trace.calls[index as usize];
    let details = trace.details(call)?;
    let depth = depth.unwrap_or_else(|| {
        let mut depth = 0;
        let mut parent = call.parent;
        while parent != NO_CALL {
            depth += 1;
            parent = trace.calls[parent as usize].parent;
        }
        depth
    });
    let (event, thread) = match (closing, call.end) {
        (false, _) | (true, End::Open) => ("ENTER", call.thread),
        (true, end) => (end.name(), call.closed_on),
    };
    Ok(Entry {
        time: utc(micros),
        micros,
        event,
        segment,
        id: call.id,
        function: trace.full_name(call),
        thread: trace.threads[thread as usize].to_string(),
        depth,
        args: (!closing).then_some(details.args),
        duration_micros: closing.then_some(call.duration),
        result: details.result.filter(|_| closing),
        error: details.error.filter(|_| closing),
    })
}
