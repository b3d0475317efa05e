//! The block work a node reports in its status: a snapshot of the block service's counters, as
//! it travels in [`NodeStatus`](crate::NodeStatus) and as Prometheus reads it. The block
//! service keeps the live counters; this is only the report.

use serde::{Deserialize, Serialize};

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Blocks this node stored for clients.
    pub blocks_written: u64,
    /// Blocks clients sent that the account already had.
    pub blocks_deduplicated: u64,
    /// Blocks stored with fewer than k+m shards (the rest owed to repair).
    pub blocks_written_degraded: u64,
    /// Plaintext bytes of the blocks stored.
    pub bytes_written: u64,
    /// Blocks read.
    pub blocks_read: u64,
    /// Reads that had to skip a missing, slow or corrupt shard.
    pub reads_degraded: u64,
    /// Reads that asked an extra node because one was slow.
    pub reads_hedged: u64,
    /// Missing or corrupt shards reported to metadata.
    pub damage_reported: u64,
    /// Blocks lacking shards at the last repair scan (on the leader).
    pub repair_pending: u64,
    /// Blocks repaired.
    pub repair_blocks: u64,
    /// Shards rebuilt.
    pub repair_shards: u64,
    /// Bytes of shards rebuilt.
    pub repair_bytes: u64,
    /// Block repairs that failed (retried at the next scan).
    pub repair_failures: u64,
    /// Repair scans completed.
    pub repair_scans: u64,
    /// Scrub passes completed over this node's shards.
    pub scrub_passes: u64,
    /// Shards the scrubber verified.
    pub scrub_shards: u64,
    /// Bytes the scrubber verified.
    pub scrub_bytes: u64,
    /// Corrupt shards the scrubber found.
    pub scrub_corrupt: u64,
    /// Shards no block points to that were deleted.
    pub orphans_deleted: u64,
    /// Unreferenced blocks deleted by GC.
    pub gc_blocks_dropped: u64,
    /// Times the failure detector marked a node down.
    pub nodes_marked_down: u64,
    /// Shards in this node's store.
    pub shards_held: u64,
    /// Bytes of shards in this node's store.
    pub shard_bytes: u64,
    /// Errors the store's background work (compactions) met since the node started.
    pub store_background_errors: u64,
}

impl BlockStats {
    /// Every counter with its Prometheus name and help text, in a stable order.
    pub fn prometheus(&self) -> Vec<(&'static str, &'static str, u64)> {
        vec![
            ("cairn_blocks_written_total", "Blocks stored for clients.", self.blocks_written),
            ("cairn_blocks_deduplicated_total", "Blocks the account already had.", self.blocks_deduplicated),
            (
                "cairn_blocks_written_degraded_total",
                "Blocks stored owing shards to repair.",
                self.blocks_written_degraded,
            ),
            ("cairn_block_bytes_written_total", "Plaintext bytes of blocks stored.", self.bytes_written),
            ("cairn_blocks_read_total", "Blocks read.", self.blocks_read),
            (
                "cairn_block_reads_degraded_total",
                "Reads that skipped a bad or missing shard.",
                self.reads_degraded,
            ),
            ("cairn_block_reads_hedged_total", "Reads that asked an extra node.", self.reads_hedged),
            (
                "cairn_shard_damage_reported_total",
                "Missing or corrupt shards reported.",
                self.damage_reported,
            ),
            ("cairn_repair_pending_blocks", "Blocks lacking shards at the last scan.", self.repair_pending),
            ("cairn_repair_blocks_total", "Blocks repaired.", self.repair_blocks),
            ("cairn_repair_shards_total", "Shards rebuilt.", self.repair_shards),
            ("cairn_repair_bytes_total", "Bytes of shards rebuilt.", self.repair_bytes),
            ("cairn_repair_failures_total", "Block repairs that failed.", self.repair_failures),
            ("cairn_repair_scans_total", "Repair scans completed.", self.repair_scans),
            ("cairn_scrub_passes_total", "Scrub passes completed.", self.scrub_passes),
            ("cairn_scrub_shards_total", "Shards verified by the scrubber.", self.scrub_shards),
            ("cairn_scrub_bytes_total", "Bytes verified by the scrubber.", self.scrub_bytes),
            ("cairn_scrub_corrupt_total", "Corrupt shards found by the scrubber.", self.scrub_corrupt),
            (
                "cairn_orphan_shards_deleted_total",
                "Shards no block points to, deleted.",
                self.orphans_deleted,
            ),
            ("cairn_gc_blocks_dropped_total", "Unreferenced blocks deleted.", self.gc_blocks_dropped),
            ("cairn_nodes_marked_down_total", "Times a node was marked down.", self.nodes_marked_down),
            ("cairn_shards_held", "Shards in this node's store.", self.shards_held),
            ("cairn_shard_bytes", "Bytes of shards in this node's store.", self.shard_bytes),
            (
                "cairn_shard_store_background_errors_total",
                "Errors the shard store's compactions met (a corrupt record).",
                self.store_background_errors,
            ),
        ]
    }
}
