//! The node's periodic work: Redis's health and the room count every second; every renewal
//! period the node's lease, the leaves that failed while Redis was away, the members of nodes
//! whose lease expired, idle rooms, and channels no local member needs any more.

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands;
use tokio::time::Instant;

use super::{LEASE_TTL, RedisFailure, Shared, keys, scripts};

const TICK: Duration = Duration::from_secs(1);
/// Ticks between lease renewals: a third of the lease, so two renewals may fail before it ends.
const RENEW_EVERY: u32 = 5;

/// Runs until the engine is dropped.
pub(super) async fn run(shared: Weak<Shared>) {
    let mut ticks: u32 = 0;
    // Since when Redis has answered without a break: a node only declares others dead once it
    // has been up for a whole lease, so that after an outage everyone has renewed first.
    let mut healthy_since: Option<Instant> = None;
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut general_ensured = false;
    loop {
        interval.tick().await;
        let Some(engine) = shared.upgrade() else {
            return;
        };
        let healthy = match check(&engine).await {
            Ok(()) => true,
            Err(e) => {
                engine.failed(&e);
                false
            }
        };
        if !healthy {
            healthy_since = None;
            continue;
        }
        let since = *healthy_since.get_or_insert_with(Instant::now);
        if !general_ensured {
            general_ensured = ensure_general(&engine).await.is_ok();
        }
        let renew_now = ticks.is_multiple_of(RENEW_EVERY) || since.elapsed() < TICK * 2;
        ticks = ticks.wrapping_add(1);
        if !renew_now {
            continue;
        }
        if let Err(e) = periodic(&engine, since.elapsed() >= LEASE_TTL).await {
            engine.failed(&e);
        }
    }
}

/// PING and the room count; a good answer clears the degraded state of commands.
async fn check(engine: &Shared) -> Result<(), RedisFailure> {
    let mut conn = engine.conn.clone();
    let count: usize = conn.scard(keys::ROOMS).await?;
    engine.room_count.store(count, Ordering::Relaxed);
    engine.commands_ok.store(true, Ordering::Relaxed);
    Ok(())
}

/// The room `general` exists once the first node has reached Redis (whatever the cap).
async fn ensure_general(engine: &Shared) -> Result<(), RedisFailure> {
    let mut invocation = scripts::CREATE.prepare_invoke();
    invocation
        .key(keys::room(crate::engine::GENERAL))
        .key(keys::ROOMS)
        .arg(crate::engine::GENERAL)
        .arg("General")
        .arg(crate::now_ms())
        .arg(crate::random_hex())
        .arg(usize::MAX);
    let _: i64 = invocation.invoke_async(&mut engine.conn.clone()).await?;
    Ok(())
}

async fn periodic(engine: &Shared, may_reap_nodes: bool) -> Result<(), RedisFailure> {
    let mut conn = engine.conn.clone();
    let mut renew = scripts::RENEW.prepare_invoke();
    renew
        .key(keys::lease(&engine.node))
        .key(keys::NODES)
        .arg(&engine.node)
        .arg(LEASE_TTL.as_secs());
    let _: i64 = renew.invoke_async(&mut conn).await?;

    let unfinished = std::mem::take(
        &mut *engine
            .unfinished_leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for (i, leave) in unfinished.iter().enumerate() {
        if let Err(e) = engine.run_leave(leave).await {
            for rest in &unfinished[i..] {
                engine.defer_leave(rest.clone());
            }
            return Err(e);
        }
    }

    if may_reap_nodes {
        let mut reap = scripts::REAP_NODES.prepare_invoke();
        reap.key(keys::NODES)
            .arg(keys::PREFIX)
            .arg(&engine.node)
            .arg(crate::now_ms());
        let _: i64 = reap.invoke_async(&mut conn).await?;
    }

    let idle_ms = u64::try_from(engine.idle_ttl.as_millis()).unwrap_or(u64::MAX);
    let mut idle = scripts::REAP_IDLE.prepare_invoke();
    idle.key(keys::IDLE)
        .key(keys::ROOMS)
        .arg(keys::PREFIX)
        .arg(crate::now_ms().saturating_sub(idle_ms));
    let _: i64 = idle.invoke_async(&mut conn).await?;

    unsubscribe_unused(engine).await
}

/// Leaves the channels of rooms without local members.
async fn unsubscribe_unused(engine: &Shared) -> Result<(), RedisFailure> {
    let mut subs = engine.subs.lock().await;
    let unused: Vec<String> = {
        let local = engine.lock_local();
        subs.channels
            .iter()
            .filter(|c| {
                c.strip_prefix(keys::CHANNEL)
                    .is_none_or(|id| !local.contains_key(id))
            })
            .cloned()
            .collect()
    };
    if unused.is_empty() {
        return Ok(());
    }
    if let Some(sink) = subs.sink.as_mut() {
        tokio::time::timeout(super::REDIS_TIMEOUT, sink.unsubscribe(&unused))
            .await
            .map_err(|_| RedisFailure::Unexpected("unsubscribe timed out".into()))??;
    }
    for channel in unused {
        subs.channels.remove(&channel);
    }
    Ok(())
}
