//! Run with `cargo run --release -p demo-chat` and open <http://127.0.0.1:8000>.
//!
//! Flags (and environment variables): `--host` (`DEMO_CHAT_HOST`), `--port` (`DEMO_CHAT_PORT`),
//! `--trace-file` (`DEMO_CHAT_TRACE_FILE`); `--help` lists the limits. The other `FLOWTRACE_*`
//! variables configure tracing (`FLOWTRACE_ENABLED=0` turns it off). Stops on ctrl-c or SIGTERM:
//! every WebSocket gets close 1001, then the trace file is flushed and complete.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use demo_chat::AppState;
use demo_chat::config::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match serve(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo-chat: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: &Cli) -> Result<(), String> {
    let limits = cli.limits()?;
    let mut tracing = flowtrace_runtime::Config::from_env()
        .map_err(|e| format!("bad tracing configuration: {e}"))?;
    if let Some(path) = &cli.trace_file {
        tracing = tracing.file(path);
    }
    // Declared before the runtime, so dropped after it: every task's records are written.
    let _trace = tracing
        .init()
        .map_err(|e| format!("cannot start tracing: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async {
        let addr = SocketAddr::new(cli.host, cli.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("demo-chat listening on http://{local}");
        demo_chat::run(listener, AppState::new(limits), shutdown_signal())
            .await
            .map_err(|e| format!("server failed: {e}"))
    })
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
