//! The Redis engine (design §5): any number of nodes on one Redis are one chat.
//!
//! Redis holds the rooms, their members (leased by the node that holds them), history and
//! offsets; each change is one Lua script (`scripts`). A node keeps a local [`Room`] per room it
//! has members in, subscribes to that room's channel only, and fans out what it hears there
//! (`listener`). `upkeep` renews the node's lease, removes the members of dead nodes and idle
//! rooms, and watches Redis's health. While Redis is away the node stays up and answers
//! `unavailable`; it reconnects with backoff on its own.

mod http;
mod keys;
mod listener;
mod poster;
mod reply;
mod scripts;
mod upkeep;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use flowtrace_runtime::flowtrace;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use tokio::sync::mpsc;

use super::{JoinRequest, Joined, Unavailable};
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::protocol::{self, Outgoing, Stored};
use crate::room::{JoinError, Kick, Room, RoomSpec};
use reply::{JoinAnswer, parse_join};

/// How long a node's lease lives without renewal: a node killed without a goodbye loses its
/// members within this plus one renewal period.
const LEASE_TTL: Duration = Duration::from_secs(15);
/// Messages waiting to be stored, over all connections of the node; posting waits when full.
const POST_QUEUE: usize = 8192;
/// Longest a Redis command or connection attempt may take before it counts as failed.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// A node of the Redis engine.
pub(crate) struct RedisEngine {
    shared: Arc<Shared>,
}

/// What the engine's tasks share.
struct Shared {
    /// This node's id: tags its members in Redis and its joins on the channels.
    node: String,
    client: redis::Client,
    conn: ConnectionManager,
    /// Rooms with members on this node.
    local: Mutex<HashMap<String, Arc<Room>>>,
    /// The subscription connection's command half and the channels it is subscribed to;
    /// the async lock orders subscribes and unsubscribes.
    subs: tokio::sync::Mutex<Subscriptions>,
    /// Woken when the listener has (re)connected: joins that came first wait for it.
    subscribed: tokio::sync::Notify,
    shutting_down: AtomicBool,
    pubsub_up: AtomicBool,
    commands_ok: AtomicBool,
    room_count: AtomicUsize,
    /// The messages to store, in the order their connections posted them (`poster`).
    posts: mpsc::Sender<poster::Post>,
    /// Leaves that failed while Redis was away, retried by `upkeep`.
    unfinished_leaves: Mutex<Vec<Leave>>,
    history_len: usize,
    max_rooms: usize,
    idle_ttl: Duration,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct Subscriptions {
    sink: Option<PubSubSink>,
    channels: HashSet<String>,
}

/// A member to remove from Redis.
#[derive(Clone, Debug)]
struct Leave {
    room_id: String,
    client_id: String,
    tag: String,
}

/// Why a Redis step failed: Redis is unreachable or answered something unexpected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisFailure {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis answered {0}")]
    Unexpected(String),
}

impl RedisEngine {
    /// Connects lazily to `url` and starts the node's listener and upkeep tasks; Redis need not
    /// be up yet. Must run inside a tokio runtime.
    pub(crate) fn start(url: &str, limits: &Limits, metrics: Arc<Metrics>) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("bad Redis URL {url:?}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = client
            .get_connection_manager_lazy(config)
            .map_err(|e| format!("cannot use Redis at {url:?}: {e}"))?;
        let (posts, queue) = mpsc::channel(POST_QUEUE);
        let shared = Arc::new(Shared {
            posts,
            node: crate::random_hex(),
            client,
            conn,
            local: Mutex::new(HashMap::new()),
            subs: tokio::sync::Mutex::new(Subscriptions::default()),
            subscribed: tokio::sync::Notify::new(),
            shutting_down: AtomicBool::new(false),
            pubsub_up: AtomicBool::new(false),
            commands_ok: AtomicBool::new(false),
            room_count: AtomicUsize::new(0),
            unfinished_leaves: Mutex::new(Vec::new()),
            history_len: limits.history_len,
            max_rooms: limits.max_rooms,
            idle_ttl: limits.room_idle_ttl,
            metrics,
        });
        tokio::spawn(listener::run(Arc::downgrade(&shared)));
        tokio::spawn(poster::run(Arc::downgrade(&shared), queue));
        tokio::spawn(upkeep::run(Arc::downgrade(&shared)));
        Ok(Self { shared })
    }

