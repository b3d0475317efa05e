//! Counters of the block layer's work, for `cairn-node status` and Prometheus; a snapshot of
//! them is the [`BlockStats`] a node reports in its status.

use std::sync::atomic::{AtomicU64, Ordering};

use cairn_metadata::BlockStats;

/// Live counters, shared by the block service and its workers.
#[derive(Debug, Default)]
pub struct BlockCounters {
    blocks_written: AtomicU64,
    blocks_deduplicated: AtomicU64,
    blocks_written_degraded: AtomicU64,
    bytes_written: AtomicU64,
    blocks_read: AtomicU64,
    reads_degraded: AtomicU64,
    reads_hedged: AtomicU64,
    damage_reported: AtomicU64,
    repair_pending: AtomicU64,
    repair_blocks: AtomicU64,
    repair_shards: AtomicU64,
    repair_bytes: AtomicU64,
    repair_failures: AtomicU64,
    repair_scans: AtomicU64,
    scrub_passes: AtomicU64,
    scrub_shards: AtomicU64,
    scrub_bytes: AtomicU64,
    scrub_corrupt: AtomicU64,
    orphans_deleted: AtomicU64,
    gc_blocks_dropped: AtomicU64,
    nodes_marked_down: AtomicU64,
    /// Plaintext bytes of the blocks read; kept apart from the status report's counters, for
    /// Prometheus only.
    bytes_read: AtomicU64,
    /// Blocks stored whole in metadata (Prometheus only, like `bytes_read`).
    blocks_written_inline: AtomicU64,
}

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        impl BlockCounters {
            $(
                #[doc = concat!("Adds to `", stringify!($name), "`.")]
                pub fn $name(&self, n: u64) {
                    self.$name.fetch_add(n, Ordering::Relaxed);
                }
            )*

            /// The counters now.
            pub fn snapshot(&self) -> BlockStats {
                BlockStats { $($name: self.$name.load(Ordering::Relaxed),)* ..BlockStats::default() }
            }
        }
    };
}

counters!(
    blocks_written,
    blocks_deduplicated,
    blocks_written_degraded,
    bytes_written,
    blocks_read,
    reads_degraded,
    reads_hedged,
    damage_reported,
    repair_blocks,
    repair_shards,
    repair_bytes,
    repair_failures,
    repair_scans,
    scrub_passes,
    scrub_shards,
    scrub_bytes,
    scrub_corrupt,
    orphans_deleted,
    gc_blocks_dropped,
    nodes_marked_down,
    repair_pending,
);

impl BlockCounters {
    /// Adds to the plaintext bytes read.
    pub fn add_bytes_read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    /// Plaintext bytes of the blocks read since the node started.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Adds to the blocks stored whole in metadata.
    pub fn blocks_written_inline(&self, n: u64) {
        self.blocks_written_inline.fetch_add(n, Ordering::Relaxed);
    }

    /// Blocks stored whole in metadata since the node started.
    pub fn inline_blocks_written(&self) -> u64 {
        self.blocks_written_inline.load(Ordering::Relaxed)
    }

    /// Sets the repair backlog seen by the last scan.
    pub fn set_repair_pending(&self, n: u64) {
        self.repair_pending.store(n, Ordering::Relaxed);
    }
}
