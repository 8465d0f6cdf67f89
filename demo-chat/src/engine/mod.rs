//! The engine seam: the room registry, membership, history and fan-out behind one boundary.
//!
//! Handlers and the connection logic call [`Engine`] and never learn which engine runs:
//! `memory` (everything in this process, the default) or `redis` (any number of nodes on one
//! Redis are one chat, design §5). Both keep a local [`Room`] per room with members here, which
//! owns the fan-out to this node's sockets; the memory engine's rooms also hold history and
//! offsets, the Redis engine's come from Redis.

mod memory;
mod redis;

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, watch};

use crate::AppError;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::protocol::Since;
use crate::room::{JoinError, Kick, Membership, Room, RoomInfo};

use memory::MemoryEngine;
use redis::RedisEngine;

/// The room `general`, present from the start.
pub(crate) const GENERAL: &str = "general";

/// A WebSocket's request to join a room.
pub(crate) struct JoinRequest<'a> {
    pub(crate) room_id: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) queue_capacity: usize,
    pub(crate) kick: &'a watch::Sender<Option<Kick>>,
    pub(crate) since: Option<&'a Since>,
}

/// A joined member: its room here and its queue.
pub(crate) struct Joined {
    pub(crate) room: Arc<Room>,
    pub(crate) membership: Membership,
}

/// A chat message could not be stored; it reached nobody.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unavailable;

/// The running engine.
pub(crate) enum Engine {
    Memory(MemoryEngine),
    Redis(RedisEngine),
}

impl Engine {
    /// The memory engine with the room `general`.
    pub(crate) fn memory(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self::Memory(MemoryEngine::new(limits, metrics))
    }

    /// The Redis engine on `url`; starts its background tasks, so it needs a tokio runtime.
    pub(crate) fn redis(url: &str, limits: &Limits, metrics: Arc<Metrics>) -> Result<Self, String> {
        RedisEngine::start(url, limits, metrics).map(Self::Redis)
    }

    pub(crate) async fn join(&self, req: JoinRequest<'_>) -> Result<Joined, JoinError> {
        match self {
            Self::Memory(m) => m.join(&req),
            Self::Redis(r) => r.join(&req).await,
        }
    }

    pub(crate) async fn leave(&self, room: &Arc<Room>, client_id: &str, conn: u64) {
        match self {
            Self::Memory(m) => m.leave(room, client_id, conn),
            Self::Redis(r) => r.leave(room, client_id, conn).await,
        }
    }

    /// Stores a chat message and fans it out to the room's members on every node. An engine
    /// that stores asynchronously answers a failure later with an `error` frame on `reply`.
    pub(crate) async fn post(
        &self,
        room: &Room,
        client_id: &str,
        text: &str,
        reply: &mpsc::Sender<Utf8Bytes>,
    ) -> Result<(), Unavailable> {
        match self {
            Self::Memory(_) => {
                room.post(client_id, text);
                Ok(())
            }
            Self::Redis(r) => r.post(room, client_id, text, reply).await,
        }
    }

    pub(crate) async fn typing(&self, room: &Room, client_id: &str) {
        match self {
            Self::Memory(_) => room.typing(client_id),
            Self::Redis(r) => r.typing(room, client_id).await,
        }
    }

    pub(crate) async fn create(&self, room_id: &str, name: &str) -> Result<RoomInfo, AppError> {
        match self {
            Self::Memory(m) => m.create(room_id, name),
            Self::Redis(r) => r.create(room_id, name).await,
        }
    }

    pub(crate) async fn room(&self, room_id: &str) -> Result<RoomInfo, AppError> {
        match self {
            Self::Memory(m) => m
                .get(room_id)
                .map(|r| r.info(true))
                .ok_or(AppError::RoomNotFound),
            Self::Redis(r) => r.room(room_id).await,
        }
    }

    pub(crate) async fn rooms(&self) -> Result<Vec<RoomInfo>, AppError> {
        match self {
            Self::Memory(m) => Ok(m.infos()),
            Self::Redis(r) => r.rooms().await,
        }
    }

    pub(crate) async fn delete(&self, room_id: &str) -> Result<(), AppError> {
        match self {
            Self::Memory(m) => m.delete(room_id),
            Self::Redis(r) => r.delete(room_id).await,
        }
    }

    /// Number of rooms, as far as this node knows without waiting.
    pub(crate) fn room_count(&self) -> usize {
        match self {
            Self::Memory(m) => m.count(),
            Self::Redis(r) => r.room_count(),
        }
    }

    /// Whether the engine's storage answers (the memory engine always does).
    pub(crate) fn healthy(&self) -> bool {
        match self {
            Self::Memory(_) => true,
            Self::Redis(r) => r.healthy(),
        }
    }

    /// Refuses new joins and closes this node's members with 1001.
    pub(crate) fn shutdown(&self) {
        match self {
            Self::Memory(m) => m.shutdown(),
            Self::Redis(r) => r.shutdown(),
        }
    }
}
