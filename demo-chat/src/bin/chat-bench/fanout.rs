//! (b) fan-out: rooms of clients where a few send at a set rate and everyone receives; reports
//! deliveries per second, latency percentiles, loss, duplicates and reordering, and raises the
//! rate until p99 passes a bound. (c) is the same with the server's tracing off.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt, stream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::conns::on_off;
use crate::server::{Server, Ws};

/// Wall-clock microseconds, so that a message's send time can be compared with the server's
/// trace records (`timestampMicros`).
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The shape of a fan-out run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) rooms: usize,
    pub(crate) per_room: usize,
    pub(crate) senders: usize,
}

/// What one step measured.
#[derive(Debug, Default)]
pub(crate) struct Step {
    pub(crate) offered: f64,
    pub(crate) delivered_per_sec: f64,
    pub(crate) delivered: u64,
    pub(crate) expected: u64,
    pub(crate) duplicates: u64,
    pub(crate) reordered: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Server CPU time (user + system) per delivery, in microseconds.
    pub(crate) cpu_us_per_delivery: f64,
    /// redis-server's CPU time per delivery, in microseconds (0 on the memory engine).
    pub(crate) redis_cpu_us_per_delivery: f64,
}

impl Step {
    pub(crate) fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }

    pub(crate) fn print(&self) {
        println!(
            "  offered {:>8.0}/s delivered {:>8.0}/s  p50 {:>6.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  lost {} dup {} reordered {}  server CPU {:.2} us/delivery",
            self.offered,
            self.delivered_per_sec,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.lost(),
            self.duplicates,
            self.reordered,
            self.cpu_us_per_delivery
        );
        if self.redis_cpu_us_per_delivery > 0.0 {
            println!(
                "  redis-server CPU {:.3} us/delivery",
                self.redis_cpu_us_per_delivery
            );
        }
    }
}

#[derive(Default)]
struct ReaderStats {
    latencies_us: Vec<u32>,
    duplicates: u64,
    reordered: u64,
}

/// The connected rooms: sender sinks and reader tasks, with a switch to collect their stats.
pub(crate) struct Crowd {
    sinks: Vec<SplitSink<Ws, Message>>,
    readers: Vec<tokio::task::JoinHandle<ReaderStats>>,
    collect: watch::Sender<u64>,
    delivered: Arc<AtomicU64>,
}

