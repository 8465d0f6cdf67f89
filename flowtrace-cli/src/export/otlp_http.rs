//! `flowtrace export --format otlp --endpoint URL`: spans POSTed as OTLP/HTTP protobuf to
//! `URL/v1/traces`, in batches, each retried with exponential backoff while the receiver
//! answers 429, 502, 503 or 504 (as the OTLP specification asks), honouring `Retry-After`; any
//! other answer, or no answer, stops the export with an error that says what the receiver did.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::spans::{SpanSink, scope};
use crate::error::Error;

/// Spans per request.
const BATCH: usize = 512;
/// Tries per batch before giving up on a receiver that keeps asking to retry.
const ATTEMPTS: u32 = 6;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Per request, so a receiver that never answers cannot hang the export.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends batches of spans to one OTLP/HTTP receiver.
pub(super) struct HttpSink {
    url: String,
    agent: ureq::Agent,
    resource: Option<Resource>,
    batch: Vec<Span>,
    /// Spans the receiver accepted.
    pub(super) sent: u64,
}

impl HttpSink {
    /// `endpoint` is the receiver's base URL (`http://HOST:4318`); `/v1/traces` is appended,
    /// as for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub(super) fn new(endpoint: &str) -> Result<Self, Error> {
        let url = traces_url(endpoint)?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Ok(Self {
            url,
            agent,
            resource: None,
            batch: Vec::with_capacity(BATCH),
            sent: 0,
        })
    }

    fn send_batch(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let spans = std::mem::take(&mut self.batch);
        let count = spans.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: self.resource.clone(),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope()),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        post(&self.agent, &self.url, &request.encode_to_vec())?;
        self.sent += count;
        Ok(())
    }
}

impl SpanSink for HttpSink {
    fn resource(&mut self, resource: Resource) -> Result<(), Error> {
        self.send_batch()?;
        self.resource = Some(resource);
        Ok(())
    }

    fn span(&mut self, span: Span) -> Result<(), Error> {
        self.batch.push(span);
        if self.batch.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.send_batch()
    }
}

/// `endpoint` + `/v1/traces`; only plain `http://` (no TLS is built in).
pub(crate) fn traces_url(endpoint: &str) -> Result<String, Error> {
    let base = endpoint.trim_end_matches('/');
    if !base.starts_with("http://") || base.len() == "http://".len() {
        return Err(Error::BadEndpoint(endpoint.to_owned()));
    }
    Ok(format!("{base}/v1/traces"))
}

/// POSTs one encoded request, retrying while the receiver asks for it.
fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(), Error> {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let response = agent
            .post(url)
            .header("Content-Type", "application/x-protobuf")
            .send(body)
            .map_err(|error| Error::OtlpUnreachable {
                url: url.to_owned(),
                reason: error.to_string(),
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        if !matches!(status, 429 | 502 | 503 | 504) {
            let mut response = response;
            let body = response
                .body_mut()
                .with_config()
                .limit(1024)
                .read_to_string()
                .unwrap_or_default();
            return Err(Error::OtlpRejected {
                url: url.to_owned(),
                status,
                body: body.trim().to_owned(),
            });
        }
        if attempt == ATTEMPTS {
            return Err(Error::OtlpGaveUp {
                url: url.to_owned(),
                status,
                attempts: ATTEMPTS,
            });
        }
        let asked = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        std::thread::sleep(asked.unwrap_or(backoff).min(MAX_BACKOFF));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    Ok(())
}
