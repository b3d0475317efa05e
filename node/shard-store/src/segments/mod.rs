//! `SegmentShardStore`: shard bodies written once, into append-only segment files, with their
//! locations indexed in RocksDB.
//!
//! **Why.** The RocksDB layout keeps a shard as a BlobDB value: every shard byte is written to
//! the write-ahead log, again to a blob file, and again by blob garbage collection — 2.51 disk
//! bytes per shard byte, measured by `node/daemon/examples/shard_store_amplification.rs`. Here a
//! shard's bytes are written once, to a segment file, and RocksDB holds only a few dozen bytes
//! per shard saying where they are. Compaction rewrites a record only when its segment is mostly
//! dead, so the steady figure is a little above one disk byte per shard byte.
//!
//! **Layout.** In the store's folder, beside RocksDB's files:
//! - `segments/00000001.seg`, `00000002.seg`, …: a 64-byte header, then records back to back,
//!   each `data | blake3(key ‖ data) | key | len | version | magic` (see `record.rs`). Only the
//!   newest segment is appended to; past `segment_bytes` (256 MiB) a new one starts.
//! - RocksDB column families: `index` (key → stored length, as in the RocksDB layout: listing,
//!   accounting at open and "is it there?" read only it), `locations` (key → segment, offset,
//!   length) and `segment_records` (segment, offset → key), see `index.rs`; `shards` holds the
//!   records an earlier release stored, still served from there.
//!
//! **Writing.** A `put` hashes its shard on the caller's thread, reserves room at the end of the
//! active segment, writes its record there with `pwrite`, and hands the record's index entries
//! to a group commit (`group_commit.rs`): one caller leads, syncs the segment once for every
//! record written meanwhile, writes all their index entries in one synced RocksDB batch and
//! wakes the others. The put returns once its index entry is durable; a record is acknowledged
//! only then.
//!
//! **Crash safety.** The index is the truth: a record whose index entry was never written was
//! never acknowledged, and is dead space, as is a torn tail. At open the newest segment is cut
//! back to the end of its last indexed record (found with one seek in `segment_records`) and
//! appended to from there: what is cut was never acknowledged, and cutting it keeps a node that
//! restarts often from leaving a trail of small segments. Nothing else in a segment is read at
//! open; per-segment live bytes come from the scan of `segment_records` (`recovery.rs`).
//!
//! **Reading.** `get` looks the location up and reads the record with one `pread` into a buffer
//! of its exact length, verifies the footer and checksum, and cuts the buffer to the data. Rot
//! costs the shard it hit — reported `Corrupt`, never returned — and nothing else: no other read
//! and no open parses a record.
//!
//! **Compaction.** Deletes and overwrites leave dead bytes. A sealed segment whose live records
//! fill less than half of it is compacted (`compaction.rs`): its live records are copied into
//! the active segment through the same group commit, each repointed only if the shard is still
//! where compaction found it (a concurrent put or delete wins), then the file is deleted. A read
//! that finds its segment gone looks the shard up again, once.
//!
//! **Upgrade.** A store written by [`crate::RocksShardStore`] opens as is: its shards stay in
//! the `shards` family and are served, listed, counted and deleted from there; a new put of such
//! a shard moves it to a segment. Opening adds column families, so an older release cannot open
//! the store again.

mod appender;
mod background;
mod change;
mod commit;
mod compaction;
mod group_commit;
mod index;
mod inner;
mod record;
mod recovery;
mod segment;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use compaction::CompactionReport;
pub use record::FOOTER_LEN as RECORD_OVERHEAD;
pub(crate) use recovery::SEGMENTS_DIR;

use self::change::Change;
use self::index::{Location, location};
use self::inner::{ALL_CFS, Inner};
use crate::rocks::{cf, io};
use crate::{
    ShardEntry, ShardKey, ShardStore, ShardStoreConfig, ShardStoreError, StoreUsage, disk_space, rocks,
};

/// The segment shard store. Dropping it stops its background compaction.
pub struct SegmentShardStore {
    inner: Arc<Inner>,
    background: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for SegmentShardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentShardStore").field("path", &self.inner.config.path).finish_non_exhaustive()
    }
}

impl SegmentShardStore {
    /// Opens (or creates) the store at `config.path`, counts what it holds, and starts
    /// background compaction unless `config.background_compaction` is off. Opens a store the
    /// RocksDB layout wrote, too.
    pub fn open(config: ShardStoreConfig) -> Result<Self, ShardStoreError> {
        let background = config.background_compaction;
        let inner = Arc::new(Inner::open(config)?);
        let background = if background { Some(compaction::spawn(inner.clone())?) } else { None };
        Ok(Self { inner, background })
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.config.path
    }

    /// Compacts every sealed segment whose live records fill less than half of it.
    pub fn compact(&self) -> Result<CompactionReport, ShardStoreError> {
        self.inner.compact()
    }

    /// Flushes the index's memtables and compacts segments: for measurements and before a
    /// checkpoint.
    pub fn flush_and_compact(&self) -> Result<(), ShardStoreError> {
        for name in ALL_CFS {
            self.inner.db.flush_cf(cf(&self.inner.db, name)?).map_err(io("flush shard store"))?;
        }
        self.compact()?;
        Ok(())
    }

    /// Errors background work met since the store opened: RocksDB's flushes and compactions,
    /// and corrupt records met by segment compaction.
    pub fn background_errors(&self) -> u64 {
        self.inner.background_errors()
    }

