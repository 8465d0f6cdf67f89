//! Sustained throughput from one thread in the lossless `block` mode, and the memory it takes.
//!
//! Run: `cargo bench -p flowtrace-runtime --bench throughput [-- CALLS [async] [otlp]]` (default
//! 5,000,000 calls of a sync fn; `async`: of an `async fn`; `otlp`, with `--features otlp`: the
//! live exporter also ships every call to a receiver in this process that reads each request
//! and answers 200, and the spans delivered, lost and per second are reported).
//! It makes CALLS traced calls as fast as one thread can, waits until every record is in the
//! file, then checks that the file holds exactly 2 × CALLS lines after its START (nothing lost)
//! and reports calls per second and the growth of the process's peak RSS, which the bounded
//! rings cap. Then a plain loop writes as many bytes of the same lines in 256 KiB writes: what
//! the filesystem takes at best in the same minute, which flowtrace's records/s are compared
//! with. `FLOWTRACE_*` variables apply (`FLOWTRACE_BUFFER` to compare ring sizes).

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::Instant;

use flowtrace_runtime::{Config, flowtrace};

#[flowtrace]
fn work(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[flowtrace]
async fn work_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

/// Polls a future that completes without waiting to its output.
fn run_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Peak resident set size of this process, in KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u64 = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("throughput.jsonl");
    let rss_before = peak_rss_kib();
    let otlp = std::env::args().any(|arg| arg == "otlp");
    // FLOWTRACE_BUFFER, FLOWTRACE_OVERFLOW … apply, to compare settings.
    let mut config = Config::from_env()?.file(&path);
    if otlp {
        config = config.otlp_endpoint(receiver()?);
    }
    // The filesystem's own pace with the same lines, before and after (writeback builds up
    // during a run: the later loop is often the slower one).
    let sample = sample_lines(dir.path())?;
    let expected_bytes = sample.len() as u64 * 2 * calls / sample_records(&sample);
    let plain_before = plain_loop(&sample, &dir.path().join("plain.jsonl"), expected_bytes)?;
    std::fs::remove_file(dir.path().join("plain.jsonl"))?;
    let guard = config.init()?;

    let start = Instant::now();
    if std::env::args().any(|arg| arg == "async") {
        for n in 0..calls {
            black_box(run_ready(work_async(black_box("alpha"), n)));
        }
    } else {
        for n in 0..calls {
            black_box(work(black_box("alpha"), n));
        }
    }
    let produced = start.elapsed();
    guard.flush()?;
    let written = start.elapsed();
    drop(guard);
    let exported = start.elapsed();
    let rss_after = peak_rss_kib();

    let lines = BufReader::new(std::fs::File::open(&path)?).lines().count() as u64;
    let stats = flowtrace_runtime::stats();
    let per_second = calls as f64 / written.as_secs_f64();
    println!("calls:                 {calls}");
    println!("producer time:         {:.3} s", produced.as_secs_f64());
    println!("until all written:     {:.3} s", written.as_secs_f64());
    println!(
        "traced calls / s:      {per_second:.0}  ({:.2}x the 1,000,000/s target)",
        per_second / 1e6
    );
    println!(
        "ns per call:           {:.1}",
        written.as_nanos() as f64 / calls as f64
    );
    println!(
        "lines in the file:     {lines} (expected {})",
        1 + 2 * calls
    );
    println!("dropped / lost:        {} / {}", stats.dropped, stats.lost);
    if otlp {
        println!(
            "OTLP spans:            {} exported, {} dropped (queue full), {} failed; {:.0} spans/s \
             delivered until tracing stopped ({:.3} s)",
            stats.otlp_exported,
            stats.otlp_dropped,
            stats.otlp_failed,
            stats.otlp_exported as f64 / exported.as_secs_f64(),
            exported.as_secs_f64()
        );
    }
    println!(
        "peak RSS growth:       {} KiB (default ring capacity {} records)",
        rss_after.saturating_sub(rss_before),
        flowtrace_runtime::DEFAULT_CAPACITY
    );
    if lines != 1 + 2 * calls || stats.lost != 0 || stats.dropped != 0 {
        return Err("records were lost".into());
    }
    std::fs::remove_file(&path)?;
    let plain_after = plain_loop(&sample, &dir.path().join("plain.jsonl"), expected_bytes)?;
    std::fs::remove_file(dir.path().join("plain.jsonl"))?;
    let records_per_second = (2 * calls) as f64 / written.as_secs_f64();
    let plain_rate = |took: std::time::Duration| (2 * calls) as f64 / took.as_secs_f64();
    let best_plain = plain_rate(plain_before).max(plain_rate(plain_after));
    println!(
        "plain loop, same lines, {} MiB in 256 KiB writes: {:.0} lines/s before, {:.0} after; \
         flowtrace {records_per_second:.0} records/s = {:.2}x the faster plain loop",
        expected_bytes / (1024 * 1024),
        plain_rate(plain_before),
        plain_rate(plain_after),
        records_per_second / best_plain
    );
    flush_latency(dir.path())
}

