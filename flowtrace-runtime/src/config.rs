//! Configuration: the `Config` builder and its defaults (the environment is read in `env.rs`).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// Where records go when nothing says otherwise.
pub const DEFAULT_LOGFILE: &str = "flowtrace.jsonl";
/// Default capacity of each traced thread's ring to the writer, in records (~4 MB once filled).
pub const DEFAULT_CAPACITY: usize = 32 * 1024;
/// Largest capacity of a thread's ring, in records (~120 MB per thread once it has filled).
pub const MAX_CAPACITY: usize = 1 << 20;
/// Most rotated files kept: each rotation renames them all.
pub const MAX_FILES: usize = 1000;
/// Default limit for one encoded argument, in characters.
pub const DEFAULT_MAX_ARG_LENGTH: usize = 1000;
/// Default number of rotated files kept (`flowtrace.jsonl.1` … `.5`).
pub const DEFAULT_MAX_FILES: usize = 5;
/// Argument names redacted by default (case-insensitive substrings).
pub const DEFAULT_REDACT: &[&str] = &[
    "password",
    "secret",
    "token",
    "key",
    "authorization",
    "cookie",
];

/// What a traced call does when its thread's ring to the writer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wait for room: no record is ever lost (the default).
    #[default]
    Block,
    /// Drop the record and count it; the writer then writes a `DROPPED` record with the count.
    Drop,
}

/// Size-based rotation of the trace file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a write would make the file larger than this.
    pub max_bytes: u64,
    /// How many rotated files (`FILE.1` is the newest) are kept.
    pub max_files: usize,
}

/// Where the writer sends the lines.
pub(crate) enum Output {
    File(PathBuf),
    Stdout,
    Writer(Box<dyn Write + Send>),
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Stdout => f.write_str("Stdout"),
            Self::Writer(_) => f.write_str("Writer(..)"),
        }
    }
}

/// How flowtrace runs: built from defaults ([`Config::new`]) or from the environment
/// ([`Config::from_env`]), adjusted with the builder methods, started with [`Config::init`].
///
/// ```no_run
/// # fn main() -> Result<(), flowtrace_runtime::Error> {
/// let _guard = flowtrace_runtime::Config::from_env()?
///     .file("trace.jsonl")
///     .rotation(64 * 1024 * 1024, 3)
///     .init()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a Config does nothing until `.init()` is called"]
pub struct Config {
    pub(crate) enabled: bool,
    pub(crate) output: Output,
    pub(crate) overflow: Overflow,
    pub(crate) capacity: usize,
    /// The fraction of root calls recorded when their function has no `sample` option.
    pub(crate) sample: f64,
    pub(crate) include_modules: Vec<String>,
    pub(crate) exclude_modules: Vec<String>,
    pub(crate) redact: Vec<String>,
    pub(crate) max_arg_length: usize,
    pub(crate) rotation: Option<Rotation>,
    pub(crate) shutdown_timeout: Duration,
    /// `None`: the executable's file name.
    pub(crate) service: Option<String>,
    /// The live OTLP exporter's receiver, and the variable it came from (for messages).
    pub(crate) otlp_endpoint: Option<(String, &'static str)>,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults, ignoring the environment.
    pub fn new() -> Self {
        Self {
            enabled: true,
            output: Output::File(PathBuf::from(DEFAULT_LOGFILE)),
            overflow: Overflow::Block,
            capacity: DEFAULT_CAPACITY,
            sample: 1.0,
            include_modules: Vec::new(),
            exclude_modules: Vec::new(),
            redact: DEFAULT_REDACT
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
            max_arg_length: DEFAULT_MAX_ARG_LENGTH,
            rotation: None,
            shutdown_timeout: Duration::from_secs(10),
            service: None,
            otlp_endpoint: None,
        }
    }

    /// Turns tracing on or off (`FLOWTRACE_ENABLED`). Off costs one atomic load per call.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Appends records to this file (`FLOWTRACE_LOGFILE`, default `flowtrace.jsonl`).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.output = Output::File(path.into());
        self
    }

    /// Writes records to standard output instead of a file (`FLOWTRACE_STDOUT=1`).
    pub fn stdout(mut self) -> Self {
        self.output = Output::Stdout;
        self
    }

