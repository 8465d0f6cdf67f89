//! `flowtrace check`: validates every line against design §1 and the call invariants, as a
//! library ([`check_files`]) that the workspace's end-to-end tests call, and as a subcommand.
//!
//! Checked per line: valid JSON, every key known, in order, of the right type, present when its
//! event requires it and absent otherwise (see [`record`](crate::record)). Checked across lines,
//! per stream (a file and its rotated set): every `ENTER` id is new, its `parent` is an open call,
//! its closing record (`EXIT`/`EXCEPTION`/`PANIC`/`CANCEL`) comes once, after it, with the same
//! `parent`, `module` and `function`; every `ENTER` is closed by the end.
//!
//! Memory: the table of open calls, plus the ids of closed calls kept as ranges (the runtime hands
//! ids out from a counter, so they collapse to a few ranges), so a long trace is checked in
//! bounded memory. After a `DROPPED` record the stream has lost records by design: pairing rules
//! that a lost record could break (a closing record without `ENTER`, a parent not open, an
//! `ENTER` never closed) are no longer reported for it.

use std::fmt;
use std::path::PathBuf;

use crate::error::Error;
use crate::ids::{IdMap, IdRanges, name_hash};
use crate::input::{self, Item, LineReader, Stream};
use crate::progress::Progress;
use crate::record::{self, Body, Call, Event, Strictness};

/// How many violations a [`CheckReport`] keeps (and the CLI prints); the rest are only counted.
pub const MAX_VIOLATIONS: usize = 20;

/// A line of a trace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line number.
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// One broken rule, at the line that broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where: the offending line (for [`ViolationKind::NeverClosed`], the `ENTER`).
    pub location: Location,
    /// What.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)
    }
}

/// The rules of design §1 that a trace can break.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The line is not a valid record: not JSON, a key missing, unknown, misplaced, out of
    /// order or of the wrong type, an unknown event.
    #[error("{0}")]
    Malformed(String),
    /// A closing record whose id was never entered.
    #[error("{event} of call {id}, which has no ENTER before it")]
    CloseWithoutEnter {
        /// The call id.
        id: u64,
        /// `EXIT`, `EXCEPTION`, `PANIC` or `CANCEL`.
        event: String,
    },
    /// A second closing record for a call.
    #[error("{event} of call {id}, which was already closed")]
    ClosedTwice {
        /// The call id.
        id: u64,
        /// The second closing event.
        event: String,
    },
    /// An `ENTER` that no record closes.
    #[error("call {id} ({function}) is never closed")]
    NeverClosed {
        /// The call id.
        id: u64,
        /// `module::function` of the call.
        function: String,
    },
    /// An `ENTER` whose `parent` is not an open call.
    #[error("call {id} names parent {parent}, which is not an open call")]
    ParentNotOpen {
        /// The call id.
        id: u64,
        /// The parent it names.
        parent: u64,
    },
    /// An `ENTER` reusing the id of a call still open.
    #[error("ENTER reuses id {id} of the call still open since line {first_line}")]
    DuplicateEnter {
        /// The id.
        id: u64,
        /// Line of the earlier `ENTER`.
        first_line: u64,
    },
    /// An `ENTER` reusing the id of a call already closed.
    #[error("ENTER reuses id {id} of an earlier, closed call (several runs appended to one file?)")]
    ReusedId {
        /// The id.
        id: u64,
    },
    /// A closing record that disagrees with its `ENTER`.
    #[error("{event} of call {id} has another {what} than its ENTER")]
    CloseMismatch {
        /// The call id.
        id: u64,
        /// The closing event.
        event: String,
        /// `parent`, or `module or function`.
        what: &'static str,
    },
}

/// The outcome of checking a set of trace files.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Every file read, in reading order.
    pub files: Vec<PathBuf>,
    /// Lines read (complete lines, valid or not).
    pub lines: u64,
    /// `ENTER` records.
    pub calls: u64,
    /// Records lost according to `DROPPED` records.
    pub dropped: u64,
    /// Number of violations found.
    pub violation_count: u64,
    /// The first [`MAX_VIOLATIONS`] violations, in file order.
    pub violations: Vec<Violation>,
    /// Last lines without `\n` (a record being written): skipped, not violations.
    pub partial_lines: Vec<Location>,
}

impl CheckReport {
    /// Whether no rule was broken.
    pub fn is_ok(&self) -> bool {
        self.violation_count == 0
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in &self.violations {
            writeln!(f, "{violation}")?;
        }
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        if self.violation_count > self.violations.len() as u64 {
            writeln!(
                f,
                "… and {} more",
                self.violation_count - self.violations.len() as u64
            )?;
        }
        let verdict = if self.is_ok() {
            "ok:".to_owned()
        } else {
            format!("failed: {} in", plural(self.violation_count, "violation"))
        };
        write!(
            f,
            "check {verdict} {} ({}, {})",
            plural(self.lines, "line"),
            plural(self.calls, "call"),
            plural(self.files.len() as u64, "file")
        )?;
        if self.dropped > 0 {
            write!(
                f,
                "; {} dropped by the writer",
                plural(self.dropped, "record")
            )?;
        }
        Ok(())
    }
}

