//! `search` (calls matching filters, in the order they started, paged) and `slowest` (the K
//! longest calls, each with its path from the root): scans of the index.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    CallInfo, PathStep, call_info, limit, min_duration, offset, path_to, selected_names,
};
use super::error::ToolError;
use super::index::{Call, End, TraceIndex};
use super::traces::Stitched;

const DEFAULT_CALLS: u64 = 20;
const DEFAULT_SLOWEST: u64 = 10;
const MAX_CALLS: u64 = 1_000;
const MAX_OFFSET: u64 = 1_000_000;

/// The input of `search`; every filter given must hold.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SearchParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// Function name: a substring, or a glob with `*` and `?` (whole name); matched against
    /// `module::function` when it contains `::`.
    pub(crate) function: Option<String>,
    /// Module path: a substring, or a glob.
    pub(crate) module: Option<String>,
    /// How the call ended: EXIT, EXCEPTION, PANIC, CANCEL or OPEN (never closed).
    pub(crate) event: Option<String>,
    /// Text that occurs in the arguments, result or error (reads the candidates' lines: give
    /// other filters too on a large trace).
    pub(crate) text: Option<String>,
    /// Started at or after this time (epoch microseconds).
    pub(crate) from: Option<u64>,
    /// Started at or before this time (epoch microseconds).
    pub(crate) to: Option<u64>,
    /// Took at least this long, e.g. `5ms`, `250us`, `1.5s`.
    pub(crate) min_duration: Option<String>,
    /// Entered or closed on this thread (exact name).
    pub(crate) thread: Option<String>,
    /// In this distributed trace (32 hex digits): under a root call that carries it, in any
    /// process.
    pub(crate) trace: Option<String>,
    /// Calls to return (default 20, at most 1000).
    pub(crate) limit: Option<u64>,
    /// Matching calls to skip first, for the next page.
    pub(crate) offset: Option<u64>,
}

/// The result of `search`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Found {
    /// In the order they started.
    pub(crate) calls: Vec<CallInfo>,
    pub(crate) offset: u64,
    /// How many match in all; absent with `text`, where the scan stops once the page is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
    /// Whether more calls match after these (ask again with `offset` + `limit`).
    pub(crate) more: bool,
}

/// The event names `event` accepts.
fn end_named(name: &str) -> Result<End, ToolError> {
    Ok(match name {
        "EXIT" => End::Exit,
        "EXCEPTION" => End::Exception,
        "PANIC" => End::Panic,
        "CANCEL" => End::Cancel,
        "OPEN" => End::Open,
        _ => return Err(ToolError::BadEvent(name.to_owned())),
    })
}

/// The thread index of `name`, or an error listing some of the threads there are.
pub(crate) fn thread_named(trace: &TraceIndex, name: &str) -> Result<u32, ToolError> {
    trace.thread_index(name).ok_or_else(|| {
        let mut threads: Vec<&str> = trace.threads.iter().map(|t| &**t).take(10).collect();
        if trace.threads.len() > threads.len() {
            threads.push("…");
        }
        ToolError::NoSuchThread {
            name: name.to_owned(),
            threads: threads.join(", "),
        }
    })
}

/// Runs `search`.
pub(crate) fn search(trace: &TraceIndex, params: &SearchParams) -> Result<Found, ToolError> {
    let shown = limit("limit", params.limit, DEFAULT_CALLS, MAX_CALLS)?;
    let skip = offset(params.offset, MAX_OFFSET)?;
    let names = selected_names(trace, params.function.as_deref(), params.module.as_deref())?;
    let end = params.event.as_deref().map(end_named).transpose()?;
    let min = min_duration(params.min_duration.as_deref())?;
    let thread = params
        .thread
        .as_deref()
        .map(|name| thread_named(trace, name))
        .transpose()?;
    if let (Some(from), Some(to)) = (params.from, params.to)
        && from > to
    {
        return Err(ToolError::BadRange { from, to });
    }
    let in_trace = match params.trace.as_deref() {
        Some(id) => {
            let mut member = vec![false; trace.calls.len()];
            for (index, _) in Stitched::of(trace, id)?.members {
                member[index as usize] = true;
            }
            Some(member)
        }
        None => None,
    };
    let text = params.text.as_deref().filter(|t| !t.is_empty());
    let matches = |call: &Call| {
        names[call.name as usize]
            && end.is_none_or(|end| call.end == end)
            && thread.is_none_or(|t| call.thread == t || call.closed_on == t)
            && params.from.is_none_or(|from| call.start >= from)
            && params.to.is_none_or(|to| call.start <= to)
            && min.is_none_or(|min| call.end != End::Open && call.duration >= min)
    };
    let mut page = Vec::new();
    let mut seen = 0usize;
    let mut more = false;
    for (index, call) in trace.calls.iter().enumerate() {
        if !matches(call) || in_trace.as_ref().is_some_and(|member| !member[index]) {
            continue;
        }
        if let Some(needle) = text
            && !trace.mentions(call, needle)?
        {
            continue;
        }
        seen += 1;
        if seen <= skip {
            continue;
        }
        if page.len() == shown {
            more = true;
            if text.is_some() {
                break;
            }
            continue;
        }
        page.push(index as u32);
    }
    Ok(Found {
        calls: page
            .into_iter()
            .map(|i| call_info(trace, i))
            .collect::<Result<_, _>>()?,
        offset: skip as u64,
        total: text.is_none().then_some(seen as u64),
        more,
    })
}

/// The input of `slowest`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SlowestParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// Only calls of functions whose name matches (substring, or glob with `*` and `?`).
    pub(crate) function: Option<String>,
    /// How many calls, slowest first (default 10, at most 1000).
    pub(crate) limit: Option<u64>,
}

/// A slow call and where it ran.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlowCall {
    pub(crate) call: CallInfo,
    /// From the root down to the call.
    pub(crate) path: Vec<PathStep>,
    /// Ancestors above the path's first step that were left out.
    pub(crate) path_omitted: u64,
}

/// The result of `slowest`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Slowest {
    /// Slowest first (closed calls only).
    pub(crate) calls: Vec<SlowCall>,
    /// Closed calls that were candidates.
    pub(crate) total: u64,
    pub(crate) more: bool,
}

/// Runs `slowest`.
pub(crate) fn slowest(trace: &TraceIndex, params: &SlowestParams) -> Result<Slowest, ToolError> {
    let shown = limit("limit", params.limit, DEFAULT_SLOWEST, MAX_CALLS)?;
    let names = selected_names(trace, params.function.as_deref(), None)?;
    // A min-heap of the slowest so far; ties go to the call that started first.
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<u32>)>> = BinaryHeap::with_capacity(shown + 1);
    let mut total = 0u64;
    for (index, call) in trace.calls.iter().enumerate() {
        if call.end == End::Open || !names[call.name as usize] {
            continue;
        }
        total += 1;
        heap.push(Reverse((call.duration, Reverse(index as u32))));
        if heap.len() > shown {
            heap.pop();
        }
    }
    let mut chosen: Vec<(u64, Reverse<u32>)> =
        heap.into_iter().map(|Reverse(entry)| entry).collect();
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    let calls = chosen
        .into_iter()
        .map(|(_, Reverse(index))| {
            let (path, path_omitted) = path_to(trace, index);
            Ok(SlowCall {
                call: call_info(trace, index)?,
                path,
                path_omitted,
            })
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    Ok(Slowest {
        more: total > calls.len() as u64,
        calls,
        total,
    })
}
