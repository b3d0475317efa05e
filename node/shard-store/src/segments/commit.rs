//! The commit a group-commit leader runs: sync the segments its batch wrote into, then write
//! every change's index entries in one synced RocksDB batch.
//!
//! Only commits write the `locations`, `segment_records` and `index` families, one at a time,
//! so a commit reads a shard's current location and changes it with nothing in between. That is
//! how a compaction's move loses to a put or delete that came first: the move applies only if
//! the shard is still where compaction read it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use rocksdb::WriteBatch;

use super::appender::Slot;
use super::change::{Change, Key};
use super::group_commit::Outcome;
use super::index::{LOCATIONS_CF, Location, SEGMENT_RECORDS_CF, location};
use super::inner::{ALL_CFS, Inner};
use super::segment::file_error;
use crate::ShardStoreError;
use crate::rocks::{INDEX_CF, SHARDS_CF, cf, io};

/// What a batch does to each segment's live bytes.
type LiveDeltas = HashMap<u64, i64>;

impl Inner {
    /// Makes `changes` durable, batched with other threads' (see `group_commit.rs`).
    pub(super) fn commit(&self, changes: Vec<Change>) -> Vec<Outcome> {
        self.commits.commit(changes, |batch| self.apply(batch))
    }

    fn apply(&self, changes: Vec<Change>) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = vec![Ok(false); changes.len()];
        // One sync per segment written into, before any index entry points at what it holds.
        let mut synced: HashMap<u64, Result<(), ShardStoreError>> = HashMap::new();
        for (outcome, change) in outcomes.iter_mut().zip(&changes) {
            let Some(slot) = change.slot() else { continue };
            if let Err(e) = synced.entry(slot.segment.id).or_insert_with(|| self.sync(slot)) {
                *outcome = Err(e.clone());
            }
        }
        let (batch, deltas) = match self.index_batch(&changes, &mut outcomes) {
            Ok(built) => built,
            Err(e) => return vec![Err(e); changes.len()],
        };
        if !batch.is_empty()
            && let Err(e) = self.write(batch)
        {
            for outcome in &mut outcomes {
                if outcome.is_ok() {
                    *outcome = Err(e.clone());
                }
            }
            return outcomes;
        }
        for (id, delta) in deltas {
            if let Some(segment) = self.segments.get(id) {
                if delta >= 0 {
                    segment.live.fetch_add(delta.unsigned_abs(), Ordering::SeqCst);
                } else {
                    segment.live.fetch_sub(delta.unsigned_abs(), Ordering::SeqCst);
                    if segment.worth_compacting() {
                        self.wake_compaction();
                    }
                }
            }
        }
        // `changes` drops here, after the index write: their slots stop counting as writers.
        outcomes
    }

    /// Syncs the segment `slot` is in. A failed sync poisons the segment: no later sync of it
    /// can vouch for what this one lost, so nothing written there is acknowledged any more and
    /// the appender moves on to a new segment.
    fn sync(&self, slot: &Slot) -> Result<(), ShardStoreError> {
        if slot.segment.poisoned.load(Ordering::SeqCst) {
            return Err(ShardStoreError::Io {
                context: "sync segment file",
                message: format!("an earlier sync of segment {} failed", slot.segment.id),
            });
        }
        slot.file.sync_data().map_err(|e| {
            slot.segment.poisoned.store(true, Ordering::SeqCst);
            tracing::warn!(segment = slot.segment.id, error = %e, "segment sync failed; starting a new segment");
            file_error("sync segment file", &self.segments.path(slot.segment.id))(e)
        })
    }

    /// The index entries of the changes not failed yet, and what they do to live bytes.
    fn index_batch(
        &self,
        changes: &[Change],
        outcomes: &mut [Outcome],
    ) -> Result<(WriteBatch, LiveDeltas), ShardStoreError> {
        let (locations, records) = (cf(&self.db, LOCATIONS_CF)?, cf(&self.db, SEGMENT_RECORDS_CF)?);
        let (index, shards) = (cf(&self.db, INDEX_CF)?, cf(&self.db, SHARDS_CF)?);
        let mut batch = WriteBatch::default();
        let mut deltas = LiveDeltas::new();
        // Where this batch has put each key so far: a later change of it must see that.
        let mut now: HashMap<Key, Option<Location>> = HashMap::new();
        for (outcome, change) in outcomes.iter_mut().zip(changes) {
            if outcome.is_err() {
                continue;
            }
            let key = change.key();
            let current = match now.get(key) {
                Some(current) => *current,
                None => match location(&self.db, key) {
                    Ok(current) => current,
                    Err(e) => {
                        *outcome = Err(e);
                        continue;
                    }
                },
            };
            let mut unlink = |batch: &mut WriteBatch, old: Location| {
                batch.delete_cf(records, old.place());
                *deltas.entry(old.segment).or_default() -= i64::from(old.len);
            };
            let new = match change {
                Change::Put { replaces, slot, .. } => {
                    match current {
                        Some(old) => unlink(&mut batch, old),
                        // The shard it replaces was stored by the RocksDB layout.
                        None if *replaces => batch.delete_cf(shards, key),
                        None => {}
                    }
                    batch.put_cf(index, key, slot.at.len.to_le_bytes());
                    Some(slot.at)
                }
                Change::Delete { .. } => {
                    match current {
                        Some(old) => {
                            unlink(&mut batch, old);
                            batch.delete_cf(locations, key);
                        }
                        None => batch.delete_cf(shards, key),
                    }
                    batch.delete_cf(index, key);
                    None
                }
                Change::Relocate { from, slot, .. } => {
                    if current != Some(*from) {
                        // Put or deleted since compaction read it: the copy is dead space.
                        continue;
                    }
                    unlink(&mut batch, *from);
                    Some(slot.at)
                }
            };
            if let Some(at) = new {
                batch.put_cf(locations, key, at.encode());
                batch.put_cf(records, at.place(), at.record_entry(key));
                *deltas.entry(at.segment).or_default() += i64::from(at.len);
            }
            now.insert(*key, new);
            *outcome = Ok(true);
        }
        Ok((batch, deltas))
    }

    /// Writes `batch` durably. After a failed write, nothing more is written until a flush has
    /// succeeded: the flush retires the WAL that may end in a torn record (as the RocksDB
    /// layout does, see `rocks/mod.rs`).
    fn write(&self, batch: WriteBatch) -> Result<(), ShardStoreError> {
        if self.write_failed.load(Ordering::SeqCst) {
            for name in ALL_CFS {
                self.db.flush_cf(cf(&self.db, name)?).map_err(io("retire the WAL after a failed write"))?;
            }
            self.write_failed.store(false, Ordering::SeqCst);
            tracing::info!(path = %self.config.path.display(), "shard store writes again after a failed write");
        }
        self.db.write_opt(batch, &self.sync_write).map_err(|e| {
            self.write_failed.store(true, Ordering::SeqCst);
            io("write shard index")(e)
        })
    }
}
