//! `flowtrace export`: a trace in another tool's format — Chrome's Trace Event Format for
//! Perfetto (`chrome`), or OpenTelemetry's OTLP, as a JSON file (`otlp-json`) or POSTed to a
//! collector (`otlp`), with the mapping of design §7 (`spans`).

use std::io::Write;

use crate::error::Error;
use crate::input::{Stream, Summary};
use crate::progress::Progress;

mod chrome;
mod otlp_http;
mod otlp_json;
mod spans;

pub(crate) use otlp_http::traces_url;

/// Output formats of `export`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Chrome Trace Event Format (JSON), for ui.perfetto.dev and chrome://tracing.
    #[default]
    Chrome,
    /// An OTLP/JSON ExportTraceServiceRequest, as OTLP/HTTP receivers and backends accept it.
    OtlpJson,
    /// OTLP/HTTP protobuf POSTed to --endpoint (its /v1/traces), in batches.
    Otlp,
}

/// Writes `streams` to `out` as `format` (a file format: not [`Format::Otlp`]).
pub(crate) fn run(
    format: Format,
    streams: &[Stream],
    progress: &mut Progress,
    out: &mut dyn Write,
) -> Result<Summary, Error> {
    match format {
        Format::Chrome => chrome::run(streams, progress, out),
        Format::OtlpJson => spans::export(streams, progress, &mut otlp_json::JsonSink::new(out)?),
        Format::Otlp => Err(Error::EndpointNeeded),
    }
}

/// Sends `streams` to the OTLP/HTTP receiver at `endpoint`; returns the spans it accepted.
pub(crate) fn send(
    endpoint: &str,
    streams: &[Stream],
    progress: &mut Progress,
) -> Result<u64, Error> {
    let mut sink = otlp_http::HttpSink::new(endpoint)?;
    spans::export(streams, progress, &mut sink)?;
    Ok(sink.sent)
}