    pub(crate) fn healthy(&self) -> bool {
        self.shared.pubsub_up.load(Ordering::Relaxed)
            && self.shared.commands_ok.load(Ordering::Relaxed)
    }

    pub(crate) fn room_count(&self) -> usize {
        self.shared.room_count.load(Ordering::Relaxed)
    }

    /// Joins: a local member first (waiting for its history), the subscription, then the join
    /// script, whose answer gives the history.
    #[flowtrace(skip(req), fields(room_id = req.room_id, client_id = req.client_id))]
    pub(crate) async fn join(&self, req: &JoinRequest<'_>) -> Result<Joined, JoinError> {
        let shared = &self.shared;
        let (room, membership) = loop {
            if shared.shutting_down.load(Ordering::Acquire) {
                return Err(JoinError::Closed);
            }
            let room = shared.local_room(req.room_id);
            match room.join_pending(req.client_id, req.queue_capacity, req.kick.clone()) {
                Ok(membership) => break (room, membership),
                Err(JoinError::Closed) => continue,
                Err(e) => return Err(e),
            }
        };
        let tag = format!("{}:{}", shared.node, membership.conn);
        let answer = match shared.subscribe(req.room_id).await {
            Ok(()) => shared.run_join(req, &tag).await,
            Err(e) => Err(e),
        };
        let refused = match answer {
            Ok(JoinAnswer::Joined {
                epoch,
                offset,
                history,
            }) => {
                let stored = Stored {
                    room_id: req.room_id,
                    epoch: &epoch,
                    offset,
                    messages: history.iter().map(String::as_str),
                };
                let frame = protocol::history(stored, req.since);
                room.activate(req.client_id, membership.conn, frame, offset);
                return Ok(Joined { room, membership });
            }
            Ok(JoinAnswer::Duplicate) => JoinError::Duplicate,
            Ok(JoinAnswer::Full) => JoinError::TooManyRooms,
            Err(e) => {
                shared.failed(&e);
                // The script may have run with its answer lost: leave as if it had.
                shared.defer_leave(Leave {
                    room_id: req.room_id.to_owned(),
                    client_id: req.client_id.to_owned(),
                    tag,
                });
                JoinError::Unavailable
            }
        };
        room.leave(req.client_id, membership.conn);
        shared.forget_if_empty(&room);
        Err(refused)
    }

    /// Leaves locally at once, then in Redis (announced to every node by the script).
    pub(crate) async fn leave(&self, room: &Arc<Room>, client_id: &str, conn: u64) {
        let shared = &self.shared;
        room.leave(client_id, conn);
        let leave = Leave {
            room_id: room.id().to_owned(),
            client_id: client_id.to_owned(),
            tag: format!("{}:{conn}", shared.node),
        };
        if let Err(e) = shared.run_leave(&leave).await {
            shared.failed(&e);
            shared.defer_leave(leave);
        }
        shared.forget_if_empty(room);
    }

    /// Queues a message to be stored and published; every node's members get it from the
    /// channel, the sender's too. If it cannot be stored, its sender gets `error` `unavailable`
    /// on `reply`.
    #[flowtrace(skip(room, reply), fields(room_id = room.id()))]
    pub(crate) async fn post(
        &self,
        room: &Room,
        client_id: &str,
        text: &str,
        reply: &mpsc::Sender<Utf8Bytes>,
    ) -> Result<(), Unavailable> {
        let post = poster::Post {
            room_id: room.id().to_owned(),
            prefix: protocol::message_prefix(client_id, text, room.id(), crate::now_ms()),
            reply: reply.clone(),
            traceparent: crate::trace_context::current_traceparent().unwrap_or_default(),
        };
        self.shared.posts.send(post).await.map_err(|_| Unavailable)
    }

    /// Publishes a `typing` frame for everyone but its sender; lost if Redis is away.
    pub(crate) async fn typing(&self, room: &Room, client_id: &str) {
        let frame = Outgoing::Typing {
            client_id,
            room_id: room.id(),
        }
        .encode();
        let payload = format!("T|{client_id}|{}", frame.as_str());
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(keys::channel(room.id())).arg(payload);
        let published: Result<i64, _> = cmd.query_async(&mut self.shared.conn.clone()).await;
        if let Err(e) = published {
            self.shared.failed(&e.into());
        }
    }

