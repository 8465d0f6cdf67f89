//! Per-call cost of `#[flowtrace]`, side by side with no instrumentation and with the closest
//! peer, `#[tracing::instrument]` + tracing-subscriber's JSON formatter writing ENTER/CLOSE span
//! events through `tracing_appender::non_blocking` (lossless) to a file.
//!
//! Run: `cargo bench -p flowtrace-runtime --bench overhead`. Every traced variant is timed until
//! its records are in the file (flowtrace: `flush()`; tracing: dropping the appender's guard), so
//! the figures include the writer's work. `flowtrace` calls are roots (each draws a trace id);
//! `flowtrace-child` calls run inside one traced parent. A table of medians and ratios is
//! printed at the end.

use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::Criterion;
use flowtrace_runtime::{Config, flowtrace};
use tracing_subscriber::fmt::format::FmtSpan;

fn plain_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

async fn plain_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[flowtrace]
fn flowtrace_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[flowtrace]
async fn flowtrace_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

/// One root whose children are the measured calls: a child takes its parent's trace id
/// instead of drawing one.
#[flowtrace(skip_all)]
fn flowtrace_parent(sync: bool, iters: u64) {
    for n in 0..iters {
        if sync {
            black_box(flowtrace_sync(black_box("alpha"), n));
        } else {
            black_box(run_ready(flowtrace_async(black_box("alpha"), n)));
        }
    }
}

#[tracing::instrument]
fn tracing_sync(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

#[tracing::instrument]
async fn tracing_async(name: &str, n: u64) -> u64 {
    black_box(name.len() as u64 + n)
}

/// Polls a future that completes without waiting (all of these do) to its output.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

const VARIANTS: [&str; 5] = [
    "plain",
    "flowtrace-disabled",
    "flowtrace",
    "tracing-json",
    "flowtrace-child",
];

fn bench_shape(c: &mut Criterion, dir: &Path, shape: &str) {
    let sync = shape == "sync";
    let mut group = c.benchmark_group(shape);
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(30);

    group.bench_function("plain", |b| {
        b.iter(|| {
            if sync {
                plain_sync(black_box("alpha"), black_box(7))
            } else {
                run_ready(plain_async(black_box("alpha"), black_box(7)))
            }
        })
    });

    let disabled = Config::new()
        .enabled(false)
        .init()
        .expect("flowtrace disabled");
    group.bench_function("flowtrace-disabled", |b| {
        b.iter(|| {
            if sync {
                flowtrace_sync(black_box("alpha"), black_box(7))
            } else {
                run_ready(flowtrace_async(black_box("alpha"), black_box(7)))
            }
        })
    });
    drop(disabled);

    let trace = dir.join(format!("flowtrace-{shape}.jsonl"));
    let guard = Config::new()
        .file(&trace)
        .rotation(256 * 1024 * 1024, 1)
        .init()
        .expect("flowtrace to a file");
    group.bench_function("flowtrace", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for n in 0..iters {
                if sync {
                    black_box(flowtrace_sync(black_box("alpha"), n));
                } else {
                    black_box(run_ready(flowtrace_async(black_box("alpha"), n)));
                }
            }
            flowtrace_runtime::flush().expect("flush");
            start.elapsed()
        })
    });
    group.bench_function("flowtrace-child", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            flowtrace_parent(sync, iters);
            flowtrace_runtime::flush().expect("flush");
            start.elapsed()
        })
    });
    drop(guard);

    let peer_file = format!("tracing-{shape}.jsonl");
    group.bench_function("tracing-json", |b| {
        b.iter_custom(|iters| {
            let appender = tracing_appender::rolling::never(dir, &peer_file);
            let (writer, appender_guard) =
                tracing_appender::non_blocking::NonBlockingBuilder::default()
                    .lossy(false)
                    .finish(appender);
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_span_events(FmtSpan::ENTER | FmtSpan::CLOSE)
                .with_writer(writer)
                .finish();
            let start = tracing::subscriber::with_default(subscriber, || {
                let start = Instant::now();
                for n in 0..iters {
                    if sync {
                        black_box(tracing_sync(black_box("alpha"), n));
                    } else {
                        black_box(run_ready(tracing_async(black_box("alpha"), n)));
                    }
                }
                start
            });
            drop(appender_guard); // writes out and joins the appender's worker
            let elapsed = start.elapsed();
            let _ = std::fs::remove_file(dir.join(&peer_file));
            elapsed
        })
    });
    group.finish();
}

/// Where criterion keeps its estimates: `<target>/criterion`, next to `<target>/release`.
fn criterion_dir() -> Option<PathBuf> {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn median_ns(shape: &str, variant: &str) -> Option<f64> {
    let path = criterion_dir()?
        .join(shape)
        .join(variant)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_table() {
    println!("\nmedian ns per call (ENTER + EXIT in the file for the traced variants)");
    println!(
        "{:<7} {:>10} {:>20} {:>12} {:>16} {:>14} {:>22} {:>24}",
        "shape",
        "plain",
        "flowtrace-disabled",
        "flowtrace",
        "flowtrace-child",
        "tracing-json",
        "tracing / flowtrace",
        "disabled - plain"
    );
    for shape in ["sync", "async"] {
        let medians: Vec<Option<f64>> = VARIANTS.iter().map(|v| median_ns(shape, v)).collect();
        let show = |m: Option<f64>| m.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        let ratio = match (medians[3], medians[2]) {
            (Some(peer), Some(ours)) if ours > 0.0 => format!("{:.0}x", peer / ours),
            _ => "n/a".to_owned(),
        };
        let overhead = match (medians[1], medians[0]) {
            (Some(disabled), Some(plain)) => format!("{:+.2} ns", disabled - plain),
            _ => "n/a".to_owned(),
        };
        println!(
            "{shape:<7} {:>10} {:>20} {:>12} {:>16} {:>14} {:>22} {:>24}",
            show(medians[0]),
            show(medians[1]),
            show(medians[2]),
            show(medians[4]),
            show(medians[3]),
            ratio,
            overhead
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir for the trace files");
    let mut criterion = Criterion::default().configure_from_args();
    bench_shape(&mut criterion, dir.path(), "sync");
    bench_shape(&mut criterion, dir.path(), "async");
    criterion.final_summary();
    print_table();
}
