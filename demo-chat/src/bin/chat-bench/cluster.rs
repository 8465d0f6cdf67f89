//! (e) the Redis engine: fan-out side by side with the memory engine, Redis commands per chat
//! message as members and nodes grow, and 1,000 clients recovering with `since` at once after
//! a node restart.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, stream};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::fanout::{self, Shape, Step};
use crate::server::{Server, Topology, Ws, set_topology};

/// The fan-out of `shape` at `rate` on the memory engine and on Redis with `nodes` nodes.
pub(crate) async fn compare(
    traced: bool,
    shape: Shape,
    rate: f64,
    secs: f64,
    nodes: usize,
) -> Result<(Step, Step), String> {
    set_topology(Topology::MEMORY);
    let memory = fanout::fixed(traced, shape, rate, secs).await?;
    set_topology(Topology { redis: true, nodes });
    let redis = fanout::fixed(traced, shape, rate, secs).await?;
    println!("side by side (tracing {}):", crate::conns::on_off(traced));
    for (name, s) in [("memory", &memory), ("redis", &redis)] {
        println!(
            "  {name:<6} {:>9.0} deliveries/s  p50 {:>6.2} ms  p99 {:>6.2} ms  lost {} dup {} reordered {}",
            s.delivered_per_sec,
            s.p50_ms,
            s.p99_ms,
            s.lost(),
            s.duplicates,
            s.reordered
        );
    }
    Ok((memory, redis))
}

/// Redis commands per chat message for each node count and room size.
pub(crate) async fn commands(node_counts: &[usize], sizes: &[usize]) -> Result<(), String> {
    const MESSAGES: usize = 200;
    println!("Redis commands per chat message ({MESSAGES} messages, one room, one sender):");
    for &nodes in node_counts {
        for &per_room in sizes {
            set_topology(Topology { redis: true, nodes });
            let server = Server::start(false, 4096).await?;
            let mut clients = Vec::new();
            for i in 0..per_room {
                let ws = server.connect("cmd", &format!("c{i}")).await?;
                clients.push(drain(ws));
            }
            server.wait_connections(per_room as u64).await?;
            let mut sender = server.connect("cmd", "sender").await?;
            // Joins settle before the count starts.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = server.redis_calls().await?;
            for i in 0..MESSAGES {
                let text = format!(r#"{{"type":"message","text":"m{i}"}}"#);
                sender
                    .send(Message::text(text))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let mut echoed = 0;
            while echoed < MESSAGES {
                match sender.next().await {
                    Some(Ok(Message::Text(t))) if t.as_str().contains(r#""type":"message""#) => {
                        echoed += 1;
                    }
                    Some(Ok(_)) => {}
                    _ => return Err("the sender's connection ended".into()),
                }
            }
            let after = server.redis_calls().await?;
            // Background work in the window (leases, health checks) is counted too: an upper
            // bound.
            let per_message = (after - before) as f64 / MESSAGES as f64;
            println!("  {nodes} node(s), {per_room:>5} members: {per_message:.2} commands/message");
            for c in clients {
                c.abort();
            }
            server.stop();
        }
    }
    Ok(())
}

fn drain(ws: Ws) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (_tx, mut rx) = ws.split();
        while let Some(Ok(_)) = rx.next().await {}
    })
}

/// `clients` clients over 10 rooms on node 0 of two; node 0 restarts while 5 messages per room
/// are posted on node 1; then all reconnect to node 0 at once with `since`.
pub(crate) async fn recovery(clients: usize) -> Result<(), String> {
    const ROOMS: usize = 10;
    const MISSED: usize = 5;
    set_topology(Topology {
        redis: true,
        nodes: 2,
    });
    let mut server = Server::start(false, 256).await?;
    // Where each client stands: its room's epoch and offset from its history.
    let joined: Vec<(usize, String, u64, Ws)> = stream::iter(0..clients)
        .map(|i| {
            let server = &server;
            async move {
                let room = i % ROOMS;
                let mut ws = server.connect_to(0, &format!("rec{room}/c{i}")).await?;
                let history = first_json(&mut ws).await?;
                let epoch = history["epoch"].as_str().ok_or("no epoch")?.to_owned();
                let offset = history["offset"].as_u64().ok_or("no offset")?;
                Ok::<_, String>((room, epoch, offset, ws))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    server.wait_connections(clients as u64).await?;
    let mut positions = Vec::new();
    let mut sockets = Vec::new();
    for (room, epoch, offset, ws) in joined {
        positions.push((room, epoch, offset));
        sockets.push(drain(ws));
    }
    server.restart_node(0).await?;
    for socket in sockets {
        socket.abort();
    }
    for room in 0..ROOMS {
        let mut poster = server.connect_to(1, &format!("rec{room}/poster")).await?;
        for m in 0..MISSED {
            let text = format!(r#"{{"type":"message","text":"missed {m}"}}"#);
            poster
                .send(Message::text(text))
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut echoed = 0;
        while echoed < MISSED {
            let frame = first_json(&mut poster).await?;
            if frame["type"] == "message" {
                echoed += 1;
            }
        }
        let _ = poster.close(None).await;
    }
    let started = Instant::now();
    let outcomes: Vec<bool> = stream::iter(positions.into_iter().enumerate())
        .map(|(i, (room, epoch, offset))| {
            let server = &server;
            async move {
                let path = format!("rec{room}/c{i}?since={offset}&epoch={epoch}");
                let mut ws = server.connect_to(0, &path).await?;
                let history = first_json(&mut ws).await?;
                let missed = history["messages"].as_array().map_or(0, Vec::len);
                Ok::<_, String>(history["recovered"] == true && missed == MISSED)
            }
        })
        .buffer_unordered(clients)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let secs = started.elapsed().as_secs_f64();
    let recovered = outcomes.iter().filter(|&&ok| ok).count();
    println!(
        "recovery: {clients} clients reconnect at once with since after a node restart: {recovered} recovered exactly {MISSED} missed messages (recovered:true) in {secs:.2} s (target: all within 10 s)"
    );
    server.stop();
    Ok(())
}

/// The next JSON text frame.
async fn first_json(ws: &mut Ws) -> Result<Value, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(|e| e.to_string());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}
