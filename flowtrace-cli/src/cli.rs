//! The command line: clap definitions of every subcommand and the dispatch to their modules,
//! with the exit-code policy (0 ok, 1 `check` found violations, 2 the command could not run).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, ColorChoice, Parser, Subcommand};

use crate::error::Error;
use crate::flame::{self, Folded};
use crate::format::{Palette, parse_duration};
use crate::input::{self, Stream};
use crate::progress::Progress;
use crate::stats::{SortBy, Stats};
use crate::{check, export, mcp, tail, tree};

/// The trace file read when none is given: `$FLOWTRACE_LOGFILE`, as the runtime writes it.
const LOGFILE_VARIABLE: &str = "FLOWTRACE_LOGFILE";
const DEFAULT_LOGFILE: &str = "flowtrace.jsonl";
/// Records of history `tail -f` prints before following, unless `-n` says otherwise.
const FOLLOW_BACKLOG: usize = 20;

/// Read flowtrace traces (JSON Lines of ENTER/EXIT records): follow them, see call trees, find
/// what was slow or failed, validate them, and open them in Perfetto.
///
/// Every FILE brings its rotated set (FILE.N … FILE.1, read oldest first); several files are
/// read in the order given, each a process of its own, and a START record in a file begins
/// another process (runs appended to one file). A partial last line (a record being written) is skipped, and a
/// malformed line is reported with its line number and skipped (`check` reports it as a
/// violation instead).
#[derive(Debug, Parser)]
#[command(name = "flowtrace", version, max_term_width = 100)]
struct Cli {
    /// When to colour the output: auto colours when stdout is a terminal and NO_COLOR is unset.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One readable line per record, indented by call depth, with filters; -f follows the file.
    Tail(TailArgs),
    /// Call trees with durations and each call's share of its parent's time.
    Tree(TreeArgs),
    /// Per function: calls, errors, panics, cancels, total, mean, p50, p95, p99, max.
    Stats(StatsArgs),
    /// Validate every line and the call invariants; exit 1 listing the first violations.
    Check(CheckArgs),
    /// A flame graph of self time by call path (SVG), or its folded stacks.
    Flame(FlameArgs),
    /// Convert for other tools: Perfetto (Chrome format), or OpenTelemetry (OTLP JSON, or sent
    /// to a collector).
    Export(ExportArgs),
    /// Serve MCP on stdin/stdout: tools for an AI assistant to query traces.
    ///
    /// A Model Context Protocol server (register it with the client as the command `flowtrace`
    /// with the argument `mcp`); its tools open, summarise, search and explain traces.
    Mcp(McpArgs),
}

#[derive(Debug, Args)]
struct McpArgs {
    /// Calls kept in the index of one trace (about 76 bytes each); later calls still count in
    /// `summary` and `errors`.
    #[arg(long, value_name = "N", default_value_t = mcp::DEFAULT_MAX_CALLS)]
    max_calls: usize,
    /// Traces open at once.
    #[arg(long, value_name = "N", default_value_t = mcp::DEFAULT_MAX_TRACES)]
    max_traces: usize,
}

#[derive(Debug, Args)]
struct TailArgs {
    /// Trace files [default: $FLOWTRACE_LOGFILE, else flowtrace.jsonl].
    files: Vec<PathBuf>,
    /// Keep reading as the file grows, across rotation (stop with ctrl-c); starts with the last
    /// 20 records unless -n says otherwise.
    #[arg(short, long)]
    follow: bool,
    /// Print only the last N matching records of what is already written (the depth still
    /// counts every record).
    #[arg(short = 'n', long = "lines", value_name = "N")]
    lines: Option<usize>,
    /// Only functions whose module starts with PREFIX (e.g. demo_chat::room).
    #[arg(long, value_name = "PREFIX")]
    module: Option<String>,
    /// Only functions with exactly this name.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Only calls that took at least this long (closing records), e.g. 5ms, 250us, 1.5s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_duration: Option<u64>,
    /// Only EXCEPTION, PANIC and CANCEL records.
    #[arg(long)]
    errors: bool,
}

#[derive(Debug, Args)]
struct TreeArgs {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Show only the tree under the call with this id.
    #[arg(long, value_name = "N", conflicts_with = "trace")]
    id: Option<u64>,
    /// Show one distributed trace (its 32-hex-digit id) across all the files given, stitched
    /// by `trace` and `remoteParent`, each process named where the tree enters it.
    #[arg(long, value_name = "ID")]
    trace: Option<String>,
    /// Hide calls shorter than this (with what they called), e.g. 5ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_duration: Option<u64>,
}

#[derive(Debug, Args)]
struct StatsArgs {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print JSON (durations in microseconds) instead of a table.
    #[arg(long)]
    json: bool,
    /// Order of the functions, largest first.
    #[arg(long, value_enum, default_value_t = SortBy::Total)]
    sort: SortBy,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct FlameArgs {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = flame::Format::Svg)]
    format: flame::Format,
    /// Output file [default: standard output].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Title of the SVG.
    #[arg(long, default_value = "flowtrace")]
    title: String,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = export::Format::Chrome)]
    format: export::Format,
    /// Output file [default: standard output].
    #[arg(short, long, value_name = "FILE", conflicts_with = "endpoint")]
    output: Option<PathBuf>,
    /// With --format otlp: the OTLP/HTTP receiver's base URL (`/v1/traces` is appended).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
}

