//! `flowtrace flame`: a flame graph of where the time went, by call path.
//!
//! Each completed call adds its *self time* (its duration less the durations of its traced
//! children, never below zero: async children may overlap) to the stack of `module::function`
//! names from its root down to it, in microseconds. The stacks are written in the folded format
//! (`root;child;grandchild 123`, one line per path, sorted), which `--format folded` prints for
//! other tools, or drawn as an SVG with the `inferno` crate.
//!
//! Streaming: only the open calls of each process segment and one total per distinct path are
//! kept. Calls never closed (a crash, a file cut short) have no duration and add nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;

use crate::error::Error;
use crate::ids::IdMap;
use crate::input::{self, Stream, Summary};
use crate::progress::Progress;
use crate::record::Body;

/// Output formats of `flame`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// An interactive SVG flame graph.
    #[default]
    Svg,
    /// Folded stacks (`a;b;c 42`, self microseconds), for flamegraph.pl, speedscope and others.
    Folded,
}

/// An open call: its stack and the time its children took so far.
struct Open {
    stack: Rc<str>,
    children_micros: u64,
}

/// Self microseconds per call path.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    stacks: BTreeMap<Rc<str>, u64>,
}

impl Folded {
    /// Reads every record of `streams`.
    pub(crate) fn read(
        streams: &[Stream],
        progress: &mut Progress,
    ) -> Result<(Self, Summary), Error> {
        let mut folded = Self::default();
        let mut open: Vec<IdMap<Open>> = Vec::new();
        let summary = input::for_each_record(streams, progress, |segment, _, record| {
            if segment == open.len() {
                open.push(IdMap::default());
            }
            let calls = &mut open[segment];
            match record.body {
                Body::Enter { call, .. } => {
                    let name = format!("{}::{}", call.module, call.function);
                    // `;` separates frames in the folded format.
                    let name = name.replace(';', ":");
                    let stack: Rc<str> = match call.parent.and_then(|p| calls.get(&p)) {
                        Some(parent) => format!("{};{name}", parent.stack).into(),
                        None => name.into(),
                    };
                    calls.insert(
                        call.id,
                        Open {
                            stack,
                            children_micros: 0,
                        },
                    );
                }
                Body::Close {
                    call,
                    duration_micros,
                    ..
                } => {
                    if let Some(closed) = calls.remove(&call.id) {
                        let own = duration_micros.saturating_sub(closed.children_micros);
                        *folded.stacks.entry(closed.stack).or_default() += own;
                        if let Some(parent) = call.parent.and_then(|p| calls.get_mut(&p)) {
                            parent.children_micros += duration_micros;
                        }
                    }
                }
                Body::Start(_) | Body::Dropped { .. } => {}
            }
            Ok(())
        })?;
        Ok((folded, summary))
    }

    /// The folded lines, sorted by stack, without the paths that took no time of their own.
    pub(crate) fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.stacks
            .iter()
            .filter(|(_, micros)| **micros > 0)
            .map(|(stack, micros)| format!("{stack} {micros}"))
    }

    /// Writes the folded lines.
    pub(crate) fn write_folded(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for line in self.lines() {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }

    /// Draws the flame graph as SVG.
    pub(crate) fn write_svg(&self, title: &str, out: &mut dyn Write) -> Result<(), Error> {
        let lines: Vec<String> = self.lines().collect();
        if lines.is_empty() {
            return Err(Error::NothingToDraw);
        }
        let mut options = inferno::flamegraph::Options::default();
        options.title = title.to_owned();
        options.count_name = "µs".to_owned();
        options.name_type = "Call:".to_owned();
        inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), out)
            .map_err(Error::Stdout)
    }
}
