//! One room on this node: its local members' outbound queues and the fan-out, and, in the memory
//! engine, its history and offsets. The Redis engine keeps history and offsets in Redis and
//! feeds the frames it hears on the room's channel to [`Room::deliver`] (see `room::remote`).
//!
//! Every frame is serialised once and its bytes shared by all recipients. Each member has a
//! bounded queue that the room fills with `try_send`: a member whose queue is full is removed
//! and told to close with 4008 "slow", so one slow client never delays the others and memory
//! stays bounded. A join or a leave costs one pass over the members (the announcement).
//!
//! The room's lock is a `std::sync::Mutex` held only for these short, non-async sections.

mod remote;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use flowtrace_runtime::flowtrace;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;
use crate::protocol::{self, Outgoing, Since, Stored};

pub(crate) use remote::{Heard, Pending};

/// A frame waiting in a member's outbound queue.
pub(crate) type Outbound = Utf8Bytes;

/// Why the server closes a connection: a WebSocket close code and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Kick {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    /// Deliver what is already queued before the close frame.
    pub(crate) drain: bool,
}

impl Kick {
    pub(crate) const SLOW: Self = Self {
        code: 4008,
        reason: "slow",
        drain: false,
    };
    pub(crate) const DELETED: Self = Self {
        code: 4410,
        reason: "room deleted",
        drain: true,
    };
    pub(crate) const SHUTDOWN: Self = Self {
        code: 1001,
        reason: "server shutting down",
        drain: true,
    };
}

/// A member as the room sees it.
struct Member {
    /// Tells this connection apart from a later one with the same client id.
    conn: u64,
    queue: mpsc::Sender<Outbound>,
    kick: watch::Sender<Option<Kick>>,
}

/// What a connection gets when it joins.
pub(crate) struct Membership {
    pub(crate) conn: u64,
    pub(crate) queue: mpsc::Receiver<Outbound>,
    /// A sender into the connection's own queue, for `error` frames.
    pub(crate) own: mpsc::Sender<Outbound>,
}

/// Why a join was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// This client id is already connected to the room (on any node).
    Duplicate,
    /// The room was deleted or the server is shutting down.
    Closed,
    /// The room does not exist and the room cap is reached (close 1013).
    TooManyRooms,
    /// The engine's storage cannot be reached (close 1013).
    Unavailable,
}

/// A snapshot of a room for the HTTP API.
#[derive(Debug, Serialize)]
pub(crate) struct RoomInfo {
    pub(crate) room_id: String,
    pub(crate) name: String,
    pub(crate) participant_count: usize,
    pub(crate) message_count: u64,
    pub(crate) created_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) participants: Option<Vec<String>>,
}

/// A chat room as this node holds it.
pub(crate) struct Room {
    id: String,
    name: String,
    created_at: u64,
    history_len: usize,
    epoch: String,
    /// Created by a WebSocket connect: removed once idle (no members, no messages).
    auto_created: bool,
    /// Memory engine: joins, leaves and slow members are announced here. Redis engine: every
    /// announcement comes through Redis, so that all nodes count the same members.
    local_presence: bool,
    metrics: Arc<Metrics>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    members: HashMap<String, Member>,
    /// Redis engine: joins whose history or own `user_joined` has not come back yet.
    pending: HashMap<String, Pending>,
    history: VecDeque<Utf8Bytes>,
    /// Memory engine: the room's last offset. Redis engine: the last one delivered here.
    offset: u64,
    next_conn: u64,
    /// Counts joins, so that an idle-room reaper sees whether the room was used meanwhile.
    generation: u64,
    /// Set once the room is deleted or the server shuts down; joins are then refused.
    closed: bool,
}

/// How a room is made.
pub(crate) struct RoomSpec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) history_len: usize,
    pub(crate) auto_created: bool,
    pub(crate) local_presence: bool,
}

