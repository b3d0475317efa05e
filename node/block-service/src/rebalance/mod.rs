//! Rebalance and drain: while this node leads, it moves shards to where placement puts them
//! now — off draining nodes, onto nodes that joined — at `storage.rebalance_bytes_per_sec`.
//!
//! A move copies the shard's sealed bytes from its holder to its new node, then records the
//! move with repair's compare-and-set in Raft, and only then deletes the old copy (at the next
//! scan, so reads that began on the old placement finish). A block therefore has all k+m
//! shards at every moment, and a move that loses a race with a write, repair or GC is simply
//! not recorded (the scrubbers remove the copy). Nothing is kept between scans but the
//! metadata: a restart or a new leader rescans and goes on where the moves stopped.
//!
//! - [`plan`]: which shards of a block move, and where.
//! - [`progress`]: what is left and what moved, for `status`, `member drain` and Prometheus.

pub mod plan;
pub mod progress;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_proto::{AccountId, BlockId};
use cairn_raft::NodeId;
use cairn_raft::model::block_index::BlockSet;
use cairn_raft::model::blocks::{BlockRecord, ShardMove};
use cairn_raft::model::version::Feature;
use cairn_raft::model::{Answer, Command, Query, Response};
use cairn_shard_store::ShardKey;
use tokio::task::JoinSet;

use self::plan::{Plan, shard_bytes};
use self::progress::Tally;
use super::BlockService;
use super::messages::{BlockError, NodeHolding, RebalanceAsk, RebalanceReport};
use super::pace::Pace;
use super::step::step;
use super::view::ClusterView;

/// Blocks moved at once (the pace bounds the bytes).
const PARALLEL: usize = 4;

/// How often a scan's counts are logged at info while there is anything to move.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// An old copy to delete once its move is recorded.
type StaleCopy = (NodeId, ShardKey);

/// Moves shards every `repair_every_ms`, while this node leads.
pub async fn run(service: BlockService) {
    let every = Duration::from_millis(service.config().repair_every_ms);
    let pace = Arc::new(Pace::new(service.config().rebalance_bytes_per_sec));
    let mut stale: Vec<StaleCopy> = Vec::new();
    loop {
        tokio::time::sleep(every).await;
        let leading = service.meta().is_leader();
        service.rebalance_progress().set_leading(leading);
        if !leading || !enabled(&service) {
            // A copy left behind is a stray on its node; its scrubber deletes it.
            stale.clear();
            continue;
        }
        delete_stale(&service, std::mem::take(&mut stale)).await;
        stale = scan(&service, &pace).await;
    }
}

/// Whether the cluster version lets the mover run: it asks every node what it holds, which a
/// node of the previous release cannot answer.
fn enabled(service: &BlockService) -> bool {
    matches!(
        service.meta().local(&Query::ClusterVersion),
        Ok(Answer::ClusterVersion(v)) if Feature::Rebalance.enabled_at(v)
    )
}

