//! The peers, set up to do what flowtrace does: every call ends up as JSON in a file,
//! written by a background thread.
//!
//! - tracing: `#[tracing::instrument]`, tracing-subscriber's JSON formatter writing ENTER and
//!   CLOSE span events through `tracing_appender::non_blocking` (lossless) to a file;
//! - fastrace: `#[fastrace::trace]` under a root span per 100 calls (as a request would be),
//!   its collector thread handing spans to a reporter that writes one JSON line per span.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use fastrace::collector::{Reporter, SpanContext, SpanRecord};
use fastrace::prelude::Span;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::fmt::format::FmtSpan;

/// A tracing dispatch writing JSON to `dir/file`, and the guard that writes it out.
pub(crate) fn tracing_json(dir: &Path, file: &str) -> (tracing::Dispatch, WorkerGuard) {
    let appender = tracing_appender::rolling::never(dir, file);
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(appender);
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_events(FmtSpan::ENTER | FmtSpan::CLOSE)
        .with_writer(writer)
        .finish();
    (tracing::Dispatch::new(subscriber), guard)
}

/// Writes each span fastrace reports as one JSON line, formatted straight into a buffered
/// file. Names and properties are written without escaping (the bench's never need it),
/// which favours the peer.
struct JsonLines(BufWriter<File>);

impl Reporter for JsonLines {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        for span in spans {
            let _ = write!(
                self.0,
                "{{\"name\":\"{}\",\"trace\":\"{:032x}\",\"span\":{},\"parent\":{},\
                 \"begin\":{},\"duration\":{},\"properties\":{{",
                span.name,
                span.trace_id.0,
                span.span_id.0,
                span.parent_id.0,
                span.begin_time_unix_ns,
                span.duration_ns
            );
            for (index, (key, value)) in span.properties.iter().enumerate() {
                let comma = if index == 0 { "" } else { "," };
                let _ = write!(self.0, "{comma}\"{key}\":\"{value}\"");
            }
            let _ = self.0.write_all(b"}}\n");
        }
        let _ = self.0.flush();
    }
}

/// Starts fastrace's collector, reporting to `path`.
pub(crate) fn start_fastrace(path: &Path) {
    let file = File::create(path).expect("fastrace's trace file");
    fastrace::set_reporter(
        JsonLines(BufWriter::with_capacity(256 * 1024, file)),
        fastrace::collector::Config::default(),
    );
}

/// Calls `call(n)` for `n` in `0..iters` under fastrace root spans of 100 calls each.
pub(crate) fn under_fastrace_roots(iters: u64, mut call: impl FnMut(u64)) {
    let mut n = 0;
    while n < iters {
        let root = Span::root("request", SpanContext::random());
        let _parent = root.set_local_parent();
        for _ in 0..100.min(iters - n) {
            call(n);
            n += 1;
        }
    }
}
