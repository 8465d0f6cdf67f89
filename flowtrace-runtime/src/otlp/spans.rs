//! Records to OTLP spans, on the writer thread, with the mapping of design §7 (the same as
//! `flowtrace export --format otlp`): one resource per process segment, span ids derived from
//! the segment's instance and the call's id, the root's trace inherited by its children.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};

use crate::clock;
use crate::ids::span_id;
use crate::record::{Event, Record};
use crate::thread_label::ThreadLabel;

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

/// A call entered and not yet closed.
struct Open {
    trace: [u8; 16],
    parent_span: Option<u64>,
    start_nanos: u64,
    attributes: Vec<KeyValue>,
}

/// Open calls by id, for the segment whose instance is `instance`.
pub(super) struct Builder {
    instance: u64,
    open: HashMap<u64, Open>,
    last_nanos: u64,
}

impl Builder {
    pub(super) fn new(instance: u64) -> Self {
        Self {
            instance,
            open: HashMap::new(),
            last_nanos: 0,
        }
    }

    /// Takes in a record; returns the span of a call that closed.
    pub(super) fn record(&mut self, record: &Record) -> Option<Span> {
        let at = clock::epoch_micros(record.at).saturating_mul(1000);
        self.last_nanos = self.last_nanos.max(at);
        if record.is_enter() {
            let parent = record.parent();
            let (trace, parent_span) = match record.root() {
                Some((trace, remote)) => {
                    let mut bytes = [0; 16];
                    bytes[..8].copy_from_slice(&trace.high.to_be_bytes());
                    bytes[8..].copy_from_slice(&trace.low.to_be_bytes());
                    (bytes, (remote != 0).then_some(remote))
                }
                None => {
                    // A parent not seen (lost in `drop` mode): a trace of its own, derived.
                    let trace = self.open.get(&parent).map_or_else(
                        || {
                            let mut bytes = [0; 16];
                            bytes[..8].copy_from_slice(&self.instance.to_be_bytes());
                            bytes[8..]
                                .copy_from_slice(&span_id(self.instance, parent).to_be_bytes());
                            bytes
                        },
                        |open| open.trace,
                    );
                    (trace, Some(span_id(self.instance, parent)))
                }
            };
            let mut attributes = vec![
                string("code.namespace", record.site.module),
                string("code.function", record.site.function),
                string("thread.name", &thread_name(record.thread)),
            ];
            let args = record.args();
            let args = if args.is_empty() {
                b"{}" as &[u8]
            } else {
                args
            };
            attributes.push(string("flowtrace.args", &unescaped(args)));
            self.open.insert(
                record.id,
                Open {
                    trace,
                    parent_span,
                    start_nanos: at,
                    attributes,
                },
            );
            return None;
        }
        let open = self.open.remove(&record.id)?;
        let end = open.start_nanos + record.duration_micros().saturating_mul(1000);
        let mut span = self.span(record.id, record.site.function, open, end);
        match record.event {
            Event::Exit if !record.payload.is_empty() => {
                let result = unescaped(&record.payload);
                span.attributes.push(string("flowtrace.result", &result));
            }
            Event::Exception | Event::Panic => {
                span.status = Some(Status {
                    message: unescaped(&record.payload),
                    code: status::StatusCode::Error as i32,
                });
            }
            Event::Cancel => span.attributes.push(boolean("flowtrace.cancelled")),
            _ => {}
        }
        Some(span)
    }

    /// The calls still open, as spans ending now, marked incomplete.
    pub(super) fn finish(&mut self) -> Vec<Span> {
        let open: Vec<(u64, Open)> = self.open.drain().collect();
        let end = self.last_nanos;
        open.into_iter()
            .map(|(id, open)| {
                let end = end.max(open.start_nanos);
                let name = string_value(&open.attributes, "code.function");
                let mut span = self.span(id, &name, open, end);
                span.attributes.push(boolean("flowtrace.incomplete"));
                span
            })
            .collect()
    }

    fn span(&self, id: u64, name: &str, open: Open, end_nanos: u64) -> Span {
        Span {
            trace_id: open.trace.to_vec(),
            span_id: span_id(self.instance, id).to_be_bytes().to_vec(),
            parent_span_id: open
                .parent_span
                .map(|span| span.to_be_bytes().to_vec())
                .unwrap_or_default(),
            flags: 1,
            name: name.to_owned(),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: open.start_nanos,
            end_time_unix_nano: end_nanos,
            attributes: open.attributes,
            ..Span::default()
        }
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

fn string_value(attributes: &[KeyValue], key: &str) -> String {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| match &value.value {
            Some(any_value::Value::StringValue(text)) => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
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