/// One scan: counts what should move, then moves it. Returns the old copies to delete.
pub async fn scan(service: &BlockService, pace: &Arc<Pace>) -> Vec<StaleCopy> {
    let view = ClusterView::load(service.meta());
    let targets = view.target_map();
    let progress = service.rebalance_progress();

    let mut tally = Tally::default();
    walk(service, |block, record| match plan::plan(block, record, &view, &targets) {
        Plan::Move(moves) => moves.iter().for_each(|m| tally.add(m.from, shard_bytes(record))),
        Plan::Stuck => tally.stuck += 1,
        Plan::AwaitRepair => tally.awaiting_repair += 1,
        Plan::Stay => {}
    });
    let pending = tally.leaving.values().map(|(shards, _)| shards).sum::<u64>();
    if pending + tally.stuck + tally.awaiting_repair > 0 {
        // What holds a drain up shows here first: shards to move, blocks with nowhere to go,
        // blocks that wait for repair.
        let (stuck, awaiting_repair) = (tally.stuck, tally.awaiting_repair);
        if progress.log_due(LOG_EVERY) {
            tracing::info!(shards = pending, stuck, awaiting_repair, "rebalance scan");
        } else {
            tracing::debug!(shards = pending, stuck, awaiting_repair, "rebalance scan");
        }
    }
    progress.begin_scan(tally);

    let mut stale = Vec::new();
    let mut failures = Failures::default();
    if pending > 0 {
        let mut running: JoinSet<Result<Vec<StaleCopy>, BlockError>> = JoinSet::new();
        let mut after: Option<(AccountId, BlockId)> = None;
        while let Some(page) = service.block_page(BlockSet::Sharded, after) {
            after = page.last().map(|(account, block, _)| (*account, *block));
            // A scan can take many minutes: each page is planned on the cluster as it is now,
            // so a node that went down, left or began draining meanwhile is seen at once.
            let view = ClusterView::load(service.meta());
            let targets = view.target_map();
            for (account, block, record) in page {
                let Plan::Move(moves) = plan::plan(&block, &record, &view, &targets) else { continue };
                while running.len() >= PARALLEL {
                    collect(service, running.join_next().await, &mut stale, &mut failures);
                }
                let (service, view, pace) = (service.clone(), view.clone(), pace.clone());
                running.spawn(async move {
                    move_block(&service, &view, &pace, account, block, &record, moves).await
                });
            }
        }
        while let Some(done) = running.join_next().await {
            collect(service, Some(done), &mut stale, &mut failures);
        }
    }
    if let Some(last) = failures.last {
        tracing::info!(failed = failures.count, %last, "rebalance moves failed this scan; they are retried at the next");
    }
    progress.end_scan();
    stale
}

/// The moves of one scan that failed: how many, and the last error.
#[derive(Default)]
struct Failures {
    count: u64,
    last: Option<BlockError>,
}

fn collect(
    service: &BlockService,
    done: Option<Result<Result<Vec<StaleCopy>, BlockError>, tokio::task::JoinError>>,
    stale: &mut Vec<StaleCopy>,
    failures: &mut Failures,
) {
    match done {
        Some(Ok(Ok(copies))) => stale.extend(copies),
        Some(Ok(Err(e))) => {
            service.rebalance_progress().failed();
            tracing::debug!(error = %e, "a rebalance move failed; retrying at the next scan");
            failures.count += 1;
            failures.last = Some(e);
        }
        Some(Err(e)) => tracing::warn!(error = %e, "a rebalance task failed"),
        None => {}
    }
}

/// Calls `each` with every record of a block with shards in this node's state.
fn walk(service: &BlockService, mut each: impl FnMut(&BlockId, &BlockRecord)) {
    let mut after: Option<(AccountId, BlockId)> = None;
    while let Some(page) = service.block_page(BlockSet::Sharded, after) {
        after = page.last().map(|(account, block, _)| (*account, *block));
        for (_, block, record) in &page {
            each(block, record);
        }
    }
}