impl Room {
    pub(crate) fn new(spec: RoomSpec, metrics: Arc<Metrics>) -> Self {
        Self {
            id: spec.id,
            name: spec.name,
            created_at: crate::now_ms(),
            history_len: spec.history_len,
            epoch: crate::random_hex(),
            auto_created: spec.auto_created,
            local_presence: spec.local_presence,
            metrics,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every section is one step).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a member: queues the history for it (recovered from `since` when possible), then
    /// announces it to everyone, itself included.
    #[flowtrace(skip(queue_capacity, kick), fields(room_id = self.id.as_str()))]
    pub(crate) fn join(
        &self,
        client_id: &str,
        queue_capacity: usize,
        kick: watch::Sender<Option<Kick>>,
        since: Option<&Since>,
    ) -> Result<Membership, JoinError> {
        let mut inner = self.lock();
        admissible(&inner, client_id)?;
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let stored = Stored {
            room_id: &self.id,
            epoch: &self.epoch,
            offset: inner.offset,
            messages: inner.history.iter().map(Utf8Bytes::as_str),
        };
        // The queue is new and empty, so the history always fits.
        let _ = tx.try_send(protocol::history(stored, since));
        self.metrics.delivered(1);
        inner.next_conn += 1;
        inner.generation += 1;
        let conn = inner.next_conn;
        let own = tx.clone();
        inner.members.insert(
            client_id.to_owned(),
            Member {
                conn,
                queue: tx,
                kick,
            },
        );
        let joined = Outgoing::UserJoined {
            client_id,
            room_id: &self.id,
            participant_count: inner.members.len(),
        };
        self.fan_out(&mut inner, &joined.encode(), None);
        Ok(Membership {
            conn,
            queue: rx,
            own,
        })
    }

    /// Removes a member if this connection is still the member, and (memory engine) announces
    /// it. Returns whether it was removed here.
    #[flowtrace(fields(room_id = self.id.as_str()))]
    pub(crate) fn leave(&self, client_id: &str, conn: u64) -> bool {
        let mut inner = self.lock();
        if inner
            .pending
            .get(client_id)
            .is_some_and(|p| p.conn() == conn)
        {
            inner.pending.remove(client_id);
            return true;
        }
        if inner.members.get(client_id).is_none_or(|m| m.conn != conn) {
            return false;
        }
        inner.members.remove(client_id);
        if self.local_presence {
            self.announce_left(&mut inner, client_id);
        }
        true
    }

    /// Memory engine: stores and fans out a chat message from `client_id`.
    #[flowtrace(fields(room_id = self.id.as_str()))]
    pub(crate) fn post(&self, client_id: &str, text: &str) {
        let mut inner = self.lock();
        let offset = inner.offset + 1;
        let frame = Outgoing::Message {
            client_id,
            text,
            room_id: &self.id,
            timestamp: crate::now_ms(),
            offset,
        }
        .encode();
        if inner.history.len() == self.history_len {
            inner.history.pop_front();
        }
        if self.history_len > 0 {
            inner.history.push_back(frame.clone());
        }
        inner.offset = offset;
        self.metrics.message_accepted();
        self.fan_out(&mut inner, &frame, None);
    }

    /// Memory engine: tells everyone but `client_id` that it is typing; not stored.
    #[flowtrace(fields(room_id = self.id.as_str()))]
    pub(crate) fn typing(&self, client_id: &str) {
        let mut inner = self.lock();
        let frame = Outgoing::Typing {
            client_id,
            room_id: &self.id,
        }
        .encode();
        self.fan_out(&mut inner, &frame, Some(client_id));
    }

    /// Refuses further joins and closes every member with `kick`, after `notice` if given.
    #[flowtrace(skip(notice), fields(room_id = self.id.as_str()))]
    pub(crate) fn close(&self, kick: Kick, notice: Option<&Utf8Bytes>) {
        let mut inner = self.lock();
        inner.closed = true;
        let inner = &mut *inner;
        let pending = inner.pending.drain().map(|(_, p)| p.into_parts());
        let members = inner.members.drain().map(|(_, m)| (m.queue, m.kick));
        for (queue, member_kick) in members.chain(pending) {
            if let Some(notice) = notice {
                let _ = queue.try_send(notice.clone());
            }
            member_kick.send_replace(Some(kick));
        }
        inner.history.clear();
    }

    /// The join count if the room is an idle auto-created one (no members, no messages).
    pub(crate) fn idle_generation(&self) -> Option<u64> {
        let inner = self.lock();
        let idle = self.auto_created
            && !inner.closed
            && inner.members.is_empty()
            && inner.pending.is_empty()
            && inner.offset == 0;
        idle.then_some(inner.generation)
    }

    /// Closes the room if it is still idle and nobody joined since `generation`.
    pub(crate) fn close_if_idle(&self, generation: u64) -> bool {
        let mut inner = self.lock();
        let idle = !inner.closed
            && inner.generation == generation
            && inner.members.is_empty()
            && inner.pending.is_empty()
            && inner.offset == 0;
        if idle {
            inner.closed = true;
        }
        idle
    }

    /// Closes the room if no member (joined or joining) is here; whether it is closed now.
    pub(crate) fn close_if_empty(&self) -> bool {
        let mut inner = self.lock();
        if inner.members.is_empty() && inner.pending.is_empty() {
            inner.closed = true;
        }
        inner.closed && inner.members.is_empty() && inner.pending.is_empty()
    }

    /// The room as the HTTP API shows it (memory engine).
    pub(crate) fn info(&self, with_participants: bool) -> RoomInfo {
        let inner = self.lock();
        let participants = with_participants.then(|| {
            let mut ids: Vec<String> = inner.members.keys().cloned().collect();
            ids.sort_unstable();
            ids
        });
        RoomInfo {
            room_id: self.id.clone(),
            name: self.name.clone(),
            participant_count: inner.members.len(),
            message_count: inner.offset,
            created_at: self.created_at,
            participants,
        }
    }

    fn announce_left(&self, inner: &mut Inner, client_id: &str) {
        let left = Outgoing::UserLeft {
            client_id,
            room_id: &self.id,
            participant_count: inner.members.len(),
        };
        self.fan_out(inner, &left.encode(), None);
    }

    /// Queues `frame` for every member except `skip`; members whose queue is full are closed as
    /// slow and (memory engine) their departure is announced in turn.
    #[flowtrace(name = "broadcast", skip(inner, frame), fields(room_id = self.id.as_str(), recipients = inner.members.len()))]
    fn fan_out(&self, inner: &mut Inner, frame: &Utf8Bytes, skip: Option<&str>) {
        let mut slow = Vec::new();
        let mut queued = 0;
        for (id, member) in &inner.members {
            if skip == Some(id.as_str()) {
                continue;
            }
            match member.queue.try_send(frame.clone()) {
                Ok(()) => queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(id.clone()),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        // Each announcement may find more slow members; every member is removed at most once.
        while let Some(id) = slow.pop() {
            if let Some(member) = inner.members.remove(&id) {
                member.kick.send_replace(Some(Kick::SLOW));
                if !self.local_presence {
                    continue;
                }
                let left = Outgoing::UserLeft {
                    client_id: &id,
                    room_id: &self.id,
                    participant_count: inner.members.len(),
                }
                .encode();
                for (other, m) in &inner.members {
                    match m.queue.try_send(left.clone()) {
                        Ok(()) => queued += 1,
                        Err(mpsc::error::TrySendError::Full(_)) => slow.push(other.clone()),
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        self.metrics.delivered(queued);
    }
}

/// Whether `client_id` may join now: the room is open and nobody, joined or joining, has the id.
fn admissible(inner: &Inner, client_id: &str) -> Result<(), JoinError> {
    if inner.closed {
        return Err(JoinError::Closed);
    }
    if inner.members.contains_key(client_id) || inner.pending.contains_key(client_id) {
        return Err(JoinError::Duplicate);
    }
    Ok(())
}
