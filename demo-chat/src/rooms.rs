//! The room registry: room ids to rooms, create, look up, delete, and shut everything down.
//!
//! Lock order: the registry lock is never held while a room's lock is taken, so a join that races
//! a delete sees the room `closed` and looks the id up again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use flowtrace_runtime::flowtrace;
use tokio::sync::watch;

use crate::AppError;
use crate::protocol::Outgoing;
use crate::room::{JoinError, Kick, Membership, Room, RoomInfo};

/// All rooms, by id.
pub(crate) struct Rooms {
    inner: Mutex<Registry>,
    history_len: usize,
}

struct Registry {
    rooms: BTreeMap<String, Arc<Room>>,
    shutting_down: bool,
}

/// The room `general`, present from the start.
pub(crate) const GENERAL: &str = "general";

impl Rooms {
    pub(crate) fn new(history_len: usize) -> Self {
        let general = Arc::new(Room::new(GENERAL.into(), "General".into(), history_len));
        Self {
            inner: Mutex::new(Registry {
                rooms: BTreeMap::from([(GENERAL.to_owned(), general)]),
                shutting_down: false,
            }),
            history_len,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates a room; an existing id is [`AppError::RoomExists`].
    #[flowtrace]
    pub(crate) fn create(&self, room_id: &str, name: &str) -> Result<Arc<Room>, AppError> {
        let mut reg = self.lock();
        if reg.rooms.contains_key(room_id) {
            return Err(AppError::RoomExists);
        }
        let room = Arc::new(Room::new(room_id.into(), name.into(), self.history_len));
        reg.rooms.insert(room_id.to_owned(), Arc::clone(&room));
        Ok(room)
    }

    pub(crate) fn get(&self, room_id: &str) -> Option<Arc<Room>> {
        self.lock().rooms.get(room_id).cloned()
    }

    /// Every room, ordered by id.
    pub(crate) fn list(&self) -> Vec<Arc<Room>> {
        self.lock().rooms.values().cloned().collect()
    }

    /// Deletes a room: its members get a `room_deleted` frame, then close 4410.
    #[flowtrace]
    pub(crate) fn delete(&self, room_id: &str) -> Result<(), AppError> {
        let room = self
            .lock()
            .rooms
            .remove(room_id)
            .ok_or(AppError::RoomNotFound)?;
        let notice = Outgoing::RoomDeleted { room_id }.encode();
        room.close(Kick::DELETED, Some(&notice));
        Ok(())
    }

    /// Joins `room_id` as `client_id`, creating the room if it does not exist.
    #[flowtrace(skip(queue_capacity, kick))]
    pub(crate) fn join(
        &self,
        room_id: &str,
        client_id: &str,
        queue_capacity: usize,
        kick: &watch::Sender<Option<Kick>>,
    ) -> Result<(Arc<Room>, Membership), JoinError> {
        loop {
            let room = {
                let mut reg = self.lock();
                if reg.shutting_down {
                    return Err(JoinError::Closed);
                }
                let room = reg.rooms.entry(room_id.to_owned()).or_insert_with(|| {
                    Arc::new(Room::new(room_id.into(), room_id.into(), self.history_len))
                });
                Arc::clone(room)
            };
            match room.join(client_id, queue_capacity, kick.clone()) {
                Ok(membership) => return Ok((room, membership)),
                // Deleted between the look-up and the join: look the id up again.
                Err(JoinError::Closed) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Refuses new joins and closes every member of every room with 1001.
    #[flowtrace]
    pub(crate) fn shutdown(&self) {
        let rooms = {
            let mut reg = self.lock();
            reg.shutting_down = true;
            reg.rooms.values().cloned().collect::<Vec<_>>()
        };
        for room in rooms {
            room.close(Kick::SHUTDOWN, None);
        }
    }

    /// Snapshot of every room.
    pub(crate) fn infos(&self) -> Vec<RoomInfo> {
        self.list().iter().map(|r| r.info(false)).collect()
    }
}