    /// Bytes of segment files no live record uses: what compaction can reclaim.
    pub fn dead_bytes(&self) -> u64 {
        self.inner.segments.list().iter().map(|s| s.dead()).sum()
    }

    /// Segment files on disk.
    pub fn segment_count(&self) -> usize {
        self.inner.segments.list().len()
    }
}

impl Drop for SegmentShardStore {
    fn drop(&mut self) {
        if let Some(thread) = self.background.take() {
            self.inner.background.stop();
            if thread.join().is_err() {
                tracing::error!(path = %self.inner.config.path.display(), "segment compaction thread panicked");
            }
        }
    }
}

impl Inner {
    fn background_errors(&self) -> u64 {
        rocks::background_errors(&self.db) + self.compaction_errors.load(Ordering::SeqCst)
    }

    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError> {
        let too_large =
            || ShardStoreError::Full(format!("a shard of {} bytes is larger than any block", shard.len()));
        let key_bytes = key.to_bytes();
        let len = record::record_len(shard.len()).ok_or_else(too_large)?;
        // Hashing a multi-MiB shard takes a while: before any lock.
        let footer = record::footer(&key_bytes, shard).map_err(|_| too_large())?;
        let stored = u64::from(len);
        let _guard = self.locks.lock(key);
        let previous = rocks::stored_len(&self.db, &key_bytes)?;
        let grow = stored.saturating_sub(previous.unwrap_or(0));
        self.accounting.reserve(grow)?;
        let written = self.appender.reserve(&self.segments, len).and_then(|slot| {
            slot.write(&[shard, &footer], &self.segments)?;
            Ok(slot)
        });
        let outcome = written.and_then(|slot| {
            self.commit_one(Change::Put { key: key_bytes, replaces: previous.is_some(), slot })
        });
        match outcome {
            Ok(_) => {
                self.accounting.stored(stored, previous);
                Ok(())
            }
            Err(e) => {
                self.accounting.release(grow);
                Err(e)
            }
        }
    }

    fn commit_one(&self, change: Change) -> Result<bool, ShardStoreError> {
        self.commit(vec![change]).pop().unwrap_or(Ok(false))
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        let key_bytes = key.to_bytes();
        // A second look is needed when a compaction deleted the segment between our reading the
        // location and opening the file, or a put moved a shard of the RocksDB layout into a
        // segment between our two reads.
        for last_try in [false, true] {
            match location(&self.db, &key_bytes)? {
                Some(at) => match self.read(key, at) {
                    Err(ReadError::Gone) if !last_try => continue,
                    Err(ReadError::Gone) => {
                        return Err(ShardStoreError::Corrupt {
                            key: *key,
                            reason: format!("segment {} of the record is missing", at.segment),
                        });
                    }
                    Err(ReadError::Failed(e)) => return Err(e),
                    Ok(data) => return Ok(Some(data)),
                },
                None if self.legacy.load(Ordering::Relaxed) => match rocks::get_record(&self.db, key)? {
                    Some(data) => return Ok(Some(data)),
                    None if !last_try => continue,
                    None => return Ok(None),
                },
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Reads and verifies the record at `at`: one `pread` into a buffer of the record's length,
    /// which becomes the shard once cut to its data.
    fn read(&self, key: &ShardKey, at: Location) -> Result<Vec<u8>, ReadError> {
        let file = self.segments.file(at.segment).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Gone,
            _ => ReadError::Failed(ShardStoreError::Io {
                context: "open segment file",
                message: format!("{}: {e}", self.segments.path(at.segment).display()),
            }),
        })?;
        let corrupt = |reason: String| ReadError::Failed(ShardStoreError::Corrupt { key: *key, reason });
        let mut record = vec![0u8; at.len as usize];
        file.read_exact_at(&mut record, at.offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                corrupt(format!("segment {} ends inside the record at {}", at.segment, at.offset))
            }
            _ => ReadError::Failed(ShardStoreError::Io {
                context: "read shard record",
                message: format!("{}: {e}", self.segments.path(at.segment).display()),
            }),
        })?;
        let data_len = record::verify(key, &record)
            .map_err(|reason| corrupt(format!("segment {} at {}: {reason}", at.segment, at.offset)))?;
        record.truncate(data_len);
        Ok(record)
    }

    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        let key_bytes = key.to_bytes();
        let _guard = self.locks.lock(key);
        let Some(previous) = rocks::stored_len(&self.db, &key_bytes)? else {
            return Ok(false);
        };
        self.commit_one(Change::Delete { key: key_bytes })?;
        self.accounting.deleted(previous);
        Ok(true)
    }
}

/// Why a record could not be read.
enum ReadError {
    /// Its segment is not in the store (any more).
    Gone,
    Failed(ShardStoreError),
}

impl ShardStore for SegmentShardStore {
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError> {
        self.inner.put(key, shard)
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        self.inner.get(key)
    }

    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        self.inner.delete(key)
    }

    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError> {
        rocks::list_index(&self.inner.db, after, limit)
    }

    fn usage(&self) -> Result<StoreUsage, ShardStoreError> {
        let inner = &self.inner;
        Ok(StoreUsage {
            shards: inner.accounting.shards(),
            used_bytes: inner.accounting.used_bytes(),
            capacity_bytes: inner.config.capacity_bytes,
            disk_available_bytes: disk_space::available(&inner.config.path)?,
            background_errors: inner.background_errors(),
        })
    }
}

#[cfg(test)]
mod tests;
