//! Garbage collection: the leader deletes blocks no version has referenced for `gc_grace_ms`.
//!
//! The drop is a compare-and-delete in Raft (refcount still zero, unchanged since the scan), so
//! a commit that references the block first wins, and a commit after the drop names the block
//! as missing and the client sends it again. The shards are then deleted on their nodes; any
//! that cannot be reached are removed later by their node's scrubber.

use std::time::Duration;

use cairn_proto::{AccountId, BlockId};
use cairn_raft::model::block_index::BlockSet;
use cairn_raft::model::{Command, Response};

use super::BlockService;
use super::view::ClusterView;
use cairn_shard_store::ShardKey;

/// Sweeps every so often while this node leads.
pub async fn run(service: BlockService) {
    let grace = service.config().gc_grace_ms;
    let every = Duration::from_millis((grace / 4).clamp(1_000, 60_000));
    loop {
        tokio::time::sleep(every).await;
        if service.meta().is_leader() {
            sweep(&service).await;
        }
    }
}

/// One pass over the blocks nothing references; returns how many were dropped.
pub async fn sweep(service: &BlockService) -> u64 {
    let grace = service.config().gc_grace_ms;
    let now = service.clock().now_ms();
    let mut after: Option<(AccountId, BlockId)> = None;
    let mut dropped = 0;
    while let Some(page) = service.block_page(BlockSet::Unreferenced, after) {
        after = page.last().map(|(account, block, _)| (*account, *block));
        for (account, block, record) in page {
            if record.refcount > 0 || now.saturating_sub(record.changed_ms) < grace {
                continue;
            }
            let drop = Command::DropBlock {
                account,
                block,
                generation: record.generation,
                unchanged_since_ms: record.changed_ms,
            };
            let Ok(Response::BlockDropped { placement }) = service.propose(drop).await else { continue };
            dropped += 1;
            service.counters().gc_blocks_dropped(1);
            let view = ClusterView::load(service.meta());
            for (index, node) in placement.into_iter().enumerate() {
                let key = ShardKey { account, block, generation: record.generation, index: index as u8 };
                let (shards, addr) = (service.shards().clone(), view.addr(node));
                tokio::spawn(async move { shards.delete(node, addr, key).await });
            }
        }
    }
    dropped
}