/// 256 KiB of whole lines as this bench's calls write them (a short traced run of its own).
fn sample_lines(dir: &std::path::Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    const WRITE: usize = 256 * 1024;
    let path = dir.join("sample.jsonl");
    let guard = Config::new().file(&path).init()?;
    for n in 0..(WRITE as u64 / 300 + 1) {
        black_box(work(black_box("alpha"), n));
    }
    drop(guard);
    let text = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    // Call records only (after START), repeated up to the size of one write.
    let calls = text
        .iter()
        .position(|&b| b == b'\n')
        .map_or(&text[..0], |at| &text[at + 1..]);
    if calls.is_empty() {
        return Err("the sample run wrote no call record".into());
    }
    let mut chunk = Vec::with_capacity(WRITE + calls.len());
    while chunk.len() < WRITE {
        chunk.extend_from_slice(calls);
    }
    let whole = chunk[..WRITE]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    chunk.truncate(whole);
    Ok(chunk)
}

fn sample_records(sample: &[u8]) -> u64 {
    sample.iter().filter(|&&b| b == b'\n').count() as u64
}

/// What the filesystem takes from a plain loop: `bytes` bytes of `chunk` (whole lines, one
/// write's worth), over and over, to `to`, in 256 KiB writes, until written.
fn plain_loop(
    chunk: &[u8],
    to: &std::path::Path,
    bytes: u64,
) -> std::io::Result<std::time::Duration> {
    use std::io::Write;
    let mut file = std::fs::File::create(to)?;
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let take = chunk.len().min(left as usize);
        file.write_all(&chunk[..take])?;
        left -= take as u64;
    }
    file.flush()?;
    Ok(start.elapsed())
}

/// Starts an OTLP/HTTP receiver on a free port that reads every request and answers 200;
/// returns its base URL.
fn receiver() -> std::io::Result<String> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut writer = stream.try_clone()?;
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line)? == 0 {
                            return Ok::<(), std::io::Error>(());
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body)?;
                    writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
                }
            });
        }
    });
    Ok(url)
}

/// How long `flush()` takes after a burst of 100 calls: what a program pays to make sure its
/// latest records are on disk (the writer is often in its busy pause right then).
fn flush_latency(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    const ROUNDS: usize = 300;
    const BURST: u64 = 100;
    let guard = Config::new().file(dir.join("flush.jsonl")).init()?;
    let mut micros = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS as u64 {
        for n in 0..BURST {
            black_box(work(black_box("alpha"), round * BURST + n));
        }
        let start = Instant::now();
        guard.flush()?;
        micros.push(start.elapsed().as_micros());
    }
    micros.sort_unstable();
    let at = |share: f64| micros[((ROUNDS - 1) as f64 * share) as usize];
    println!(
        "flush after {BURST} calls: p50 {} us, p99 {} us, max {} us ({ROUNDS} rounds)",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
