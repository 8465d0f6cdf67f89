//! The live OTLP exporter (feature `otlp`): a receiver started here on a free port, decoding
//! every POST with opentelemetry-proto, gets every completed call of a traced run as a span,
//! once, after answering 503 first; a dead endpoint costs the traced program nothing but the
//! spans, which `stats()` counts, while the trace file stays complete.

#![cfg(feature = "otlp")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::MemorySink;
use flowtrace_runtime::{Config, flowtrace};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use prost::Message;
use serial_test::serial;

#[flowtrace]
fn leaf(n: u64) -> u64 {
    n * 2
}

#[flowtrace]
fn branch(n: u64) -> u64 {
    leaf(n) + leaf(n + 1)
}

#[flowtrace]
fn refuse(reason: &str) -> Result<(), String> {
    Err(reason.to_owned())
}

/// What the receiver kept: its answers and the spans (with their resource's service name).
#[derive(Default)]
struct Received {
    answers: Vec<u16>,
    spans: Vec<(String, Span)>,
}

/// An OTLP/HTTP receiver on a free port answering each POST with the next status of its
/// script, then 200. Stopped on drop.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Received>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Received::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (state, stopped) = (received.clone(), stop.clone());
        let script = Arc::new(Mutex::new(script.into_iter()));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (script, state) = (script.clone(), state.clone());
                // A thread per connection: the client may keep one open while it opens another.
                std::thread::spawn(move || serve(stream, &script, &state));
            }
        });
        Self {
            port,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until the receiver holds `count` spans (or a minute has passed).
    fn wait_for(&self, count: usize) -> std::sync::MutexGuard<'_, Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.received.lock().expect("receiver state");
            if received.spans.len() >= count || Instant::now() > deadline {
                return received;
            }
            drop(received);
            std::thread::yield_now();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves the requests of one connection (ureq keeps it alive between batches).
fn serve(stream: TcpStream, script: &Mutex<std::vec::IntoIter<u16>>, state: &Mutex<Received>) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).map_or(true, |n| n == 0) {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_or(true, |n| n == 0) || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        assert!(
            request_line.starts_with("POST /v1/traces "),
            "{request_line}"
        );
        let request = ExportTraceServiceRequest::decode(&body[..]).expect("protobuf request");
        let status = script.lock().expect("script").next().unwrap_or(200);
        {
            let mut received = state.lock().expect("receiver state");
            received.answers.push(status);
            if status == 200 {
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|kv| kv.key == "service.name")
                        .and_then(|kv| kv.value.as_ref())
                        .and_then(|v| match &v.value {
                            Some(Value::StringValue(name)) => Some(name.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            received.spans.push((service.clone(), span));
                        }
                    }
                }
            }
        }
        let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
#[serial]
fn every_completed_call_reaches_the_receiver_once_after_a_503() {
    let receiver = Receiver::start(vec![503]);
    let before = flowtrace_runtime::stats();
    let memory = MemorySink::default();
    let guard = Config::new()
        .writer(memory.clone())
        .service_name("live-test")
        .otlp_endpoint(receiver.endpoint())
        .init()
        .expect("init");
    for n in 0..10 {
        branch(n);
    }
    let _ = refuse("no");
    flowtrace_runtime::flush().expect("flush");
    // 10 × (branch + 2 leaves) + refuse.
    let received = receiver.wait_for(31);
    assert_eq!(
        received.answers.first(),
        Some(&503),
        "{:?}",
        received.answers
    );
    assert_eq!(received.spans.len(), 31, "answers {:?}", received.answers);
    let spans: Vec<&Span> = received.spans.iter().map(|(_, span)| span).collect();
    assert!(
        received
            .spans
            .iter()
            .all(|(service, _)| service == "live-test")
    );
    let mut ids: Vec<&[u8]> = spans.iter().map(|s| &s.span_id[..]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 31, "every span once");
    for root in spans.iter().filter(|s| s.name == "branch") {
        assert!(root.parent_span_id.is_empty());
        let children: Vec<&&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id == root.span_id)
            .collect();
        assert_eq!(children.len(), 2);
        assert!(
            children
                .iter()
                .all(|c| c.name == "leaf" && c.trace_id == root.trace_id)
        );
    }
    let refused = spans
        .iter()
        .find(|s| s.name == "refuse")
        .expect("refuse span");
    let status = refused
        .status
        .as_ref()
        .map(|s| (s.code, s.message.as_str()));
    assert_eq!(status, Some((StatusCode::Error as i32, "no")));
    drop(received);
    drop(guard);
    let after = flowtrace_runtime::stats();
    assert_eq!(after.otlp_exported - before.otlp_exported, 31);
    assert_eq!(after.otlp_failed - before.otlp_failed, 0);
    // The file got every record as usual: START and two per call.
    assert_eq!(memory.records().len(), 1 + 2 * 31);
}

#[test]
#[serial]
fn a_dead_endpoint_loses_only_spans_and_counts_them() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port");
    let before = flowtrace_runtime::stats();
    let memory = MemorySink::default();
    let guard = Config::new()
        .writer(memory.clone())
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .init()
        .expect("init");
    for n in 0..2000 {
        leaf(n);
    }
    flowtrace_runtime::flush().expect("flush");
    drop(guard);
    // The traced program went on and the file is complete.
    assert_eq!(memory.records().len(), 1 + 2 * 2000);
    // The exporter gives up on its own: wait for its count, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lost = loop {
        let now = flowtrace_runtime::stats();
        let lost =
            (now.otlp_failed - before.otlp_failed) + (now.otlp_dropped - before.otlp_dropped);
        if lost >= 2000 || Instant::now() > deadline {
            break lost;
        }
        std::thread::yield_now();
    };
    assert_eq!(lost, 2000);
    assert_eq!(
        flowtrace_runtime::stats().otlp_exported,
        before.otlp_exported
    );
}
