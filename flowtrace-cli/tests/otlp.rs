//! `flowtrace export --format otlp-json` and `--format otlp`: the output decodes with
//! opentelemetry-proto's own types and follows the mapping of design §7; batches sent to an
//! OTLP/HTTP receiver (a small one started here, on a free port) arrive once each, after a 503.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, status::StatusCode};
use prost::Message;

fn flowtrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowtrace"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run flowtrace: {e}"))
}

/// Exports `files` as OTLP/JSON; returns the raw JSON and the decoded request.
fn export_json(files: &[&str]) -> (serde_json::Value, ExportTraceServiceRequest) {
    let mut args = vec!["export", "--format", "otlp-json"];
    args.extend_from_slice(files);
    let output = flowtrace(&args);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let raw = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let request = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not an ExportTraceServiceRequest ({e}): {text}"));
    (raw, request)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

fn string<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key) {
        Some(Value::StringValue(text)) => Some(text),
        _ => None,
    }
}

fn spans(resource: &ResourceSpans) -> Vec<&Span> {
    resource.scope_spans.iter().flat_map(|s| &s.spans).collect()
}

fn named<'a>(spans: &[&'a Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn otlp_json_of_two_processes_is_one_trace_linked_across_them() {
    let (raw, request) =
        export_json(&["tests/fixtures/node-a.jsonl", "tests/fixtures/node-b.jsonl"]);
    // The JSON encoding of the OTLP specification: lowerCamelCase, hex ids, 64-bit as strings.
    let first = &raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert!(
        first["traceId"].as_str().is_some_and(|t| t.len() == 32),
        "{first}"
    );
    assert!(
        first["spanId"].as_str().is_some_and(|s| s.len() == 16),
        "{first}"
    );
    assert!(first["startTimeUnixNano"].is_string(), "{first}");
    assert!(!raw.to_string().contains("keyStrindex"));

    assert_eq!(request.resource_spans.len(), 2, "one resource per process");
    let resources: Vec<&[KeyValue]> = request
        .resource_spans
        .iter()
        .map(|r| r.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]))
        .collect();
    assert_eq!(string(resources[0], "service.name"), Some("chat-a"));
    assert_eq!(string(resources[1], "service.name"), Some("chat-b"));
    for resource in &resources {
        assert!(string(resource, "service.instance.id").is_some_and(|i| i.len() == 16));
        assert!(
            matches!(attribute(resource, "process.pid"), Some(Value::IntValue(pid)) if *pid > 0)
        );
    }

    let a = spans(&request.resource_spans[0]);
    let b = spans(&request.resource_spans[1]);
    assert_eq!(a.len(), 5);
    assert_eq!(b.len(), 4);
    let trace = hex_bytes("4bf92f3577b34da6a3ce929d0e0e4736");
    let post = named(&a, "post_message");
    let publish = named(&a, "publish");
    let store = named(&a, "store");
    let deliver = named(&b, "deliver_remote");
    for span in [post, publish, store, deliver] {
        assert_eq!(span.trace_id, trace, "{}", span.name);
    }
    // The request that reached node A came with a remote parent; node B's root continues A's.
    assert_eq!(post.parent_span_id, hex_bytes("00f067aa0ba902b7"));
    assert_eq!(publish.parent_span_id, post.span_id);
    assert_eq!(store.parent_span_id, publish.span_id);
    assert_eq!(deliver.parent_span_id, publish.span_id);
    let login = named(&a, "login");
    assert_ne!(login.trace_id, trace);
    assert!(login.parent_span_id.is_empty());

    assert_eq!(
        string(&deliver.attributes, "code.namespace"),
        Some("gen_fixtures::chat")
    );
    assert_eq!(
        string(&deliver.attributes, "code.function"),
        Some("deliver_remote")
    );
    assert_eq!(string(&deliver.attributes, "thread.name"), Some("main"));
    assert_eq!(
        string(&deliver.attributes, "flowtrace.args"),
        Some(r#"{"room_id":"general","text":"hello &lt;b>","members":2}"#)
    );
    let sanitize = named(&b, "sanitize");
    assert_eq!(
        string(&sanitize.attributes, "flowtrace.result"),
        Some(r#""hello &lt;b>""#)
    );
    assert!(deliver.end_time_unix_nano > deliver.start_time_unix_nano);
    assert_eq!(deliver.kind, 1, "INTERNAL");
}

#[test]
fn otlp_json_maps_errors_panics_cancels_and_incomplete_calls() {
    let (_, request) = export_json(&["tests/fixtures/chat.jsonl"]);
    let all = spans(&request.resource_spans[0]);
    assert_eq!(all.len(), 18, "every call of the fixture");
    let failed_login = all
        .iter()
        .find(|s| s.name == "login" && s.status.as_ref().is_some_and(|st| st.code != 0))
        .unwrap_or_else(|| panic!("no failed login"));
    let status = failed_login
        .status
        .as_ref()
        .map(|s| (s.code, s.message.as_str()));
    assert_eq!(
        status,
        Some((StatusCode::Error as i32, "password of ada is too short"))
    );
    let panicked = all
        .iter()
        .find(|s| s.name == "average" && s.status.is_some())
        .unwrap_or_else(|| panic!("no panicked average"));
    assert_eq!(
        panicked.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
    let cancelled = named(&all, "load_history");
    assert_eq!(
        attribute(&cancelled.attributes, "flowtrace.cancelled"),
        Some(&Value::BoolValue(true))
    );
    assert!(
        cancelled
            .status
            .as_ref()
            .is_none_or(|s| s.code == StatusCode::Unset as i32)
    );

    // A run that crashed: its open calls end at its last timestamp, marked incomplete.
    let (_, crashed) = export_json(&["tests/fixtures/check/crashed-run.jsonl"]);
    assert_eq!(crashed.resource_spans.len(), 2);
    let first = spans(&crashed.resource_spans[0]);
    assert_eq!(first.len(), 2);
    for span in &first {
        assert_eq!(
            attribute(&span.attributes, "flowtrace.incomplete"),
            Some(&Value::BoolValue(true)),
            "{}",
            span.name
        );
        assert_eq!(span.end_time_unix_nano, 1_764_147_600_000_110_000);
    }
    let second = spans(&crashed.resource_spans[1]);
    assert!(attribute(&second[0].attributes, "flowtrace.incomplete").is_none());
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// What the receiver saw: the status it answered each request with, and the spans it kept.
#[derive(Default)]
struct Received {
    answers: Vec<u16>,
    spans: Vec<Span>,
}

/// An OTLP/HTTP receiver on a free port that answers each POST to /v1/traces with the next
/// status of `script` (then 200), decoding every body as an `ExportTraceServiceRequest`.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Received>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("address: {e}"))
            .port();
        let received = Arc::new(Mutex::new(Received::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (state, stopped) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let status = script.next().unwrap_or(200);
                serve(stream, status, &state);
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
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, status: u16, state: &Mutex<Received>) {
    let mut reader = BufReader::new(&mut stream);
    let mut length = 0;
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
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
    let request = ExportTraceServiceRequest::decode(&body[..])
        .unwrap_or_else(|e| panic!("the body is not an ExportTraceServiceRequest: {e}"));
    {
        let mut received = state.lock().unwrap_or_else(|e| e.into_inner());
        received.answers.push(status);
        if status == 200 {
            for resource in request.resource_spans {
                received
                    .spans
                    .extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
            }
        }
    }
    let reason = if status == 200 { "OK" } else { "Nope" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
    );
}

#[test]
fn otlp_export_retries_a_503_and_delivers_every_span_once() {
    let receiver = Receiver::start(vec![503]);
    let endpoint = receiver.endpoint();
    let output = flowtrace(&[
        "export",
        "--format",
        "otlp",
        "--endpoint",
        &endpoint,
        "tests/fixtures/chat.jsonl",
        "tests/fixtures/node-a.jsonl",
    ]);
    assert!(output.status.success(), "{output:?}");
    let received = receiver.received.lock().unwrap_or_else(|e| e.into_inner());
    // One batch per process; the first attempt was answered 503 and sent again.
    assert_eq!(received.answers, [503, 200, 200]);
    assert_eq!(received.spans.len(), 18 + 5, "every call, once");
    let mut ids: HashMap<&[u8], usize> = HashMap::new();
    for span in &received.spans {
        *ids.entry(&span.span_id[..]).or_default() += 1;
    }
    assert!(ids.values().all(|n| *n == 1), "a span arrived twice");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("sent 23 spans"),
        "{output:?}"
    );
}

#[test]
fn otlp_export_says_what_the_receiver_refused() {
    let receiver = Receiver::start(vec![400]);
    let endpoint = receiver.endpoint();
    let output = flowtrace(&[
        "export",
        "--format",
        "otlp",
        "--endpoint",
        &endpoint,
        "tests/fixtures/node-a.jsonl",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refused a batch with HTTP 400: nope"),
        "{stderr}"
    );
}

#[test]
fn otlp_export_to_nothing_or_without_an_endpoint_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("free port: {e}"));
    let endpoint = format!("http://127.0.0.1:{port}");
    let args = [
        "export",
        "--format",
        "otlp",
        "--endpoint",
        &endpoint,
        "tests/fixtures/node-a.jsonl",
    ];
    let output = flowtrace(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot send to the OTLP receiver"),
        "{output:?}"
    );
    let output = flowtrace(&["export", "--format", "otlp", "tests/fixtures/node-a.jsonl"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--endpoint"),
        "{output:?}"
    );
    let output = flowtrace(&[
        "export",
        "--format",
        "otlp",
        "--endpoint",
        "https://collector:4318",
        "tests/fixtures/node-a.jsonl",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("https is not built in"));
}
