//! Per-call cost of `#[flowtrace]`, side by side with no instrumentation and with the peers
//! (`#[tracing::instrument]` + JSON, `#[fastrace::trace]` with and without the arguments),
//! every traced variant timed until its records are in the file.
//!
//! Run: `cargo bench -p flowtrace-runtime --bench overhead`. Groups: `sync` and `async` (one
//! call with a `&str` and a `u64`), `nested` (an outer call making two inner ones, per outer
//! call), `two-threads` (two threads calling at once, per call per thread). Variants:
//! `flowtrace-disabled` (tracing off; `tracing-disabled`: tracing's macro with no subscriber), `flowtrace-unsampled` (calls inside a root that
//! sampling left out), `flowtrace-devnull` (the whole pipeline, every line built and written,
//! to `/dev/null`: no page-cache copy), `flowtrace` (to a file). A table of medians and ratios
//! is printed at the end, then the calling thread's own CPU time per call.

mod peers;
mod subjects;
mod table;
mod thread_cpu;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flowtrace_runtime::{Config, FlushGuard};

use subjects::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sync,
    Async,
    Nested,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Async => "async",
            Self::Nested => "nested",
        }
    }
}

const NAME: &str = "alpha";

fn plain(shape: Shape, n: u64) -> u64 {
    match shape {
        Shape::Sync => plain_sync(black_box(NAME), n),
        Shape::Async => run_ready(plain_async(black_box(NAME), n)),
        Shape::Nested => plain_nested(black_box(NAME), n),
    }
}

fn flowtrace(shape: Shape, n: u64) -> u64 {
    match shape {
        Shape::Sync => flowtrace_sync(black_box(NAME), n),
        Shape::Async => run_ready(flowtrace_async(black_box(NAME), n)),
        Shape::Nested => flowtrace_nested(black_box(NAME), n),
    }
}

fn tracing(shape: Shape, n: u64) -> u64 {
    match shape {
        Shape::Sync => tracing_sync(black_box(NAME), n),
        Shape::Async => run_ready(tracing_async(black_box(NAME), n)),
        Shape::Nested => tracing_nested(black_box(NAME), n),
    }
}

fn fastrace(shape: Shape, n: u64) -> u64 {
    match shape {
        Shape::Sync => fastrace_sync(black_box(NAME), n),
        Shape::Async => run_ready(fastrace_async(black_box(NAME), n)),
        Shape::Nested => fastrace_nested(black_box(NAME), n),
    }
}

fn fastrace_noargs(shape: Shape, n: u64) -> u64 {
    match shape {
        Shape::Sync | Shape::Nested => fastrace_noargs_sync(black_box(NAME), n),
        Shape::Async => run_ready(fastrace_noargs_async(black_box(NAME), n)),
    }
}

fn to_devnull() -> FlushGuard {
    Config::new()
        .file("/dev/null")
        .init()
        .expect("flowtrace to /dev/null")
}

fn to_file(dir: &Path, name: &str) -> FlushGuard {
    Config::new()
        .file(dir.join(name))
        .rotation(256 * 1024 * 1024, 1)
        .init()
        .expect("flowtrace to a file")
}

/// Times `iters` calls of `call`, then `finish` (which writes everything out).
fn timed(iters: u64, call: impl Fn(u64) -> u64, finish: impl FnOnce()) -> Duration {
    let start = Instant::now();
    for n in 0..iters {
        black_box(call(n));
    }
    finish();
    start.elapsed()
}

fn flush() {
    flowtrace_runtime::flush().expect("flush");
}

fn bench_shape(c: &mut Criterion, dir: &Path, shape: Shape) {
    let mut group = c.benchmark_group(shape.name());
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(25);

    group.bench_function("plain", |b| b.iter(|| plain(shape, black_box(7))));

    let disabled = Config::new().enabled(false).init().expect("disabled");
    group.bench_function("flowtrace-disabled", |b| {
        b.iter(|| flowtrace(shape, black_box(7)))
    });
    drop(disabled);
    // No subscriber anywhere: tracing's own disabled path.
    group.bench_function("tracing-disabled", |b| {
        b.iter(|| tracing(shape, black_box(7)))
    });

    let guard = to_devnull();
    if shape != Shape::Nested {
        group.bench_function("flowtrace-unsampled", |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                flowtrace_unsampled_root(&mut || {
                    elapsed = timed(iters, |n| flowtrace(shape, n), || {});
                });
                elapsed
            })
        });
    }
    group.bench_function("flowtrace-devnull", |b| {
        b.iter_custom(|iters| timed(iters, |n| flowtrace(shape, n), flush))
    });
    drop(guard);

    let guard = to_file(dir, &format!("flowtrace-{}.jsonl", shape.name()));
    group.bench_function("flowtrace", |b| {
        b.iter_custom(|iters| timed(iters, |n| flowtrace(shape, n), flush))
    });
    drop(guard);

    let peer_file = format!("tracing-{}.jsonl", shape.name());
    group.bench_function("tracing-json", |b| {
        b.iter_custom(|iters| {
            let (dispatch, appender) = peers::tracing_json(dir, &peer_file);
            let elapsed = tracing::dispatcher::with_default(&dispatch, || {
                // Dropping the guard writes out and joins the appender's worker.
                timed(iters, |n| tracing(shape, n), || drop(appender))
            });
            let _ = std::fs::remove_file(dir.join(&peer_file));
            elapsed
        })
    });

    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| fastrace_timed(iters, |n| fastrace(shape, n)))
    });
    if shape != Shape::Nested {
        group.bench_function("fastrace-noargs", |b| {
            b.iter_custom(|iters| fastrace_timed(iters, |n| fastrace_noargs(shape, n)))
        });
    }
    group.finish();
}

