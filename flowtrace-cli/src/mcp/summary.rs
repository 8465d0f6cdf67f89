//! `summary` (the table of `flowtrace stats`) and `errors` (failed calls grouped by function and
//! message): the aggregates `open` computed over the whole trace.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CallInfo, Page, PathStep, Pattern, call_info, limit, path_to, selected_names};
use super::error::ToolError;
use super::index::{NO_CALL, TraceIndex};
use crate::stats::SortBy;

const DEFAULT_ROWS: u64 = 20;
const MAX_ROWS: u64 = 1_000;

/// The order of `summary`, largest first.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SummarySort {
    /// Total time spent in the function.
    #[default]
    Total,
    /// Mean duration.
    Mean,
    /// 99th percentile duration.
    P99,
    /// Number of calls.
    Count,
}

/// The input of `summary`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SummaryParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// Order, largest first (default total).
    pub(crate) sort: Option<SummarySort>,
    /// Only functions whose name matches: a substring, or a glob with `*` and `?`; matched
    /// against `module::function` when it contains `::`.
    pub(crate) function: Option<String>,
    /// Rows to return (default 20, at most 1000).
    pub(crate) limit: Option<u64>,
}

/// One function's statistics, durations in microseconds.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionStats {
    /// `module::function`.
    pub(crate) function: String,
    /// Closing records.
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) panics: u64,
    pub(crate) cancels: u64,
    pub(crate) total_micros: u64,
    pub(crate) mean_micros: u64,
    pub(crate) p50_micros: u64,
    pub(crate) p95_micros: u64,
    pub(crate) p99_micros: u64,
    pub(crate) max_micros: u64,
}

/// The result of `summary`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub(crate) functions: Page<FunctionStats>,
    pub(crate) records: u64,
    pub(crate) malformed: u64,
    /// Records the writer lost (`DROPPED`).
    pub(crate) dropped: u64,
}

/// Runs `summary`.
pub(crate) fn summary(trace: &TraceIndex, params: &SummaryParams) -> Result<Summary, ToolError> {
    let shown = limit("limit", params.limit, DEFAULT_ROWS, MAX_ROWS)?;
    let sort = match params.sort.unwrap_or_default() {
        SummarySort::Total => SortBy::Total,
        SummarySort::Mean => SortBy::Mean,
        SummarySort::P99 => SortBy::P99,
        SummarySort::Count => SortBy::Count,
    };
    let wanted = Pattern::new("function", params.function.as_deref())?;
    let rows: Vec<_> = trace
        .stats
        .rows(sort)
        .into_iter()
        .filter(|row| {
            wanted
                .as_ref()
                .is_none_or(|p| p.matches_name(row.module, row.function))
        })
        .collect();
    Ok(Summary {
        functions: Page {
            total: rows.len() as u64,
            more: rows.len() > shown,
            items: rows
                .iter()
                .take(shown)
                .map(|row| FunctionStats {
                    function: row.name(),
                    calls: row.calls,
                    errors: row.errors,
                    panics: row.panics,
                    cancels: row.cancels,
                    total_micros: row.total_micros,
                    mean_micros: row.mean_micros,
                    p50_micros: row.p50_micros,
                    p95_micros: row.p95_micros,
                    p99_micros: row.p99_micros,
                    max_micros: row.max_micros,
                })
                .collect(),
        },
        records: trace.records,
        malformed: trace.malformed,
        dropped: trace.stats.dropped(),
    })
}

/// The input of `errors`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ErrorsParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// Only functions whose name matches (substring, or glob with `*` and `?`).
    pub(crate) function: Option<String>,
    /// Groups to return, most frequent first (default 20, at most 1000).
    pub(crate) limit: Option<u64>,
}

/// One call of a group, with its path from the root.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Example {
    pub(crate) call: CallInfo,
    /// From the root down to the call.
    pub(crate) path: Vec<PathStep>,
    /// Ancestors above the path's first step that were left out.
    pub(crate) path_omitted: u64,
}

/// Calls of one function that ended with one event and one message.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorGroupInfo {
    /// `module::function`.
    pub(crate) function: String,
    /// EXCEPTION, PANIC or CANCEL.
    pub(crate) event: &'static str,
    /// The error or panic message, cut to 300 characters (absent for CANCEL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    pub(crate) count: u64,
    /// The first such call (absent when the index did not keep it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) example: Option<Example>,
}

/// The result of `errors`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Errors {
    pub(crate) groups: Page<ErrorGroupInfo>,
    /// Failed calls in all the groups listed or not.
    pub(crate) failed_calls: u64,
    /// Failed calls not grouped, past the limit of distinct messages kept.
    pub(crate) ungrouped: u64,
}

/// Runs `errors`.
pub(crate) fn errors(trace: &TraceIndex, params: &ErrorsParams) -> Result<Errors, ToolError> {
    let shown = limit("limit", params.limit, DEFAULT_ROWS, MAX_ROWS)?;
    let names = selected_names(trace, params.function.as_deref(), None)?;
    let mut groups: Vec<_> = trace
        .error_groups
        .iter()
        .filter(|g| names[g.name as usize])
        .collect();
    let name = |g: &&super::index::ErrorGroup| {
        let (module, function) = &trace.names[g.name as usize];
        (module.clone(), function.clone())
    };
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| name(a).cmp(&name(b)))
            .then_with(|| (a.end, &a.message).cmp(&(b.end, &b.message)))
    });
    let failed_calls = groups.iter().map(|g| g.count).sum::<u64>();
    let items = groups
        .iter()
        .take(shown)
        .map(|group| {
            let example = match group.example {
                NO_CALL => None,
                index => {
                    let (path, path_omitted) = path_to(trace, index);
                    Some(Example {
                        call: call_info(trace, index)?,
                        path,
                        path_omitted,
                    })
                }
            };
            let (module, function) = &trace.names[group.name as usize];
            Ok(ErrorGroupInfo {
                function: if module.is_empty() {
                    function.to_string()
                } else {
                    format!("{module}::{function}")
                },
                event: group.end.name(),
                message: group.message.as_deref().map(str::to_owned),
                count: group.count,
                example,
            })
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    Ok(Errors {
        groups: Page {
            total: groups.len() as u64,
            more: groups.len() > shown,
            items,
        },
        failed_calls,
        ungrouped: trace.error_groups_dropped,
    })
}
