//! Throughput and memory of the streaming subcommands on a large synthetic trace:
//!
//! ```sh
//! cargo run --release -p flowtrace-cli --example bench_stream               # 200 MB trace
//! cargo run --release -p flowtrace-cli --example bench_stream -- --size-mb 1024
//! ```
//!
//! Writes a trace shaped like the runtime's (nested calls, async calls finishing on another
//! thread, errors, results, escaped arguments) into a temporary directory, then runs
//! `flowtrace stats`, `flowtrace check`, `flowtrace export --format otlp-json` (to /dev/null)
//! and `flowtrace mcp` on it, each in a child process (this example re-executed, calling the
//! same `flowtrace_cli::run` as the binary), and reports lines per second and the child's peak
//! resident memory (`VmHWM` from `/proc/self/status`). The MCP server is driven over its stdin
//! and stdout like a client would: `open`, `summary` and `slowest` (timed together, in lines
//! per second), then `tree`, `critical_path`, `search` and `timeline` on the slowest call (each
//! timed, in milliseconds), then `open` again without `check` (the index pass alone).

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The target of the issue: lines per second on one core.
const TARGET_LINES_PER_SECOND: f64 = 1_000_000.0;
const MIB: f64 = 1024.0 * 1024.0;

const FUNCTIONS: [(&str, &str); 6] = [
    ("demo_chat::ws", "handle_socket"),
    ("demo_chat::room", "broadcast"),
    ("demo_chat::room", "join"),
    ("demo_chat::history", "append"),
    ("demo_chat::protocol", "parse_frame"),
    ("demo_chat::store", "load_history"),
];
const THREADS: [&str; 3] = ["tokio-runtime-worker", "main", "ThreadId(7)"];

struct Generator<W: Write> {
    out: W,
    micros: u64,
    next_id: u64,
    lines: u64,
    bytes: u64,
}

impl<W: Write> Generator<W> {
    fn line(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        self.bytes += text.len() as u64 + 1;
        Ok(())
    }

    fn enter(
        &mut self,
        function: usize,
        thread: usize,
        parent: Option<u64>,
    ) -> std::io::Result<(u64, u64)> {
        let id = self.next_id;
        self.next_id += 1;
        self.micros += 3;
        let (module, name) = FUNCTIONS[function];
        let parent = parent
            .map(|p| format!(",\"parent\":{p}"))
            .unwrap_or_default();
        let text = format!(
            r#"{{"timestamp":{},"event":"ENTER","thread":"{}","module":"{module}","function":"{name}","args":"{{\"room_id\":\"general\",\"client_id\":\"user-{}\",\"text\":\"hello \\\"world\\\" #{id}\"}}","id":{id}{parent},"timestampMicros":{}}}"#,
            self.micros / 1000,
            THREADS[thread],
            id % 500,
            self.micros
        );
        self.line(&text)?;
        Ok((id, self.micros))
    }

    fn close(
        &mut self,
        event: &str,
        function: usize,
        thread: usize,
        (id, start): (u64, u64),
        parent: Option<u64>,
    ) -> std::io::Result<()> {
        self.micros += 5 + (id * 7_919) % 400;
        let (module, name) = FUNCTIONS[function];
        let parent = parent
            .map(|p| format!(",\"parent\":{p}"))
            .unwrap_or_default();
        let tail = match event {
            "EXIT" if function == 5 => r#","result":"[\"hi\",\"there\"]""#,
            "EXCEPTION" => r#","error":"room `general` is full""#,
            _ => "",
        };
        let text = format!(
            r#"{{"timestamp":{},"event":"{event}","thread":"{}","module":"{module}","function":"{name}","durationMicros":{},"id":{id}{parent},"timestampMicros":{}{tail}}}"#,
            self.micros / 1000,
            THREADS[thread],
            self.micros - start,
            self.micros
        );
        self.line(&text)
    }

