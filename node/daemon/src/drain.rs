//! Draining a node before it leaves, and the rebalance progress `status` shows.
//!
//! `member drain` marks the node draining in the cluster map: placement stops choosing it, and
//! the leader's mover copies each of its shards to the node placement now picks, records the
//! move, and deletes the old copy. `member remove` then checks, from the metadata, that no
//! block still has a shard on the node; removing one that does needs `--force`, and says what
//! redundancy is lost until repair.

use std::fmt::Write as _;
use std::time::Duration;

use cairn_block_service::{RebalanceAsk, RebalanceReport};
use cairn_raft::NodeId;
use cairn_raft::model::cluster::NodeMark;
use cairn_raft::model::version::Feature;
use cairn_raft::model::{Command, Rejection, Request, RequestId, Response};

use crate::admin::{AdminError, client_for, human_bytes, members_client};
use crate::cluster_client::ClusterClient;
use crate::config::NodeConfig;

/// Marks `node` draining (or, with `cancel`, active again).
pub async fn mark(config: &NodeConfig, node: NodeId, cancel: bool) -> Result<(), AdminError> {
    // The mover asks every node what it holds, which the previous release cannot answer; and
    // the mark that calls a drain off is new in version 2.
    crate::upgrade::require(config, Feature::Rebalance).await?;
    let client = client_for(config).await?;
    let mark = if cancel { NodeMark::Undrain } else { NodeMark::Draining };
    let request =
        Request { id: RequestId(rand::random()), time_ms: 0, command: Command::MarkNode { node, mark } };
    let result = client.write(request).await;
    client.shutdown().await;
    match result? {
        Response::ClusterMapChanged { .. } => Ok(()),
        Response::Rejected(Rejection::NoSuchNode(_)) => {
            Err(AdminError::Refused(format!("node {node} is not in the cluster map")))
        }
        other => Err(AdminError::Refused(format!("{other:?}"))),
    }
}

/// The leader's rebalance report, with a fresh count of the blocks on `count_on`.
pub async fn report(config: &NodeConfig, count_on: Option<NodeId>) -> Result<RebalanceReport, AdminError> {
    let all = members_client(config).await?;
    let result = leader_report(&all, count_on).await;
    all.shutdown().await;
    result
}

async fn leader_report(all: &ClusterClient, count_on: Option<NodeId>) -> Result<RebalanceReport, AdminError> {
    let mut errors = Vec::new();
    for (id, _) in all.nodes() {
        match all.rebalance_of(*id, RebalanceAsk { count_on }).await {
            Ok(report) if report.leading => return Ok(report),
            Ok(_) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(AdminError::Refused(format!(
        "no leader answered with its rebalance progress ({})",
        errors.join("; ")
    )))
}

/// Waits until no block has a shard on `node`, printing progress through `progress`; gives up
/// after `deadline` without moves.
pub async fn wait_drained(
    config: &NodeConfig,
    node: NodeId,
    deadline: Duration,
    mut progress: impl FnMut(&RebalanceReport),
) -> Result<(), AdminError> {
    let all = members_client(config).await?;
    let mut last_change = std::time::Instant::now();
    let mut last_left = None;
    let result = loop {
        match leader_report(&all, Some(node)).await {
            Ok(report) => {
                let left = report.holding.map_or(u64::MAX, |h| h.blocks);
                progress(&report);
                if left == 0 {
                    break Ok(());
                }
                if last_left != Some(left) {
                    (last_left, last_change) = (Some(left), std::time::Instant::now());
                }
                if report.blocks_stuck > 0 && last_change.elapsed() > Duration::from_secs(10) {
                    break Err(AdminError::Refused(format!(
                        "{} blocks have nowhere to go: the nodes that take shards are fewer than a \
                         block's shards; add a node, or cancel with `member drain --id {node} --cancel`",
                        report.blocks_stuck
                    )));
                }
            }
            Err(e) => tracing::debug!(error = %e, "no rebalance report yet"),
        }
        if last_change.elapsed() > deadline {
            break Err(AdminError::Refused(format!("node {node} made no progress for {deadline:?}")));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    all.shutdown().await;
    result
}

/// Checks that `node` may leave without losing redundancy: no block has a shard on it.
pub async fn check_removable(config: &NodeConfig, node: NodeId, profile_parity: usize) -> Result<(), String> {
    let report = report(config, Some(node)).await.map_err(|e| {
        format!("cannot tell whether node {node} still holds shards ({e}); --force removes it anyway")
    })?;
    let Some(holding) = report.holding.filter(|h| h.blocks > 0) else { return Ok(()) };
    Err(format!(
        "node {node} still holds a shard of {} blocks ({}): removing it now leaves each of them one shard \
         short — able to lose {} more node(s) instead of {profile_parity} — until repair rebuilds them. \
         Drain it first: `cairn-node member drain --id {node} --wait`; or pass --force",
        holding.blocks,
        human_bytes(holding.bytes),
        profile_parity.saturating_sub(1),
    ))
}

/// The rebalance lines under `status`'s table; nothing when there is nothing to move.
pub fn render(report: &RebalanceReport) -> String {
    let mut out = String::new();
    if report.shards_left == 0 && report.blocks_stuck == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "rebalance: {} shards ({}) left to move, {} moved ({})",
        report.shards_left,
        human_bytes(report.bytes_left),
        report.moved_shards,
        human_bytes(report.moved_bytes)
    );
    for left in &report.leaving {
        let _ =
            writeln!(out, "  off node {}: {} shards ({})", left.node, left.shards, human_bytes(left.bytes));
    }
    if report.blocks_stuck > 0 {
        let _ = writeln!(
            out,
            "WARNING: {} blocks cannot leave a draining node: fewer nodes take shards than a block has",
            report.blocks_stuck
        );
    }
    out
}
