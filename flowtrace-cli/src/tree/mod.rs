//! `flowtrace tree`: the call trees of a trace, roots first and children in the order they
//! started, each with its duration and its share of the parent's time, so the slow path stands
//! out. Each process segment (a file, or a run after a START in it) gets its own trees; with
//! `--trace ID`, the calls of one distributed trace across every file given are stitched into
//! one tree (`stitch`).
//!
//! Unlike `stats`, a tree needs every call of the trace (or, with `--id`, of one subtree) in
//! memory; the names are shared between calls.

mod stitch;

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use crate::error::Error;
use crate::format::{self, Palette, Styled};
use crate::ids::IdMap;
use crate::input::{self, Stream};
use crate::progress::Progress;
use crate::record::{Body, Event};
use crate::render::{self, Name};

/// What `tree` was asked to do.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Show only the subtree of this call.
    pub(crate) id: Option<u64>,
    /// Hide calls shorter than this (microseconds), with their subtrees.
    pub(crate) min_duration: Option<u64>,
    /// Show only this distributed trace (32 hex digits), across processes.
    pub(crate) trace: Option<String>,
}

#[derive(Clone, Debug)]
struct Node {
    id: u64,
    /// Epoch microseconds of its ENTER.
    start: u64,
    /// On roots: the W3C trace id and the remote parent's span id.
    trace: Option<Box<str>>,
    remote_parent: Option<u64>,
    /// The process it ran in, shown where the tree crosses into it (`--trace`).
    process: Option<Rc<str>>,
    module: Rc<str>,
    function: Rc<str>,
    args: String,
    thread: Rc<str>,
    /// The thread of the closing record, when it differs (an async call that hopped).
    closed_on: Option<Rc<str>>,
    duration: Option<u64>,
    end: Option<Event>,
    detail: String,
    children: Vec<usize>,
}

/// The calls of one process segment.
#[derive(Debug, Default)]
struct Forest {
    nodes: Vec<Node>,
    by_id: IdMap<usize>,
    roots: Vec<usize>,
    names: HashMap<String, Rc<str>>,
    /// Its file, and service and pid when it began with a START.
    title: String,
    /// Its name in a stitched trace: the service and pid, else the file.
    label: Rc<str>,
    /// From its START: span ids derive from it.
    instance: Option<String>,
}

impl Forest {
    fn intern(&mut self, name: &str) -> Rc<str> {
        if let Some(shared) = self.names.get(name) {
            return shared.clone();
        }
        let shared: Rc<str> = name.into();
        self.names.insert(name.to_owned(), shared.clone());
        shared
    }
}

/// Runs `tree` over `streams`, writing to `out`.
pub(crate) fn run(
    streams: &[Stream],
    options: &Options,
    palette: &Palette,
    progress: &mut Progress,
    out: &mut impl Write,
) -> Result<(), Error> {
    let mut forests: Vec<Forest> = Vec::new();
    let keep_all = options.trace.is_some();
    input::for_each_record(streams, progress, |segment, place, record| {
        if segment == forests.len() {
            forests.push(Forest::titled(place.path, &record.body));
        }
        let forest = &mut forests[segment];
        match record.body {
            Body::Enter { call, args, link } => {
                let parent = call.parent.and_then(|p| forest.by_id.get(&p).copied());
                let wanted =
                    keep_all || options.id.is_none_or(|id| id == call.id) || parent.is_some();
                if !wanted {
                    return Ok(());
                }
                let node = Node {
                    id: call.id,
                    start: record.micros,
                    trace: link.trace.map(Box::from),
                    remote_parent: link
                        .remote_parent
                        .and_then(|span| u64::from_str_radix(span, 16).ok()),
                    process: None,
                    module: forest.intern(&call.module),
                    function: forest.intern(&call.function),
                    args: render::args_inline(args),
                    thread: forest.intern(&call.thread),
                    closed_on: None,
                    duration: None,
                    end: None,
                    detail: String::new(),
                    children: Vec::new(),
                };
                let index = forest.nodes.len();
                forest.nodes.push(node);
                // An id seen before (an invalid trace) now names this newer call.
                forest.by_id.insert(call.id, index);
                match parent {
                    Some(parent) => forest.nodes[parent].children.push(index),
                    None => forest.roots.push(index),
                }
            }
            Body::Close {
                call,
                event,
                duration_micros,
                result,
                error,
            } => {
                let Some(&index) = forest.by_id.get(&call.id) else {
                    return Ok(());
                };
                let closed_on = (*forest.nodes[index].thread != *call.thread)
                    .then(|| forest.intern(&call.thread));
                let node = &mut forest.nodes[index];
                node.duration = Some(duration_micros);
                node.end = Some(event);
                node.closed_on = closed_on;
                node.detail = match (error, result) {
                    (Some(error), _) => render::value_inline(error),
                    (None, Some(result)) => format!("= {}", render::value_inline(result)),
                    (None, None) => String::new(),
                };
            }
            Body::Start(start) => forest.instance = Some(start.instance.to_owned()),
            Body::Dropped { .. } => {}
        }
        Ok(())
    })?;
    if let Some(trace) = &options.trace {
        let stitched = stitch::trace(&forests, trace);
        if stitched.roots.is_empty() {
            return Err(Error::NoSuchTrace(trace.clone()));
        }
        writeln!(out, "== trace {trace} ==").map_err(Error::Stdout)?;
        write_forest(&stitched, options, palette, out).map_err(Error::Stdout)?;
        return out.flush().map_err(Error::Stdout);
    }
    if let Some(id) = options.id
        && forests.iter().all(|f| f.roots.is_empty())
    {
        return Err(Error::NoSuchCall(id));
    }
    let several = forests.len() > 1;
    for forest in &forests {
        if several {
            writeln!(out, "== {} ==", forest.title).map_err(Error::Stdout)?;
        }
        write_forest(forest, options, palette, out).map_err(Error::Stdout)?;
    }
    out.flush().map_err(Error::Stdout)
}