    /// One connection: a root with nested calls, one finishing on another thread.
    fn session(&mut self, n: u64) -> std::io::Result<()> {
        let root = self.enter(0, 0, None)?;
        let parse = self.enter(4, 0, Some(root.0))?;
        let outcome = if n.is_multiple_of(50) {
            "EXCEPTION"
        } else {
            "EXIT"
        };
        self.close(outcome, 4, 0, parse, Some(root.0))?;
        let join = self.enter(2, 0, Some(root.0))?;
        let history = self.enter(5, 0, Some(join.0))?;
        self.close("EXIT", 5, 2, history, Some(join.0))?;
        self.close("EXIT", 2, 2, join, Some(root.0))?;
        let broadcast = self.enter(1, 2, Some(root.0))?;
        let append = self.enter(3, 2, Some(broadcast.0))?;
        self.close("EXIT", 3, 2, append, Some(broadcast.0))?;
        let outcome = if n.is_multiple_of(97) {
            "CANCEL"
        } else {
            "EXIT"
        };
        self.close(outcome, 1, 1, broadcast, Some(root.0))?;
        self.close("EXIT", 0, 0, root, None)
    }
}

fn generate(path: &Path, size: u64) -> Result<u64, Box<dyn Error>> {
    let mut generator = Generator {
        out: BufWriter::with_capacity(1 << 20, File::create(path)?),
        micros: 1_764_147_600_000_000,
        next_id: 1,
        lines: 0,
        bytes: 0,
    };
    let mut n = 0;
    while generator.bytes < size {
        generator.session(n)?;
        n += 1;
    }
    generator.out.flush()?;
    Ok(generator.lines)
}

/// In the child: run one subcommand, then report the peak resident memory on stderr.
fn child(args: &[String]) -> Result<(), Box<dyn Error>> {
    let code =
        flowtrace_cli::run(std::iter::once("flowtrace".to_owned()).chain(args.iter().cloned()));
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    eprintln!("peak {}", peak.trim());
    std::process::exit(code)
}

fn measure(trace: &Path, command: &[&str], lines: u64, size: u64) -> Result<(), Box<dyn Error>> {
    let subcommand = command.join(" ");
    let start = Instant::now();
    let output = Command::new(std::env::current_exe()?)
        .arg("--child")
        .args(command)
        .arg(trace)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "flowtrace {subcommand} failed ({}): {stderr}",
            output.status
        )
        .into());
    }
    let peak_kib: f64 = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak "))
        .and_then(|peak| peak.trim_end_matches(" kB").trim().parse().ok())
        .ok_or_else(|| format!("no peak memory in {stderr:?}"))?;
    let rate = lines as f64 / seconds;
    println!(
        "{subcommand:>26}: {seconds:6.2} s  {:>10.0} lines/s ({:.2}× target)  {:6.1} MiB/s  peak RSS {:.1} MiB",
        rate,
        rate / TARGET_LINES_PER_SECOND,
        size as f64 / MIB / seconds,
        peak_kib / 1024.0
    );
    Ok(())
}

/// The `flowtrace mcp` child, driven by JSON-RPC lines on its standard input and output.
struct McpChild {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl McpChild {
    fn start() -> Result<Self, Box<dyn Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--child", "mcp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let input = child.stdin.take().ok_or("no stdin")?;
        let output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut server = Self {
            child,
            input,
            output,
            next_id: 0,
        };
        server.request(
            "initialize",
            serde_json::json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench_stream", "version": "0"}
            }),
        )?;
        writeln!(
            server.input,
            r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
        )?;
        Ok(server)
    }

    fn request(
        &mut self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, Box<dyn Error>> {
        self.next_id += 1;
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params
        });
        writeln!(self.input, "{request}")?;
        self.input.flush()?;
        let mut line = String::new();
        loop {
            line.clear();
            if self.output.read_line(&mut line)? == 0 {
                return Err("the MCP server closed its output".into());
            }
            let answer: serde_json::Value = serde_json::from_str(&line)?;
            if answer["id"] == self.next_id {
                return Ok(answer["result"].clone());
            }
        }
    }

    /// Calls a tool and returns its structured result, timing it.
    fn call(
        &mut self,
        tool: &str,
        arguments: serde_json::Value,
    ) -> Result<(serde_json::Value, f64), Box<dyn Error>> {
        let start = Instant::now();
        let result = self.request(
            "tools/call",
            serde_json::json!({"name": tool, "arguments": arguments}),
        )?;
        let seconds = start.elapsed().as_secs_f64();
        if result["isError"] == true {
            return Err(format!("{tool} failed: {}", result["content"]).into());
        }
        Ok((result["structuredContent"].clone(), seconds))
    }

    /// Closes the server's input and returns its peak resident memory in KiB.
    fn finish(self) -> Result<f64, Box<dyn Error>> {
        drop(self.input);
        let output = self.child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        stderr
            .lines()
            .find_map(|line| line.strip_prefix("peak "))
            .and_then(|peak| peak.trim_end_matches(" kB").trim().parse().ok())
            .ok_or_else(|| format!("no peak memory in {stderr:?}").into())
    }
}

