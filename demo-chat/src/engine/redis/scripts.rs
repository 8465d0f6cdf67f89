//! The Lua scripts the Redis engine runs: each change of a room is one atomic script, so every
//! node sees the same offsets, members and rooms.
//!
//! Keys (prefix `demo-chat:`): `room:{id}` (hash: name, created_at, epoch, offset, auto),
//! `members:{id}` (hash: client id → `node:conn`), `history:{id}` (list of message frames,
//! the last `history_len`), `rooms` (set of ids), `idle` (sorted set: auto-created rooms left
//! empty, by when), `nodes` (set of node ids), `node:{node}` (the node's lease, with a TTL),
//! `node-members:{node}` (set of `room client` the node holds). Channel `chan:{id}` carries
//! `kind|tag|frame`: `M|offset|…` (or `M|offset traceparent|…`: the sender's trace context,
//! never sent to WebSocket clients), `J|node:conn|…`, `L||…`, `T|client|…`, `D||…`.
//!
//! A chat message is one script of constant work whatever the number of members or nodes:
//! HINCRBY (offset), RPUSH + LTRIM (history), PUBLISH (one per message, not per member).

use std::sync::LazyLock;

use redis::Script;

/// Joins: creates an auto room if needed (cap permitting), refuses a duplicate client id,
/// records the member, announces it, and answers the epoch, offset and history in one step.
pub(super) static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: room, members, history, rooms, idle, node-members
-- ARGV: room_id, client_id, tag, max_rooms, new_epoch, now_ms, channel
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[4]) then return {'full'} end
  redis.call('HSET', KEYS[1], 'name', ARGV[1], 'created_at', ARGV[6], 'epoch', ARGV[5],
    'offset', 0, 'auto', 1)
  redis.call('SADD', KEYS[4], ARGV[1])
end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return {'duplicate'} end
redis.call('SADD', KEYS[6], ARGV[1] .. ' ' .. ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[1])
local count = redis.call('HLEN', KEYS[2])
redis.call('PUBLISH', ARGV[7], 'J|' .. ARGV[3] .. '|{"type":"user_joined","client_id":"'
  .. ARGV[2] .. '","room_id":"' .. ARGV[1] .. '","participant_count":' .. count .. '}')
local room = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
return {'ok', room[1], room[2], redis.call('LRANGE', KEYS[3], 0, -1)}
"#,
    )
});

/// Leaves: removes the member if this connection still is it, announces it, and marks an
/// auto-created room that is now empty and never had a message as idle.
pub(super) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: room, members, idle, node-members
-- ARGV: room_id, client_id, tag, now_ms, channel, node
local held = redis.call('HGET', KEYS[2], ARGV[2])
local mine = held and string.sub(held, 1, #ARGV[6] + 1) == ARGV[6] .. ':'
if held ~= ARGV[3] and mine then return 0 end
redis.call('SREM', KEYS[4], ARGV[1] .. ' ' .. ARGV[2])
if held ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
local count = redis.call('HLEN', KEYS[2])
redis.call('PUBLISH', ARGV[5], 'L||{"type":"user_left","client_id":"' .. ARGV[2]
  .. '","room_id":"' .. ARGV[1] .. '","participant_count":' .. count .. '}')
if count == 0 then
  local room = redis.call('HMGET', KEYS[1], 'offset', 'auto')
  if room[1] == '0' and room[2] == '1' then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1]) end
end
return 1
"#,
    )
});

/// Posts: the next offset, the frame stored in the trimmed history, and published; -1 if the
/// room no longer exists. Sent as `EVAL` in pipelines (a pipeline cannot reload a script that a
/// restarted Redis forgot); Redis caches it by its hash, so it is compiled once.
pub(super) const POST: &str = r#"
-- KEYS: room, history, idle
-- ARGV: frame up to the offset's value, history_len, channel, room_id, sender's traceparent
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local frame = ARGV[1] .. offset .. '}'
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('RPUSH', KEYS[2], frame)
  redis.call('LTRIM', KEYS[2], -keep, -1)
end
if offset == 1 then redis.call('ZREM', KEYS[3], ARGV[4]) end
local tag = offset
if ARGV[5] ~= '' then tag = offset .. ' ' .. ARGV[5] end
redis.call('PUBLISH', ARGV[3], 'M|' .. tag .. '|' .. frame)
return offset
"#;

/// Creates a room from `POST /rooms`: 1, or 0 if it exists, or -1 if the cap is reached.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: room, rooms
-- ARGV: room_id, name, now_ms, epoch, max_rooms
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -1 end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'created_at', ARGV[3], 'epoch', ARGV[4],
  'offset', 0, 'auto', 0)
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"#,
    )
});

/// Deletes a room and tells every node (its members get `room_deleted`, then 4410).
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: room, members, history, rooms, idle
-- ARGV: room_id, channel
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'D||{"type":"room_deleted","room_id":"' .. ARGV[1] .. '"}')
return 1
"#,
    )
});

/// Renews this node's lease.
pub(super) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: lease, nodes   ARGV: node, ttl_secs
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"#,
    )
});

/// Removes the members of every node whose lease has expired, announcing each as `user_left`
/// to the nodes that remain; returns how many members it removed.
pub(super) static REAP_NODES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: nodes   ARGV: key prefix, this node, now_ms
local p = ARGV[1]
local removed = 0
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node ~= ARGV[2] and redis.call('EXISTS', p .. 'node:' .. node) == 0 then
    local held = p .. 'node-members:' .. node
    for _, entry in ipairs(redis.call('SMEMBERS', held)) do
      local space = string.find(entry, ' ', 1, true)
      if space then
        local room = string.sub(entry, 1, space - 1)
        local client = string.sub(entry, space + 1)
        local members = p .. 'members:' .. room
        local tag = redis.call('HGET', members, client)
        if tag and string.sub(tag, 1, #node + 1) == node .. ':' then
          redis.call('HDEL', members, client)
          local count = redis.call('HLEN', members)
          redis.call('PUBLISH', p .. 'chan:' .. room, 'L||{"type":"user_left","client_id":"'
            .. client .. '","room_id":"' .. room .. '","participant_count":' .. count .. '}')
          if count == 0 then
            local r = redis.call('HMGET', p .. 'room:' .. room, 'offset', 'auto')
            if r[1] == '0' and r[2] == '1' then redis.call('ZADD', p .. 'idle', ARGV[3], room) end
          end
          removed = removed + 1
        end
      end
    end
    redis.call('DEL', held)
    redis.call('SREM', KEYS[1], node)
  end
end
return removed
"#,
    )
});

/// Removes auto-created rooms that have stayed empty and without messages since the cutoff.
pub(super) static REAP_IDLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: idle, rooms   ARGV: key prefix, cutoff_ms
local p = ARGV[1]
local removed = 0
for _, room in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 100)) do
  local key = p .. 'room:' .. room
  local r = redis.call('HMGET', key, 'offset', 'auto')
  if redis.call('HLEN', p .. 'members:' .. room) == 0 and r[1] == '0' and r[2] == '1' then
    redis.call('DEL', key, p .. 'members:' .. room, p .. 'history:' .. room)
    redis.call('SREM', KEYS[2], room)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[1], room)
end
return removed
"#,
    )
});
