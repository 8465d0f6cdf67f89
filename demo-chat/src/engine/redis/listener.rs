//! The node's subscription connection: hears the channels of the rooms it has members in and
//! fans each frame out to them; reconnects with backoff when Redis goes away.
//!
//! A message published with its sender's traceparent is fanned out under it, so the sender's
//! trace goes on here.
//!
//! After a reconnect it subscribes again to every local room, then, before it hears anything
//! new, delivers from each room's history the messages published while it was away, so its
//! members see every offset once and in order.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;

use super::reply::split_payload;
use super::{REDIS_TIMEOUT, RedisFailure, Shared, keys};
use crate::room::{Heard, Kick, Room};
use crate::trace_context;

/// First and longest wait between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Runs until the engine is dropped.
pub(super) async fn run(shared: Weak<Shared>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        match connect(&engine).await {
            Ok(mut stream) => {
                backoff = BACKOFF_MIN;
                engine.pubsub_up.store(true, Ordering::Relaxed);
                // Hold only a weak reference while waiting, so the engine can be dropped.
                drop(engine);
                while let Some(message) = stream.next().await {
                    let Some(engine) = shared.upgrade() else {
                        return;
                    };
                    engine.dispatch(message.get_channel_name(), message.get_payload_bytes());
                }
                let Some(engine) = shared.upgrade() else {
                    return;
                };
                engine.pubsub_up.store(false, Ordering::Relaxed);
                engine.subs.lock().await.sink = None;
                engine.failed(&RedisFailure::Unexpected(
                    "subscription connection lost".into(),
                ));
            }
            Err(e) => engine.failed(&e),
        }
        // Full jitter, so that nodes do not reconnect in step.
        let jitter = u64::from(crate::random_hex().as_bytes()[0]) % 100;
        tokio::time::sleep(backoff.mul_f64(0.5 + jitter as f64 / 200.0)).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Opens the subscription connection, subscribes to every local room and catches up on what
/// they missed; returns the stream of what comes next.
async fn connect(engine: &Shared) -> Result<redis::aio::PubSubStream, RedisFailure> {
    let pubsub = tokio::time::timeout(REDIS_TIMEOUT, engine.client.get_async_pubsub())
        .await
        .map_err(|_| RedisFailure::Unexpected("connect timed out".into()))??;
    let (mut sink, stream) = pubsub.split();
    let mut subs = engine.subs.lock().await;
    let rooms: Vec<Arc<Room>> = engine.lock_local().values().cloned().collect();
    let channels: Vec<String> = rooms.iter().map(|r| keys::channel(r.id())).collect();
    if !channels.is_empty() {
        tokio::time::timeout(REDIS_TIMEOUT, sink.subscribe(&channels))
            .await
            .map_err(|_| RedisFailure::Unexpected("subscribe timed out".into()))??;
    }
    subs.channels = channels.into_iter().collect();
    subs.sink = Some(sink);
    // Joins wait on `subs` until the catch-up is done: a join's history is then read after it.
    for room in rooms {
        catch_up(engine, &room).await?;
    }
    drop(subs);
    engine.subscribed.notify_waiters();
    Ok(stream)
}

/// Delivers the messages of `room` after the last offset delivered here, from its history.
async fn catch_up(engine: &Shared, room: &Room) -> Result<(), RedisFailure> {
    let mut conn = engine.conn.clone();
    let offset: Option<u64> = conn.hget(keys::room(room.id()), "offset").await?;
    let Some(offset) = offset else {
        let notice = crate::protocol::Outgoing::RoomDeleted { room_id: room.id() }.encode();
        room.close(Kick::DELETED, Some(&notice));
        return Ok(());
    };
    let delivered = room.delivered_offset();
    if offset <= delivered {
        return Ok(());
    }
    let history: Vec<String> = conn.lrange(keys::history(room.id()), 0, -1).await?;
    let first = (offset + 1).saturating_sub(history.len() as u64);
    for (i, frame) in history.into_iter().enumerate() {
        let at = first + i as u64;
        if at > delivered {
            room.deliver(Heard::Message(at), &frame.into(), &engine.node);
        }
    }
    Ok(())
}

impl Shared {
    /// Hands a frame heard on `channel` to the local room.
    fn dispatch(&self, channel: &str, payload: &[u8]) {
        let Some(room_id) = channel.strip_prefix(keys::CHANNEL) else {
            return;
        };
        let Some(room) = self.lock_local().get(room_id).cloned() else {
            return;
        };
        let Some((kind, tag, frame)) = split_payload(payload) else {
            return;
        };
        // A message's tag may carry its sender's traceparent after the offset.
        let (tag, traceparent) = match (kind, tag.split_once(' ')) {
            (b'M', Some((offset, traceparent))) => (offset, Some(traceparent)),
            _ => (tag, None),
        };
        let heard = match kind {
            b'M' => match tag.parse() {
                Ok(offset) => Heard::Message(offset),
                Err(_) => return,
            },
            b'J' => Heard::Joined(tag),
            b'L' => Heard::Left,
            b'T' => Heard::Typing(tag),
            b'D' => Heard::Deleted,
            _ => return,
        };
        trace_context::under_sender(traceparent, || room.deliver(heard, &frame, &self.node));
        if heard == Heard::Deleted {
            self.forget_if_empty(&room);
        }
    }
}