/// Parses `args` (program name first) and runs the subcommand; returns the exit code.
pub(crate) fn run(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return error.exit_code();
        }
    };
    match execute(cli) {
        Ok(code) => code,
        Err(error) if error.is_broken_pipe() => 0,
        Err(error) => {
            eprintln!("flowtrace: {error}");
            2
        }
    }
}

fn colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

/// Runs `write` into a new file at `path`; a write error names the file.
fn to_file(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let file = File::create(path).map_err(write_error)?;
    let mut file = BufWriter::with_capacity(256 * 1024, file);
    write(&mut file).map_err(|e| match e {
        Error::Stdout(source) => write_error(source),
        other => other,
    })?;
    file.flush().map_err(write_error)
}

/// Resolves the input and sets up the progress bar (when `bar`).
fn open(files: &[PathBuf], bar: bool) -> (Vec<Stream>, Progress) {
    let streams = input::streams(files);
    let progress = Progress::new(input::total_bytes(&streams), bar);
    (streams, progress)
}

fn execute(cli: Cli) -> Result<i32, Error> {
    if let Command::Mcp(args) = &cli.command {
        // Standard output is the protocol's: nothing else may write to it.
        mcp::run(mcp::Options {
            max_calls: args.max_calls,
            max_traces: args.max_traces,
        })?;
        return Ok(0);
    }
    let palette = Palette::new(colour(cli.color));
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    match cli.command {
        Command::Tail(args) => {
            let mut files = args.files;
            if files.is_empty() {
                let default = std::env::var_os(LOGFILE_VARIABLE)
                    .map_or_else(|| PathBuf::from(DEFAULT_LOGFILE), PathBuf::from);
                if !default.exists() {
                    return Err(Error::NoInput { path: default });
                }
                files.push(default);
            }
            // Like tail(1), following starts from the last records, not the whole history.
            let last = args.lines.or(args.follow.then_some(FOLLOW_BACKLOG));
            let options = tail::Options {
                filter: tail::Filter {
                    module: args.module,
                    function: args.function,
                    min_duration: args.min_duration,
                    errors: args.errors,
                },
                follow: args.follow,
                last,
            };
            let (streams, mut progress) = open(&files, last.is_some());
            let result = tail::run(&streams, &options, &palette, &mut progress, &mut out);
            progress.finish();
            result?;
        }
        Command::Tree(args) => {
            let options = tree::Options {
                id: args.id,
                min_duration: args.min_duration,
                trace: args.trace.map(|id| id.to_ascii_lowercase()),
            };
            let (streams, mut progress) = open(&args.files, true);
            let result = tree::run(&streams, &options, &palette, &mut progress, &mut out);
            progress.finish();
            result?;
        }
        Command::Stats(args) => {
            let (streams, mut progress) = open(&args.files, true);
            let mut stats = Stats::default();
            let summary = input::for_each_record(&streams, &mut progress, |_, _, record| {
                stats.add(&record);
                Ok(())
            });
            progress.finish();
            let summary = summary?;
            if args.json {
                stats.write_json(&mut out, args.sort, &summary)
            } else {
                stats.write_table(&mut out, args.sort, &palette, &summary)
            }
            .map_err(Error::Stdout)?;
        }
        Command::Check(args) => {
            let (streams, mut progress) = open(&args.files, true);
            let report = check::check_streams(&streams, &mut progress);
            progress.finish();
            let report = report?;
            for location in &report.partial_lines {
                eprintln!("warning: {location}: skipped a partial last line");
            }
            writeln!(out, "{report}").map_err(Error::Stdout)?;
            out.flush().map_err(Error::Stdout)?;
            return Ok(if report.is_ok() { 0 } else { 1 });
        }
        Command::Flame(args) => {
            let (streams, mut progress) = open(&args.files, true);
            let folded = Folded::read(&streams, &mut progress);
            progress.finish();
            let (folded, _) = folded?;
            let write = |out: &mut dyn Write| match args.format {
                flame::Format::Folded => folded.write_folded(out).map_err(Error::Stdout),
                flame::Format::Svg => folded.write_svg(&args.title, out),
            };
            match &args.output {
                None => write(&mut out)?,
                Some(path) => to_file(path, write)?,
            }
        }
        Command::Export(args) => {
            if args.format == export::Format::Otlp {
                let endpoint = args.endpoint.as_deref().ok_or(Error::EndpointNeeded)?;
                export::traces_url(endpoint)?;
                let (streams, mut progress) = open(&args.files, true);
                let sent = export::send(endpoint, &streams, &mut progress);
                progress.finish();
                let sent = sent?;
                eprintln!("sent {sent} spans to {}", export::traces_url(endpoint)?);
                return Ok(0);
            }
            let (streams, mut progress) = open(&args.files, true);
            let result = match &args.output {
                None => export::run(args.format, &streams, &mut progress, &mut out).map(drop),
                Some(path) => to_file(path, |file| {
                    export::run(args.format, &streams, &mut progress, file).map(drop)
                }),
            };
            progress.finish();
            result?;
        }
        Command::Mcp(_) => unreachable!("served above, before standard output is locked"),
    }
    out.flush().map_err(Error::Stdout)?;
    Ok(0)
}