impl Forest {
    /// An empty forest for the segment whose first record is `first`, read from `path`.
    fn titled(path: &std::path::Path, first: &Body<'_>) -> Self {
        let file = path.display().to_string();
        let (title, label) = match first {
            Body::Start(start) => {
                let process = format!("{} (pid {})", start.service, start.pid);
                (format!("{file} · {process}"), process)
            }
            _ => (file.clone(), file),
        };
        Self {
            title,
            label: label.into(),
            ..Self::default()
        }
    }
}

/// One line to print: a node with its drawing prefix, or a summary of hidden calls.
enum Entry {
    Node {
        index: usize,
        /// Prefix of this line (`│  ├─ `).
        prefix: String,
        /// Prefix inherited by its children (`│  │  `).
        inherited: String,
        parent_duration: Option<u64>,
    },
    Hidden {
        prefix: String,
        count: usize,
    },
}

fn write_forest(
    forest: &Forest,
    options: &Options,
    palette: &Palette,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let fast = |index: &usize| {
        let duration = forest.nodes[*index].duration;
        options
            .min_duration
            .is_some_and(|min| duration.is_some_and(|d| d < min))
    };
    // Depth-first with an explicit stack: recursion in the traced program must not overflow ours.
    let mut stack: Vec<Entry> = Vec::new();
    let mut hidden_roots = 0;
    for &root in forest.roots.iter().rev() {
        if fast(&root) {
            hidden_roots += 1;
            continue;
        }
        stack.push(Entry::Node {
            index: root,
            prefix: String::new(),
            inherited: String::new(),
            parent_duration: None,
        });
    }
    while let Some(entry) = stack.pop() {
        let (index, prefix, inherited, parent_duration) = match entry {
            Entry::Hidden { prefix, count } => {
                let plural = if count == 1 { "call" } else { "calls" };
                let text = format!("… {count} faster {plural} hidden");
                writeln!(
                    out,
                    "{:18}{}{}",
                    "",
                    Styled(palette.dim, &prefix),
                    Styled(palette.dim, &text)
                )?;
                continue;
            }
            Entry::Node {
                index,
                prefix,
                inherited,
                parent_duration,
            } => (index, prefix, inherited, parent_duration),
        };
        let node = &forest.nodes[index];
        write_node(node, &prefix, parent_duration, palette, out)?;
        let shown: Vec<usize> = node.children.iter().copied().filter(|c| !fast(c)).collect();
        let hidden = node.children.len() - shown.len();
        let last = shown.len() + usize::from(hidden > 0);
        if hidden > 0 {
            stack.push(Entry::Hidden {
                prefix: format!("{inherited}└─ "),
                count: hidden,
            });
        }
        for (position, &child) in shown.iter().enumerate().rev() {
            let is_last = position + 1 == last;
            let (branch, through) = if is_last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            stack.push(Entry::Node {
                index: child,
                prefix: format!("{inherited}{branch}"),
                inherited: format!("{inherited}{through}"),
                parent_duration: Some(node.duration.unwrap_or(0)),
            });
        }
    }
    if hidden_roots > 0 {
        let plural = if hidden_roots == 1 { "call" } else { "calls" };
        let text = format!("… {hidden_roots} faster root {plural} hidden");
        writeln!(out, "{}", Styled(palette.dim, &text))?;
    }
    Ok(())
}

fn write_node(
    node: &Node,
    prefix: &str,
    parent_duration: Option<u64>,
    palette: &Palette,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let duration = match node.duration {
        Some(micros) => {
            let text = format!("{:>9}", format::duration(micros));
            Styled(palette.duration(micros), &text).to_string()
        }
        None => format!("{:>9}", "?"),
    };
    let share = match (node.duration, parent_duration) {
        (Some(own), Some(parent)) if parent > 0 => {
            format!("{:>6.1}%", own as f64 * 100.0 / parent as f64)
        }
        _ => " ".repeat(7),
    };
    let name = Name {
        module: &node.module,
        function: &node.function,
        palette,
    };
    write!(
        out,
        "{duration} {share} {}{name}({})",
        Styled(palette.dim, &prefix),
        node.args
    )?;
    match node.end {
        Some(Event::Exception) => {
            let text = format!("✗ EXCEPTION: {}", node.detail);
            write!(out, "  {}", Styled(palette.error, &text))?;
        }
        Some(Event::Panic) => {
            let text = format!("‼ PANIC: {}", node.detail);
            write!(out, "  {}", Styled(palette.panic, &text))?;
        }
        Some(Event::Cancel) => write!(out, "  {}", Styled(palette.cancel, &"⊘ CANCEL"))?,
        None => write!(out, "  {}", Styled(palette.cancel, &"(not closed)"))?,
        _ if !node.detail.is_empty() => write!(out, " {}", node.detail)?,
        _ => {}
    }
    let threads = match &node.closed_on {
        Some(other) => format!("[{} → {other}]", node.thread),
        None => format!("[{}]", node.thread),
    };
    write!(
        out,
        "  {}  {}",
        Styled(palette.dim, &threads),
        Styled(palette.dim, &format_args!("#{}", node.id))
    )?;
    match &node.process {
        Some(process) => writeln!(out, "  @ {process}"),
        None => writeln!(out),
    }
}
