//! `tree` (the calls under one call, like `flowtrace tree --id`, or of one distributed trace
//! across processes, like `flowtrace tree --trace`, depth- and size-limited) and
//! `critical_path` (the chain of children that accounts for most of a call's time).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CallInfo, call_info, limit, min_duration, resolve};
use super::error::ToolError;
use super::index::TraceIndex;
use super::traces::Stitched;

const DEFAULT_DEPTH: u64 = 4;
const MAX_DEPTH: u64 = 100;
const DEFAULT_NODES: u64 = 50;
const MAX_NODES: u64 = 1_000;
const DEFAULT_STEPS: u64 = 20;
const MAX_STEPS: u64 = 100;

/// The input of `tree`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TreeParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// The call at the top of the tree (give this or `trace`).
    pub(crate) id: Option<u64>,
    /// Or a distributed trace (32 hex digits): its root calls in every process, each that
    /// continues a call of another process shown under that call.
    pub(crate) trace: Option<String>,
    /// The process of `id`, when the id is in several (see `open`'s `processes`).
    pub(crate) segment: Option<u32>,
    /// Levels below the call to show (default 4, at most 100; 0 shows the call alone).
    pub(crate) depth: Option<u64>,
    /// Calls to show in all (default 50, at most 1000).
    pub(crate) limit: Option<u64>,
    /// Hide calls shorter than this, with what they called, e.g. `1ms`.
    pub(crate) min_duration: Option<String>,
}

/// A call in a tree.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TreeNode {
    /// 0 for the call asked for (or a top of the trace), 1 for its children, …
    pub(crate) depth: u32,
    /// Its share of its parent's time, in percent (absent at the top).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) share_percent: Option<f64>,
    /// Its direct children, shown or not (with a trace: those in other processes too).
    pub(crate) children: u32,
    #[serde(flatten)]
    pub(crate) call: CallInfo,
}

/// The result of `tree`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tree {
    /// Depth first, children in the order they started.
    pub(crate) nodes: Vec<TreeNode>,
    /// Calls in the whole subtree (or trace).
    pub(crate) total: u64,
    /// Calls hidden by `minDuration` (with their subtrees).
    pub(crate) hidden_faster: u64,
    /// Whether calls of the subtree are not shown (depth, limit or `minDuration`).
    pub(crate) more: bool,
}

/// `part` as a percentage of `whole`, to one decimal.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// Runs `tree`.
pub(crate) fn tree(trace: &TraceIndex, params: &TreeParams) -> Result<Tree, ToolError> {
    let depth_limit = match params.depth.unwrap_or(DEFAULT_DEPTH) {
        depth if depth > MAX_DEPTH => {
            return Err(ToolError::OverMaximum {
                name: "depth",
                value: depth,
                max: MAX_DEPTH,
            });
        }
        depth => depth as u32,
    };
    let shown = limit("limit", params.limit, DEFAULT_NODES, MAX_NODES)?;
    let min = min_duration(params.min_duration.as_deref())?;
    let calls = match (params.id, params.trace.as_deref()) {
        (Some(id), None) => Stitched::of_call(trace, resolve(trace, id, params.segment)?),
        (None, Some(id)) => Stitched::of(trace, id)?,
        _ => return Err(ToolError::IdOrTrace),
    };
    let mut nodes = Vec::new();
    let mut hidden_faster = 0;
    // Depth first with an explicit stack: a deep recursion in the traced program must not
    // overflow ours.
    let mut stack: Vec<(u32, u32, Option<u64>)> =
        calls.tops.iter().rev().map(|&top| (top, 0, None)).collect();
    while let Some((index, depth, parent_duration)) = stack.pop() {
        if nodes.len() == shown {
            break;
        }
        let call = &trace.calls[index as usize];
        let duration = trace.effective_duration(call);
        let children = calls.children(trace, index);
        nodes.push(TreeNode {
            depth,
            share_percent: parent_duration.and_then(|parent| share(duration, parent)),
            children: children.len() as u32,
            call: call_info(trace, index)?,
        });
        if depth == depth_limit {
            continue;
        }
        for &child in children.iter().rev() {
            let fast =
                min.is_some_and(|min| trace.effective_duration(&trace.calls[child as usize]) < min);
            if fast {
                hidden_faster += calls.subtree_size(trace, child);
            } else {
                stack.push((child, depth + 1, Some(duration)));
            }
        }
    }
    let total = calls.members.len() as u64;
    Ok(Tree {
        more: (nodes.len() as u64) < total,
        nodes,
        total,
        hidden_faster,
    })
}

