//! The `FLOWTRACE_*` environment: every variable the design lists, each bad value an error
//! that names it.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::{
    Config, DEFAULT_MAX_FILES, MAX_CAPACITY, MAX_FILES, Output, Overflow, Rotation,
};
use crate::error::Error;

impl Config {
    /// The defaults overridden by every `FLOWTRACE_*` variable that is set.
    ///
    /// A variable with a value flowtrace cannot use is an [`Error::InvalidEnv`] naming it.
    pub fn from_env() -> Result<Self, Error> {
        read(|name| std::env::var_os(name))
    }
}

/// The defaults overridden by every variable `lookup` finds; injectable for tests.
pub(crate) fn read(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Config, Error> {
    let env = Env { lookup };
    let mut config = Config::new();
    if let Some(path) = env.string("FLOWTRACE_LOGFILE", "a file path")? {
        if path.is_empty() {
            return Err(env.invalid("FLOWTRACE_LOGFILE", path, "a non-empty file path"));
        }
        config.output = Output::File(PathBuf::from(path));
    }
    if let Some(name) = env.string("FLOWTRACE_SERVICE_NAME", "a service name")? {
        if name.trim().is_empty() {
            return Err(env.invalid("FLOWTRACE_SERVICE_NAME", name, "a non-empty service name"));
        }
        config.service = Some(name);
    } else if let Some(name) = env.string("OTEL_SERVICE_NAME", "a service name")? {
        // OpenTelemetry treats an empty variable as unset.
        if !name.trim().is_empty() {
            config.service = Some(name);
        }
    }
    const ENDPOINT: &str = "a base URL like http://HOST:4318 (https is not built in)";
    for name in ["FLOWTRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
        if let Some(endpoint) = env.string(name, ENDPOINT)? {
            if endpoint.trim().is_empty() && name.starts_with("OTEL") {
                continue; // OpenTelemetry treats an empty variable as unset.
            }
            if crate::exporter::traces_url(&endpoint).is_none() {
                return Err(env.invalid(name, endpoint, ENDPOINT));
            }
            config.otlp_endpoint = Some((endpoint, name));
            break;
        }
    }
    if env.flag("FLOWTRACE_STDOUT")? == Some(true) {
        config.output = Output::Stdout;
    }
    if let Some(enabled) = env.flag("FLOWTRACE_ENABLED")? {
        config.enabled = enabled;
    }
    if let Some(list) = env.list("FLOWTRACE_PACKAGE_PREFIX")? {
        config.include_modules = list;
    }
    if let Some(list) = env.list("FLOWTRACE_EXCLUDE")? {
        config.exclude_modules = list;
    }
    if let Some(max) = env.positive("FLOWTRACE_MAX_ARG_LENGTH")? {
        config.max_arg_length = max;
    }
    if let Some(policy) = env.string("FLOWTRACE_OVERFLOW", "`block` or `drop`")? {
        config.overflow = match policy.to_ascii_lowercase().as_str() {
            "block" => Overflow::Block,
            "drop" => Overflow::Drop,
            _ => return Err(env.invalid("FLOWTRACE_OVERFLOW", policy, "`block` or `drop`")),
        };
    }
    const CAPACITY: &str = "a whole number from 1 to 1048576 (records)";
    if let Some(capacity) = env.at_most("FLOWTRACE_BUFFER", MAX_CAPACITY, CAPACITY)? {
        config.capacity = capacity;
    }
    const SAMPLE: &str = "a fraction more than 0 and at most 1, like 0.01";
    if let Some(text) = env.string("FLOWTRACE_SAMPLE", SAMPLE)? {
        config.sample = match text.trim().parse::<f64>() {
            Ok(fraction) if fraction > 0.0 && fraction <= 1.0 => fraction,
            _ => return Err(env.invalid("FLOWTRACE_SAMPLE", text, SAMPLE)),
        };
    }
    if let Some(extra) = env.list("FLOWTRACE_REDACT")? {
        config.redact.extend(extra);
    }
    let max_bytes = env.positive("FLOWTRACE_MAX_FILE_BYTES")?;
    let max_files = env.at_most(
        "FLOWTRACE_MAX_FILES",
        MAX_FILES,
        "a whole number from 1 to 1000",
    )?;
    match (max_bytes, max_files) {
        (Some(_), _) if matches!(config.output, Output::Stdout) => {
            return Err(Error::InvalidConfig(
                "FLOWTRACE_MAX_FILE_BYTES is set but FLOWTRACE_STDOUT is on: \
                 rotation applies to a trace file only",
            ));
        }
        (Some(max_bytes), files) => {
            config.rotation = Some(Rotation {
                max_bytes: max_bytes as u64,
                max_files: files.unwrap_or(DEFAULT_MAX_FILES),
            });
        }
        (None, Some(_)) => {
            return Err(Error::InvalidConfig(
                "FLOWTRACE_MAX_FILES is set but FLOWTRACE_MAX_FILE_BYTES is not: \
                 rotation needs a size",
            ));
        }
        (None, None) => {}
    }
    Ok(config)
}

/// Reads and checks `FLOWTRACE_*` variables through an injectable lookup.
struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<OsString>> Env<F> {
    fn invalid(&self, name: &'static str, value: String, expected: &'static str) -> Error {
        Error::InvalidEnv {
            name,
            value,
            expected,
        }
    }

    fn string(&self, name: &'static str, expected: &'static str) -> Result<Option<String>, Error> {
        match (self.lookup)(name) {
            None => Ok(None),
            Some(value) => value
                .into_string()
                .map(Some)
                .map_err(|raw| self.invalid(name, raw.to_string_lossy().into_owned(), expected)),
        }
    }

    fn flag(&self, name: &'static str) -> Result<Option<bool>, Error> {
        const EXPECTED: &str = "1/0, true/false, yes/no or on/off";
        let Some(value) = self.string(name, EXPECTED)? else {
            return Ok(None);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(self.invalid(name, value, EXPECTED)),
        }
    }

    fn positive(&self, name: &'static str) -> Result<Option<usize>, Error> {
        const EXPECTED: &str = "a whole number of at least 1";
        let Some(value) = self.string(name, EXPECTED)? else {
            return Ok(None);
        };
        match value.trim().parse::<usize>() {
            Ok(number) if number >= 1 => Ok(Some(number)),
            _ => Err(self.invalid(name, value, EXPECTED)),
        }
    }

    fn at_most(
        &self,
        name: &'static str,
        max: usize,
        expected: &'static str,
    ) -> Result<Option<usize>, Error> {
        let Some(value) = self.string(name, expected)? else {
            return Ok(None);
        };
        match value.trim().parse::<usize>() {
            Ok(number) if (1..=max).contains(&number) => Ok(Some(number)),
            _ => Err(self.invalid(name, value, expected)),
        }
    }

    fn list(&self, name: &'static str) -> Result<Option<Vec<String>>, Error> {
        Ok(self.string(name, "a comma-separated list")?.map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_CAPACITY, DEFAULT_LOGFILE, DEFAULT_MAX_ARG_LENGTH, DEFAULT_REDACT,
    };

    fn from(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        read(move |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn empty_environment_gives_the_defaults() {
        let config = from(&[]).expect("defaults are valid");
        assert!(config.enabled);
        assert!(matches!(&config.output, Output::File(p) if p == &PathBuf::from(DEFAULT_LOGFILE)));
        assert_eq!(config.overflow, Overflow::Block);
        assert_eq!(config.capacity, DEFAULT_CAPACITY);
        assert_eq!(config.max_arg_length, DEFAULT_MAX_ARG_LENGTH);
        assert_eq!(config.rotation, None);
        assert_eq!(config.redact.len(), DEFAULT_REDACT.len());
    }

    #[test]
    fn every_variable_is_read() {
        let config = from(&[
            ("FLOWTRACE_LOGFILE", "out/trace.jsonl"),
            ("FLOWTRACE_ENABLED", "off"),
            ("FLOWTRACE_PACKAGE_PREFIX", "app, lib ,"),
            ("FLOWTRACE_EXCLUDE", "app::noisy"),
            ("FLOWTRACE_MAX_ARG_LENGTH", "12"),
            ("FLOWTRACE_OVERFLOW", "DROP"),
            ("FLOWTRACE_BUFFER", "64"),
            ("FLOWTRACE_SAMPLE", "0.25"),
            ("FLOWTRACE_REDACT", "pin,ssn"),
            ("FLOWTRACE_MAX_FILE_BYTES", "1000"),
            ("FLOWTRACE_MAX_FILES", "2"),
            ("FLOWTRACE_SERVICE_NAME", "chat-a"),
            ("OTEL_SERVICE_NAME", "ignored"),
            ("FLOWTRACE_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
        ])
        .expect("valid environment");
        assert!(!config.enabled);
        assert_eq!(config.service.as_deref(), Some("chat-a"));
        assert_eq!(
            config.otlp_endpoint,
            Some((
                "http://127.0.0.1:4318".to_owned(),
                "FLOWTRACE_OTLP_ENDPOINT"
            ))
        );
        assert!(
            matches!(&config.output, Output::File(p) if p == &PathBuf::from("out/trace.jsonl"))
        );
        assert_eq!(config.include_modules, ["app", "lib"]);
        assert_eq!(config.exclude_modules, ["app::noisy"]);
        assert_eq!(config.max_arg_length, 12);
        assert_eq!(config.overflow, Overflow::Drop);
        assert_eq!(config.capacity, 64);
        assert_eq!(config.sample, 0.25);
        assert!(config.redact.iter().any(|n| n == "ssn"));
        assert_eq!(
            config.rotation,
            Some(Rotation {
                max_bytes: 1000,
                max_files: 2
            })
        );
        let otel = from(&[("OTEL_SERVICE_NAME", "chat-b")]).expect("valid");
        assert_eq!(otel.service.as_deref(), Some("chat-b"));
        let empty_otel = from(&[
            ("OTEL_SERVICE_NAME", ""),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        ])
        .expect("empty is unset");
        assert_eq!(empty_otel.service, None);
        assert_eq!(empty_otel.otlp_endpoint, None);
        let otel = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).expect("ok");
        assert_eq!(
            otel.otlp_endpoint.map(|(_, name)| name),
            Some("OTEL_EXPORTER_OTLP_ENDPOINT")
        );
        let stdout = from(&[("FLOWTRACE_STDOUT", "1")]).expect("valid");
        assert!(matches!(stdout.output, Output::Stdout));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (name, value) in [
            ("FLOWTRACE_STDOUT", "maybe"),
            ("FLOWTRACE_ENABLED", "2"),
            ("FLOWTRACE_MAX_ARG_LENGTH", "0"),
            ("FLOWTRACE_MAX_ARG_LENGTH", "ten"),
            ("FLOWTRACE_OVERFLOW", "wait"),
            ("FLOWTRACE_BUFFER", "-1"),
            ("FLOWTRACE_BUFFER", "18446744073709551615"),
            ("FLOWTRACE_BUFFER", "1048577"),
            ("FLOWTRACE_SAMPLE", "0"),
            ("FLOWTRACE_SAMPLE", "1.5"),
            ("FLOWTRACE_SAMPLE", "-0.1"),
            ("FLOWTRACE_SAMPLE", "NaN"),
            ("FLOWTRACE_SAMPLE", "half"),
            ("FLOWTRACE_MAX_FILE_BYTES", "1GB"),
            ("FLOWTRACE_LOGFILE", ""),
            ("FLOWTRACE_SERVICE_NAME", " "),
            ("FLOWTRACE_OTLP_ENDPOINT", "https://collector:4318"),
            ("FLOWTRACE_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"),
        ] {
            let error = from(&[(name, value)]).expect_err(name);
            let message = error.to_string();
            assert!(message.contains(name), "{message:?} should name {name}");
            assert!(
                message.contains(&format!("{value:?}")),
                "{message:?} should quote the value"
            );
        }
    }

    #[test]
    fn max_files_without_max_bytes_is_an_error() {
        let error = from(&[("FLOWTRACE_MAX_FILES", "3")]).expect_err("contradiction");
        assert!(error.to_string().contains("FLOWTRACE_MAX_FILE_BYTES"));
        let too_many = [
            ("FLOWTRACE_MAX_FILE_BYTES", "1000"),
            ("FLOWTRACE_MAX_FILES", "1000000000000"),
        ];
        let error = from(&too_many).expect_err("too many files");
        assert!(
            error.to_string().contains("FLOWTRACE_MAX_FILES="),
            "{error}"
        );
    }

    #[test]
    fn rotation_with_stdout_names_both_variables() {
        let vars = [
            ("FLOWTRACE_STDOUT", "1"),
            ("FLOWTRACE_MAX_FILE_BYTES", "1000"),
        ];
        let message = from(&vars).expect_err("no file to rotate").to_string();
        assert!(message.contains("FLOWTRACE_STDOUT"), "{message}");
        assert!(message.contains("FLOWTRACE_MAX_FILE_BYTES"), "{message}");
    }
}