/// Copies the shards of `moves` to their new nodes, then records the moves. Returns the old
/// copies, to delete once readers of the old placement are done.
async fn move_block(
    service: &BlockService,
    view: &ClusterView,
    pace: &Pace,
    account: AccountId,
    block: BlockId,
    record: &BlockRecord,
    moves: Vec<ShardMove>,
) -> Result<Vec<StaleCopy>, BlockError> {
    let _memory =
        step("rebalance", "wait for block memory", service.reserve(shard_bytes(record) * moves.len() as u64))
            .await??;
    let key = |index| ShardKey { account, block, generation: record.generation, index };
    let mut copies = JoinSet::new();
    for m in moves.iter().copied() {
        let shards = service.shards().clone();
        let (from, to) = (view.addr(m.from), view.addr(m.to));
        let key = key(m.index);
        let bytes = shard_bytes(record);
        pace.spend(bytes).await;
        copies.spawn(async move {
            let shard: Bytes = match shards.get(m.from, from, key).await {
                Ok(Some(shard)) => shard,
                Ok(None) => return Err((m.index, format!("node {} lacks the shard", m.from), true)),
                Err(e) => return Err((m.index, e.to_string(), e.is_corrupt())),
            };
            shards.put(m.to, to, key, shard).await.map_err(|e| (m.index, e.to_string(), false))
        });
    }
    let mut damaged = Vec::new();
    let mut failure = None;
    let copied = step("rebalance", "copy the shards", async {
        while let Some(Ok(result)) = copies.join_next().await {
            if let Err((index, why, lost)) = result {
                if lost {
                    damaged.push(index);
                }
                failure = Some(format!("shard {index}: {why}"));
            }
        }
    })
    .await;
    copied?;
    if !damaged.is_empty() {
        // The source lacks it or holds it corrupt: repair's to rebuild.
        service.report_damage(account, block, record.generation, damaged);
    }
    if let Some(why) = failure {
        return Err(BlockError::Unavailable(format!("block {block} not moved: {why}")));
    }
    let command = Command::MoveShards { account, block, generation: record.generation, moves: moves.clone() };
    match step("rebalance", "record the move", service.propose(command)).await?? {
        Response::ShardsMoved => {
            let bytes = shard_bytes(record);
            for m in &moves {
                service.rebalance_progress().moved(m.from, bytes);
            }
            tracing::debug!(%block, shards = moves.len(), "moved");
            Ok(moves.iter().map(|m| (m.from, key(m.index))).collect())
        }
        Response::Rejected(why) => {
            tracing::debug!(%block, %why, "placement changed during the move; the scrubbers remove the copies");
            Ok(Vec::new())
        }
        other => Err(BlockError::Refused(format!("unexpected answer to a shard move: {other:?}"))),
    }
}

/// Deletes old copies whose moves were recorded a scan ago. Copies on a node that is down or
/// gone are left (a returning node's scrubber removes them), and so are the rest of a node's
/// once one delete there fails: a drained node removed right after its drain leaves thousands,
/// and waiting out a deadline for each held up the next scan for an hour in a chaos run.
async fn delete_stale(service: &BlockService, stale: Vec<StaleCopy>) {
    if stale.is_empty() {
        return;
    }
    let view = ClusterView::load(service.meta());
    let mut unreachable: BTreeSet<NodeId> = BTreeSet::new();
    let mut deletes = JoinSet::new();
    let mut left = 0usize;
    for (node, key) in stale {
        while deletes.len() >= 16 {
            if let Some(Ok(Err(failed))) = deletes.join_next().await {
                unreachable.insert(failed);
            }
        }
        if !view.is_up(node) || unreachable.contains(&node) {
            left += 1;
            continue;
        }
        let (shards, addr) = (service.shards().clone(), view.addr(node));
        deletes.spawn(async move {
            shards.delete(node, addr, key).await.map_err(|e| {
                tracing::debug!(node, %key, error = %e, "old copy not deleted; its scrubber will");
                node
            })
        });
    }
    while let Some(done) = deletes.join_next().await {
        if let Ok(Err(failed)) = done {
            unreachable.insert(failed);
        }
    }
    if left > 0 || !unreachable.is_empty() {
        tracing::info!(
            copies = left,
            "old copies left on nodes that are down, gone or failing; their scrubbers delete them"
        );
    }
}

impl BlockService {
    /// Answers a [`RebalanceAsk`]: the mover's progress, and a fresh count if asked.
    pub async fn rebalance_report(&self, ask: RebalanceAsk) -> Result<RebalanceReport, BlockError> {
        let mut report = self.rebalance_progress().report();
        if let Some(node) = ask.count_on {
            self.meta().read_barrier().await.map_err(BlockError::Metadata)?;
            let mut holding = NodeHolding { node, blocks: 0, bytes: 0 };
            walk(self, |_, record| {
                if plan::holds(record, node) {
                    holding.blocks += 1;
                    holding.bytes += shard_bytes(record);
                }
            });
            report.holding = Some(holding);
        }
        Ok(report)
    }
}