    /// Refuses new joins and closes this node's members with 1001; their leaves announce them
    /// to the other nodes.
    pub(crate) fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::Release);
        let rooms: Vec<_> = self.shared.lock_local().values().cloned().collect();
        for room in rooms {
            room.close(Kick::SHUTDOWN, None);
        }
    }
}

impl Shared {
    fn lock_local(&self) -> MutexGuard<'_, HashMap<String, Arc<Room>>> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn local_room(&self, room_id: &str) -> Arc<Room> {
        let mut local = self.lock_local();
        let room = local.entry(room_id.to_owned()).or_insert_with(|| {
            let spec = RoomSpec {
                id: room_id.to_owned(),
                name: room_id.to_owned(),
                history_len: 0,
                auto_created: false,
                local_presence: false,
            };
            Arc::new(Room::new(spec, Arc::clone(&self.metrics)))
        });
        Arc::clone(room)
    }

    /// Drops the local room once nobody here is in it; the next upkeep unsubscribes.
    fn forget_if_empty(&self, room: &Arc<Room>) {
        let mut local = self.lock_local();
        let current = local.get(room.id()).is_some_and(|r| Arc::ptr_eq(r, room));
        if current && room.close_if_empty() {
            local.remove(room.id());
        }
    }

    /// Counts a failed Redis step and marks the node degraded until the next good answer.
    fn failed(&self, error: &RedisFailure) {
        self.metrics.redis_error();
        if self.commands_ok.swap(false, Ordering::Relaxed) {
            eprintln!("demo-chat: Redis unavailable ({error}); retrying in the background");
        }
    }

    fn defer_leave(&self, leave: Leave) {
        self.unfinished_leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(leave);
    }

    /// Subscribes to the room's channel unless already subscribed. While the subscription
    /// connection is not up (a node that has just started, or Redis coming back), waits for it
    /// up to the Redis timeout.
    async fn subscribe(&self, room_id: &str) -> Result<(), RedisFailure> {
        let channel = keys::channel(room_id);
        let deadline = tokio::time::Instant::now() + REDIS_TIMEOUT;
        let mut subs = loop {
            // Registered before the check, so a connection made in between still wakes it.
            let connected = self.subscribed.notified();
            let subs = self.subs.lock().await;
            if subs.sink.is_some() {
                break subs;
            }
            drop(subs);
            tokio::time::timeout_at(deadline, connected)
                .await
                .map_err(|_| RedisFailure::Unexpected("no subscription connection".into()))?;
        };
        if subs.channels.contains(&channel) {
            return Ok(());
        }
        let sink = subs
            .sink
            .as_mut()
            .ok_or_else(|| RedisFailure::Unexpected("no subscription connection".into()))?;
        tokio::time::timeout(REDIS_TIMEOUT, sink.subscribe(&channel))
            .await
            .map_err(|_| RedisFailure::Unexpected("subscribe timed out".into()))??;
        subs.channels.insert(channel);
        Ok(())
    }

    async fn run_join(&self, req: &JoinRequest<'_>, tag: &str) -> Result<JoinAnswer, RedisFailure> {
        let mut invocation = scripts::JOIN.prepare_invoke();
        invocation
            .key(keys::room(req.room_id))
            .key(keys::members(req.room_id))
            .key(keys::history(req.room_id))
            .key(keys::ROOMS)
            .key(keys::IDLE)
            .key(keys::node_members(&self.node))
            .arg(req.room_id)
            .arg(req.client_id)
            .arg(tag)
            .arg(self.max_rooms)
            .arg(crate::random_hex())
            .arg(crate::now_ms())
            .arg(keys::channel(req.room_id));
        let answer: redis::Value = invocation.invoke_async(&mut self.conn.clone()).await?;
        parse_join(answer)
    }

    async fn run_leave(&self, leave: &Leave) -> Result<(), RedisFailure> {
        let mut invocation = scripts::LEAVE.prepare_invoke();
        invocation
            .key(keys::room(&leave.room_id))
            .key(keys::members(&leave.room_id))
            .key(keys::IDLE)
            .key(keys::node_members(&self.node))
            .arg(&leave.room_id)
            .arg(&leave.client_id)
            .arg(&leave.tag)
            .arg(crate::now_ms())
            .arg(keys::channel(&leave.room_id))
            .arg(&self.node);
        let _: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }
}
