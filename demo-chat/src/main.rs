//! Run with `cargo run --release -p demo-chat` and open <http://127.0.0.1:8000>.
//!
//! Flags (and environment variables): `--host` (`DEMO_CHAT_HOST`), `--port` (`DEMO_CHAT_PORT`),
//! `--trace-file` (`DEMO_CHAT_TRACE_FILE`), `--redis URL` (`DEMO_CHAT_REDIS_URL`: the Redis
//! engine, several nodes on one Redis are one chat); `--help` lists the limits. The other `FLOWTRACE_*`
//! variables configure tracing (`FLOWTRACE_ENABLED=0` turns it off). Stops on ctrl-c or SIGTERM:
//! every WebSocket gets close 1001, then the trace file is flushed and complete.

fn main() -> std::process::ExitCode {
    demo_chat::cli::main()
}
