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

use super::{Inner, JoinError, Kick, Member, Membership, Outbound, Room, admissible};

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
        admissible(&inner, client_id)?;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::ws::Utf8Bytes;
    use tokio::sync::watch;

    use super::Heard;
    use crate::metrics::Metrics;
    use crate::room::{Room, RoomSpec};

    fn room() -> Room {
        let spec = RoomSpec {
            id: "r".into(),
            name: "r".into(),
            history_len: 0,
            auto_created: false,
            local_presence: false,
        };
        Room::new(spec, Arc::new(Metrics::new()))
    }

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_owned())
    }

    fn drain(queue: &mut tokio::sync::mpsc::Receiver<Utf8Bytes>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(f) = queue.try_recv() {
            seen.push(f.as_str().to_owned());
        }
        seen
    }

    /// Frames before the join's own `user_joined` are in its history; frames after it follow
    /// the history; whichever of history and `user_joined` comes first.
    #[test]
    fn a_joining_member_gets_history_then_what_followed_its_join_once() {
        for history_first in [true, false] {
            let room = room();
            let (kick, _) = watch::channel(None);
            let mut m = room.join_pending("me", 16, kick).expect("joins");
            let tag = format!("node:{}", m.conn);
            room.deliver(Heard::Message(1), &frame("m1"), "node");
            if history_first {
                room.activate("me", m.conn, frame("history<=1"), 1);
            }
            room.deliver(Heard::Joined(&tag), &frame("joined me"), "node");
            room.deliver(Heard::Message(2), &frame("m2"), "node");
            if !history_first {
                room.activate("me", m.conn, frame("history<=1"), 1);
            }
            room.deliver(Heard::Message(3), &frame("m3"), "node");
            // Heard again after a reconnect's catch-up: not delivered twice.
            room.deliver(Heard::Message(3), &frame("m3"), "node");
            assert_eq!(
                drain(&mut m.queue),
                ["history<=1", "joined me", "m2", "m3"],
                "history first: {history_first}"
            );
        }
    }

    #[test]
    fn typing_skips_its_sender_and_deletion_closes_everyone() {
        let room = room();
        let (kick_a, kicked_a) = watch::channel(None);
        let (kick_b, _) = watch::channel(None);
        let mut a = room.join_pending("a", 16, kick_a).expect("a joins");
        let mut b = room.join_pending("b", 16, kick_b).expect("b joins");
        for (id, m) in [("a", &a), ("b", &b)] {
            room.activate(id, m.conn, frame("h"), 0);
            room.deliver(Heard::Joined(&format!("n:{}", m.conn)), &frame("j"), "n");
        }
        room.deliver(Heard::Typing("a"), &frame("a types"), "n");
        room.deliver(Heard::Deleted, &frame("deleted"), "n");
        assert_eq!(drain(&mut a.queue), ["h", "j", "j", "deleted"]);
        assert_eq!(drain(&mut b.queue), ["h", "j", "a types", "deleted"]);
        assert_eq!(kicked_a.borrow().map(|k| k.code), Some(4410));
        assert!(room.join_pending("c", 16, watch::channel(None).0).is_err());
    }
}
