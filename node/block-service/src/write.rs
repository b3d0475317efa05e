//! Storing a block: verify, seal and code it off the async thread, place its shards, write them
//! to their nodes in parallel, and record the block in Raft. A block of at most
//! `storage.inline_max_bytes` is only sealed and recorded in Raft whole, with no shards.
//!
//! A block is acknowledged only when all k+m shards are durable. When nodes are down or refuse
//! (full), their shards move to the next-ranked nodes; when no node is left for some, the block
//! is still acknowledged if at least the write quorum of shards is durable (`storage.write_quorum`:
//! by default k, or k+1 when k ≤ m), and the missing ones are recorded as damaged, for repair to
//! add. Anything less is refused, and the shards already written are deleted again.

use bytes::Bytes;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{AccountId, BlockId, EncodedBlock};
use cairn_raft::NodeId;
use cairn_raft::model::blocks::BlockRecord;
use cairn_raft::model::version::Feature;
use cairn_raft::model::{Answer, Command, Query, Response};
use tokio::task::JoinSet;

use super::BlockService;
use super::messages::{BlockError, BlockStored};
use super::view::ClusterView;
use cairn_placement::fill;
use cairn_shard_store::ShardKey;

/// A block ready to store: kept whole (small enough for the metadata) or in shards.
enum Coded {
    Whole(Vec<u8>),
    Shards(Vec<cairn_block_codec::Shard>),
}

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
        let (plain_len, coded) = self.code(account, id, wire, self.inline_max()).await?;
        let shards = match coded {
            Coded::Whole(sealed) => return self.register_inline(account, id, plain_len, sealed).await,
            Coded::Shards(shards) => shards,
        };
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

    /// The command that records block `id` of `account`, from the client's encoded bytes `wire`,
    /// kept whole in metadata, for the caller to propose with the commit that uses it (one
    /// Raft entry for a small file). `None` when the block is too large to be kept so, or the
    /// cluster does not keep blocks so yet: store it with [`Self::put`] instead. `plain_len` is
    /// the length the caller cut the block at (checked again against the bytes), so a block
    /// too large is turned away before any coding.
    pub async fn inline_command(
        &self,
        account: AccountId,
        id: BlockId,
        plain_len: u64,
        wire: Bytes,
    ) -> Result<Option<Command>, BlockError> {
        let inline_max = self.inline_max();
        if plain_len == 0 || plain_len > inline_max {
            return Ok(None);
        }
        let _memory = self.reserve(wire.len() as u64 * 2).await?;
        Ok(match self.code(account, id, wire, inline_max).await? {
            (plain_len, Coded::Whole(sealed)) => Some(Command::RegisterInlineBlock {
                account,
                block: id,
                plain_len,
                generation: rand::random(),
                sealed,
            }),
            (_, Coded::Shards(_)) => None,
        })
    }

    /// Counts a block kept in metadata whose registration (from [`Self::inline_command`] or
    /// [`Self::put`]) was applied: `fresh` if it was new to the account.
    pub fn inline_registered(&self, fresh: bool, plain_len: u32) {
        let counters = self.counters();
        if fresh {
            counters.blocks_written(1);
            counters.blocks_written_inline(1);
            counters.bytes_written(u64::from(plain_len));
        } else {
            counters.blocks_deduplicated(1);
        }
    }

    /// Checks `wire` against `id` and seals it: whole when its plaintext is at most
    /// `inline_max` bytes, else erasure-coded into shards. Off the async thread.
    async fn code(
        &self,
        account: AccountId,
        id: BlockId,
        wire: Bytes,
        inline_max: u64,
    ) -> Result<(u32, Coded), BlockError> {
        let pipeline = self.pipeline(self.config().profile);
        let coded = tokio::task::spawn_blocking(move || {
            // Never trust the client's id: it is checked against the bytes before anything else.
            let mut block = EncodedBlock::from_bytes(&wire)?;
            block.verify(&id)?;
            // A client that sent its block uncompressed (a small device, say) still gets it
            // stored compressed when that helps; a probe turns incompressible data away cheaply.
            block = block.into_compressed(DEFAULT_ZSTD_LEVEL);
            let coded = if u64::from(block.plain_len) <= inline_max {
                Coded::Whole(pipeline.seal_trusted(account, &id, &block))
            } else {
                Coded::Shards(pipeline.encode_trusted(account, &id, &block))
            };
            Ok::<_, cairn_proto::ProtoError>((block.plain_len, coded))
        })
        .await
        .map_err(|e| BlockError::Refused(format!("coding task failed: {e}")))?;
        coded.map_err(|e| BlockError::Invalid(e.to_string()))
    }

    /// The largest block kept whole in metadata now: the configured threshold once the cluster
    /// version allows it, else 0 (every block in shards).
    fn inline_max(&self) -> u64 {
        let max = self.config().inline_max_bytes;
        if max == 0 {
            return 0;
        }
        match self.meta().local(&Query::ClusterVersion) {
            Ok(Answer::ClusterVersion(version)) if Feature::InlineBlocks.enabled_at(version) => max,
            _ => 0,
        }
    }

    /// Records a small block kept whole, sealed, in the metadata state: one Raft write and no
    /// shards.
    async fn register_inline(
        &self,
        account: AccountId,
        id: BlockId,
        plain_len: u32,
        sealed: Vec<u8>,
    ) -> Result<BlockStored, BlockError> {
        let register = Command::RegisterInlineBlock {
            account,
            block: id,
            plain_len,
            generation: rand::random(),
            sealed,
        };
        match self.propose(register).await? {
            Response::BlockRegistered { fresh, .. } => {
                self.inline_registered(fresh, plain_len);
                Ok(BlockStored { written: fresh, placement: Vec::new(), damaged: Vec::new() })
            }
            Response::Rejected(why) => Err(BlockError::Invalid(why.to_string())),
            other => {
                Err(BlockError::Refused(format!("unexpected answer to a block registration: {other:?}")))
            }
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
