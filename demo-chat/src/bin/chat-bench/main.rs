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
//! - `all`: each of the above, fan-out and ramp with tracing on and off;
//! - `compare`: fan-out on the memory engine, then on Redis with `--nodes` nodes;
//! - `commands`: Redis commands per chat message as members (10, 1000) and nodes (1, 3) grow;
//! - `recovery`: 1,000 clients reconnecting at once with `since` after a node restart;
//! - `cluster`: compare, 10,000 connections over 2 nodes, commands and recovery.
//!
//! `--redis` runs every measurement on a `redis-server` the bench starts on a free port, with
//! `--nodes N` demo-chat nodes and the clients spread round-robin over them.

mod cluster;
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
    /// Run demo-chat on the Redis engine, on a redis-server the bench starts.
    #[arg(long, global = true)]
    redis: bool,
    /// demo-chat nodes (with --redis); clients are spread round-robin over them.
    #[arg(long, global = true, default_value_t = 1)]
    nodes: usize,
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
    /// Fixed-rate fan-out on the memory engine, then on Redis with `--nodes` nodes (default 2).
    Compare {
        #[command(flatten)]
        shape: ShapeArgs,
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
    },
    /// Redis commands per chat message with 10 and 1,000 members on 1 and 3 nodes.
    Commands,
    /// Clients reconnecting at once with `since` after a node restart (Redis, 2 nodes).
    Recovery {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
    },
    /// The Redis engine's measurements: compare, 10,000 connections over 2 nodes, commands,
    /// recovery.
    Cluster,
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
    server::set_topology(server::Topology {
        redis: cli.redis,
        nodes: cli.nodes.max(1),
    });
    let nodes_or = |default: usize| if cli.nodes > 1 { cli.nodes } else { default };
    let shape = Shape {
        rooms: 10,
        per_room: 100,
        senders: 2,
    };
    match cli.mode {
        Mode::Compare { shape, rate, secs } => {
            cluster::compare(traced, shape.shape(), rate, secs, nodes_or(2))
                .await
                .map(drop)
        }
        Mode::Commands => cluster::commands(&[1, 3], &[10, 1000]).await,
        Mode::Recovery { clients } => cluster::recovery(clients).await,
        Mode::Cluster => {
            let (memory, redis) = cluster::compare(traced, shape, 100.0, 10.0, 2).await?;
            server::set_topology(server::Topology {
                redis: true,
                nodes: 2,
            });
            conns::connections(traced, 10_000, 100).await?;
            cluster::commands(&[1, 3], &[10, 1000]).await?;
            cluster::recovery(1000).await?;
            println!("summary (tracing {}):", conns::on_off(traced));
            println!(
                "  memory: {:.0}/s p99 {:.2} ms; redis 2 nodes: {:.0}/s p99 {:.2} ms (lost {} dup {} reordered {})",
                memory.delivered_per_sec,
                memory.p99_ms,
                redis.delivered_per_sec,
                redis.p99_ms,
                redis.lost(),
                redis.duplicates,
                redis.reordered
            );
            Ok(())
        }
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
