//! The whole in-process pipeline — chunk → hash → compress → seal → encode → store, and back —
//! over one shard store per simulated node, with stores that vanish, rot and lie.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;

use cairn_block_codec::{BlockError, BlockPipeline, MasterKey};
use cairn_placement::{NodeInfo, PlacementMap, PlacementRole, place};
use cairn_proto::sample_data::{random, text};
use cairn_proto::{AccountId, BlockId, EncodedBlock, StreamChunker};
use cairn_shard_store::{Faults, FaultyShardStore, RocksShardStore, ShardKey, ShardStore, ShardStoreConfig};
use proptest::prelude::*;

const ACCOUNT: AccountId = AccountId(11);

/// Five "nodes", each a real RocksDB shard store behind a fault injector, in two zones.
struct Cluster {
    _dirs: Vec<tempfile::TempDir>,
    stores: Vec<Arc<FaultyShardStore<RocksShardStore>>>,
    map: PlacementMap,
    pipeline: BlockPipeline,
}

impl Cluster {
    fn new(nodes: usize, profile: &str) -> Self {
        let mut dirs = Vec::new();
        let mut stores = Vec::new();
        for n in 0..nodes {
            let dir = tempfile::tempdir().unwrap();
            let mut config = ShardStoreConfig::new(dir.path());
            config.reserve_disk_bytes = 0;
            stores.push(Arc::new(FaultyShardStore::new(RocksShardStore::open(config).unwrap(), n as u64)));
            dirs.push(dir);
        }
        let map = PlacementMap::new(
            (0..nodes as u64)
                .map(|id| NodeInfo {
                    id,
                    zone: format!("zone-{}", id % 3),
                    role: PlacementRole::Storage,
                    weight: 1,
                })
                .collect(),
        );
        let pipeline = BlockPipeline::new(MasterKey::from_bytes([5; 32]), profile.parse().unwrap());
        Self { _dirs: dirs, stores, map, pipeline }
    }

    /// Uploads a file; returns its block ids in order.
    fn write(&self, file: &[u8]) -> Vec<BlockId> {
        let mut ids = Vec::new();
        for chunk in StreamChunker::new(file) {
            let chunk = chunk.unwrap();
            let wire = EncodedBlock::compress(&chunk.data, 3).unwrap().to_bytes();
            let block = EncodedBlock::from_bytes(&wire).unwrap();
            let shards = self.pipeline.encode(ACCOUNT, &chunk.id, &block).unwrap();
            let placement = place(&chunk.id, &self.map, self.pipeline.profile()).unwrap();
            for (shard, node) in shards.iter().zip(&placement.nodes) {
                let key = ShardKey { account: ACCOUNT, block: chunk.id, generation: 1, index: shard.index };
                self.stores[*node as usize].put(&key, &shard.bytes).unwrap();
            }
            ids.push(chunk.id);
        }
        ids
    }

    /// Reads a file back the way the read path will: gather shards from the placement,
    /// skipping nodes that fail or report rot, and decode from what is left.
    fn read(&self, ids: &[BlockId]) -> Result<Vec<u8>, BlockError> {
        let mut out = Vec::new();
        for id in ids {
            let placement = place(id, &self.map, self.pipeline.profile()).unwrap();
            let shards: Vec<Vec<u8>> = placement
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(index, node)| {
                    let key = ShardKey { account: ACCOUNT, block: *id, generation: 1, index: index as u8 };
                    self.stores[*node as usize].get(&key).ok().flatten()
                })
                .collect();
            out.extend(self.pipeline.decode(ACCOUNT, id, shards.iter().map(Vec::as_slice))?);
        }
        Ok(out)
    }
}

#[test]
fn a_file_reads_back_with_m_nodes_gone() {
    let cluster = Cluster::new(5, "3+2");
    let mut file = text(6 << 20, 1);
    file.extend(random(5 << 20, 2));
    let ids = cluster.write(&file);
    assert!(ids.len() >= 5, "{} blocks", ids.len());

    // Two nodes stop answering: every read from them fails.
    for n in [1, 3] {
        cluster.stores[n].set_faults(Faults { fail_reads: 1.0, ..Faults::default() });
    }
    assert_eq!(cluster.read(&ids).unwrap(), file);
}

#[test]
fn rotten_shards_are_skipped_and_never_served() {
    let cluster = Cluster::new(5, "3+2");
    let file = random(4 << 20, 3);
    let ids = cluster.write(&file);
    cluster.stores[0].set_faults(Faults { rot_reads: 1.0, ..Faults::default() });
    cluster.stores[2].set_faults(Faults { fail_reads: 1.0, ..Faults::default() });
    assert_eq!(cluster.read(&ids).unwrap(), file);
}

#[test]
fn too_many_losses_are_an_error_not_wrong_bytes() {
    let cluster = Cluster::new(5, "3+2");
    let ids = cluster.write(&text(2 << 20, 4));
    for n in [0, 1, 4] {
        cluster.stores[n].set_faults(Faults { fail_reads: 1.0, ..Faults::default() });
    }
    let err = cluster.read(&ids).unwrap_err();
    assert!(matches!(err, BlockError::NotEnoughShards { needed: 3, .. }), "{err}");
}

#[test]
fn a_lying_disk_is_caught_by_authentication() {
    let cluster = Cluster::new(3, "2+1");
    let file = text(3 << 20, 5);
    let ids = cluster.write(&file);
    // Shards come back with a flipped bit the store's checksum did not see: the AEAD must refuse.
    for store in &cluster.stores {
        store.set_faults(Faults { corrupt_reads: 1.0, ..Faults::default() });
    }
    let err = cluster.read(&ids).unwrap_err();
    assert!(matches!(err, BlockError::Tampered(_) | BlockError::Proto(_)), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any file, any profile, any set of m lost nodes: the bytes come back.
    #[test]
    fn any_file_round_trips_with_any_m_losses(
        len in 0usize..(3 << 20),
        seed in any::<u64>(),
        profile in prop::sample::select(vec!["2+1", "3+2", "4+2"]),
        lost in any::<prop::sample::Index>(),
    ) {
        let cluster = Cluster::new(6, profile);
        let file = if seed % 2 == 0 { random(len, seed) } else { text(len, seed) };
        let ids = cluster.write(&file);
        let m = cluster.pipeline.profile().parity_shards();
        let first = lost.index(6);
        for n in (0..m).map(|i| (first + i) % 6) {
            cluster.stores[n].set_faults(Faults { fail_reads: 1.0, ..Faults::default() });
        }
        prop_assert_eq!(cluster.read(&ids).unwrap(), file);
    }
}
