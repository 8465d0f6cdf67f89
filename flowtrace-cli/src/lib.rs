//! `flowtrace`, the command-line reader of flowtrace traces, and the library behind it.
//!
//! A trace is JSON Lines of `ENTER`/`EXIT`/`EXCEPTION`/`PANIC`/`CANCEL`/`DROPPED` records (the
//! format of design §1), written by `#[flowtrace]` functions. The binary's subcommands:
//!
//! - `flowtrace tail [FILE…] [-f]`: one readable line per record, indented by call depth;
//! - `flowtrace tree FILE…`: call trees with durations and shares of the parent's time;
//! - `flowtrace stats FILE…`: per-function counts and duration percentiles;
//! - `flowtrace check FILE…`: validation of every line and of the call invariants;
//! - `flowtrace flame FILE… -o flame.svg`: a flame graph of self time by call path
//!   (`--format folded` for other tools);
//! - `flowtrace export --format chrome FILE… -o trace.json`: a trace for ui.perfetto.dev;
//! - `flowtrace mcp`: an MCP server on stdio whose tools query traces, for AI assistants.
//!
//! Several files are several processes; a START record begins a new process segment, and
//! `tree --trace ID` stitches one distributed trace across them.
//!
//! Each FILE brings its rotated set: `x.jsonl` is read as `x.jsonl.N` … `x.jsonl.1`, `x.jsonl`.
//!
//! # Layout
//!
//! `record` parses a line, `input` finds and reads the files, `progress` draws the bar and
//! warnings; `tail`, `tree`, `stats` (with `histogram`), `check`, `flame` and `export` are the
//! subcommands; `mcp` is the MCP server, its tools built on those; `format` and `render` turn
//! values into text; `cli` is the clap front end.
//!
//! # Checking a trace from a test
//!
//! [`check_files`] is what `flowtrace check` runs; end-to-end tests call it on the trace their
//! program wrote and assert the report is clean:
//!
//! ```
//! use std::path::PathBuf;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("flowtrace-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let trace: PathBuf = dir.join("flowtrace.jsonl");
//! std::fs::write(
//!     &trace,
//!     concat!(
//!         r#"{"timestamp":1764147600123,"event":"ENTER","thread":"main","module":"app","#,
//!         r#""function":"work","args":"{\"n\":3}","id":1,"timestampMicros":1764147600123456}"#,
//!         "\n",
//!         r#"{"timestamp":1764147600124,"event":"EXIT","thread":"main","module":"app","#,
//!         r#""function":"work","durationMicros":812,"id":1,"timestampMicros":1764147600124268}"#,
//!         "\n",
//!         // An EXIT for a call that never started.
//!         r#"{"timestamp":1764147600125,"event":"EXIT","thread":"main","module":"app","#,
//!         r#""function":"work","durationMicros":5,"id":2,"timestampMicros":1764147600125000}"#,
//!         "\n",
//!     ),
//! )?;
//!
//! let report = flowtrace_cli::check_files(&[trace.clone()])?;
//! assert!(!report.is_ok());
//! assert_eq!(report.violations[0].location.line, 3);
//! assert_eq!(
//!     report.violations[0].kind.to_string(),
//!     "EXIT of call 2, which has no ENTER before it"
//! );
//! // `Display` lists the violations as `file:line: what` and ends with a summary.
//! assert!(report.to_string().ends_with("check failed: 1 violation in 3 lines (1 call, 1 file)"));
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod check;
mod cli;
mod error;
mod export;
mod flame;
mod format;
mod histogram;
mod ids;
mod input;
mod mcp;
mod progress;
mod record;
mod render;
mod stats;
mod tail;
mod tree;

pub use check::{CheckReport, Location, MAX_VIOLATIONS, Violation, ViolationKind, check_files};
pub use error::Error;

/// Runs the `flowtrace` command line with `args` (the program name first, as
/// [`std::env::args_os`] gives them) and returns the process exit code: 0 on success, 1 when
/// `check` found violations, 2 when the command could not run (bad arguments, unreadable file).
pub fn run(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> i32 {
    cli::run(args)
}
