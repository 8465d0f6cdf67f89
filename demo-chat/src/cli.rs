//! The `demo-chat` program: command line, tracing, the tokio runtime, signals, and the server.
//! The binary's `main` is [`main`]; the multi-node tests run the same entry point.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

use crate::AppState;
use crate::config::Cli;

/// Parses the command line and serves until ctrl-c or SIGTERM; what `demo-chat`'s `main` does.
pub fn main() -> ExitCode {
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
    let from_env = flowtrace_runtime::Config::from_env()
        .map_err(|e| format!("bad tracing configuration: {e}"))?;
    let tracing = cli.tracing(from_env);
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
        // Listening for the signals before the banner: whoever waits for the banner may send
        // SIGTERM at once, and it must shut the server down, not kill it with its trace.
        let stop = shutdown_signal().map_err(|e| format!("cannot listen for signals: {e}"))?;
        println!("demo-chat listening on http://{local}");
        let state = match &cli.redis {
            Some(url) => AppState::redis(url, limits)?,
            None => AppState::new(limits),
        };
        crate::run(listener, state, stop)
            .await
            .map_err(|e| format!("server failed: {e}"))
    })
}

/// Listens for ctrl-c and SIGTERM from now on; the future resolves on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Listens for ctrl-c (from the first poll on); the future resolves on it.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
