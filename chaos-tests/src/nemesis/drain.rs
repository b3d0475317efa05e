//! The drain nemesis, the careful twin of the membership one: a node joins (the leader begins
//! moving its share of the shards onto it), then an old member is emptied with
//! `cairn-node member drain --wait` while the workload runs, and leaves with `member remove`
//! *without* `--force`.
//!
//! A drain never leaves a block short of a shard, so unlike an abrupt removal it needs no wait
//! for repair first. And unlike the other faults, it is something the cluster must finish: a
//! drain that fails or has not ended within its [`bound`], or a removal refused once the node
//! is drained, is recorded as a failed nemesis operation, which the `nemesis` checker reports.

use std::time::{Duration, Instant};

use cairn_node::admin::human_bytes;
use cairn_raft::NodeId;

use crate::cluster::ChaosCluster;
use crate::history::{NEMESIS, Op, Outcome, Recorder};

/// What any drain may take, however little the node holds.
const DRAIN_BASE: Duration = Duration::from_secs(300);

/// What a drain may take on top of [`DRAIN_BASE`] for each block with a shard on the node. The
/// mover's time goes by blocks more than bytes (one Raft command per block, four blocks at a
/// time; the workload's blocks are mostly small): on two cores under the workload a debug
/// build drained about 80 blocks a second, and this allows ten. (`member drain --wait` gives
/// up by itself after ten minutes without a change.)
const DRAIN_PER_BLOCK: Duration = Duration::from_millis(100);

/// How often a drain's progress is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// How long a joined node may take to enter itself in the cluster map.
const REGISTER_BOUND: Duration = Duration::from_secs(60);

/// How long draining `blocks` blocks may take ([`DRAIN_BASE`] alone when they were not counted).
pub fn bound(blocks: Option<u64>) -> Duration {
    let blocks = u32::try_from(blocks.unwrap_or(0)).unwrap_or(u32::MAX);
    DRAIN_BASE.saturating_add(DRAIN_PER_BLOCK.saturating_mul(blocks))
}

/// Adds a node, drains the old member `draw` picks among the running ones, and removes it;
/// records each step as it ends.
pub async fn strike(cluster: &mut ChaosCluster, draw: u64, recorder: &Recorder) {
    let old: Vec<NodeId> = cluster.members().into_iter().filter(|id| cluster.nodes.is_running(*id)).collect();
    if old.is_empty() {
        return;
    }
    let added = cluster.add_member().await;
    let add = begin(recorder, format!("add node {added} to drain onto"));
    if end(recorder, &add, cluster.wait_registered(added, REGISTER_BOUND).await).is_err() {
        // Without the new node the drain may have nowhere to put the shards: not tried.
        return;
    }

    let gone = old[(draw % old.len() as u64) as usize];
    // The command asks another old member, as an operator's would (any running member does).
    let via = old.iter().copied().find(|id| *id != gone).unwrap_or(added);
    let held = cluster.holding(gone).await;
    let (on_it, allowed) = match &held {
        Ok((blocks, bytes)) => {
            (format!("{blocks} blocks, {} on it", human_bytes(*bytes)), bound(Some(*blocks)))
        }
        Err(e) => (format!("its shards not counted: {e}"), bound(None)),
    };
    let drain = begin(recorder, format!("drain node {gone} ({on_it}; allowed {allowed:.0?})"));
    let began = Instant::now();
    let mut drained = watch(cluster, gone, via, allowed).await;
    let took = began.elapsed();
    if let Err(e) = &mut drained {
        // Where it stopped, whether the node is still marked draining, and what the leader's
        // mover says it has left: what to look at first.
        let left = cluster
            .holding(gone)
            .await
            .map_or_else(|e| e, |(blocks, _)| format!("{blocks} blocks still on it"));
        let state = cluster.map_state(gone).await.unwrap_or_else(|e| e);
        let mover = cluster.rebalance_status(via).await.unwrap_or_else(|e| e);
        *e = format!("{e} [after {took:.1?}: {left}; in the cluster map: {state}; status: {mover}]");
    }
    if end(recorder, &drain, drained).is_err() {
        // The node takes shards again and stays: the run goes on with one member more.
        let cancel = begin(recorder, format!("cancel the drain of node {gone}"));
        let _ = end(recorder, &cancel, cluster.cancel_drain(gone, via).await);
        return;
    }

    let rate = match held {
        Ok((_, bytes)) => {
            format!(", {}/s", human_bytes((bytes as f64 / took.as_secs_f64().max(0.001)) as u64))
        }
        Err(_) => String::new(),
    };
    let what = format!("remove node {gone} without --force (drained in {:.1}s{rate})", took.as_secs_f64());
    let remove = begin(recorder, what);
    let _ = end(recorder, &remove, cluster.remove_drained(gone, via).await);
}

/// Drains node `gone` through member `via` within `allowed`, logging every [`PROGRESS_EVERY`]
/// how many blocks are still on it, so a report shows a slow drain from a stuck one.
async fn watch(cluster: &ChaosCluster, gone: NodeId, via: NodeId, allowed: Duration) -> Result<(), String> {
    let began = Instant::now();
    let drain = cluster.drain(gone, via, allowed);
    tokio::pin!(drain);
    let mut every = tokio::time::interval_at((began + PROGRESS_EVERY).into(), PROGRESS_EVERY);
    loop {
        tokio::select! {
            drained = &mut drain => return drained,
            _ = every.tick() => {
                let left = cluster.holding(gone).await.map_or_else(|e| e, |(blocks, _)| format!("{blocks} blocks"));
                tracing::info!("nemesis: drain of node {gone} after {:.0?}: {left} still on it", began.elapsed());
            }
        }
    }
}

/// Logs and records the start of a nemesis operation that takes a while.
fn begin(recorder: &Recorder, what: String) -> Op {
    tracing::info!("nemesis: {what}");
    let op = Op::Fault { what };
    recorder.invoke(NEMESIS, &op);
    op
}

/// Logs and records how the operation `op` ended.
fn end(recorder: &Recorder, op: &Op, result: Result<(), String>) -> Result<(), String> {
    match &result {
        Ok(()) => recorder.ok(NEMESIS, op, Outcome::Applied),
        Err(e) => {
            tracing::warn!("nemesis: {op:?} failed: {e}");
            recorder.fail(NEMESIS, op, e.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_the_blocks_to_move() {
        assert_eq!(bound(None), DRAIN_BASE);
        assert_eq!(bound(Some(0)), DRAIN_BASE);
        assert_eq!(bound(Some(6_000)), DRAIN_BASE + Duration::from_secs(600));
        assert!(bound(Some(u64::MAX)) > Duration::from_secs(86_400));
    }
}
