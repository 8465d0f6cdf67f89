//! `open` and `close`: what a trace holds at a glance, once its index is built.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Page, limit, utc};
use super::error::ToolError;
use super::index::TraceIndex;
use crate::stats::SortBy;

/// Functions listed by `open` unless `limit` says otherwise, and at most.
const DEFAULT_FUNCTIONS: u64 = 50;
const MAX_FUNCTIONS: u64 = 1_000;
/// Files and processes listed by `open`, at most (a long rotated set is cut).
const MAX_LISTED: usize = 100;

/// The input of `open`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OpenParams {
    /// Trace files (absolute paths are safest). Each brings its rotated set (`x.jsonl` reads
    /// `x.jsonl.N` … `x.jsonl.1`, `x.jsonl`); several files are several processes.
    pub(crate) paths: Vec<String>,
    /// Also validate the trace as `flowtrace check` does (default true).
    pub(crate) check: Option<bool>,
    /// How many functions to list, busiest first (default 50, at most 1000).
    pub(crate) limit: Option<u64>,
}

/// The input of `close`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CloseParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
}

/// What `close` did.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Closed {
    pub(crate) closed: String,
}

/// One traced process of the trace.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Process {
    pub(crate) segment: u32,
    /// From the `START` record that began it; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pid: Option<u64>,
    /// Random per start (16 hex digits): tells apart runs with the same service and pid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) instance: Option<String>,
    /// Its files, oldest first.
    pub(crate) files: Page<String>,
    pub(crate) lines: u64,
    pub(crate) calls: u64,
    pub(crate) first_micros: u64,
    pub(crate) last_micros: u64,
}

/// A function and how many of its calls closed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCalls {
    /// `module::function`.
    pub(crate) function: String,
    pub(crate) calls: u64,
}

/// `flowtrace check`'s verdict.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verdict {
    pub(crate) ok: bool,
    pub(crate) violations: u64,
    /// The first violations, `file:line: what`.
    pub(crate) first: Vec<String>,
    /// Whether there are more violations than listed.
    pub(crate) more: bool,
    /// The summary line, as `flowtrace check` prints it.
    pub(crate) summary: String,
}

/// The result of `open`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Opened {
    /// Pass it to every other tool.
    pub(crate) handle: String,
    /// Every file read, in reading order.
    pub(crate) files: Page<String>,
    /// Complete lines read, valid or not.
    pub(crate) lines: u64,
    pub(crate) records: u64,
    /// Lines that are not records (skipped).
    pub(crate) malformed: u64,
    /// Last lines still being written (skipped).
    pub(crate) partial_lines: u64,
    /// Calls (`ENTER` records) in the trace.
    pub(crate) calls: u64,
    /// Calls the index keeps for `search`, `tree`, … (fewer than `calls` past `--max-calls`).
    pub(crate) indexed_calls: u64,
    /// Calls never closed by the end of the trace.
    pub(crate) open_calls: u64,
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) first_micros: u64,
    pub(crate) last_micros: u64,
    pub(crate) span_micros: u64,
    pub(crate) processes: Page<Process>,
    /// Functions by number of calls closed.
    pub(crate) functions: Page<FunctionCalls>,
    /// Absent when `check` was false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) check: Option<Verdict>,
}

/// How many functions `open` lists, from its `limit`.
pub(crate) fn functions_limit(value: Option<u64>) -> Result<usize, ToolError> {
    limit("limit", value, DEFAULT_FUNCTIONS, MAX_FUNCTIONS)
}

/// The first `max` items as a [`Page`].
fn listed<T>(items: impl ExactSizeIterator<Item = T>, max: usize) -> Page<T> {
    let total = items.len();
    Page {
        items: items.take(max).collect(),
        total: total as u64,
        more: total > max,
    }
}

/// The answer of `open` for the index just built under `handle`.
pub(crate) fn describe(
    handle: &str,
    trace: &TraceIndex,
    functions: Option<u64>,
) -> Result<Opened, ToolError> {
    let shown = functions_limit(functions)?;
    let rows = trace.stats.rows(SortBy::Count);
    let path = |i: usize| trace.files[i].path.display().to_string();
    let (first, last) = trace.time_range();
    Ok(Opened {
        handle: handle.to_owned(),
        files: listed((0..trace.files.len()).map(path), MAX_LISTED),
        lines: trace.records + trace.malformed,
        records: trace.records,
        malformed: trace.malformed,
        partial_lines: trace.partial_lines,
        calls: trace.calls_seen,
        indexed_calls: trace.calls.len() as u64,
        open_calls: trace
            .calls
            .iter()
            .filter(|c| c.close_at == u64::MAX)
            .count() as u64,
        first: utc(first),
        last: utc(last),
        first_micros: first,
        last_micros: last,
        span_micros: last - first,
        processes: listed(
            trace
                .segments
                .iter()
                .enumerate()
                .map(|(i, segment)| Process {
                    segment: i as u32,
                    service: segment.start.as_ref().map(|s| s.service.to_string()),
                    pid: segment.start.as_ref().map(|s| s.pid),
                    instance: segment.start.as_ref().map(|s| s.instance.to_string()),
                    files: listed(segment.files.clone().map(path), MAX_LISTED),
                    lines: segment.lines,
                    calls: segment.calls,
                    first_micros: segment.first,
                    last_micros: segment.last,
                }),
            MAX_LISTED,
        ),
        functions: Page {
            total: rows.len() as u64,
            more: rows.len() > shown,
            items: rows
                .iter()
                .take(shown)
                .map(|row| FunctionCalls {
                    function: row.name(),
                    calls: row.calls,
                })
                .collect(),
        },
        check: trace.check.as_ref().map(|report| Verdict {
            ok: report.is_ok(),
            violations: report.violation_count,
            first: report.violations.iter().map(ToString::to_string).collect(),
            more: report.violation_count > report.violations.len() as u64,
            summary: report
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned(),
        }),
    })
}
