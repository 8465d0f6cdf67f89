//! Calls to OTLP spans (design §7), streamed: a span is made when its call closes, so memory
//! holds the open calls of the current process segment, not the file.
//!
//! Each process segment is one OTLP resource (`service.name`, `service.instance.id`,
//! `process.pid` from its START). A span's id is derived from the segment's instance and the
//! call's id as the runtime derives it, so a `remoteParent` written by another process names
//! its span here too; its trace is the root's `trace`, inherited by the children. A trace
//! written before trace ids existed (no START) gets ids derived from its file's calls.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};

use crate::error::Error;
use crate::ids::{IdMap, span_id};
use crate::input::{self, Stream, Summary};
use crate::progress::Progress;
use crate::record::{Body, Call, Event, decoded};

/// Where spans go: a JSON document or batches POSTed to a collector.
pub(super) trait SpanSink {
    /// A new process segment begins; its spans follow.
    fn resource(&mut self, resource: Resource) -> Result<(), Error>;
    /// A span of the current resource.
    fn span(&mut self, span: Span) -> Result<(), Error>;
    /// Everything was read.
    fn finish(&mut self) -> Result<(), Error>;
}

/// The instrumentation scope every span is reported under.
pub(super) fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "flowtrace".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..InstrumentationScope::default()
    }
}

/// A call entered and not yet closed.
struct Open {
    trace: [u8; 16],
    span: u64,
    parent_span: Option<u64>,
    start_micros: u64,
    name: String,
    attributes: Vec<KeyValue>,
}

/// The state of the current process segment.
struct Segment {
    /// Span ids derive from it: the START's instance, or 0 for a trace without one.
    instance: u64,
    open: IdMap<Open>,
    last_micros: u64,
}

/// Reads `streams` and hands every call, as a span, to `sink`.
pub(super) fn export(
    streams: &[Stream],
    progress: &mut Progress,
    sink: &mut dyn SpanSink,
) -> Result<Summary, Error> {
    let mut current: Option<(usize, Segment)> = None;
    let summary = input::for_each_record(streams, progress, |index, place, record| {
        if current.as_ref().is_none_or(|(at, _)| *at != index) {
            if let Some((_, segment)) = current.take() {
                segment.finish(sink)?;
            }
            let (resource, instance) = match &record.body {
                Body::Start(start) => {
                    let instance = u64::from_str_radix(start.instance, 16).unwrap_or(0);
                    let pid = i64::try_from(start.pid).unwrap_or(i64::MAX);
                    let resource = vec![
                        string("service.name", &start.service),
                        string("service.instance.id", start.instance),
                        int("process.pid", pid),
                    ];
                    (resource, instance)
                }
                _ => {
                    let name = place.path.file_stem().map(|s| s.to_string_lossy());
                    (vec![string("service.name", &name.unwrap_or_default())], 0)
                }
            };
            sink.resource(Resource {
                attributes: resource,
                ..Resource::default()
            })?;
            current = Some((
                index,
                Segment {
                    instance,
                    open: IdMap::default(),
                    last_micros: 0,
                },
            ));
        }
        let Some((_, segment)) = current.as_mut() else {
            return Ok(());
        };
        segment.last_micros = segment.last_micros.max(record.micros);
        match record.body {
            Body::Enter { call, args, link } => {
                let remote = link
                    .remote_parent
                    .and_then(|span| u64::from_str_radix(span, 16).ok());
                let (trace, parent_span) = match call.parent {
                    Some(parent) => match segment.open.get(&parent) {
                        Some(open) => (open.trace, Some(open.span)),
                        None => (segment.derived_trace(parent), Some(segment.span(parent))),
                    },
                    None => {
                        let trace = link.trace.and_then(parse_trace);
                        (
                            trace.unwrap_or_else(|| segment.derived_trace(call.id)),
                            remote,
                        )
                    }
                };
                let mut attributes = call_attributes(&call);
                attributes.push(string("flowtrace.args", &decoded(args)));
                let open = Open {
                    trace,
                    span: segment.span(call.id),
                    parent_span,
                    start_micros: record.micros,
                    name: call.function.into_owned(),
                    attributes,
                };
                segment.open.insert(call.id, open);
            }
            Body::Close {
                call,
                event,
                duration_micros,
                result,
                error,
            } => {
                let open = match segment.open.remove(&call.id) {
                    Some(open) => open,
                    // Its ENTER is not in the input (rotated away, or lost).
                    None => Open {
                        trace: segment.derived_trace(call.id),
                        span: segment.span(call.id),
                        parent_span: call.parent.map(|parent| segment.span(parent)),
                        start_micros: record.micros.saturating_sub(duration_micros),
                        name: call.function.to_string(),
                        attributes: call_attributes(&call),
                    },
                };
                let end = open.start_micros + duration_micros;
                let mut span = open.into_span(end);
                if let Some(result) = result {
                    span.attributes
                        .push(string("flowtrace.result", &decoded(result)));
                }
                match event {
                    Event::Exception | Event::Panic => {
                        let message = error.map(|e| decoded(e).into_owned()).unwrap_or_default();
                        span.status = Some(Status {
                            message,
                            code: status::StatusCode::Error as i32,
                        });
                    }
                    Event::Cancel => span.attributes.push(boolean("flowtrace.cancelled")),
                    _ => {}
                }
                sink.span(span)?;
            }
            Body::Start(_) | Body::Dropped { .. } => {}
        }
        Ok(())
    })?;
    if let Some((_, segment)) = current.take() {
        segment.finish(sink)?;
    }
    sink.finish()?;
    Ok(summary)
}

