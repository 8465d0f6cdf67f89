//! `flowtrace check`: validates every line against design §1 and the call invariants, as a
//! library ([`check_files`]) that the workspace's end-to-end tests call, and as a subcommand.
//!
//! Checked per line: valid JSON, every key known, in order, of the right type, present when its
//! event requires it and absent otherwise, `trace`/`remoteParent` well-formed and on root
//! `ENTER`s only (see [`record`](crate::record)). Checked across lines, per process segment (a
//! file and its rotated set, split at every START record, after which ids start afresh): every
//! `ENTER` id is new, its `parent` is an open call (so a child's `ENTER` never precedes its
//! parent's), its closing record (`EXIT`/`EXCEPTION`/`PANIC`/`CANCEL`) comes once, after it,
//! with the same `parent`, `module` and `function`; every `ENTER` is closed by the end of its
//! segment; after a START, every root `ENTER` carries a `trace`.
//!
//! The per-line rules run on all cores, in batches of lines whose results come back in file
//! order (`parallel`); the pairing rules then run in order on a compact form of each record
//! (`pairing`). Memory: a few batches in flight, the table of open calls, and the ids of closed
//! calls kept as ranges (the runtime hands ids out in blocks from a counter, so they collapse to a
//! few ranges), so a long trace is checked in bounded memory.
//!
//! After a `DROPPED` record the stream has lost records by design: pairing rules that a lost
//! record could break (a closing record without `ENTER`, a parent not open, an `ENTER` never
//! closed) are no longer reported for it.

use std::fmt;
use std::path::PathBuf;

mod pairing;
mod parallel;

use crate::error::Error;
use crate::input::{self, Stream};
use crate::progress::Progress;
use pairing::StreamChecker;

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
    /// A root `ENTER` without `trace` in a segment that began with START (design §7).
    #[error("root call {id} has no `trace` id, which every root ENTER after a START carries")]
    RootWithoutTrace {
        /// The call id.
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
        let partials = parallel::for_each_batch(stream, progress, |batch| {
            checker.learn_names(&batch.names);
            for parsed in &batch.lines {
                report.lines += 1;
                let at = (batch.file, batch.first_line + u64::from(parsed.offset));
                if let Some(message) = &parsed.malformed {
                    add(
                        &mut report,
                        stream,
                        at,
                        ViolationKind::Malformed(message.clone()),
                    );
                }
                if let Some(kind) = parsed
                    .record
                    .as_ref()
                    .and_then(|record| checker.record(at, record, &mut report, stream))
                {
                    add(&mut report, stream, at, kind);
                }
            }
        })?;
        report
            .partial_lines
            .extend(partials.into_iter().map(|(file, line)| Location {
                path: stream.files[file].clone(),
                line,
            }));
        checker.finish(&mut report, stream);
    }
    Ok(report)
}

/// Counts a violation and keeps it if it is among the first [`MAX_VIOLATIONS`].
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
