//! Storing a block: verify, seal and code it off the async thread, place its shards, write them
//! to their nodes in parallel, and record the block in Raft.
//!
//! A block is acknowledged only when all k+m shards are durable. When nodes are down or refuse
//! (full), their shards move to the next-ranked nodes; when no node is left for some, the block
//! is still acknowledged if at least the write quorum of shards is durable (`storage.write_quorum`:
//! by default k, or k+1 when k ≤ m), and the missing ones are recorded as damaged, for repair to
//! add. Anything less is refused, and the shards already written are deleted again.

use bytes::Bytes;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{AccountId, BlockId, Codec, EncodedBlock};
use cairn_raft::NodeId;
use cairn_raft::model::blocks::BlockRecord;
use cairn_raft::model::{Answer, Command, Query, Response};
use tokio::task::JoinSet;

use super::BlockService;
use super::messages::{BlockError, BlockStored};
use super::view::ClusterView;
use cairn_placement::fill;
use cairn_shard_store::ShardKey;

/// Rounds of "write, replace the nodes that refused, write again" before settling.
const PLACEMENT_ROUNDS: usize = 3;

impl BlockService {
    /// Stores block `id` of `account` from the client's encoded bytes `wire`.
    pub async fn put(&self, account: AccountId, id: BlockId, wire: Bytes) -> Result<BlockStored, BlockError> {
        if let Some(record) = self.record(account, &id, true).await? {
            self.counters().blocks_deduplicated(1);
            return Ok(BlockStored { written: false, placement: record.placement, damaged: record.damaged });
        }
        // The wire bytes, the sealed copy and the shards (1 + m/k of it) are alive together.
        let _memory = self.reserve(wire.len() as u64 * 3).await?;
        let profile = self.config().profile;
        let pipeline = self.pipeline(profile);
        let coded = tokio::task::spawn_blocking(move || {
            // Never trust the client's id: it is checked against the bytes before anything else.
            let mut block = EncodedBlock::from_bytes(&wire)?;
            block.verify(&id)?;
            // A client that sent its block uncompressed (a small device, say) still gets it
            // stored compressed when that helps; zstd gives up quickly on incompressible data.
            if block.codec == Codec::Raw {
                block = EncodedBlock::compress(&block.payload, DEFAULT_ZSTD_LEVEL)?;
            }
            Ok::<_, cairn_proto::ProtoError>((block.plain_len, pipeline.encode_trusted(account, &id, &block)))
        })
        .await
        .map_err(|e| BlockError::Refused(format!("coding task failed: {e}")))?;
        let (plain_len, shards) = coded.map_err(|e| BlockError::Invalid(e.to_string()))?;
        let shards: Vec<Bytes> = shards.into_iter().map(|s| Bytes::from(s.bytes)).collect();

        let generation: u64 = rand::random();
        let view = ClusterView::load(self.meta());
        let (k, n) = (profile.data_shards(), profile.total_shards());
        let key = |index: usize| ShardKey { account, block: id, generation, index: index as u8 };

        let mut slots: Vec<Option<NodeId>> = vec![None; n];
        let mut durable = vec![false; n];
        let mut refused: Vec<NodeId> = Vec::new();
        for _ in 0..PLACEMENT_ROUNDS {
            fill(&id, &view.placement_map(&refused), profile, &mut slots);
            let mut writes = JoinSet::new();
            for (index, node) in slots.iter().enumerate() {
                if let (Some(node), false) = (*node, durable[index]) {
                    let (shards, addr, shard) =
                        (self.shards().clone(), view.addr(node), shards[index].clone());
                    let key = key(index);
                    writes.spawn(async move { (index, node, shards.put(node, addr, key, shard).await) });
                }
            }
            let mut failures = 0;
            while let Some(done) = writes.join_next().await {
                let Ok((index, node, result)) = done else { continue };
                match result {
                    Ok(()) => durable[index] = true,
                    Err(e) => {
                        tracing::debug!(block = %id, index, node, error = %e, "shard write failed; placing elsewhere");
                        failures += 1;
                        slots[index] = None;
                        refused.push(node);
                    }
                }
            }
            if failures == 0 {
                break;
            }
        }

        let written = durable.iter().filter(|d| **d).count();
        let quorum = self.config().write_quorum();
        if written < n && written < quorum {
            self.forget(&view, &slots, &durable, key);
            return Err(BlockError::Unavailable(format!(
                "only {written} of {n} shards could be stored ({profile} needs all of them, or at least \
                 {quorum} with nodes down)"
            )));
        }
        let damaged: Vec<u8> = (0..n).filter(|i| !durable[*i]).map(|i| i as u8).collect();
        // Owed shards are recorded against the best node that could take them, so repair has a
        // slot to fill; the node need not be up.
        for &i in &damaged {
            slots[i as usize] = None;
        }
        fill(&id, &view.full_map(), profile, &mut slots);
        let Some(placement) = slots.iter().copied().collect::<Option<Vec<NodeId>>>() else {
            self.forget(&view, &slots, &durable, key);
            return Err(BlockError::Unavailable(format!(
                "the cluster has fewer than {n} nodes for {profile}"
            )));
        };

        let shape = (k as u8, (n - k) as u8);
        let register = Command::RegisterBlock {
            account,
            block: id,
            plain_len,
            shape,
            generation,
            placement: placement.clone(),
            damaged: damaged.clone(),
        };
        match self.propose(register).await {
            Ok(Response::BlockRegistered { fresh: true, .. }) => {
                let counters = self.counters();
                counters.blocks_written(1);
                counters.bytes_written(u64::from(plain_len));
                if !damaged.is_empty() {
                    counters.blocks_written_degraded(1);
                    tracing::warn!(block = %id, ?damaged, "block stored with shards owed to repair");
                }
                Ok(BlockStored { written: true, placement, damaged })
            }
            Ok(Response::BlockRegistered { fresh: false, .. }) => {
                // Another writer registered the block first; ours is a spare copy.
                self.forget(&view, &slots, &durable, key);
                self.counters().blocks_deduplicated(1);
                let record = self.record(account, &id, true).await?.ok_or(BlockError::NotFound(id))?;
                Ok(BlockStored { written: false, placement: record.placement, damaged: record.damaged })
            }
            Ok(Response::Rejected(why)) => {
                self.forget(&view, &slots, &durable, key);
                Err(BlockError::Invalid(why.to_string()))
            }
            Ok(other) => {
                Err(BlockError::Refused(format!("unexpected answer to a block registration: {other:?}")))
            }
            // The registration may or may not have been applied: the shards stay, and if the
            // block is not registered the scrubbers delete them as orphans.
            Err(e) => Err(e),
        }
    }

