//! Repair: the leader rebuilds the shards a block lacks — those on nodes down for longer than
//! the grace period or gone from the cluster, and those reported missing or corrupt — from any
//! k of the others, writes them to new nodes, and records the moves with a compare-and-set in
//! Raft, so a placement that changed meanwhile is never overwritten.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use bytes::Bytes;
use cairn_proto::{AccountId, BlockId};
use cairn_raft::NodeId;
use cairn_raft::model::block_index::BlockSet;
use cairn_raft::model::blocks::{BlockRecord, ShardMove};
use cairn_raft::model::{Command, Response};
use tokio::task::JoinSet;

use super::BlockService;
use super::messages::BlockError;
use super::read::profile_of;
use super::step::step;
use super::view::ClusterView;
use cairn_placement::fill;
use cairn_shard_store::ShardKey;

/// Blocks repaired at once.
const PARALLEL: usize = 4;

/// Scans for blocks to repair every `repair_every_ms`, while this node leads.
pub async fn run(service: BlockService) {
    let every = Duration::from_millis(service.config().repair_every_ms);
    loop {
        tokio::time::sleep(every).await;
        if service.meta().is_leader() {
            scan(&service).await;
        }
    }
}

/// One pass over the blocks that can lack shards — those with a shard on a lost node or on a
/// node gone from the cluster map, and those with damaged shards — found through the block
/// indexes rather than among every record. Returns how many blocks lacked shards.
pub async fn scan(service: &BlockService) -> u64 {
    let view = ClusterView::load(service.meta());
    let lost = lost_nodes(&view, service.clock().now_ms(), service.config().repair_grace_ms);
    let mut sets: Vec<BlockSet> = service
        .shard_nodes()
        .into_iter()
        .filter(|node| lost.contains(node) || !view.nodes.contains_key(node))
        .map(BlockSet::OnNode)
        .collect();
    sets.push(BlockSet::Damaged);
    let mut pending = 0u64;
    // A block in two of the sets is repaired once.
    let mut queued = HashSet::new();
    let mut running = JoinSet::new();
    for set in sets {
        let mut after: Option<(AccountId, BlockId)> = None;
        while let Some(page) = service.block_page(set, after) {
            after = page.last().map(|(account, block, _)| (*account, *block));
            // A scan with much to rebuild takes minutes: each page sees the cluster as it is
            // now, so no shard goes to a node that began draining or went down since it began.
            let view = ClusterView::load(service.meta());
            let lost = lost_nodes(&view, service.clock().now_ms(), service.config().repair_grace_ms);
            for (account, block, record) in page {
                let missing = missing_shards(&record, &view, &lost);
                if missing.is_empty() || !queued.insert((account, block)) {
                    continue;
                }
                pending += 1;
                while running.len() >= PARALLEL {
                    running.join_next().await;
                }
                let (service, view) = (service.clone(), view.clone());
                running.spawn(async move {
                    if let Err(e) = repair_block(&service, &view, account, block, &record, &missing).await {
                        service.counters().repair_failures(1);
                        tracing::warn!(%block, error = %e, "repair failed; retrying at the next scan");
                    }
                });
            }
        }
    }
    while running.join_next().await.is_some() {}
    let counters = service.counters();
    counters.set_repair_pending(pending);
    counters.repair_scans(1);
    pending
}

/// Nodes whose shards count as lost: down for at least `grace_ms`.
fn lost_nodes(view: &ClusterView, now_ms: u64, grace_ms: u64) -> BTreeSet<NodeId> {
    view.nodes
        .values()
        .filter(|n| n.state.down_since().is_some_and(|since_ms| now_ms.saturating_sub(since_ms) >= grace_ms))
        .map(|n| n.id)
        .collect()
}

/// The shard indexes of `record` to rebuild: damaged ones, and those on lost or unknown nodes.
fn missing_shards(record: &BlockRecord, view: &ClusterView, lost: &BTreeSet<NodeId>) -> Vec<usize> {
    (0..record.placement.len())
        .filter(|&i| {
            let node = record.placement[i];
            record.damaged.contains(&(i as u8)) || lost.contains(&node) || !view.nodes.contains_key(&node)
        })
        .collect()
}

