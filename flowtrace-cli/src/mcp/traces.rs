//! One distributed trace across the processes of an open trace, for `search`, `tree` and
//! `timeline` given a `trace` id: the kept root calls whose `ENTER` carries that id, with
//! everything under them. A root that continues a call of another process (its `remoteParent`
//! is that call's span id, derived from the segment's `START` instance and the call's id,
//! design §7) hangs under that call, among its children in start order, as `flowtrace tree
//! --trace` stitches it; a root whose remote parent is not in the files is a top of the trace.

use std::collections::{HashMap, HashSet};

use super::error::ToolError;
use super::index::TraceIndex;
use crate::ids::{IdMap, span_id};

/// A trace id given as 32 hex digits (either case).
pub(crate) fn parse_trace_id(text: &str) -> Result<u128, ToolError> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u128::from_str_radix(text, 16).map_err(|_| ToolError::BadTraceId(text.to_owned()))
    } else {
        Err(ToolError::BadTraceId(text.to_owned()))
    }
}

/// The calls of one trace, stitched across processes.
#[derive(Debug)]
pub(crate) struct Stitched {
    /// Its top calls, in the order they started.
    pub(crate) tops: Vec<u32>,
    /// Roots of other processes hanging under a call, by the call.
    remote_children: HashMap<u32, Vec<u32>>,
    /// Every call of the trace with its depth below its top, tops first, depth first.
    pub(crate) members: Vec<(u32, u32)>,
}

impl Stitched {
    /// The calls of trace `id` (32 hex digits) in `trace`.
    pub(crate) fn of(trace: &TraceIndex, id: &str) -> Result<Self, ToolError> {
        let wanted = parse_trace_id(id)?;
        let roots: Vec<_> = trace
            .trace_roots
            .iter()
            .filter(|root| root.trace == wanted)
            .collect();
        if roots.is_empty() {
            return Err(ToolError::NoSuchTrace {
                trace: format!("{wanted:032x}"),
                capped: trace.calls_seen > trace.calls.len() as u64,
            });
        }
        // A remote parent is a call of the same trace, so only its calls need a span id.
        let mut spans: IdMap<u32> = IdMap::default();
        let mut stack: Vec<u32> = roots.iter().map(|root| root.call).collect();
        while let Some(index) = stack.pop() {
            let call = &trace.calls[index as usize];
            let instance = trace.segments[call.segment as usize].start.as_ref();
            if let Some(span) = instance.and_then(|start| span_id(&start.instance, call.id)) {
                spans.insert(span, index);
            }
            stack.extend_from_slice(trace.children_of(index));
        }
        let mut remote_children: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut tops = Vec::new();
        for root in &roots {
            match root.remote_parent.and_then(|span| spans.get(&span)) {
                Some(&parent) if parent != root.call => {
                    remote_children.entry(parent).or_default().push(root.call)
                }
                _ => tops.push(root.call),
            }
        }
        let start_order = |&index: &u32| {
            let call = &trace.calls[index as usize];
            (call.start, call.segment, index)
        };
        tops.sort_by_key(start_order);
        for children in remote_children.values_mut() {
            children.sort_by_key(start_order);
        }
        let mut stitched = Self {
            tops,
            remote_children,
            members: Vec::new(),
        };
        stitched.walk(trace);
        // Remote parents that form a cycle (a damaged trace) hang under nothing reachable:
        // such roots become tops, so that no call of the trace is lost.
        let reached: HashSet<u32> = stitched.members.iter().map(|&(index, _)| index).collect();
        let lost: Vec<u32> = roots
            .iter()
            .map(|root| root.call)
            .filter(|call| !reached.contains(call))
            .collect();
        if !lost.is_empty() {
            for children in stitched.remote_children.values_mut() {
                children.retain(|child| !lost.contains(child));
            }
            stitched.tops.extend(lost);
            stitched.tops.sort_by_key(start_order);
            stitched.walk(trace);
        }
        Ok(stitched)
    }

    /// The calls under `top` alone, within its process (a tree asked for by call id).
    pub(crate) fn of_call(trace: &TraceIndex, top: u32) -> Self {
        let mut stitched = Self {
            tops: vec![top],
            remote_children: HashMap::new(),
            members: Vec::new(),
        };
        stitched.walk(trace);
        stitched
    }

    /// The children of call `index` in the trace: its own, and the roots of other processes
    /// that continue it, in the order they started.
    pub(crate) fn children(&self, trace: &TraceIndex, index: u32) -> Vec<u32> {
        let own = trace.children_of(index);
        match self.remote_children.get(&index) {
            None => own.to_vec(),
            Some(remote) => {
                let mut all: Vec<u32> = own.iter().chain(remote).copied().collect();
                all.sort_by_key(|&i| {
                    let call = &trace.calls[i as usize];
                    (call.start, call.segment, i)
                });
                all
            }
        }
    }

    /// How many calls are in the subtree of `index`, itself included.
    pub(crate) fn subtree_size(&self, trace: &TraceIndex, index: u32) -> u64 {
        let mut stack = vec![index];
        let mut count = 0;
        while let Some(at) = stack.pop() {
            count += 1;
            stack.extend(self.children(trace, at));
        }
        count
    }

    /// Lists the members, depth first from each top.
    fn walk(&mut self, trace: &TraceIndex) {
        let mut members = Vec::new();
        let mut stack: Vec<(u32, u32)> = self.tops.iter().rev().map(|&top| (top, 0)).collect();
        while let Some((index, depth)) = stack.pop() {
            members.push((index, depth));
            let children = self.children(trace, index);
            stack.extend(children.into_iter().rev().map(|child| (child, depth + 1)));
        }
        self.members = members;
    }
}
