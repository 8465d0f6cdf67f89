//! The Redis engine's side of a room: joins that wait for Redis, and the frames heard on the
//! room's channel.
//!
//! A join runs one script in Redis that reads the history and publishes the newcomer's
//! `user_joined`; its reply (the history) and that publication arrive on different connections,
//! in either order. Frames published before the script are in the history, frames after it
//! follow its `user_joined` on the channel. So a joining member ignores the channel until it
//! hears its own `user_joined` (tagged with its connection), keeps what follows, and becomes a
//! plain member once it also has its history: history first, then the kept frames, never a
//! gap or a duplicate.

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;

use super::{Inner, JoinError, Kick, Member, Membership, Outbound, Room};

/// A member whose join is under way in Redis.
pub(crate) struct Pending {
    conn: u64,
    queue: mpsc::Sender<Outbound>,
    kick: watch::Sender<Option<Kick>>,
    /// Its own `user_joined` came through the channel: what follows is kept.
    heard_join: bool,
    /// Its `history` is queued.
    has_history: bool,
    kept: Vec<Utf8Bytes>,
}

impl Pending {
    pub(super) fn conn(&self) -> u64 {
        self.conn
    }

    pub(super) fn into_parts(self) -> (mpsc::Sender<Outbound>, watch::Sender<Option<Kick>>) {
        (self.queue, self.kick)
    }
}

/// A frame heard on a room's channel, as the publishing script tagged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heard<'a> {
    /// A chat message with its offset.
    Message(u64),
    /// A `user_joined`, tagged `node:conn` by the joining node.
    Joined(&'a str),
    /// A `user_left`.
    Left,
    /// A `typing` of this client, for everyone else.
    Typing(&'a str),
    /// The room was deleted.
    Deleted,
}

impl Room {
    /// Registers a joining member that waits for [`Room::activate`] and its own `user_joined`.
    pub(crate) fn join_pending(
        &self,
        client_id: &str,
        queue_capacity: usize,
        kick: watch::Sender<Option<Kick>>,
    ) -> Result<Membership, JoinError> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(JoinError::Closed);
        }
        if inner.members.contains_key(client_id) || inner.pending.contains_key(client_id) {
            return Err(JoinError::Duplicate);
        }
        let (tx, rx) = mpsc::channel(queue_capacity.max(2));
        inner.next_conn += 1;
        inner.generation += 1;
        let conn = inner.next_conn;
        let own = tx.clone();
        inner.pending.insert(
            client_id.to_owned(),
            Pending {
                conn,
                queue: tx,
                kick,
                heard_join: false,
                has_history: false,
                kept: Vec::new(),
            },
        );
        Ok(Membership {
            conn,
            queue: rx,
            own,
        })
    }

    /// Queues the history Redis answered for a joining member; `offset` is the room's last
    /// offset at that moment.
    pub(crate) fn activate(&self, client_id: &str, conn: u64, history: Utf8Bytes, offset: u64) {
        let mut inner = self.lock();
        inner.offset = inner.offset.max(offset);
        let Some(pending) = inner.pending.get_mut(client_id).filter(|p| p.conn == conn) else {
            return;
        };
        if pending.queue.try_send(history).is_ok() {
            self.metrics.delivered(1);
        }
        pending.has_history = true;
        if pending.heard_join {
            promote(&mut inner, client_id, &self.metrics);
        }
    }

    /// The last offset delivered on this node.
    pub(crate) fn delivered_offset(&self) -> u64 {
        self.lock().offset
    }

    /// Fans out a frame heard on the room's channel; `node` is this node's id.
    pub(crate) fn deliver(&self, heard: Heard<'_>, frame: &Utf8Bytes, node: &str) {
        if heard == Heard::Deleted {
            self.close(Kick::DELETED, Some(frame));
            return;
        }
        let mut inner = self.lock();
        if let Heard::Message(offset) = heard {
            // Heard again after a resubscription's catch-up.
            if offset <= inner.offset {
                return;
            }
            inner.offset = offset;
        }
        for pending in inner.pending.values_mut().filter(|p| p.heard_join) {
            pending.kept.push(frame.clone());
        }
        if let Heard::Joined(tag) = heard {
            let mine = tag
                .strip_prefix(node)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|conn| conn.parse::<u64>().ok());
            if let Some(conn) = mine {
                let joining = inner.pending.iter_mut().find(|(_, p)| p.conn == conn);
                if let Some((id, pending)) = joining {
                    pending.heard_join = true;
                    if pending.has_history {
                        let id = id.clone();
                        promote(&mut inner, &id, &self.metrics);
                    } else {
                        pending.kept.push(frame.clone());
                    }
                }
            }
        }
        let skip = match heard {
            Heard::Typing(who) => Some(who),
            _ => None,
        };
        self.fan_out(&mut inner, frame, skip);
    }
}

/// Makes a joining member a plain one, after queuing what it kept.
fn promote(inner: &mut Inner, client_id: &str, metrics: &Metrics) {
    let Some(pending) = inner.pending.remove(client_id) else {
        return;
    };
    let mut slow = false;
    let mut queued = 0;
    for frame in pending.kept {
        match pending.queue.try_send(frame) {
            Ok(()) => queued += 1,
            Err(_) => slow = true,
        }
    }
    metrics.delivered(queued);
    if slow {
        pending.kick.send_replace(Some(Kick::SLOW));
        return;
    }
    inner.members.insert(
        client_id.to_owned(),
        Member {
            conn: pending.conn,
            queue: pending.queue,
            kick: pending.kick,
        },
    );
}