/// The input of `critical_path`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CriticalPathParams {
    /// The handle `open` returned.
    pub(crate) handle: String,
    /// The (slow) call to explain.
    pub(crate) id: u64,
    /// Its process, when the id is in several.
    pub(crate) segment: Option<u32>,
    /// Steps to follow at most (default 20, at most 100).
    pub(crate) limit: Option<u64>,
}

/// One call on the critical path.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Step {
    /// Its share of the previous step's time, in percent (absent for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) share_percent: Option<f64>,
    /// Its share of the first step's time, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) of_total_percent: Option<f64>,
    /// Time in the call itself, covered by none of its children.
    pub(crate) self_micros: u64,
    /// Its children besides the next step (all of them at the end of the chain).
    pub(crate) other_children: u32,
    #[serde(flatten)]
    pub(crate) call: CallInfo,
}

/// Where the time goes: the step with the most time of its own.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Hotspot {
    pub(crate) id: u64,
    pub(crate) function: String,
    pub(crate) self_micros: u64,
    /// Its own time as a share of the first step's time, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) of_total_percent: Option<f64>,
}

/// The result of `critical_path`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CriticalPath {
    /// From the call down, each step the longest child of the one before.
    pub(crate) steps: Vec<Step>,
    /// Whether the chain goes on past `limit`.
    pub(crate) more: bool,
    pub(crate) hotspot: Hotspot,
}

/// Time of `index` covered by none of its children (their intervals merged).
fn self_time(trace: &TraceIndex, index: u32) -> u64 {
    let call = &trace.calls[index as usize];
    let (begin, end) = (
        call.start,
        call.start.saturating_add(trace.effective_duration(call)),
    );
    let mut spans: Vec<(u64, u64)> = trace
        .children_of(index)
        .iter()
        .map(|&c| {
            let child = &trace.calls[c as usize];
            let start = child.start.clamp(begin, end);
            (
                start,
                (child.start.saturating_add(trace.effective_duration(child))).clamp(start, end),
            )
        })
        .collect();
    spans.sort_unstable();
    let mut covered = 0;
    let mut reach = begin;
    for (start, stop) in spans {
        let start = start.max(reach);
        if stop > start {
            covered += stop - start;
            reach = stop;
        }
    }
    (end - begin).saturating_sub(covered)
}

/// Runs `critical_path`.
pub(crate) fn critical_path(
    trace: &TraceIndex,
    params: &CriticalPathParams,
) -> Result<CriticalPath, ToolError> {
    let max_steps = limit("limit", params.limit, DEFAULT_STEPS, MAX_STEPS)?;
    let first = resolve(trace, params.id, params.segment)?;
    let total = trace.effective_duration(&trace.calls[first as usize]);
    let mut chain = vec![first];
    let mut more = false;
    loop {
        let last = chain[chain.len() - 1];
        // The longest child; the first one started on a tie.
        let next = trace
            .children_of(last)
            .iter()
            .copied()
            .rev()
            .max_by_key(|&c| trace.effective_duration(&trace.calls[c as usize]));
        match next {
            Some(_) if chain.len() == max_steps => {
                more = true;
                break;
            }
            Some(next) => chain.push(next),
            None => break,
        }
    }
    let last = chain[chain.len() - 1];
    let mut steps = Vec::with_capacity(chain.len());
    let mut previous: Option<u64> = None;
    for &index in &chain {
        let duration = trace.effective_duration(&trace.calls[index as usize]);
        steps.push(Step {
            share_percent: previous.and_then(|p| share(duration, p)),
            of_total_percent: share(duration, total),
            self_micros: self_time(trace, index),
            other_children: (trace.children_of(index).len() - usize::from(index != last || more))
                as u32,
            call: call_info(trace, index)?,
        });
        previous = Some(duration);
    }
    let hot = steps
        .iter()
        .rev()
        .max_by_key(|s| s.self_micros)
        .map_or((0, String::new(), 0), |s| {
            (s.call.id, s.call.function.clone(), s.self_micros)
        });
    Ok(CriticalPath {
        steps,
        more,
        hotspot: Hotspot {
            id: hot.0,
            function: hot.1,
            self_micros: hot.2,
            of_total_percent: share(hot.2, total),
        },
    })
}