/// Checks the trace in `paths` (each with its rotated files, see the crate doc) and reports every
/// broken rule with its file and line.
///
/// Errors only when a file cannot be read; an invalid trace is an `Ok` report with
/// violations.
pub fn check_files(paths: &[PathBuf]) -> Result<CheckReport, Error> {
    check_streams(&input::streams(paths), &mut Progress::hidden())
}

/// [`check_files`] on resolved streams, advancing `progress`.
pub(crate) fn check_streams(
    streams: &[Stream],
    progress: &mut Progress,
) -> Result<CheckReport, Error> {
    let mut report = CheckReport::default();
    for stream in streams {
        report.files.extend(stream.files.iter().cloned());
        let mut checker = StreamChecker::default();
        let mut reader = LineReader::new(stream, false);
        loop {
            match reader.next(progress)? {
                Item::Line { file, line, bytes } => {
                    report.lines += 1;
                    let at = (file, line);
                    let record = match record::parse(bytes, Strictness::Check) {
                        Ok(record) => Some(record),
                        Err(error) => {
                            let kind = ViolationKind::Malformed(error.to_string());
                            add(&mut report, stream, at, kind);
                            // Still pair what is usable (keys out of order, say), so one bad
                            // line is one violation rather than a cascade.
                            record::parse(bytes, Strictness::Lenient).ok()
                        }
                    };
                    if let Some(kind) =
                        record.and_then(|record| checker.record(at, record.body, &mut report))
                    {
                        add(&mut report, stream, at, kind);
                    }
                }
                Item::Partial { file, line } => report.partial_lines.push(Location {
                    path: reader.path(file).to_path_buf(),
                    line,
                }),
                Item::Idle | Item::End => break,
            }
        }
        checker.finish(&mut report, stream);
    }
    Ok(report)
}

fn add(report: &mut CheckReport, stream: &Stream, (file, line): (usize, u64), kind: ViolationKind) {
    report.violation_count += 1;
    if report.violations.len() < MAX_VIOLATIONS {
        report.violations.push(Violation {
            location: Location {
                path: stream.files[file].clone(),
                line,
            },
            kind,
        });
    }
}

/// A call entered and not yet closed.
struct Open {
    at: (usize, u64),
    parent: Option<u64>,
    /// [`name_hash`] of its module and function.
    name: u64,
}

/// The pairing state of one stream.
#[derive(Default)]
struct StreamChecker {
    open: IdMap<Open>,
    closed: IdRanges,
    /// `module::function` by [`name_hash`], for messages: one entry per function, not per call.
    names: IdMap<Box<str>>,
    /// A `DROPPED` record was seen: records are missing from here on.
    lossy: bool,
}

impl StreamChecker {
    /// Takes in one valid record; returns the rule it breaks, if any.
    fn record(
        &mut self,
        at: (usize, u64),
        body: Body<'_>,
        report: &mut CheckReport,
    ) -> Option<ViolationKind> {
        match body {
            Body::Dropped { count } => {
                self.lossy = true;
                report.dropped += count;
                None
            }
            Body::Enter { call, .. } => {
                report.calls += 1;
                self.enter(at, call)
            }
            Body::Close { call, event, .. } => self.close(call, event),
        }
    }

    fn enter(&mut self, at: (usize, u64), call: Call<'_>) -> Option<ViolationKind> {
        if let Some(first) = self.open.get(&call.id) {
            return Some(ViolationKind::DuplicateEnter {
                id: call.id,
                first_line: first.at.1,
            });
        }
        // A reused id is reported, then tracked as the new call so its closing pairs with it.
        let violation = if self.closed.contains(call.id) {
            Some(ViolationKind::ReusedId { id: call.id })
        } else {
            call.parent
                .filter(|parent| !self.lossy && !self.open.contains_key(parent))
                .map(|parent| ViolationKind::ParentNotOpen {
                    id: call.id,
                    parent,
                })
        };
        let name = name_hash(&call.module, &call.function);
        self.names
            .entry(name)
            .or_insert_with(|| format!("{}::{}", call.module, call.function).into());
        self.open.insert(
            call.id,
            Open {
                at,
                parent: call.parent,
                name,
            },
        );
        violation
    }

    fn close(&mut self, call: Call<'_>, event: Event) -> Option<ViolationKind> {
        let Some(open) = self.open.remove(&call.id) else {
            if self.closed.contains(call.id) {
                return Some(ViolationKind::ClosedTwice {
                    id: call.id,
                    event: event.name().to_owned(),
                });
            }
            return (!self.lossy).then_some(ViolationKind::CloseWithoutEnter {
                id: call.id,
                event: event.name().to_owned(),
            });
        };
        self.closed.insert(call.id);
        let what = if open.parent != call.parent {
            "parent"
        } else if open.name != name_hash(&call.module, &call.function) {
            "module or function"
        } else {
            return None;
        };
        Some(ViolationKind::CloseMismatch {
            id: call.id,
            event: event.name().to_owned(),
            what,
        })
    }

    fn finish(self, report: &mut CheckReport, stream: &Stream) {
        if self.lossy {
            return;
        }
        let mut unclosed: Vec<(u64, Open)> = self.open.into_iter().collect();
        unclosed.sort_by_key(|(_, open)| open.at);
        for (id, open) in unclosed {
            let function = self.names.get(&open.name).map_or("?", |n| n).to_owned();
            add(
                report,
                stream,
                open.at,
                ViolationKind::NeverClosed { id, function },
            );
        }
    }
}
