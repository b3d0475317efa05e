//! Block helpers for the cluster tests: sample blocks of mixed content, writing them through
//! the cluster, and checking that every one reads back byte-identical.

#![allow(dead_code)]

use cairn_node::ClusterClient;
use cairn_proto::sample_data::{random, text};
use cairn_proto::{AccountId, BlockId, EncodedBlock};
use cairn_raft::model::blocks::BlockRecord;
use cairn_raft::model::{Answer, Query};

/// The account the tests store blocks in.
pub const ACCOUNT: AccountId = AccountId(7);

/// A block as a client holds it.
pub struct Sample {
    /// Its id.
    pub id: BlockId,
    /// Its plaintext.
    pub plain: Vec<u8>,
    /// What a client sends: the zstd or raw encoding.
    pub wire: Vec<u8>,
}

/// `count` blocks, alternately compressible text and random bytes, of 16 KiB to about 600 KiB.
pub fn samples(count: usize, seed: u64) -> Vec<Sample> {
    (0..count)
        .map(|i| {
            let seed = seed * 1_000 + i as u64;
            let len = 16 * 1024 + (seed as usize * 7_919) % (600 * 1024);
            let plain = if i % 2 == 0 { text(len, seed) } else { random(len, seed) };
            let wire = EncodedBlock::compress(&plain, 3).unwrap().to_bytes();
            Sample { id: BlockId::of(&plain), plain, wire }
        })
        .collect()
}

/// Stores every sample through the cluster; panics on the first failure.
pub async fn put_all(client: &ClusterClient, samples: &[Sample]) {
    for s in samples {
        client.put_block(ACCOUNT, s.id, &s.wire).await.unwrap_or_else(|e| panic!("put {}: {e}", s.id));
    }
}

/// Reads every sample back and checks its bytes.
pub async fn assert_all_read_back(client: &ClusterClient, samples: &[Sample]) {
    for s in samples {
        let plain = client.get_block(ACCOUNT, s.id).await.unwrap_or_else(|e| panic!("get {}: {e}", s.id));
        assert!(plain[..] == s.plain[..], "block {} came back different", s.id);
    }
}

/// The metadata record of a block (linearizable read).
pub async fn record(client: &ClusterClient, id: BlockId) -> BlockRecord {
    match client.query(&Query::Block { account: ACCOUNT, block: id }).await.unwrap() {
        Answer::Block(Some(record)) => record,
        other => panic!("block {id}: {other:?}"),
    }
}

/// Whether every sample's record has k+m shards, none damaged, none on the nodes in `avoid`.
pub async fn fully_redundant(client: &ClusterClient, samples: &[Sample], avoid: &[u64]) -> bool {
    for s in samples {
        let r = record(client, s.id).await;
        let healthy = r.damaged.is_empty()
            && r.placement.len() == usize::from(r.data_shards + r.parity_shards)
            && !r.placement.iter().any(|n| avoid.contains(n));
        if !healthy {
            return false;
        }
    }
    true
}