fn fastrace_timed(iters: u64, call: impl Fn(u64) -> u64) -> Duration {
    let start = Instant::now();
    peers::under_fastrace_roots(iters, |n| {
        black_box(call(n));
    });
    fastrace::flush();
    start.elapsed()
}

/// Two threads calling the sync function at once; the time is per call per thread.
fn bench_two_threads(c: &mut Criterion, dir: &Path) {
    let mut group = c.benchmark_group("two-threads");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let both = |iters: u64, call: &(dyn Fn(u64) + Sync)| {
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for n in 0..iters {
                        call(n);
                    }
                });
            }
        });
    };
    group.bench_function("plain", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            both(iters, &|n| {
                black_box(plain(Shape::Sync, n));
            });
            start.elapsed()
        })
    });
    for variant in ["flowtrace-devnull", "flowtrace"] {
        let guard = if variant == "flowtrace" {
            to_file(dir, "flowtrace-two-threads.jsonl")
        } else {
            to_devnull()
        };
        group.bench_function(variant, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                both(iters, &|n| {
                    black_box(flowtrace(Shape::Sync, n));
                });
                flush();
                start.elapsed()
            })
        });
        drop(guard);
    }
    group.bench_function("tracing-json", |b| {
        b.iter_custom(|iters| {
            let (dispatch, appender) = peers::tracing_json(dir, "tracing-two-threads.jsonl");
            let start = Instant::now();
            both(iters, &|n| {
                tracing::dispatcher::with_default(&dispatch, || {
                    black_box(tracing(Shape::Sync, n));
                });
            });
            drop(appender);
            let elapsed = start.elapsed();
            let _ = std::fs::remove_file(dir.join("tracing-two-threads.jsonl"));
            elapsed
        })
    });
    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        peers::under_fastrace_roots(iters, |n| {
                            black_box(fastrace(Shape::Sync, n));
                        })
                    });
                }
            });
            fastrace::flush();
            start.elapsed()
        })
    });
    group.finish();
}

/// The calling thread's CPU per call, with the writer on the other core. The ring holds twice
/// a round's records, so that the thread never waits for the writer (waiting in `block` mode
/// yields and sleeps, which would count as the thread's CPU), and is small enough to stay in
/// cache as the default one does.
fn thread_cpu() -> Vec<(String, f64)> {
    const RING: usize = 1 << 15;
    let mut rows = Vec::new();
    for shape in [Shape::Sync, Shape::Async, Shape::Nested] {
        let records_per_call = if shape == Shape::Nested { 6 } else { 2 };
        let calls = (RING / 2 / records_per_call) as u64;
        let plain_ns = thread_cpu::ns_per_call(
            41,
            calls,
            |n| {
                black_box(plain(shape, n));
            },
            || {},
        );
        let guard = Config::new()
            .file("/dev/null")
            .capacity(RING)
            .init()
            .expect("flowtrace to /dev/null");
        let traced_ns = thread_cpu::ns_per_call(
            41,
            calls,
            |n| {
                black_box(flowtrace(shape, n));
            },
            flush,
        );
        drop(guard);
        rows.push((format!("{} plain", shape.name()), plain_ns));
        rows.push((format!("{} flowtrace", shape.name()), traced_ns));
    }
    rows
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir for the trace files");
    peers::start_fastrace(&dir.path().join("fastrace.jsonl"));
    let mut criterion = Criterion::default().configure_from_args();
    for shape in [Shape::Sync, Shape::Async, Shape::Nested] {
        bench_shape(&mut criterion, dir.path(), shape);
    }
    bench_two_threads(&mut criterion, dir.path());
    criterion.final_summary();
    let cpu = thread_cpu();
    table::print(&["sync", "async", "nested", "two-threads"], &cpu);
}
