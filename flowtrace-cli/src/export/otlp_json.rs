//! `flowtrace export --format otlp-json`: one OTLP/JSON `ExportTraceServiceRequest`, written as
//! the spans come (hex ids, 64-bit times as strings, lowerCamelCase keys, as the OTLP
//! specification encodes protobuf in JSON; each object is serialised by opentelemetry-proto's
//! own serde support). One `resourceSpans` entry per process segment.

use std::io::Write;

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::spans::{SpanSink, scope};
use crate::error::Error;

/// Streams the request document to `out`.
pub(super) struct JsonSink<'w> {
    out: &'w mut dyn Write,
    /// A `resourceSpans` entry is open.
    in_resource: bool,
    /// A `resourceSpans` entry was written.
    any_resource: bool,
    /// The next span is not the first of its resource.
    after_span: bool,
}

impl<'w> JsonSink<'w> {
    pub(super) fn new(out: &'w mut dyn Write) -> Result<Self, Error> {
        out.write_all(b"{\"resourceSpans\":[")
            .map_err(Error::Stdout)?;
        Ok(Self {
            out,
            in_resource: false,
            any_resource: false,
            after_span: false,
        })
    }

    fn close_resource(&mut self) -> Result<(), Error> {
        if std::mem::take(&mut self.in_resource) {
            self.out.write_all(b"]}]}").map_err(Error::Stdout)?;
        }
        Ok(())
    }
}

impl SpanSink for JsonSink<'_> {
    fn resource(&mut self, resource: Resource) -> Result<(), Error> {
        self.close_resource()?;
        let mut head = Vec::new();
        if std::mem::replace(&mut self.any_resource, true) {
            head.push(b',');
        }
        head.extend_from_slice(b"\n{\"resource\":");
        head.extend_from_slice(json(&resource)?.as_bytes());
        head.extend_from_slice(b",\"scopeSpans\":[{\"scope\":");
        head.extend_from_slice(json(&scope())?.as_bytes());
        head.extend_from_slice(b",\"spans\":[");
        self.out.write_all(&head).map_err(Error::Stdout)?;
        self.in_resource = true;
        self.after_span = false;
        Ok(())
    }

    fn span(&mut self, span: Span) -> Result<(), Error> {
        let separator: &[u8] = if self.after_span { b",\n" } else { b"\n" };
        self.out.write_all(separator).map_err(Error::Stdout)?;
        self.out
            .write_all(json(&span)?.as_bytes())
            .map_err(Error::Stdout)?;
        self.after_span = true;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.close_resource()?;
        self.out.write_all(b"\n]}\n").map_err(Error::Stdout)?;
        self.out.flush().map_err(Error::Stdout)
    }
}

/// `value` as JSON, without the profiling-only `keyStrindex` of every attribute: OTLP receivers
/// of traces are asked to warn when they see it. (Inside a string value a `"` is escaped, so
/// the pattern can only be the key itself.)
fn json(value: &impl serde::Serialize) -> Result<String, Error> {
    let text = serde_json::to_string(value).map_err(|e| Error::Stdout(e.into()))?;
    Ok(text.replace(",\"keyStrindex\":0", ""))
}