pub(crate) async fn gather(server: &Server, shape: Shape) -> Result<Crowd, String> {
    let total = shape.rooms * shape.per_room;
    let sockets: Vec<(usize, Ws)> = stream::iter(0..total)
        .map(|i| async move {
            let ws = server
                .connect(&format!("fan{}", i % shape.rooms), &format!("c{i}"))
                .await?;
            Ok::<_, String>((i, ws))
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    server.wait_connections(total as u64).await?;
    let (collect, _) = watch::channel(0);
    let delivered = Arc::new(AtomicU64::new(0));
    let mut crowd = Crowd {
        sinks: Vec::new(),
        readers: Vec::new(),
        collect,
        delivered,
    };
    for (i, ws) in sockets {
        let stop = crowd.collect.subscribe();
        let delivered = Arc::clone(&crowd.delivered);
        // Clients 0..rooms*senders send: `senders` per room. The others are not split.
        let reader = if i < shape.rooms * shape.senders {
            let (sink, rx) = ws.split();
            crowd.sinks.push(sink);
            tokio::spawn(read(rx, stop, delivered))
        } else {
            tokio::spawn(read(ws, stop, delivered))
        };
        crowd.readers.push(reader);
    }
    // Let the join announcements drain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(crowd)
}

/// Reads until told to stop; for chat messages from the bench, checks order and latency.
async fn read<S>(
    mut rx: S,
    mut stop: watch::Receiver<u64>,
    delivered: Arc<AtomicU64>,
) -> ReaderStats
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    let mut stats = ReaderStats::default();
    let mut last: HashMap<u32, u64> = HashMap::new();
    loop {
        let frame = tokio::select! {
            frame = rx.next() => frame,
            _ = stop.changed() => return stats,
        };
        let Some(Ok(Message::Text(text))) = frame else {
            if frame.is_none() || matches!(frame, Some(Err(_))) {
                let _ = stop.changed().await;
                return stats;
            }
            continue;
        };
        // Bench messages carry "B <sender> <seq> <sent_us>" as their text.
        let Some(body) = text.as_str().split("\"text\":\"B ").nth(1) else {
            continue;
        };
        let mut parts = body.split([' ', '"']);
        let (Some(sender), Some(seq), Some(sent)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(sender), Ok(seq), Ok(sent)) = (
            sender.parse::<u32>(),
            seq.parse::<u64>(),
            sent.parse::<u64>(),
        ) else {
            continue;
        };
        delivered.fetch_add(1, Ordering::Relaxed);
        stats
            .latencies_us
            .push(u32::try_from(now_us().saturating_sub(sent)).unwrap_or(u32::MAX));
        match last.insert(sender, seq) {
            Some(prev) if prev == seq => stats.duplicates += 1,
            Some(prev) if prev > seq => stats.reordered += 1,
            _ => {}
        }
    }
}

/// Sends at `rate` messages/s per sender for `secs`, then collects what the readers saw.
pub(crate) async fn step(
    server: &Server,
    crowd: &mut Crowd,
    shape: Shape,
    rate: f64,
    secs: f64,
    first_seq: u64,
) -> Result<(Step, u64), String> {
    let start_delivered = crowd.delivered.load(Ordering::Relaxed);
    let start_cpu = server.cpu_secs();
    let start_redis_cpu = server.redis_cpu_secs();
    let started = Instant::now();
    let mut sent_total = 0u64;
    let mut tasks = Vec::new();
    let senders = crowd.sinks.len().max(1) as f64;
    for (sender, mut sink) in std::mem::take(&mut crowd.sinks).into_iter().enumerate() {
        // Senders are spread evenly over one period, so that they do not all fire at once.
        let phase = Duration::from_secs_f64(sender as f64 / (senders * rate));
        tasks.push(tokio::spawn(async move {
            let begin = Instant::now() + phase;
            tokio::time::sleep_until(begin.into()).await;
            let mut seq = first_seq;
            let count = (rate * secs) as u64;
            let mut sent = 0u64;
            while sent < count {
                let due = ((begin.elapsed().as_secs_f64() * rate) as u64).min(count);
                while sent < due {
                    let text = format!(
                        r#"{{"type":"message","text":"B {sender} {seq} {}"}}"#,
                        now_us()
                    );
                    if sink.feed(Message::text(text)).await.is_err() {
                        return (sink, sent);
                    }
                    seq += 1;
                    sent += 1;
                }
                let _ = sink.flush().await;
                // Sleep until the next message is due (several go out together when late).
                let next = Duration::from_secs_f64((sent + 1) as f64 / rate);
                tokio::time::sleep_until((begin + next).into()).await;
            }
            (sink, sent)
        }));
    }
    for task in tasks {
        let (sink, sent) = task.await.map_err(|e| e.to_string())?;
        crowd.sinks.push(sink);
        sent_total += sent;
    }
    let send_secs = started.elapsed().as_secs_f64();
    let expected = sent_total * shape.per_room as u64;
    // Wait for the deliveries to land, or for progress to stop.
    let mut seen = crowd.delivered.load(Ordering::Relaxed) - start_delivered;
    let mut idle = 0;
    while seen < expected && idle < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = crowd.delivered.load(Ordering::Relaxed) - start_delivered;
        idle = if now == seen { idle + 1 } else { 0 };
        seen = now;
    }
    let elapsed = started.elapsed().as_secs_f64().max(send_secs);
    let cpu = server.cpu_secs() - start_cpu;
    let redis_cpu = server.redis_cpu_secs() - start_redis_cpu;
    let _ = crowd.collect.send(u64::MAX);
    let mut all = Vec::new();
    let mut result = Step {
        offered: rate * (shape.rooms * shape.senders * shape.per_room) as f64,
        ..Step::default()
    };
    for reader in std::mem::take(&mut crowd.readers) {
        let stats = reader.await.map_err(|e| e.to_string())?;
        all.extend(stats.latencies_us);
        result.duplicates += stats.duplicates;
        result.reordered += stats.reordered;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |&v| f64::from(v) / 1000.0)
    };
    result.delivered = seen;
    result.expected = expected;
    result.delivered_per_sec = seen as f64 / elapsed;
    result.cpu_us_per_delivery = cpu * 1e6 / seen.max(1) as f64;
    result.redis_cpu_us_per_delivery = redis_cpu * 1e6 / seen.max(1) as f64;
    result.p50_ms = pct(0.5);
    result.p99_ms = pct(0.99);
    result.max_ms = pct(1.0);
    Ok((result, first_seq + sent_total))
}

