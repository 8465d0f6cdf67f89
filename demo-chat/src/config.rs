//! Configuration: the server's limits ([`Limits`]) and the command line ([`Cli`]), where every
//! flag has a matching `DEMO_CHAT_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The limits every connection and room obeys. `Default` gives the documented values.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Chat messages kept per room and sent as `history` on join.
    pub history_len: usize,
    /// Longest accepted message text, in characters.
    pub max_text_chars: usize,
    /// Largest accepted WebSocket frame or message, in bytes; larger closes with 1009.
    pub max_frame_bytes: usize,
    /// Outbound frames queued per connection; a client whose queue is full is closed with 4008.
    pub queue_capacity: usize,
    /// Sustained client frames per second per connection (token bucket refill rate).
    pub rate_per_sec: f64,
    /// Token bucket size: frames a client may send in one burst.
    pub rate_burst: f64,
    /// How often the server pings each client.
    pub ping_interval: Duration,
    /// How long a client has to answer a ping before it is dropped.
    pub ping_timeout: Duration,
    /// How long the server tries to deliver a close frame (and what precedes it) before it
    /// drops the TCP connection.
    pub close_timeout: Duration,
    /// WebSocket read buffer size in bytes (grows on demand up to `max_frame_bytes`).
    pub read_buffer_bytes: usize,
    /// WebSocket write buffer size in bytes (frames are batched up to this before a write).
    pub write_buffer_bytes: usize,
    /// Most rooms at once: beyond it `POST /rooms` answers 503 and a WebSocket to a new room
    /// closes with 1013.
    pub max_rooms: usize,
    /// How long a room created by a WebSocket connect stays once it has no members and no
    /// messages.
    pub room_idle_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            history_len: 100,
            max_text_chars: 4_000,
            max_frame_bytes: 64 * 1024,
            queue_capacity: 256,
            rate_per_sec: 20.0,
            rate_burst: 40.0,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
            read_buffer_bytes: 1024,
            write_buffer_bytes: 4096,
            max_rooms: 10_000,
            room_idle_ttl: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// The most bytes a frame the server sends can take: a full `history`, every message at
    /// `max_text_chars` characters that each escape to six bytes (`\u001f`), and two ids of
    /// the longest valid length.
    pub fn largest_outgoing_frame_bytes(&self) -> usize {
        // keys, ids, timestamp, offset, epoch, separators
        let fixed = 2 * crate::protocol::MAX_ID_LEN + 320;
        self.history_len * (6 * self.max_text_chars + fixed) + fixed
    }
}

/// `demo-chat`'s command line.
#[derive(Debug, Parser)]
#[command(
    name = "demo-chat",
    version,
    about = "WebSocket chat server traced by flowtrace"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "DEMO_CHAT_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "DEMO_CHAT_PORT", default_value_t = 8000)]
    pub port: u16,
    /// Trace file written by flowtrace [default: `FLOWTRACE_LOGFILE`, else flowtrace.jsonl].
    #[arg(long, env = "DEMO_CHAT_TRACE_FILE")]
    pub trace_file: Option<PathBuf>,
    /// Rotate the trace file before it passes this many bytes [default:
    /// `FLOWTRACE_MAX_FILE_BYTES`, else 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub trace_max_bytes: Option<u64>,
    /// Rotated trace files kept, `FILE.1` (newest) to `FILE.N` [default: `FLOWTRACE_MAX_FILES`
    /// with `FLOWTRACE_MAX_FILE_BYTES`, else 5].
    #[arg(long, value_name = "FILES")]
    pub trace_max_files: Option<usize>,
    /// Client frames per second allowed per connection.
    #[arg(long, env = "DEMO_CHAT_RATE", default_value_t = 20.0)]
    pub rate: f64,
    /// Client frames allowed in one burst per connection.
    #[arg(long, env = "DEMO_CHAT_BURST", default_value_t = 40.0)]
    pub burst: f64,
    /// Outbound frames queued per connection before it is closed as slow (4008).
    #[arg(long, env = "DEMO_CHAT_QUEUE", default_value_t = 256)]
    pub queue: usize,
    /// Seconds between keepalive pings.
    #[arg(long, env = "DEMO_CHAT_PING_INTERVAL", default_value_t = 25.0)]
    pub ping_interval: f64,
    /// Seconds a client has to answer a ping.
    #[arg(long, env = "DEMO_CHAT_PING_TIMEOUT", default_value_t = 20.0)]
    pub ping_timeout: f64,
    /// Most rooms at once (POST beyond it: 503; a WebSocket to a new room: close 1013).
    #[arg(long, env = "DEMO_CHAT_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,
    /// Seconds an idle room created by a WebSocket connect is kept.
    #[arg(long, env = "DEMO_CHAT_ROOM_IDLE", default_value_t = 60.0)]
    pub room_idle: f64,
    /// Redis engine: `redis://HOST:PORT[/DB]`; every node on the same Redis is one chat.
    #[arg(long, env = "DEMO_CHAT_REDIS_URL")]
    pub redis: Option<String>,
}

