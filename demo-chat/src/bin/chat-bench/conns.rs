//! (a) many idle connections and the server's memory per connection; (d) churn: clients that
//! connect, send, and vanish without a close frame, and whether counts and memory come back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt, stream};
use tokio_tungstenite::tungstenite::Message;

use crate::server::Server;

/// Connects `clients` over `rooms`; each client drains what it receives in its own task.
pub(crate) async fn connections(traced: bool, clients: usize, rooms: usize) -> Result<(), String> {
    let server = Server::start(traced, 256).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.rss_kib();
    let started = std::time::Instant::now();
    let readers: Vec<_> = stream::iter(0..clients)
        .map(|i| {
            let server = &server;
            async move {
                let ws = server
                    .connect(&format!("room{}", i % rooms), &format!("c{i}"))
                    .await?;
                Ok::<_, String>(tokio::spawn(async move {
                    let (_tx, mut rx) = ws.split();
                    while let Some(Ok(_)) = rx.next().await {}
                }))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    server.wait_connections(clients as u64).await?;
    let connect_secs = started.elapsed().as_secs_f64();
    // Let the join announcements drain before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = server.rss_kib();
    let per_conn = (loaded.saturating_sub(baseline)) as f64 / clients as f64;
    for reader in &readers {
        reader.abort();
    }
    server.wait_connections(0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib();
    println!(
        "connections: {clients} clients in {rooms} rooms (tracing {}, {}), connected in {connect_secs:.1} s",
        on_off(traced),
        server.topology
    );
    println!(
        "  server RSS (all nodes): {baseline} KiB idle, {loaded} KiB with all connected, {after} KiB after they left"
    );
    println!(
        "  => {per_conn:.1} KiB per connection (target <= 16 KiB: {:.2}x of target)",
        per_conn / 16.0
    );
    server.stop();
    Ok(())
}

/// The rooms the churn clients spread over.
const CHURN_ROOMS: usize = 4;

/// Runs `cycles` rounds of `per_cycle` clients that join, send one message and drop their TCP
/// connection without a close frame.
pub(crate) async fn churn(traced: bool, cycles: usize, per_cycle: usize) -> Result<(), String> {
    let server = Server::start(traced, 256).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = Memory::of(&server);
    let mut after_first = baseline;
    let mut peak = 0;
    for cycle in 0..cycles {
        let clients: Vec<_> = stream::iter(0..per_cycle)
            .map(|i| {
                let server = &server;
                async move {
                    let mut ws = server
                        .connect(&format!("churn{}", i % CHURN_ROOMS), &format!("u{i}"))
                        .await?;
                    let text = format!(r#"{{"type":"message","text":"cycle {cycle} client {i}"}}"#);
                    ws.send(Message::text(text))
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>(ws)
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        server.wait_connections(per_cycle as u64).await?;
        peak = peak.max(server.rss_kib());
        drop(clients); // TCP closes, no close frame
        server.wait_connections(0).await?;
        if cycle == 0 {
            after_first = Memory::of(&server);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let end = Memory::of(&server);
    let rooms = server.get("/rooms").await?;
    let participants: u64 = rooms["rooms"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["participant_count"].as_u64())
                .sum()
        })
        .unwrap_or(u64::MAX);
    println!(
        "churn: {cycles} cycles x {per_cycle} clients that join, send and drop TCP (tracing {})",
        on_off(traced)
    );
    println!("  participants left in all rooms: {participants} (expected 0)");
    println!(
        "  server RSS: {baseline} idle, {after_first} after cycle 1, peak {peak} KiB, {end} at the end"
    );
    // What is left above idle is mostly the history the churn wrote (100 messages in each of
    // its rooms, spread over many pages): deleting those rooms shows it.
    for room in 0..CHURN_ROOMS {
        server.delete(&format!("/rooms/churn{room}")).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "  server RSS after deleting the churn rooms: {}",
        Memory::of(&server)
    );
    server.stop();
    Ok(())
}

/// The server's resident memory, whole and anonymous (heap and stacks, without mapped code).
#[derive(Clone, Copy)]
struct Memory {
    rss: u64,
    anon: u64,
}

impl Memory {
    fn of(server: &Server) -> Self {
        Self {
            rss: server.rss_kib(),
            anon: server.rss_anon_kib(),
        }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} KiB (anon {} KiB)", self.rss, self.anon)
    }
}

pub(crate) fn on_off(traced: bool) -> &'static str {
    if traced { "on" } else { "off" }
}