/// One fixed-rate run on fresh connections.
pub(crate) async fn fixed(
    traced: bool,
    shape: Shape,
    rate: f64,
    secs: f64,
) -> Result<Step, String> {
    let server = Server::start(traced, 256).await?;
    let mut crowd = gather(&server, shape).await?;
    println!(
        "fan-out: {} rooms x {} clients, {} senders/room at {rate}/s each for {secs} s (tracing {}, {})",
        shape.rooms,
        shape.per_room,
        shape.senders,
        on_off(traced),
        server.topology
    );
    let (result, _) = step(&server, &mut crowd, shape, rate, secs, 0).await?;
    result.print();
    println!(
        "  trace files: {:.1} MiB",
        server.trace_bytes() as f64 / (1024.0 * 1024.0)
    );
    server.stop();
    Ok(result)
}

/// Raises the rate by `factor` per step, each on fresh connections, until p99 passes `bound_ms`
/// or anything is lost; returns the best sustained deliveries/s.
pub(crate) async fn ramp(
    traced: bool,
    shape: Shape,
    start_rate: f64,
    factor: f64,
    secs: f64,
    bound_ms: f64,
) -> Result<f64, String> {
    println!(
        "ramp: {} rooms x {} clients, {} senders/room, x{factor} per {secs} s step until p99 > {bound_ms} ms (tracing {})",
        shape.rooms,
        shape.per_room,
        shape.senders,
        on_off(traced)
    );
    let mut rate = start_rate;
    let mut best = 0.0f64;
    // This machine is shared: one failed step may be noise, two in a row end the ramp.
    let mut failed_in_a_row = 0;
    for _ in 0..30 {
        let server = Server::start(traced, 256).await?;
        let mut crowd = gather(&server, shape).await?;
        let (result, _) = step(&server, &mut crowd, shape, rate, secs, 0).await?;
        result.print();
        server.stop();
        if result.p99_ms > bound_ms || result.lost() > 0 || result.reordered > 0 {
            failed_in_a_row += 1;
            if failed_in_a_row == 2 {
                break;
            }
        } else {
            failed_in_a_row = 0;
            best = best.max(result.delivered_per_sec);
        }
        rate *= factor;
    }
    println!(
        "  => highest sustained: {best:.0} deliveries/s with p99 <= {bound_ms} ms and no loss"
    );
    Ok(best)
}

/// Tracing's cost: `pairs` runs with tracing on and off, alternating so that load from
/// elsewhere on the machine hits both alike; compares the medians of server CPU per delivery.
pub(crate) async fn tracing_cost(
    shape: Shape,
    rate: f64,
    secs: f64,
    pairs: usize,
) -> Result<f64, String> {
    println!(
        "tracing cost: {} rooms x {} clients, {} senders/room at {rate}/s each, {pairs} runs on and off, alternating",
        shape.rooms, shape.per_room, shape.senders
    );
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        for traced in [true, false] {
            let server = Server::start(traced, 256).await?;
            let mut crowd = gather(&server, shape).await?;
            let (result, _) = step(&server, &mut crowd, shape, rate, secs, 0).await?;
            print!("  tracing {:<3}", on_off(traced));
            result.print();
            server.stop();
            if traced {
                on.push(result.cpu_us_per_delivery)
            } else {
                off.push(result.cpu_us_per_delivery)
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (on, off) = (median(&mut on), median(&mut off));
    let cost = 100.0 * (on / off - 1.0);
    println!(
        "  => median server CPU per delivery: {on:.2} us traced, {off:.2} us untraced: tracing costs {cost:.1} % (target <= 15 %)"
    );
    Ok(cost)
}