/// The trace's size bound when neither a flag nor `FLOWTRACE_MAX_FILE_BYTES` sets one: a demo
/// left running under load must not fill the disk.
pub const DEFAULT_TRACE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Rotated trace files kept by default: with the live file, at most 384 MiB of trace.
pub const DEFAULT_TRACE_MAX_FILES: usize = 5;

impl Cli {
    /// The tracing configuration: `from_env` (the `FLOWTRACE_*` variables) with `--trace-file`
    /// and the rotation flags on top, and the demo's rotation when nothing else sets one.
    pub fn tracing(&self, from_env: flowtrace_runtime::Config) -> flowtrace_runtime::Config {
        let mut tracing = from_env;
        if let Some(path) = &self.trace_file {
            tracing = tracing.file(path);
        }
        if self.trace_max_bytes.is_some() || self.trace_max_files.is_some() {
            tracing.rotation(
                self.trace_max_bytes.unwrap_or(DEFAULT_TRACE_MAX_BYTES),
                self.trace_max_files.unwrap_or(DEFAULT_TRACE_MAX_FILES),
            )
        } else {
            tracing.default_rotation(DEFAULT_TRACE_MAX_BYTES, DEFAULT_TRACE_MAX_FILES)
        }
    }

    /// The limits these flags describe, or what is wrong with them.
    pub fn limits(&self) -> Result<Limits, String> {
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("--{name} must be a positive number of seconds, got {v}"))
        };
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(format!("--rate must be positive, got {}", self.rate));
        }
        if !(self.burst.is_finite() && self.burst >= 1.0) {
            return Err(format!("--burst must be at least 1, got {}", self.burst));
        }
        // A newcomer's first two frames, its history and its own `user_joined`, are queued
        // before its socket takes any.
        if self.queue < 2 {
            return Err(format!("--queue must be at least 2, got {}", self.queue));
        }
        if self.max_rooms == 0 {
            return Err("--max-rooms must be at least 1 (the room general)".into());
        }
        Ok(Limits {
            rate_per_sec: self.rate,
            rate_burst: self.burst,
            queue_capacity: self.queue,
            ping_interval: secs("ping-interval", self.ping_interval)?,
            ping_timeout: secs("ping-timeout", self.ping_timeout)?,
            room_idle_ttl: secs("room-idle", self.room_idle)?,
            max_rooms: self.max_rooms,
            ..Limits::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let cli = Cli::try_parse_from(["demo-chat"]).expect("no flags parse");
        let limits = cli.limits().expect("defaults are valid");
        assert_eq!(cli.port, 8000);
        assert_eq!(cli.host.to_string(), "127.0.0.1");
        assert_eq!(limits.ping_interval, Duration::from_secs(25));
        assert_eq!(limits.ping_timeout, Duration::from_secs(20));
        assert_eq!(limits.history_len, 100);
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let cli = Cli::try_parse_from(["demo-chat", "--ping-interval", "0"]).expect("parses");
        let err = cli.limits().expect_err("zero interval is rejected");
        assert!(err.contains("--ping-interval"), "{err}");
        assert!(Cli::try_parse_from(["demo-chat", "--port", "70000"]).is_err());
        let cli = Cli::try_parse_from(["demo-chat", "--queue", "1"]).expect("parses");
        let err = cli.limits().expect_err("a queue of 1 cannot hold a join");
        assert!(err.contains("--queue"), "{err}");
    }
}
