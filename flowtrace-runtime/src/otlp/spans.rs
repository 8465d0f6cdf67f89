//! Calls to OTLP spans, on the `flowtrace-otlp` thread, with the mapping of design §7 (the same
//! as `flowtrace export --format otlp`): one resource per process segment, span ids derived
//! from the segment's instance and the call's id, the root's trace shared by its children.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};

use crate::clock;
use crate::ids::span_id;
use crate::record::{Event, Record};
use crate::thread_label::ThreadLabel;

use super::Entered;

/// The resource of this process segment.
pub(super) fn resource(service: &str, instance: u64, pid: u32) -> Resource {
    Resource {
        attributes: vec![
            string("service.name", service),
            string("service.instance.id", &format!("{instance:016x}")),
            attribute("process.pid", any_value::Value::IntValue(i64::from(pid))),
        ],
        ..Resource::default()
    }
}

/// The span of the call that entered with `enter` and closed with `close`, or, without
/// `close`, that was still open at `end_nanos` (marked incomplete).
pub(super) fn span(
    instance: u64,
    entered: &Entered,
    close: Option<&Record>,
    end_nanos: u64,
) -> Span {
    let Entered {
        record: enter,
        thread,
        trace,
    } = entered;
    let trace = *trace;
    let start = clock::epoch_micros(enter.at).saturating_mul(1000);
    let parent_span = match enter.root() {
        Some((_, remote)) => (remote != 0).then_some(remote),
        None => Some(span_id(instance, enter.parent())),
    };
    let mut args = Vec::new();
    crate::captured::render(enter.site, enter.args(), &mut args);
    let mut attributes = vec![
        string("code.namespace", enter.site.module),
        string("code.function", enter.site.function),
        string("thread.name", &thread_name(*thread)),
        string("flowtrace.args", &unescaped(&args)),
    ];
    let mut status = None;
    let end = match close {
        Some(close) => {
            match close.event {
                Event::Exit if !close.payload.is_empty() => {
                    attributes.push(string("flowtrace.result", &unescaped(&close.payload)));
                }
                Event::Exception | Event::Panic => {
                    status = Some(Status {
                        message: unescaped(&close.payload),
                        code: status::StatusCode::Error as i32,
                    });
                }
                Event::Cancel => attributes.push(boolean("flowtrace.cancelled")),
                _ => {}
            }
            start + close.duration_micros().saturating_mul(1000)
        }
        None => {
            attributes.push(boolean("flowtrace.incomplete"));
            end_nanos.max(start)
        }
    };
    let mut trace_id = trace.high.to_be_bytes().to_vec();
    trace_id.extend_from_slice(&trace.low.to_be_bytes());
    Span {
        trace_id,
        span_id: span_id(instance, enter.id).to_be_bytes().to_vec(),
        parent_span_id: parent_span
            .map(|span| span.to_be_bytes().to_vec())
            .unwrap_or_default(),
        flags: 1,
        name: enter.site.function.to_owned(),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        status,
        ..Span::default()
    }
}

/// The text of a payload (escaped for the inside of a JSON string).
fn unescaped(payload: &[u8]) -> String {
    let mut quoted = Vec::with_capacity(payload.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(payload);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).unwrap_or_else(|_| String::from_utf8_lossy(payload).into())
}

fn thread_name(label: ThreadLabel) -> String {
    match label {
        ThreadLabel::Named(json) => serde_json::from_str(json).unwrap_or_else(|_| json.to_owned()),
        ThreadLabel::Unnamed(number) => format!("ThreadId({number})"),
    }
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_owned()))
}

fn boolean(key: &str) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(true))
}