impl Segment {
    fn span(&self, id: u64) -> u64 {
        let instance = format!("{:016x}", self.instance);
        span_id(&instance, id).unwrap_or(id)
    }

    /// A trace id for a root that has none (a trace from before trace ids, or a lost ENTER):
    /// its span id, widened.
    fn derived_trace(&self, root: u64) -> [u8; 16] {
        let mut trace = [0; 16];
        trace[..8].copy_from_slice(&self.instance.to_be_bytes());
        trace[8..].copy_from_slice(&self.span(root).to_be_bytes());
        trace
    }

    /// Ends the calls still open at the segment's last timestamp, marked incomplete.
    fn finish(self, sink: &mut dyn SpanSink) -> Result<(), Error> {
        let mut open: Vec<(u64, Open)> = self.open.into_iter().collect();
        open.sort_by_key(|(id, open)| (open.start_micros, *id));
        for (_, open) in open {
            let end = self.last_micros.max(open.start_micros);
            let mut span = open.into_span(end);
            span.attributes.push(boolean("flowtrace.incomplete"));
            sink.span(span)?;
        }
        Ok(())
    }
}

impl Open {
    fn into_span(self, end_micros: u64) -> Span {
        Span {
            trace_id: self.trace.to_vec(),
            span_id: self.span.to_be_bytes().to_vec(),
            parent_span_id: self
                .parent_span
                .map(|span| span.to_be_bytes().to_vec())
                .unwrap_or_default(),
            name: self.name,
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: self.start_micros.saturating_mul(1000),
            end_time_unix_nano: end_micros.saturating_mul(1000),
            attributes: self.attributes,
            ..Span::default()
        }
    }
}

/// `code.namespace`, `code.function` and `thread.name`.
fn call_attributes(call: &Call<'_>) -> Vec<KeyValue> {
    vec![
        string("code.namespace", &call.module),
        string("code.function", &call.function),
        string("thread.name", &call.thread),
    ]
}

fn parse_trace(hex: &str) -> Option<[u8; 16]> {
    let value = u128::from_str_radix(hex, 16).ok()?;
    (hex.len() == 32 && value != 0).then(|| value.to_be_bytes())
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

fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

fn boolean(key: &str) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(true))
}
