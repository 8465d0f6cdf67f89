//! The Redis key and channel names of the engine (see `scripts` for what each holds).

/// Every key and channel starts with this.
pub(super) const PREFIX: &str = "demo-chat:";
pub(super) const ROOMS: &str = "demo-chat:rooms";
pub(super) const IDLE: &str = "demo-chat:idle";
pub(super) const NODES: &str = "demo-chat:nodes";
/// Channels are `CHANNEL` + room id.
pub(super) const CHANNEL: &str = "demo-chat:chan:";

pub(super) fn room(id: &str) -> String {
    format!("{PREFIX}room:{id}")
}

pub(super) fn members(id: &str) -> String {
    format!("{PREFIX}members:{id}")
}

pub(super) fn history(id: &str) -> String {
    format!("{PREFIX}history:{id}")
}

pub(super) fn channel(id: &str) -> String {
    format!("{CHANNEL}{id}")
}

pub(super) fn lease(node: &str) -> String {
    format!("{PREFIX}node:{node}")
}

pub(super) fn node_members(node: &str) -> String {
    format!("{PREFIX}node-members:{node}")
}