    /// The account's record of block `id`, read linearizably or from local state.
    pub(crate) async fn record(
        &self,
        account: AccountId,
        id: &BlockId,
        linearizable: bool,
    ) -> Result<Option<BlockRecord>, BlockError> {
        let query = Query::Block { account, block: *id };
        let answer = if linearizable { self.meta().query(&query).await } else { self.meta().local(&query) };
        match answer.map_err(BlockError::Metadata)? {
            Answer::Block(record) => Ok(record),
            other => Err(BlockError::Refused(format!("unexpected answer to a block query: {other:?}"))),
        }
    }

    /// Deletes, in the background, the shards of a write that will not be recorded.
    fn forget(
        &self,
        view: &ClusterView,
        slots: &[Option<NodeId>],
        durable: &[bool],
        key: impl Fn(usize) -> ShardKey,
    ) {
        for (index, node) in slots.iter().enumerate() {
            if let (Some(node), true) = (*node, durable[index]) {
                let (shards, addr, key) = (self.shards().clone(), view.addr(node), key(index));
                tokio::spawn(async move {
                    if let Err(e) = shards.delete(node, addr, key).await {
                        tracing::debug!(%key, node, error = %e, "could not delete an unrecorded shard; the scrubber will");
                    }
                });
            }
        }
    }
}