fn measure_mcp(trace: &Path, lines: u64) -> Result<(), Box<dyn Error>> {
    let mut server = McpChild::start()?;
    let path = trace.display().to_string();
    let (opened, open) = server.call("open", serde_json::json!({"paths": [path]}))?;
    let handle = opened["handle"].clone();
    let (_, summary) = server.call("summary", serde_json::json!({"handle": handle}))?;
    let (slowest, slow) = server.call("slowest", serde_json::json!({"handle": handle}))?;
    let id = slowest["calls"][0]["call"]["id"].clone();
    let seconds = open + summary + slow;
    let rate = lines as f64 / seconds;
    println!(
        "  mcp: {seconds:6.2} s  {rate:>10.0} lines/s ({:.2}× target) for open {open:.2} s + \
         summary {:.1} ms + slowest {:.1} ms ({} calls indexed)",
        rate / TARGET_LINES_PER_SECOND,
        summary * 1e3,
        slow * 1e3,
        opened["indexedCalls"]
    );
    let queries = [
        ("tree", serde_json::json!({"handle": handle, "id": id})),
        (
            "critical_path",
            serde_json::json!({"handle": handle, "id": id}),
        ),
        (
            "search",
            serde_json::json!({"handle": handle, "function": "broadcast", "minDuration": "300us"}),
        ),
        (
            "timeline",
            serde_json::json!({"handle": handle, "thread": "main", "from": opened["lastMicros"]}),
        ),
    ];
    for (tool, arguments) in queries {
        let (_, seconds) = server.call(tool, arguments)?;
        println!("       {tool}: {:.1} ms", seconds * 1e3);
    }
    // The index pass alone, without `check` beside it.
    server.call("close", serde_json::json!({"handle": handle}))?;
    let unchecked = serde_json::json!({"paths": [path], "check": false});
    let (reopened, seconds) = server.call("open", unchecked)?;
    server.call("close", serde_json::json!({"handle": reopened["handle"]}))?;
    println!(
        "       open without check: {seconds:.2} s ({:.0} lines/s)",
        lines as f64 / seconds
    );
    let peak_kib = server.finish()?;
    println!("       peak RSS {:.1} MiB", peak_kib / 1024.0);
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let mut size_mb: u64 = 200;
    let mut keep = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--size-mb" => {
                size_mb = rest
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--size-mb needs a number of megabytes")?;
            }
            "--keep" => keep = true,
            other => {
                return Err(format!("unknown argument `{other}` (try --size-mb N, --keep)").into());
            }
        }
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("flowtrace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let trace = dir.join("bench.jsonl");
    let size = size_mb * 1_000_000;
    let start = Instant::now();
    let lines = generate(&trace, size)?;
    let size = std::fs::metadata(&trace)?.len();
    println!(
        "trace: {} ({:.0} MB, {lines} lines, {:.0} bytes/line), written in {:.1} s",
        trace.display(),
        size as f64 / 1e6,
        size as f64 / lines as f64,
        start.elapsed().as_secs_f64()
    );
    let commands: [&[&str]; 3] = [&["stats"], &["check"], &["export", "--format", "otlp-json"]];
    let result = commands
        .iter()
        .try_for_each(|command| measure(&trace, command, lines, size))
        .and_then(|()| measure_mcp(&trace, lines));
    if !keep {
        std::fs::remove_dir_all(&dir)?;
    }
    result
}
