//! The room API of the Redis engine: create, inspect, list and delete rooms in Redis.

use flowtrace_runtime::flowtrace;
use redis::AsyncCommands;

use super::{RedisEngine, RedisFailure, keys, scripts};
use crate::AppError;
use crate::room::RoomInfo;

impl RedisEngine {
    fn unavailable(&self, error: RedisFailure) -> AppError {
        self.shared.failed(&error);
        AppError::StorageUnavailable
    }

    #[flowtrace]
    pub(crate) async fn create(&self, room_id: &str, name: &str) -> Result<RoomInfo, AppError> {
        let created = self
            .create_room(room_id, name, self.shared.max_rooms)
            .await
            .map_err(|e| self.unavailable(e))?;
        match created {
            1 => self.room(room_id).await,
            0 => Err(AppError::RoomExists),
            _ => Err(AppError::TooManyRooms),
        }
    }

    /// Runs the create script: 1 created, 0 exists, -1 cap reached.
    pub(super) async fn create_room(
        &self,
        room_id: &str,
        name: &str,
        max_rooms: usize,
    ) -> Result<i64, RedisFailure> {
        let mut invocation = scripts::CREATE.prepare_invoke();
        invocation
            .key(keys::room(room_id))
            .key(keys::ROOMS)
            .arg(room_id)
            .arg(name)
            .arg(crate::now_ms())
            .arg(crate::random_hex())
            .arg(max_rooms);
        Ok(invocation
            .invoke_async(&mut self.shared.conn.clone())
            .await?)
    }

    #[flowtrace]
    pub(crate) async fn room(&self, room_id: &str) -> Result<RoomInfo, AppError> {
        let mut conn = self.shared.conn.clone();
        let (fields, mut participants): (Vec<Option<String>>, Vec<String>) = redis::pipe()
            .hmget(keys::room(room_id), &["name", "created_at", "offset"])
            .hkeys(keys::members(room_id))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        let mut info =
            room_info(room_id, &fields, participants.len()).ok_or(AppError::RoomNotFound)?;
        participants.sort_unstable();
        info.participants = Some(participants);
        Ok(info)
    }

    #[flowtrace]
    pub(crate) async fn rooms(&self) -> Result<Vec<RoomInfo>, AppError> {
        let mut conn = self.shared.conn.clone();
        let mut ids: Vec<String> = conn
            .smembers(keys::ROOMS)
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        ids.sort_unstable();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hmget(keys::room(id), &["name", "created_at", "offset"])
                .hlen(keys::members(id));
        }
        let answers: Vec<(Vec<Option<String>>, usize)> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        // A room deleted between the two reads is left out.
        Ok(ids
            .iter()
            .zip(answers)
            .filter_map(|(id, (fields, members))| room_info(id, &fields, members))
            .collect())
    }

    #[flowtrace]
    pub(crate) async fn delete(&self, room_id: &str) -> Result<(), AppError> {
        let mut invocation = scripts::DELETE.prepare_invoke();
        invocation
            .key(keys::room(room_id))
            .key(keys::members(room_id))
            .key(keys::history(room_id))
            .key(keys::ROOMS)
            .key(keys::IDLE)
            .arg(room_id)
            .arg(keys::channel(room_id));
        let deleted: i64 = invocation
            .invoke_async(&mut self.shared.conn.clone())
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        if deleted == 1 {
            Ok(())
        } else {
            Err(AppError::RoomNotFound)
        }
    }
}

/// A room from its hash fields `name`, `created_at`, `offset`; `None` if it does not exist.
fn room_info(room_id: &str, fields: &[Option<String>], members: usize) -> Option<RoomInfo> {
    let [Some(name), created_at, offset] = fields else {
        return None;
    };
    let number = |v: &Option<String>| v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
    Some(RoomInfo {
        room_id: room_id.to_owned(),
        name: name.clone(),
        participant_count: members,
        message_count: number(offset),
        created_at: number(created_at),
        participants: None,
    })
}
