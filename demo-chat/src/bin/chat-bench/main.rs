//! Load tool for demo-chat. Run with
//! `cargo build --release -p demo-chat && cargo run --release -p demo-chat --bin chat-bench -- all`.
//!
//! It starts the release `demo-chat` binary (next to this one) as a child process on a free
//! loopback port for each measurement, so the server's memory is its own, and drives it with
//! tokio-tungstenite clients from this process:
//! - `connections`: many idle clients over many rooms, server RSS per connection;
//! - `fanout`: rooms where a few clients send at a fixed rate; deliveries/s, latency, loss, order;
//! - `ramp`: fan-out with the rate raised step by step until p99 passes a bound;
//! - `cost`: tracing on vs off at a fixed rate, alternating runs, median server CPU per delivery;
//! - `churn`: clients that join, send and drop their TCP connection, in a loop;
//! - `all`: each of the above, fan-out and ramp with tracing on and off.

mod conns;
mod fanout;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fanout::Shape;

#[derive(Parser)]
#[command(name = "chat-bench", about = "Load tool for demo-chat")]
struct Cli {
    /// Run the server with tracing off (FLOWTRACE_ENABLED=0).
    #[arg(long, global = true)]
    no_trace: bool,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Idle connections and server memory per connection.
    Connections {
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
    },
    /// Fixed-rate fan-out.
    Fanout {
        #[command(flatten)]
        shape: ShapeArgs,
        /// Messages per second per sender.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
    },
    /// Fan-out with a rising rate until p99 passes `--bound-ms`.
    Ramp {
        #[command(flatten)]
        shape: ShapeArgs,
        #[arg(long, default_value_t = 50.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 1.25)]
        factor: f64,
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        #[arg(long, default_value_t = 100.0)]
        bound_ms: f64,
    },
    /// Tracing on vs off at a fixed rate, alternating runs, median server CPU per delivery.
    Cost {
        #[command(flatten)]
        shape: ShapeArgs,
        #[arg(long, default_value_t = 300.0)]
        rate: f64,
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        #[arg(long, default_value_t = 3)]
        pairs: usize,
    },
    /// Connect, send, drop TCP, in a loop.
    Churn {
        #[arg(long, default_value_t = 20)]
        cycles: usize,
        #[arg(long, default_value_t = 250)]
        per_cycle: usize,
    },
    /// Everything, with the defaults, fan-out and ramp with tracing on and off.
    All,
}

#[derive(clap::Args)]
struct ShapeArgs {
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    #[arg(long, default_value_t = 100)]
    per_room: usize,
    #[arg(long, default_value_t = 2)]
    senders: usize,
}

impl ShapeArgs {
    fn shape(&self) -> Shape {
        Shape {
            rooms: self.rooms,
            per_room: self.per_room,
            senders: self.senders.min(self.per_room),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chat-bench: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let traced = !cli.no_trace;
    match cli.mode {
        Mode::Connections { clients, rooms } => conns::connections(traced, clients, rooms).await,
        Mode::Fanout { shape, rate, secs } => fanout::fixed(traced, shape.shape(), rate, secs)
            .await
            .map(drop),
        Mode::Ramp {
            shape,
            start_rate,
            factor,
            secs,
            bound_ms,
        } => fanout::ramp(traced, shape.shape(), start_rate, factor, secs, bound_ms)
            .await
            .map(drop),
        Mode::Churn { cycles, per_cycle } => conns::churn(traced, cycles, per_cycle).await,
        Mode::Cost {
            shape,
            rate,
            secs,
            pairs,
        } => fanout::tracing_cost(shape.shape(), rate, secs, pairs)
            .await
            .map(drop),
        Mode::All => {
            let shape = Shape {
                rooms: 10,
                per_room: 100,
                senders: 2,
            };
            conns::connections(true, 10_000, 100).await?;
            let on = fanout::fixed(true, shape, 100.0, 10.0).await?;
            let off = fanout::fixed(false, shape, 100.0, 10.0).await?;
            let ramp_on = fanout::ramp(true, shape, 50.0, 1.25, 5.0, 100.0).await?;
            let ramp_off = fanout::ramp(false, shape, 50.0, 1.25, 5.0, 100.0).await?;
            let cost = fanout::tracing_cost(shape, 300.0, 5.0, 3).await?;
            conns::churn(true, 20, 250).await?;
            println!("summary:");
            println!(
                "  at 200k/s offered: traced {:.0}/s p99 {:.2} ms, untraced {:.0}/s p99 {:.2} ms",
                on.delivered_per_sec, on.p99_ms, off.delivered_per_sec, off.p99_ms
            );
            println!(
                "  tracing's cost in server CPU per delivery at 600k/s offered (median of 3): {cost:.1} % (target <= 15 %)"
            );
            let ramp_cost = if ramp_off > 0.0 {
                100.0 * (1.0 - ramp_on / ramp_off)
            } else {
                f64::NAN
            };
            println!(
                "  highest sustained (p99 <= 100 ms): {ramp_on:.0}/s traced, {ramp_off:.0}/s untraced ({ramp_cost:.1} % lower traced)"
            );
            Ok(())
        }
    }
}
