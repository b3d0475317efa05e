//! Reading a block: fetch any k of its shards in parallel — this node's own first, nodes
//! marked down last — ask one more node whenever none answered within the hedge delay, skip
//! any shard that is missing, corrupt or unreachable, then decode, open, decompress and check
//! the id. Missing and corrupt shards found on the way are reported for repair. With fewer
//! than k good shards the read fails; it never returns bytes that do not match the id.

use bytes::Bytes;
use cairn_proto::{AccountId, BlockId};
use cairn_raft::model::blocks::{BlockRecord, is_inline};
use cairn_raft::model::{Answer, Command, Query, Response};
use tokio::task::JoinSet;

use super::BlockService;
use super::messages::BlockError;
use super::view::ClusterView;
use cairn_block_codec::EcProfile;
use cairn_shard_store::ShardKey;

/// At most this many k-subsets are tried when a block's shards do not rebuild it.
const MAX_SUBSETS: usize = 32;

/// Shards fetched for one block, by index.
pub(crate) struct Fetched {
    /// (index, framed shard bytes), at least the number asked for.
    pub shards: Vec<(usize, Bytes)>,
    /// Whether any shard had to be skipped or a slow node hedged.
    pub degraded: bool,
}

impl BlockService {
    /// Reads block `id` of `account` and returns its verified plaintext.
    ///
    /// The block's record (where its shards are) comes from this node's state as it is: the
    /// caller has already read linearizably that the block belongs to what it serves, and the
    /// bytes are checked against the id, so an old record can cost a failed fetch but never a
    /// wrong answer. Only when the block is not there yet or its shards cannot be read is the
    /// record read linearizably, and the read tried again if the record had moved on.
    pub async fn get(&self, account: AccountId, id: BlockId) -> Result<Vec<u8>, BlockError> {
        let local = self.record(account, &id, false).await?;
        let failed = match &local {
            Some(record) => match self.get_from(account, id, record).await {
                Ok(plain) => return Ok(plain),
                Err(e) => Some(e),
            },
            None => None,
        };
        let record = self.record(account, &id, true).await?.ok_or(BlockError::NotFound(id))?;
        match failed {
            // Nothing moved: the failure stands.
            Some(e) if local.as_ref() == Some(&record) => Err(e),
            _ => self.get_from(account, id, &record).await,
        }
    }

    /// Reads block `id` of `account` from where `record` says it is: the shards it places, or
    /// the metadata for a block kept whole.
    async fn get_from(
        &self,
        account: AccountId,
        id: BlockId,
        record: &BlockRecord,
    ) -> Result<Vec<u8>, BlockError> {
        if is_inline(record) {
            return self.get_inline(account, id);
        }
        let record = record.clone();
        let profile = profile_of(&record)?;
        let _memory = self.reserve(u64::from(record.plain_len) * 3).await?;
        let view = ClusterView::load(self.meta());
        let k = profile.data_shards();
        let fetched = self.fetch(&view, account, &id, &record, k, &[]).await?;
        let mut degraded = fetched.degraded;
        let pipeline = self.pipeline(profile);
        let shards = fetched.shards;
        let first = shards.clone();
        let decoded = tokio::task::spawn_blocking(move || {
            pipeline.decode(account, &id, first.iter().map(|(_, s)| s.as_ref()))
        })
        .await
        .map_err(|e| BlockError::Refused(format!("decoding task failed: {e}")))?;
        let plain = match decoded {
            Ok(plain) => plain,
            Err(first_error) => {
                // Every shard passed its checksum, yet together they do not authenticate: one
                // of them is wrong in a way its checksum cannot see. Fetch the rest and look
                // for k that rebuild the block.
                tracing::warn!(block = %id, error = %first_error, "shards do not rebuild the block; trying others");
                degraded = true;
                let skip: Vec<usize> = shards.iter().map(|(i, _)| *i).collect();
                let n = profile.total_shards();
                let mut all = shards;
                if let Ok(more) = self.fetch(&view, account, &id, &record, n - skip.len(), &skip).await {
                    all.extend(more.shards);
                }
                let pipeline = self.pipeline(profile);
                tokio::task::spawn_blocking(move || any_subset_decodes(&pipeline, account, &id, &all, k))
                    .await
                    .map_err(|e| BlockError::Refused(format!("decoding task failed: {e}")))?
                    .ok_or(BlockError::Damaged(id))?
            }
        };
        let counters = self.counters();
        counters.blocks_read(1);
        counters.add_bytes_read(plain.len() as u64);
        if degraded {
            counters.reads_degraded(1);
        }
        Ok(plain)
    }

    /// Reads a block kept whole in this node's metadata state. Its bytes were applied in the same
    /// entry as its record, so a node that has the record has them.
    fn get_inline(&self, account: AccountId, id: BlockId) -> Result<Vec<u8>, BlockError> {
        let sealed = match self.meta().local(&Query::InlineBlock { account, block: id }) {
            Ok(Answer::InlineBlock(Some(sealed))) => sealed,
            Ok(Answer::InlineBlock(None)) => return Err(BlockError::NotFound(id)),
            Ok(other) => {
                return Err(BlockError::Refused(format!(
                    "unexpected answer to an inline block query: {other:?}"
                )));
            }
            Err(e) => return Err(BlockError::Metadata(e)),
        };
        // A few KiB: opening it here costs less than a trip to the blocking pool.
        let plain = self.pipeline(self.config().profile).open_whole(account, &id, &sealed).map_err(|e| {
            tracing::error!(block = %id, error = %e, "a block kept in metadata does not open");
            BlockError::Damaged(id)
        })?;
        let counters = self.counters();
        counters.blocks_read(1);
        counters.add_bytes_read(plain.len() as u64);
        Ok(plain)
    }