async fn repair_block(
    service: &BlockService,
    view: &ClusterView,
    account: AccountId,
    block: BlockId,
    record: &BlockRecord,
    missing: &[usize],
) -> Result<(), BlockError> {
    let profile = profile_of(record)?;
    let shard_len = u64::from(record.plain_len) / profile.data_shards() as u64 + 1;
    let memory = service.reserve(shard_len * (profile.total_shards() as u64 + 1));
    let _memory = step("repair", "wait for block memory", memory).await??;
    let fetched = service.fetch(view, account, &block, record, profile.data_shards(), missing).await?;
    let pipeline = service.pipeline(profile);
    let wanted = missing.to_vec();
    let rebuilt = tokio::task::spawn_blocking(move || {
        pipeline.coder().rebuild(fetched.shards.iter().map(|(_, s)| s.as_ref()), &wanted)
    })
    .await
    .map_err(|e| BlockError::Refused(format!("rebuild task failed: {e}")))?
    .map_err(|e| BlockError::Unavailable(e.to_string()))?;

    // New homes: the nodes that lost shards are out of the running (unless merely damaged in
    // place on a healthy node, which may take its shard back).
    let mut slots: Vec<Option<NodeId>> = record.placement.iter().copied().map(Some).collect();
    for &i in missing {
        slots[i] = None;
    }
    let unusable: Vec<NodeId> =
        missing.iter().map(|&i| record.placement[i]).filter(|&n| !view.is_up(n)).collect();
    fill(&block, &view.placement_map(&unusable), profile, &mut slots);

    let unplaced = missing.iter().filter(|&&i| slots[i].is_none()).count();
    let mut writes = JoinSet::new();
    for shard in rebuilt {
        let index = usize::from(shard.index);
        let Some(to) = slots[index] else { continue };
        let key = ShardKey { account, block, generation: record.generation, index: shard.index };
        let (shards, addr, from) = (service.shards().clone(), view.addr(to), record.placement[index]);
        let bytes = Bytes::from(shard.bytes);
        let len = bytes.len() as u64;
        writes.spawn(async move {
            (ShardMove { index: shard.index, from, to }, len, shards.put(to, addr, key, bytes).await)
        });
    }
    let mut moves = Vec::new();
    let mut refusals = Vec::new();
    let mut bytes = 0;
    while let Some(Ok((shard_move, len, result))) = writes.join_next().await {
        match result {
            Ok(()) => {
                moves.push(shard_move);
                bytes += len;
            }
            Err(e) => {
                tracing::debug!(%block, index = shard_move.index, error = %e, "rebuilt shard not stored");
                refusals.push(format!("node {}: {e}", shard_move.to));
            }
        }
    }
    if moves.is_empty() {
        // Say why, so a repair that keeps failing can be told from a transient one.
        let mut why = refusals;
        if unplaced > 0 {
            why.push(format!(
                "{unplaced} had no eligible node (active, holding none of the block, zone not full)"
            ));
        }
        return Err(BlockError::Unavailable(format!(
            "no node could take the {} rebuilt shards: {}",
            missing.len(),
            why.join("; ")
        )));
    }
    moves.sort_by_key(|m| m.index);
    let command = Command::MoveShards { account, block, generation: record.generation, moves: moves.clone() };
    match service.propose(command).await? {
        Response::ShardsMoved => {
            let counters = service.counters();
            counters.repair_blocks(1);
            counters.repair_shards(moves.len() as u64);
            counters.repair_bytes(bytes);
            tracing::info!(%block, shards = moves.len(), "repaired");
            // The old copies, where their node still answers, are now strays: remove them.
            for m in moves.iter().filter(|m| m.from != m.to && view.is_up(m.from)) {
                let key = ShardKey { account, block, generation: record.generation, index: m.index };
                let _ = service.shards().delete(m.from, view.addr(m.from), key).await;
            }
            Ok(())
        }
        Response::Rejected(why) => {
            tracing::debug!(%block, %why, "placement changed during repair; the scrubbers remove the copies");
            Ok(())
        }
        other => Err(BlockError::Refused(format!("unexpected answer to a shard move: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::PeerNode;
    use cairn_raft::model::cluster::NodeState;

    fn view(states: &[(NodeId, NodeState)]) -> ClusterView {
        ClusterView {
            nodes: states
                .iter()
                .map(|&(id, state)| (id, PeerNode { id, addr: None, zone: "z".into(), state }))
                .collect(),
        }
    }

    #[test]
    fn shards_on_nodes_down_past_the_grace_and_damaged_shards_need_repair() {
        let v = view(&[
            (1, NodeState::Active),
            (2, NodeState::Down { since_ms: 1_000 }),
            (3, NodeState::Down { since_ms: 9_000 }),
            (4, NodeState::Active),
            (5, NodeState::DownDraining { since_ms: 2_000 }),
            (6, NodeState::Draining),
        ]);
        let lost = lost_nodes(&v, 10_000, 5_000);
        assert_eq!(lost, BTreeSet::from([2, 5]), "a draining node that went down is lost as any other");
        let record = BlockRecord {
            plain_len: 10,
            data_shards: 3,
            parity_shards: 2,
            generation: 1,
            placement: vec![1, 2, 3, 4, 9],
            damaged: vec![0],
            refcount: 1,
            changed_ms: 0,
        };
        // 0 damaged, 1 on a node down past the grace, 4 on a node the cluster no longer knows;
        // 2 is on a node down only briefly: not yet.
        assert_eq!(missing_shards(&record, &v, &lost), vec![0, 1, 4]);
    }
}
