//! The `[storage]` section of a node's config: its shard store, the erasure-coding profile of
//! the blocks it writes, and the pace of failure detection, repair, scrubbing and GC.

use std::time::Duration;

use serde::Deserialize;

use cairn_block_codec::EcProfile;

/// The default of [`StorageConfig::inline_max_bytes`]. Measured at 16, 24, 32 and 64 KiB
/// (BENCHMARKS.md, "Small files in metadata: the threshold"): kept in metadata, a folder of
/// 16 KiB files is put 2.2× faster than in shards; at 24 KiB the gain is down to 1.2× and at
/// 32 KiB it is gone, while an inline byte takes about 4× the disk of a shard byte.
pub const DEFAULT_INLINE_MAX: u64 = 16 << 10;

/// The largest [`StorageConfig::inline_max_bytes`]: with the seal's few bytes and a block that
/// zstd could not shrink, it stays under the model's cap on a sealed inline block.
pub const MAX_INLINE_PLAIN: u64 = 64 << 10;

const _: () = assert!(MAX_INLINE_PLAIN as usize + 1024 <= cairn_raft::model::blocks::MAX_INLINE_SEALED);

/// Shard storage and the block layer's workers. The defaults suit a small on-prem cluster.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// How blocks this node writes are coded: `k+m` (k data shards, m parity shards; any k
    /// rebuild the block, so m nodes may be lost). Needs at least k+m storage nodes, and
    /// [`Self::write_quorum`] of them up to accept writes.
    pub profile: EcProfile,
    /// Shards that must be durable for a write to be acknowledged while nodes are down (the
    /// missing ones are owed to repair); between k and k+m. Unset: k, or k+1 when k ≤ m — as
    /// MinIO does — so a 3-node 2+1 cluster keeps taking uploads with one node down.
    pub write_quorum: Option<usize>,
    /// Most bytes of shards this node holds; unset: as much as its disk allows.
    pub capacity_bytes: Option<u64>,
    /// Free disk space the shard store leaves untouched, so the database can still compact; the
    /// API also keeps it (and a snapshot's worth more) from writes that grow the drive, so the
    /// metadata's log and snapshots always have room (507 `storage_full` past it).
    pub reserve_disk_bytes: u64,
    /// Most bytes of blocks this node holds in memory for writes and reads at once; further
    /// calls wait (back-pressure) instead of growing memory.
    pub max_inflight_bytes: u64,
    /// A read asks one more node for a shard when none answered within this time (ms).
    pub hedge_after_ms: u64,
    /// A node not answering pings for this long (ms) is marked down.
    pub down_after_ms: u64,
    /// A node down this long (ms) has its shards rebuilt elsewhere.
    pub repair_grace_ms: u64,
    /// How often the repair worker looks for blocks that lack shards (ms).
    pub repair_every_ms: u64,
    /// Bytes per second the scrubber reads from this node's shard store.
    pub scrub_bytes_per_sec: u64,
    /// Bytes per second of shards the leader moves when it rebalances: off draining nodes, onto
    /// nodes that joined. Client traffic goes on meanwhile; this bounds what the moves take.
    pub rebalance_bytes_per_sec: u64,
    /// Pause between two scrub passes over this node's shards (ms).
    pub scrub_every_ms: u64,
    /// A shard no block's metadata points to is deleted once it has been seen so for this long
    /// (ms): longer than any write takes, so a shard whose block is still being registered is
    /// never mistaken for a leftover.
    pub orphan_grace_ms: u64,
    /// A block no version references is deleted after this long (ms) without references.
    pub gc_grace_ms: u64,
    /// Blocks of at most this many bytes (plaintext) are kept sealed in the metadata state,
    /// replicated by Raft, instead of being erasure-coded into shards: a small file then costs
    /// one metadata write instead of k+m shard writes and their fsyncs. 0 turns it off.
    pub inline_max_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            profile: EcProfile::new(2, 1).unwrap_or_else(|e| unreachable!("2+1 is a valid profile: {e}")),
            write_quorum: None,
            capacity_bytes: None,
            reserve_disk_bytes: 1 << 30,
            max_inflight_bytes: 256 << 20,
            hedge_after_ms: 300,
            down_after_ms: 5_000,
            repair_grace_ms: 60_000,
            repair_every_ms: 2_000,
            scrub_bytes_per_sec: 32 << 20,
            rebalance_bytes_per_sec: 64 << 20,
            scrub_every_ms: 24 * 60 * 60 * 1000,
            orphan_grace_ms: 10 * 60 * 1000,
            gc_grace_ms: 60 * 60 * 1000,
            inline_max_bytes: DEFAULT_INLINE_MAX,
        }
    }
}

impl StorageConfig {
    /// Checks values that parse but make no sense; `Err((key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.max_inflight_bytes < 16 << 20 {
            return Err(("storage.max_inflight_bytes", "must be at least 16 MiB: one block must fit"));
        }
        if let Some(quorum) = self.write_quorum
            && (quorum < self.profile.data_shards() || quorum > self.profile.total_shards())
        {
            return Err(("storage.write_quorum", "must be between k and k+m of the profile"));
        }
        if self.inline_max_bytes > MAX_INLINE_PLAIN {
            return Err(("storage.inline_max_bytes", "must be at most 65536 (64 KiB)"));
        }
        if self.scrub_bytes_per_sec == 0 {
            return Err(("storage.scrub_bytes_per_sec", "must be positive"));
        }
        if self.rebalance_bytes_per_sec == 0 {
            return Err(("storage.rebalance_bytes_per_sec", "must be positive"));
        }
        for (key, value) in [
            ("storage.hedge_after_ms", self.hedge_after_ms),
            ("storage.down_after_ms", self.down_after_ms),
            ("storage.repair_every_ms", self.repair_every_ms),
        ] {
            if value == 0 {
                return Err((key, "must be positive"));
            }
        }
        Ok(())
    }

    /// Shards a write needs durable: [`Self::write_quorum`] or its default.
    pub fn write_quorum(&self) -> usize {
        let (k, m) = (self.profile.data_shards(), self.profile.total_shards() - self.profile.data_shards());
        self.write_quorum.unwrap_or(if k <= m { k + 1 } else { k })
    }

    /// [`Self::hedge_after_ms`] as a duration.
    pub fn hedge_after(&self) -> Duration {
        Duration::from_millis(self.hedge_after_ms)
    }
}