    /// Writes records to any writer, e.g. an in-memory buffer in tests. The writer thread owns
    /// it and flushes it once per batch.
    pub fn writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.output = Output::Writer(Box::new(writer));
        self
    }

    /// What to do when a thread's ring to the writer is full (`FLOWTRACE_OVERFLOW`).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Capacity of each traced thread's ring to the writer, in records (`FLOWTRACE_BUFFER`);
    /// bounds the memory tracing may hold, per thread that traces.
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records;
        self
    }

    /// Records only this fraction (0 < `fraction` ≤ 1) of the calls that start a trace, each
    /// with its whole subtree (`FLOWTRACE_SAMPLE`; a function's `sample = F` option wins).
    pub fn sample(mut self, fraction: f64) -> Self {
        self.sample = fraction;
        self
    }

    /// Traces only functions whose module path starts with one of these prefixes
    /// (`FLOWTRACE_PACKAGE_PREFIX`). Empty means every module.
    pub fn package_prefixes<S: Into<String>>(
        mut self,
        prefixes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.include_modules = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// Never traces functions whose module path starts with one of these (`FLOWTRACE_EXCLUDE`).
    pub fn exclude<S: Into<String>>(mut self, prefixes: impl IntoIterator<Item = S>) -> Self {
        self.exclude_modules = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds argument names to redact (`FLOWTRACE_REDACT`), on top of [`DEFAULT_REDACT`].
    pub fn redact<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.redact.extend(names.into_iter().map(Into::into));
        self
    }

    /// Truncates each encoded argument to this many characters (`FLOWTRACE_MAX_ARG_LENGTH`).
    pub fn max_arg_length(mut self, chars: usize) -> Self {
        self.max_arg_length = chars;
        self
    }

    /// Rotates the trace file at `max_bytes`, keeping `max_files` old files
    /// (`FLOWTRACE_MAX_FILE_BYTES`, `FLOWTRACE_MAX_FILES`).
    pub fn rotation(mut self, max_bytes: u64, max_files: usize) -> Self {
        self.rotation = Some(Rotation {
            max_bytes,
            max_files,
        });
        self
    }

    /// Rotates at `max_bytes` keeping `max_files` old files, unless a rotation is already set
    /// (by `FLOWTRACE_MAX_FILE_BYTES` or [`Config::rotation`]) or the output is not a file.
    ///
    /// This is the default an application picks for its users (demo-chat's is 64 MiB × 5),
    /// which the environment still overrides.
    pub fn default_rotation(self, max_bytes: u64, max_files: usize) -> Self {
        if self.rotation.is_some() || !matches!(self.output, Output::File(_)) {
            return self;
        }
        self.rotation(max_bytes, max_files)
    }

    /// Names the service in the START record (`FLOWTRACE_SERVICE_NAME`, else
    /// `OTEL_SERVICE_NAME`; default: the executable's file name).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Also ships every completed call as a span to the OTLP/HTTP receiver at `endpoint`, a
    /// base URL such as `http://127.0.0.1:4318` (`FLOWTRACE_OTLP_ENDPOINT`, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`). Needs the `otlp` cargo feature; without it, starting
    /// says so once on stderr and traces to the file only.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some((endpoint.into(), "otlp_endpoint"));
        self
    }

    /// How long dropping the guard (or process exit) waits for the writer to drain.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return Err(Error::InvalidConfig(
                "the ring capacity must be from 1 to 1048576 records",
            ));
        }
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            return Err(Error::InvalidConfig(
                "the sample fraction must be more than 0 and at most 1",
            ));
        }
        if self.max_arg_length == 0 {
            return Err(Error::InvalidConfig("max_arg_length must be at least 1"));
        }
        if let Some((endpoint, _)) = &self.otlp_endpoint
            && crate::exporter::traces_url(endpoint).is_none()
        {
            return Err(Error::InvalidConfig(
                "the OTLP endpoint must be a base URL like http://HOST:4318 (https is not built in)",
            ));
        }
        if let Some(rotation) = self.rotation {
            if rotation.max_bytes == 0 || rotation.max_files == 0 {
                return Err(Error::InvalidConfig(
                    "rotation needs max_bytes and max_files of at least 1",
                ));
            }
            if rotation.max_files > MAX_FILES {
                return Err(Error::InvalidConfig("rotation keeps at most 1000 files"));
            }
            if !matches!(self.output, Output::File(_)) {
                return Err(Error::InvalidConfig(
                    "rotation applies to a file output only",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rejects_zero_sizes() {
        assert!(Config::new().capacity(0).validate().is_err());
        assert!(Config::new().capacity(usize::MAX).validate().is_err());
        assert!(Config::new().capacity(MAX_CAPACITY).validate().is_ok());
        let many = Config::new().file("t.jsonl").rotation(1, MAX_FILES + 1);
        assert!(many.validate().is_err());
        assert!(Config::new().max_arg_length(0).validate().is_err());
        assert!(Config::new().rotation(0, 1).validate().is_err());
        assert!(Config::new().stdout().rotation(10, 1).validate().is_err());
        assert!(Config::new().rotation(10, 1).validate().is_ok());
    }

    #[test]
    fn default_rotation_yields_to_a_configured_one_and_to_non_file_outputs() {
        let applied = Config::new().default_rotation(64, 5).rotation;
        assert!(matches!(
            applied,
            Some(Rotation {
                max_bytes: 64,
                max_files: 5
            })
        ));
        let kept = Config::new()
            .rotation(10, 2)
            .default_rotation(64, 5)
            .rotation;
        assert!(matches!(
            kept,
            Some(Rotation {
                max_bytes: 10,
                max_files: 2
            })
        ));
        assert!(
            Config::new()
                .stdout()
                .default_rotation(64, 5)
                .rotation
                .is_none()
        );
        let sink = Config::new().writer(Vec::new()).default_rotation(64, 5);
        assert!(sink.rotation.is_none());
    }
}