    /// Fetches `want` good shards of a block, skipping the indexes in `skip` and those the
    /// record says are damaged. Missing and corrupt shards are reported for repair.
    pub(crate) async fn fetch(
        &self,
        view: &ClusterView,
        account: AccountId,
        id: &BlockId,
        record: &BlockRecord,
        want: usize,
        skip: &[usize],
    ) -> Result<Fetched, BlockError> {
        let me = self.me();
        let mut order: Vec<usize> = (0..record.placement.len())
            .filter(|i| !skip.contains(i) && !record.damaged.contains(&(*i as u8)))
            .collect();
        // Local first (no network), then nodes that are up, by index (data shards decode by
        // concatenation), then nodes marked down, in case they are back.
        order.sort_by_key(|&i| {
            let node = record.placement[i];
            (node != me, !view.is_up(node), i)
        });
        let mut order = order.into_iter();
        let mut running = JoinSet::new();
        let launch = |running: &mut JoinSet<_>, index: usize| {
            let node = record.placement[index];
            let key = ShardKey { account, block: *id, generation: record.generation, index: index as u8 };
            let (shards, addr) = (self.shards().clone(), view.addr(node));
            running.spawn(async move { (index, shards.get(node, addr, key).await) });
        };
        for index in order.by_ref().take(want) {
            launch(&mut running, index);
        }
        let hedge = self.config().hedge_after();
        let mut got: Vec<(usize, Bytes)> = Vec::with_capacity(want);
        let mut damaged: Vec<u8> = Vec::new();
        let mut degraded = false;
        while got.len() < want {
            let next = tokio::time::timeout(hedge, running.join_next()).await;
            match next {
                Err(_slow) => {
                    if let Some(index) = order.next() {
                        self.counters().reads_hedged(1);
                        degraded = true;
                        launch(&mut running, index);
                    }
                    continue;
                }
                Ok(None) => break,
                Ok(Some(Err(_panicked))) => {}
                Ok(Some(Ok((index, result)))) => match result {
                    Ok(Some(shard)) => {
                        got.push((index, shard));
                        continue;
                    }
                    Ok(None) => damaged.push(index as u8),
                    Err(e) if e.is_corrupt() => damaged.push(index as u8),
                    Err(e) => {
                        tracing::debug!(block = %id, index, error = %e, "shard unreadable; trying another")
                    }
                },
            }
            degraded = true;
            if let Some(index) = order.next() {
                launch(&mut running, index);
            }
        }
        running.abort_all();
        if !damaged.is_empty() {
            self.report_damage(account, *id, record.generation, damaged);
        }
        if got.len() < want {
            return Err(BlockError::Unavailable(format!(
                "block {id}: only {} of the {want} shards needed could be read",
                got.len()
            )));
        }
        Ok(Fetched { shards: got, degraded })
    }

    /// Records, in the background, that shards of a block are missing or corrupt.
    pub(crate) fn report_damage(&self, account: AccountId, block: BlockId, generation: u64, shards: Vec<u8>) {
        self.counters().damage_reported(shards.len() as u64);
        let service = self.clone();
        tokio::spawn(async move {
            tracing::warn!(%block, ?shards, "reporting damaged shards for repair");
            let report = Command::ReportDamage { account, block, generation, shards };
            match service.propose(report).await {
                Ok(Response::DamageRecorded { .. }) => {}
                Ok(other) => tracing::debug!(%block, ?other, "damage report not recorded"),
                Err(e) => tracing::warn!(%block, error = %e, "could not report damaged shards"),
            }
        });
    }
}

/// The profile a block was stored with.
pub(crate) fn profile_of(record: &BlockRecord) -> Result<EcProfile, BlockError> {
    EcProfile::new(usize::from(record.data_shards), usize::from(record.parity_shards))
        .map_err(|e| BlockError::Refused(format!("block record has a bad profile: {e}")))
}

/// Tries k-subsets of `shards` until one rebuilds and authenticates the block.
fn any_subset_decodes(
    pipeline: &cairn_block_codec::BlockPipeline,
    account: AccountId,
    id: &BlockId,
    shards: &[(usize, Bytes)],
    k: usize,
) -> Option<Vec<u8>> {
    let mut tried = 0;
    let mut chosen: Vec<usize> = (0..k).collect();
    if shards.len() < k {
        return None;
    }
    loop {
        let subset = chosen.iter().map(|&c| shards[c].1.as_ref());
        if let Ok(plain) = pipeline.decode(account, id, subset) {
            return Some(plain);
        }
        tried += 1;
        if tried >= MAX_SUBSETS || !next_combination(&mut chosen, shards.len()) {
            return None;
        }
    }
}

/// Advances `c` to the next k-combination of `0..n` in lexicographic order.
fn next_combination(c: &mut [usize], n: usize) -> bool {
    let k = c.len();
    for i in (0..k).rev() {
        if c[i] < n - k + i {
            c[i] += 1;
            for j in i + 1..k {
                c[j] = c[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_enumerated_in_order() {
        let mut c = vec![0, 1];
        let mut all = vec![c.clone()];
        while next_combination(&mut c, 4) {
            all.push(c.clone());
        }
        assert_eq!(all, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    }
}
