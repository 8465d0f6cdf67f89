//! The memory engine: every room, its members and its history in this process (the default).
//!
//! Lock order: registry, then room, and only in the idle-room reaper; a join takes the room's
//! lock after releasing the registry's, so a join that races a delete or the reaper sees the
//! room `closed` and looks the id up again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use flowtrace_runtime::flowtrace;

use super::{JoinRequest, Joined};
use crate::AppError;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::protocol::Outgoing;
use crate::room::{JoinError, Kick, Room, RoomInfo, RoomSpec};

/// All rooms of this process, by id.
pub(crate) struct MemoryEngine {
    registry: Arc<Mutex<Registry>>,
    history_len: usize,
    max_rooms: usize,
    idle_ttl: Duration,
    metrics: Arc<Metrics>,
}

struct Registry {
    rooms: BTreeMap<String, Arc<Room>>,
    shutting_down: bool,
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryEngine {
    pub(crate) fn new(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        let engine = Self {
            registry: Arc::new(Mutex::new(Registry {
                rooms: BTreeMap::new(),
                shutting_down: false,
            })),
            history_len: limits.history_len,
            max_rooms: limits.max_rooms,
            idle_ttl: limits.room_idle_ttl,
            metrics,
        };
        let general = engine.room(super::GENERAL, "General", false);
        lock(&engine.registry)
            .rooms
            .insert(super::GENERAL.to_owned(), general);
        engine
    }

    fn room(&self, id: &str, name: &str, auto_created: bool) -> Arc<Room> {
        let spec = RoomSpec {
            id: id.into(),
            name: name.into(),
            history_len: self.history_len,
            auto_created,
            local_presence: true,
        };
        Arc::new(Room::new(spec, Arc::clone(&self.metrics)))
    }

    /// Creates a room; an existing id is [`AppError::RoomExists`].
    #[flowtrace]
    pub(crate) fn create(&self, room_id: &str, name: &str) -> Result<RoomInfo, AppError> {
        let mut reg = lock(&self.registry);
        if reg.rooms.contains_key(room_id) {
            return Err(AppError::RoomExists);
        }
        if reg.rooms.len() >= self.max_rooms {
            return Err(AppError::TooManyRooms);
        }
        let room = self.room(room_id, name, false);
        reg.rooms.insert(room_id.to_owned(), Arc::clone(&room));
        drop(reg);
        Ok(room.info(true))
    }

    pub(crate) fn get(&self, room_id: &str) -> Option<Arc<Room>> {
        lock(&self.registry).rooms.get(room_id).cloned()
    }

    /// Snapshot of every room, ordered by id.
    pub(crate) fn infos(&self) -> Vec<RoomInfo> {
        let rooms: Vec<_> = lock(&self.registry).rooms.values().cloned().collect();
        rooms.iter().map(|r| r.info(false)).collect()
    }

    pub(crate) fn count(&self) -> usize {
        lock(&self.registry).rooms.len()
    }

    /// Deletes a room: its members get a `room_deleted` frame, then close 4410.
    #[flowtrace]
    pub(crate) fn delete(&self, room_id: &str) -> Result<(), AppError> {
        let room = lock(&self.registry)
            .rooms
            .remove(room_id)
            .ok_or(AppError::RoomNotFound)?;
        let notice = Outgoing::RoomDeleted { room_id }.encode();
        room.close(Kick::DELETED, Some(&notice));
        Ok(())
    }

    /// Joins the room, creating it if it does not exist and the cap allows.
    pub(crate) fn join(&self, req: &JoinRequest<'_>) -> Result<Joined, JoinError> {
        loop {
            let room = {
                let mut reg = lock(&self.registry);
                if reg.shutting_down {
                    return Err(JoinError::Closed);
                }
                match reg.rooms.get(req.room_id) {
                    Some(room) => Arc::clone(room),
                    None if reg.rooms.len() >= self.max_rooms => {
                        return Err(JoinError::TooManyRooms);
                    }
                    None => {
                        let room = self.room(req.room_id, req.room_id, true);
                        reg.rooms.insert(req.room_id.to_owned(), Arc::clone(&room));
                        room
                    }
                }
            };
            let joined = room.join(
                req.client_id,
                req.queue_capacity,
                req.kick.clone(),
                req.since,
            );
            match joined {
                Ok(membership) => return Ok(Joined { room, membership }),
                // Deleted or reaped between the look-up and the join: look the id up again.
                Err(JoinError::Closed) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Leaves the room; an auto-created room left idle is removed after the idle time.
    pub(crate) fn leave(&self, room: &Arc<Room>, client_id: &str, conn: u64) {
        room.leave(client_id, conn);
        let Some(generation) = room.idle_generation() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let registry = Arc::clone(&self.registry);
        let room = Arc::clone(room);
        let idle_ttl = self.idle_ttl;
        runtime.spawn(async move {
            tokio::time::sleep(idle_ttl).await;
            let mut reg = lock(&registry);
            let current = reg
                .rooms
                .get(room.id())
                .is_some_and(|r| Arc::ptr_eq(r, &room));
            // The room lock is taken under the registry lock here only: a join holds the room
            // lock without the registry's, so there is no cycle.
            if current && room.close_if_idle(generation) {
                reg.rooms.remove(room.id());
            }
        });
    }

    /// Refuses new joins and closes every member of every room with 1001.
    #[flowtrace]
    pub(crate) fn shutdown(&self) {
        let rooms = {
            let mut reg = lock(&self.registry);
            reg.shutting_down = true;
            reg.rooms.values().cloned().collect::<Vec<_>>()
        };
        for room in rooms {
            room.close(Kick::SHUTDOWN, None);
        }
    }
}
