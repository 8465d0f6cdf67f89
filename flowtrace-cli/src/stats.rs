//! `flowtrace stats`: per function, how often it ran, how it ended, and how long it took.
//!
//! Streaming: every closing record carries its function and duration, so a pass keeps only one
//! [`Histogram`] per function (percentiles within 1%, see [`crate::histogram`]) and never the
//! calls themselves; memory does not grow with the trace.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use crate::format::{self, Palette, Styled};
use crate::histogram::Histogram;
use crate::input::Summary;
use crate::record::{Body, Event, Record};

/// The order of the table, largest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SortBy {
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

#[derive(Debug, Default)]
struct Tally {
    calls: u64,
    errors: u64,
    panics: u64,
    cancels: u64,
    total: u64,
    durations: Histogram,
}

/// Accumulates the statistics of a trace, record by record.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// module → function → tally; two levels so a lookup borrows the record's strings.
    tallies: HashMap<String, HashMap<String, Tally>>,
    dropped: u64,
}

/// One function's line of the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row<'a> {
    pub(crate) module: &'a str,
    pub(crate) function: &'a str,
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

impl Row<'_> {
    /// `module::function`.
    pub(crate) fn name(&self) -> String {
        if self.module.is_empty() {
            self.function.to_owned()
        } else {
            format!("{}::{}", self.module, self.function)
        }
    }
}

/// The whole `--json` document.
#[derive(Debug, Serialize)]
struct Document<'a> {
    functions: Vec<Row<'a>>,
    records: u64,
    malformed: u64,
    dropped: u64,
}

impl Stats {
    /// Takes in one record.
    pub(crate) fn add(&mut self, record: &Record<'_>) {
        let (call, event, duration) = match &record.body {
            Body::Close {
                call,
                event,
                duration_micros,
                ..
            } => (call, *event, *duration_micros),
            Body::Dropped { count } => {
                self.dropped += count;
                return;
            }
            Body::Enter { .. } | Body::Start(_) => return,
        };
        let module = match self.tallies.get_mut(&*call.module) {
            Some(module) => module,
            None => self.tallies.entry(call.module.to_string()).or_default(),
        };
        let tally = match module.get_mut(&*call.function) {
            Some(tally) => tally,
            None => module.entry(call.function.to_string()).or_default(),
        };
        tally.calls += 1;
        match event {
            Event::Exception => tally.errors += 1,
            Event::Panic => tally.panics += 1,
            Event::Cancel => tally.cancels += 1,
            _ => {}
        }
        tally.total += duration;
        tally.durations.record(duration);
    }

    /// One row per function, largest first by `sort`.
    pub(crate) fn rows(&self, sort: SortBy) -> Vec<Row<'_>> {
        let mut rows: Vec<Row<'_>> = self
            .tallies
            .iter()
            .flat_map(|(module, functions)| {
                functions.iter().map(move |(function, t)| Row {
                    module,
                    function,
                    calls: t.calls,
                    errors: t.errors,
                    panics: t.panics,
                    cancels: t.cancels,
                    total_micros: t.total,
                    mean_micros: (t.total as f64 / t.calls.max(1) as f64).round() as u64,
                    p50_micros: t.durations.percentile(50.0),
                    p95_micros: t.durations.percentile(95.0),
                    p99_micros: t.durations.percentile(99.0),
                    max_micros: t.durations.max(),
                })
            })
            .collect();
        let key = |row: &Row<'_>| match sort {
            SortBy::Total => row.total_micros,
            SortBy::Mean => row.mean_micros,
            SortBy::P99 => row.p99_micros,
            SortBy::Count => row.calls,
        };
        rows.sort_by(|a, b| {
            key(b)
                .cmp(&key(a))
                .then_with(|| (a.module, a.function).cmp(&(b.module, b.function)))
        });
        rows
    }

    /// Records the writer reported lost (`DROPPED` counts).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes the report as JSON.
    pub(crate) fn write_json(
        &self,
        out: &mut impl Write,
        sort: SortBy,
        summary: &Summary,
    ) -> std::io::Result<()> {
        let document = Document {
            functions: self.rows(sort),
            records: summary.records,
            malformed: summary.malformed,
            dropped: self.dropped,
        };
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }

    /// Writes the report as an aligned table.
    pub(crate) fn write_table(
        &self,
        out: &mut impl Write,
        sort: SortBy,
        palette: &Palette,
        summary: &Summary,
    ) -> std::io::Result<()> {
        let rows = self.rows(sort);
        let names: Vec<String> = rows
            .iter()
            .map(|row| format!("{}::{}", row.module, row.function))
            .collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(8);
        let header = format!(
            "{:<width$} {:>7} {:>6} {:>6} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "function",
            "calls",
            "errors",
            "panics",
            "cancels",
            "total",
            "mean",
            "p50",
            "p95",
            "p99",
            "max"
        );
        writeln!(out, "{}", Styled(palette.name, &header))?;
        for (row, name) in rows.iter().zip(&names) {
            write!(
                out,
                "{name:<width$} {:>7} {:>6} {:>6} {:>7}",
                row.calls, row.errors, row.panics, row.cancels
            )?;
            for micros in [
                row.total_micros,
                row.mean_micros,
                row.p50_micros,
                row.p95_micros,
                row.p99_micros,
                row.max_micros,
            ] {
                let text = format!("{:>9}", format::duration(micros));
                write!(out, " {}", Styled(palette.duration(micros), &text))?;
            }
            writeln!(out)?;
        }
        let calls: u64 = rows.iter().map(|r| r.calls).sum();
        write!(
            out,
            "{} functions, {calls} calls closed, {} records",
            rows.len(),
            summary.records
        )?;
        if summary.malformed > 0 {
            let lines = if summary.malformed == 1 {
                "line"
            } else {
                "lines"
            };
            write!(out, ", {} malformed {lines} skipped", summary.malformed)?;
        }
        if self.dropped > 0 {
            let text = format!("{} records dropped by the writer", self.dropped);
            write!(out, ", {}", Styled(palette.cancel, &text))?;
        }
        writeln!(out)
    }
}
