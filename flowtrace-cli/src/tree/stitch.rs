//! `tree --trace ID`: one distributed trace stitched across process segments.
//!
//! Every root call of the trace carries its `trace` id. A root that continues another process's
//! call names that call's span as `remoteParent`; the span id of a call is derived from its
//! segment's START `instance` and its `id` (design §7), so the parent is found by deriving the
//! span id of every call in the files. Such a root hangs under its remote parent, among that
//! call's children in start order; a root whose remote parent is not in the files (or that has
//! none) is a root of the stitched tree. Where the tree enters a process, the line names it.

use std::collections::{HashMap, VecDeque};

use super::{Forest, Node};
use crate::ids::{IdMap, span_id};

/// A node of some segment: (segment, index in its forest).
type At = (usize, usize);

/// The calls of trace `trace` in `forests`, as one forest.
pub(super) fn trace(forests: &[Forest], trace: &str) -> Forest {
    let in_trace: Vec<At> = forests
        .iter()
        .enumerate()
        .flat_map(|(segment, forest)| {
            forest
                .roots
                .iter()
                .filter(|&&root| forest.nodes[root].trace.as_deref() == Some(trace))
                .map(move |&root| (segment, root))
        })
        .collect();
    let spans = spans_of_parents(forests, &in_trace);
    let mut remote_children: HashMap<At, Vec<At>> = HashMap::new();
    let mut tops: Vec<(At, Option<u64>)> = Vec::new();
    for &(segment, root) in &in_trace {
        let remote = forests[segment].nodes[root].remote_parent;
        match remote.and_then(|span| spans.get(&span)) {
            Some(&parent) => remote_children
                .entry(parent)
                .or_default()
                .push((segment, root)),
            None => tops.push(((segment, root), remote)),
        }
    }
    tops.sort_by_key(|&((segment, root), _)| (forests[segment].nodes[root].start, segment));

    let mut stitched = Forest::default();
    // Breadth first, so each node's children are appended in the order they are listed.
    let mut queue: VecDeque<(At, Option<usize>, Option<String>)> = VecDeque::new();
    for ((segment, root), remote) in tops {
        let label = match remote {
            Some(span) => format!(
                "{} ← remote parent {span:016x} not in these files",
                forests[segment].label
            ),
            None => forests[segment].label.to_string(),
        };
        queue.push_back(((segment, root), None, Some(label)));
    }
    while let Some(((segment, index), parent, label)) = queue.pop_front() {
        let forest = &forests[segment];
        let node = &forest.nodes[index];
        let copy = stitched.nodes.len();
        stitched.nodes.push(Node {
            process: label.map(Into::into),
            children: Vec::new(),
            trace: None,
            ..node.clone()
        });
        match parent {
            Some(parent) => stitched.nodes[parent].children.push(copy),
            None => stitched.roots.push(copy),
        }
        let mut children: Vec<(u64, At, bool)> = node
            .children
            .iter()
            .map(|&child| (forest.nodes[child].start, (segment, child), false))
            .collect();
        if let Some(remote) = remote_children.get(&(segment, index)) {
            children.extend(
                remote
                    .iter()
                    .map(|&(s, root)| (forests[s].nodes[root].start, (s, root), true)),
            );
            children.sort_by_key(|&(start, at, _)| (start, at));
        }
        for (_, at, crosses) in children {
            let label = crosses.then(|| forests[at.0].label.to_string());
            queue.push_back((at, Some(copy), label));
        }
    }
    stitched
}

/// Where the remote parents named by `roots` are: span id → node.
fn spans_of_parents(forests: &[Forest], roots: &[At]) -> IdMap<At> {
    let wanted: IdMap<()> = roots
        .iter()
        .filter_map(|&(segment, root)| forests[segment].nodes[root].remote_parent)
        .map(|span| (span, ()))
        .collect();
    let mut found = IdMap::default();
    if wanted.is_empty() {
        return found;
    }
    for (segment, forest) in forests.iter().enumerate() {
        let Some(instance) = &forest.instance else {
            continue;
        };
        for (index, node) in forest.nodes.iter().enumerate() {
            if let Some(span) = span_id(instance, node.id)
                && wanted.contains_key(&span)
            {
                found.insert(span, (segment, index));
            }
        }
    }
    found
}
