//! Storing chat messages: one task per node takes every message its connections post, in the
//! order they came, and sends what has queued up as one pipeline of post scripts.
//!
//! A connection does not wait for Redis before it reads its next frame, so a sender's rate is
//! not bound by the round trip, and one round trip carries every message queued meanwhile. One
//! queue keeps each sender's messages in the order it sent them. A message that cannot be
//! stored is answered `error` `unavailable` to its sender, and was published to nobody.

use std::sync::Weak;

use axum::extract::ws::Utf8Bytes;
use flowtrace_runtime::flowtrace;
use tokio::sync::mpsc;

use super::{Shared, keys, scripts};
use crate::protocol::{ErrorCode, Outgoing};

/// Most messages in one pipeline.
const BATCH: usize = 256;

/// A message to store and publish.
pub(super) struct Post {
    pub(super) room_id: String,
    /// The `message` frame up to its offset's value.
    pub(super) prefix: String,
    /// The sender's own queue, for an `error` frame.
    pub(super) reply: mpsc::Sender<Utf8Bytes>,
    /// The W3C traceparent of the call that posted it (empty if none), published with the
    /// message so that every node's fan-out continues the sender's trace.
    pub(super) traceparent: String,
}

/// Runs until the engine is dropped (its sender closes the queue).
pub(super) async fn run(shared: Weak<Shared>, mut queue: mpsc::Receiver<Post>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        store(&engine, &batch).await;
        batch.clear();
    }
}

/// Stores and publishes a batch in one round trip.
#[flowtrace(skip_all, fields(messages = batch.len()))]
async fn store(engine: &Shared, batch: &[Post]) {
    let mut pipe = redis::pipe();
    for post in batch {
        pipe.cmd("EVAL")
            .arg(scripts::POST)
            .arg(3)
            .arg(keys::room(&post.room_id))
            .arg(keys::history(&post.room_id))
            .arg(keys::IDLE)
            .arg(&post.prefix)
            .arg(engine.history_len)
            .arg(keys::channel(&post.room_id))
            .arg(&post.room_id)
            .arg(&post.traceparent);
    }
    let offsets: Vec<i64> = match pipe.query_async(&mut engine.conn.clone()).await {
        Ok(offsets) => offsets,
        Err(e) => {
            engine.failed(&e.into());
            Vec::new()
        }
    };
    for (i, post) in batch.iter().enumerate() {
        match offsets.get(i) {
            Some(&offset) if offset > 0 => engine.metrics.message_accepted(),
            // Not stored: Redis was away, or the room was deleted meanwhile.
            _ => refuse(engine, post),
        }
    }
}

fn refuse(engine: &Shared, post: &Post) {
    let code = ErrorCode::Unavailable;
    let frame = Outgoing::Error {
        code,
        message: "the message could not be stored and was not delivered: try again",
    };
    engine.metrics.rejected(code.as_str());
    if post.reply.try_send(frame.encode()).is_ok() {
        engine.metrics.delivered(1);
    }
}
