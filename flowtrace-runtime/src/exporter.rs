//! The live span exporter as the rest of the runtime sees it: the OTLP exporter (`otlp`
//! module) when the `otlp` cargo feature is on; without it, an endpoint that is configured
//! anyway gets one clear message on stderr, and tracing goes on to the file only.

#[cfg(feature = "otlp")]
pub(crate) use crate::otlp::Exporter;

#[cfg(not(feature = "otlp"))]
pub(crate) use disabled::Exporter;

/// `endpoint` + `/v1/traces`, as for `OTEL_EXPORTER_OTLP_ENDPOINT`; `None` unless `endpoint`
/// is a plain `http://HOST[:PORT]` base URL (no TLS is built in).
pub(crate) fn traces_url(endpoint: &str) -> Option<String> {
    let base = endpoint.trim().trim_end_matches('/');
    let host = base.strip_prefix("http://")?;
    (!host.is_empty()).then(|| format!("{base}/v1/traces"))
}

/// Starts exporting to `endpoint` (configured by the variable or builder method `source`), if
/// there is one and the feature is on.
pub(crate) fn start(
    endpoint: Option<(String, &'static str)>,
    service: &str,
    instance: u64,
    pid: u32,
) -> Option<Exporter> {
    let (endpoint, source) = endpoint?;
    #[cfg(feature = "otlp")]
    {
        let _ = source;
        let url = traces_url(&endpoint).unwrap_or(endpoint);
        match Exporter::start(url, service, instance, pid) {
            Ok(exporter) => Some(exporter),
            Err(error) => {
                crate::error::report(format_args!(
                    "cannot start the flowtrace-otlp thread ({error}); spans are not exported"
                ));
                None
            }
        }
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = (service, instance, pid);
        crate::error::report(format_args!("{}", missing_feature(source, &endpoint)));
        None
    }
}

/// What a program built without the `otlp` feature says when an endpoint is configured.
#[cfg_attr(feature = "otlp", allow(dead_code))]
pub(crate) fn missing_feature(source: &str, endpoint: &str) -> String {
    format!(
        "{source} is set ({endpoint}) but flowtrace-runtime was built without its `otlp` \
         feature: no span is exported (the trace file is written as usual); enable it with \
         `flowtrace-runtime = {{ features = [\"otlp\"] }}`"
    )
}

#[cfg(not(feature = "otlp"))]
mod disabled {
    use crate::record::Record;

    /// Never built: without the feature there is nothing to export to.
    pub(crate) enum Exporter {}

    impl Exporter {
        pub(crate) fn record(&mut self, _: Record, _: crate::thread_label::ThreadLabel) {
            match *self {}
        }

        pub(crate) fn flush(&mut self) {
            match *self {}
        }

        pub(crate) fn finish(self) {
            match self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_base_urls_of_plain_http() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318/").as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(traces_url("https://collector:4318"), None);
        assert_eq!(traces_url("collector:4318"), None);
        assert_eq!(traces_url("http://"), None);
    }

    #[test]
    fn the_missing_feature_message_names_the_variable_and_the_feature() {
        let message = missing_feature("FLOWTRACE_OTLP_ENDPOINT", "http://c:4318");
        assert!(message.contains("FLOWTRACE_OTLP_ENDPOINT is set (http://c:4318)"));
        assert!(message.contains("`otlp` feature"));
    }
}
