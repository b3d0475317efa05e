//! `RocksShardStore`: shards in RocksDB, each with a blake3 checksum, every write WAL-synced.
//!
//! Two column families:
//! - `shards`: key → record `version u8 | blake3(key ‖ data) [32] | data`. With blob files on
//!   (the default), values this large live in blob files and compaction moves only keys.
//! - `index`: key → stored length (u32 LE). Listing, accounting at start-up and "is it there?"
//!   read only this small family, never the shard data.
//!
//! Both are written in one atomic, synced batch, so they never disagree after a crash.
//!
//! Rot inside RocksDB's own files costs the shards it hit, not the store. By default
//! (`paranoid_checks`) a background compaction that meets a corrupt record — blob garbage
//! collection re-reads old blob files — stops every later write, so the scrubber could not delete
//! the rotten shard nor repair store its rebuilt copy here. Every shard is kept redundantly on
//! other nodes and every read is verified (RocksDB's checksums and ours), so this store turns
//! those checks off for background work: the compaction fails and is retried, reads of the rotten
//! shards say `Corrupt`, the scrubber deletes them (hurrying when the store reports background
//! errors), and once none is left the compaction goes through. What paranoid mode did for failed
//! writes — stop, lest the next write land after a torn WAL record — the store does itself
//! (see `write`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Direction, ErrorKind, IteratorMode, Options, WriteBatch,
    WriteOptions,
};

use super::{ShardEntry, ShardKey, ShardStore, ShardStoreError, StoreUsage, disk_space};
use crate::accounting::Accounting;
pub use crate::config::ShardStoreConfig;
use crate::key_locks::KeyLocks;

pub(crate) const SHARDS_CF: &str = "shards";
pub(crate) const INDEX_CF: &str = "index";
const RECORD_VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 32;
/// Bytes a record adds to the shard: version and checksum.
pub const RECORD_OVERHEAD: usize = 1 + CHECKSUM_LEN;
/// Write-ahead log kept at most, in all: past it the column families holding the oldest log
/// back are flushed, so the log is deleted (see [`open_db`]).
const MAX_TOTAL_WAL_BYTES: u64 = 64 << 20;
/// The memory all memtables of the store's database may hold together.
const MEMTABLE_BYTES: usize = 16 << 20;

/// The RocksDB shard store.
pub struct RocksShardStore {
    db: DB,
    config: ShardStoreConfig,
    accounting: Accounting,
    locks: KeyLocks,
    sync_write: WriteOptions,
    /// Set when a write failed inside RocksDB: its WAL may end in a torn record, after which a
    /// recovery would drop every later write. Cleared by flushing, which starts a fresh WAL.
    write_failed: AtomicBool,
}

impl std::fmt::Debug for RocksShardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksShardStore").field("path", &self.config.path).finish_non_exhaustive()
    }
}

/// Maps a RocksDB error met while trying to `context`.
pub(crate) fn io(context: &'static str) -> impl FnOnce(rocksdb::Error) -> ShardStoreError {
    move |e| {
        let message = e.clone().into_string();
        // RocksDB reports a full disk as an I/O error; callers must treat it as "place elsewhere".
        if message.contains("No space left on device") {
            ShardStoreError::Full(format!("disk full while trying to {context}: {message}"))
        } else {
            ShardStoreError::Io { context, message }
        }
    }
}

/// Opens (or creates) the shard store's database at `config.path` with the `shards` and `index`
/// column families of this layout, plus `extra` families with default options (the segment
/// store's index). Both stores open it the same way, so one can open what the other left.
pub(crate) fn open_db(config: &ShardStoreConfig, extra: &[&str]) -> Result<DB, ShardStoreError> {
    std::fs::create_dir_all(&config.path).map_err(|e| ShardStoreError::Io {
        context: "create shard store directory",
        message: format!("{}: {e}", config.path.display()),
    })?;
    let mut db_opts = Options::default();
    db_opts.create_if_missing(true);
    db_opts.create_missing_column_families(true);
    db_opts.increase_parallelism(2);
    // Shards arrive in multi-MiB writes; sync in the background as they accumulate so the
    // per-put fsync has less to flush.
    db_opts.set_bytes_per_sync(1 << 20);
    // Corruption met by a compaction must not stop the store's writes (see the header).
    db_opts.set_paranoid_checks(false);

    // A WAL is deleted only once every column family with data in it has flushed, and the
    // index's small records would almost never fill a memtable: without a cap, the WAL kept
    // every shard byte a second time until a restart (782 MB beside 756 MB of blob files
    // after a benchmark run), and a restart replayed it all. Past the cap RocksDB flushes
    // the column families that hold the oldest log back.
    db_opts.set_max_total_wal_size(MAX_TOTAL_WAL_BYTES);
    // Memtables are not given back until they flush: uncapped, each column family could keep
    // 64 MiB resident after a busy hour on an idle node. One cap for all of them.
    db_opts.set_db_write_buffer_size(MEMTABLE_BYTES);

    let mut shard_opts = Options::default();
    if config.blob_files {
        shard_opts.set_enable_blob_files(true);
        // Every shard of a real block is far above this; tiny test shards stay inline.
        shard_opts.set_min_blob_size(4096);
        shard_opts.set_blob_file_size(256 << 20);
        shard_opts.set_enable_blob_gc(true);
    }
    let cfs = [
        ColumnFamilyDescriptor::new(SHARDS_CF, shard_opts),
        ColumnFamilyDescriptor::new(INDEX_CF, Options::default()),
    ]
    .into_iter()
    .chain(extra.iter().map(|name| ColumnFamilyDescriptor::new(*name, Options::default())));
    DB::open_cf_descriptors(&db_opts, &config.path, cfs).map_err(io("open shard store"))
}

/// The column family `name` of `db`.
pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily, ShardStoreError> {
    db.cf_handle(name).ok_or_else(|| ShardStoreError::Io {
        context: "open column family",
        message: format!("column family {name} is missing"),
    })
}

/// Shards and bytes in the `index` family: the only full scan at start-up, and of the small
/// family only.
pub(crate) fn count_index(db: &DB) -> Result<(u64, u64), ShardStoreError> {
    let (mut shards, mut bytes) = (0u64, 0u64);
    for item in db.iterator_cf(cf(db, INDEX_CF)?, IteratorMode::Start) {
        let (_, value) = item.map_err(io("scan shard index"))?;
        shards += 1;
        bytes += decode_len(&value)?;
    }
    Ok((shards, bytes))
}

/// The stored length the `index` family holds for `key`, if any.
pub(crate) fn stored_len(db: &DB, key: &[u8]) -> Result<Option<u64>, ShardStoreError> {
    match db.get_pinned_cf(cf(db, INDEX_CF)?, key).map_err(io("read shard index"))? {
        Some(v) => Ok(Some(decode_len(&v)?)),
        None => Ok(None),
    }
}

/// Up to `limit` entries of the `index` family after `after`: [`ShardStore::list`].
pub(crate) fn list_index(
    db: &DB,
    after: Option<&ShardKey>,
    limit: usize,
) -> Result<Vec<ShardEntry>, ShardStoreError> {
    let start = after.map(ShardKey::to_bytes);
    let mode = match &start {
        Some(k) => IteratorMode::From(k, Direction::Forward),
        None => IteratorMode::Start,
    };
    let mut out = Vec::with_capacity(limit.min(4096));
    for item in db.iterator_cf(cf(db, INDEX_CF)?, mode) {
        if out.len() == limit {
            break;
        }
        let (k, v) = item.map_err(io("scan shard index"))?;
        if start.as_ref().is_some_and(|s| s[..] == k[..]) {
            continue;
        }
        let key = ShardKey::from_bytes(&k).ok_or_else(|| ShardStoreError::Io {
            context: "scan shard index",
            message: format!("malformed key of {} bytes", k.len()),
        })?;
        out.push(ShardEntry { key, stored_len: decode_len(&v)? });
    }
    Ok(out)
}

/// Reads the shard `key` from the `shards` family and verifies it; `Ok(None)` if it is not there.
pub(crate) fn get_record(db: &DB, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
    let key_bytes = key.to_bytes();
    let record = match db.get_pinned_cf(cf(db, SHARDS_CF)?, key_bytes) {
        Ok(Some(record)) => record,
        Ok(None) => return Ok(None),
        // RocksDB's own block and blob checksums catch rot before ours does.
        Err(e) if e.kind() == ErrorKind::Corruption => {
            return Err(ShardStoreError::Corrupt { key: *key, reason: e.into_string() });
        }
        Err(e) => return Err(io("read shard")(e)),
    };
    verify_record(key, &record).map(|data| Some(data.to_vec()))
}

/// The shard inside a `shards` record, once its version and checksum are verified.
fn verify_record<'a>(key: &ShardKey, record: &'a [u8]) -> Result<&'a [u8], ShardStoreError> {
    let corrupt = |reason: String| ShardStoreError::Corrupt { key: *key, reason };
    let Some((&version, rest)) = record.split_first() else {
        return Err(corrupt("empty record".into()));
    };
    if version != RECORD_VERSION {
        return Err(corrupt(format!("unknown record version {version}")));
    }
    let Some((stored_sum, data)) = rest.split_first_chunk::<CHECKSUM_LEN>() else {
        return Err(corrupt(format!("record of {} bytes has no room for a checksum", record.len())));
    };
    let actual = checksum(&key.to_bytes(), data);
    if actual.as_bytes() != stored_sum {
        return Err(corrupt(format!(
            "checksum {} does not match stored {}",
            actual.to_hex(),
            hex::encode(stored_sum)
        )));
    }
    Ok(data)
}

/// Errors RocksDB's background work (flushes, compactions) has met since `db` opened.
pub(crate) fn background_errors(db: &DB) -> u64 {
    db.property_int_value("rocksdb.background-errors").ok().flatten().unwrap_or(0)
}

impl RocksShardStore {
    /// Opens (or creates) the store and counts what it holds.
    pub fn open(config: ShardStoreConfig) -> Result<Self, ShardStoreError> {
        let db = open_db(&config, &[])?;
        let mut sync_write = WriteOptions::default();
        sync_write.set_sync(true);
        let accounting = Accounting::new(&config);
        let (shards, bytes) = count_index(&db)?;
        accounting.set(shards, bytes);
        Ok(Self {
            db,
            config,
            accounting,
            locks: KeyLocks::new(),
            sync_write,
            write_failed: AtomicBool::new(false),
        })
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, ShardStoreError> {
        cf(&self.db, name)
    }

    /// Flushes memtables and compacts everything: for measurements and before a checkpoint.
    pub fn flush_and_compact(&self) -> Result<(), ShardStoreError> {
        for name in [SHARDS_CF, INDEX_CF] {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf).map_err(io("flush shard store"))?;
            self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Errors RocksDB's background work (flushes, compactions) has met since the store opened.
    pub fn background_errors(&self) -> u64 {
        background_errors(&self.db)
    }

    /// Writes `batch` durably. After a failed write, nothing more is written until a flush has
    /// succeeded: the flush retires the WAL that may end in a torn record.
    fn write(&self, batch: WriteBatch, context: &'static str) -> Result<(), ShardStoreError> {
        if self.write_failed.load(Ordering::SeqCst) {
            for name in [SHARDS_CF, INDEX_CF] {
                self.db.flush_cf(self.cf(name)?).map_err(io("retire the WAL after a failed write"))?;
            }
            self.write_failed.store(false, Ordering::SeqCst);
            tracing::info!(path = %self.config.path.display(), "shard store writes again after a failed write");
        }
        self.db.write_opt(batch, &self.sync_write).map_err(|e| {
            self.write_failed.store(true, Ordering::SeqCst);
            io(context)(e)
        })
    }

    /// Overwrites a stored record without recomputing its checksum: how tests model bit rot.
    #[cfg(test)]
    fn put_raw_record(&self, key: &ShardKey, record: &[u8]) {
        self.db.put_cf(self.cf(SHARDS_CF).unwrap(), key.to_bytes(), record).unwrap();
    }

    #[cfg(test)]
    fn raw_record(&self, key: &ShardKey) -> Vec<u8> {
        self.db.get_cf(self.cf(SHARDS_CF).unwrap(), key.to_bytes()).unwrap().unwrap()
    }
}

/// blake3 of `key ‖ data`: the checksum of every shard record, in both layouts.
pub(crate) fn checksum(key: &[u8], data: &[u8]) -> blake3::Hash {
    blake3::Hasher::new().update(key).update(data).finalize()
}

pub(crate) fn decode_len(value: &[u8]) -> Result<u64, ShardStoreError> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| ShardStoreError::Io {
        context: "read shard index",
        message: format!("index entry of {} bytes, expected 4", value.len()),
    })?;
    Ok(u64::from(u32::from_le_bytes(bytes)))
}

impl ShardStore for RocksShardStore {
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError> {
        let key_bytes = key.to_bytes();
        let stored = (RECORD_OVERHEAD + shard.len()) as u64;
        let stored_u32 = u32::try_from(stored).map_err(|_| {
            ShardStoreError::Full(format!("a shard of {} bytes is larger than any block", shard.len()))
        })?;
        let _guard = self.locks.lock(key);
        let previous = stored_len(&self.db, &key_bytes)?;
        let grow = stored.saturating_sub(previous.unwrap_or(0));
        self.accounting.reserve(grow)?;

        let mut record = Vec::with_capacity(stored as usize);
        record.push(RECORD_VERSION);
        record.extend_from_slice(checksum(&key_bytes, shard).as_bytes());
        record.extend_from_slice(shard);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(SHARDS_CF)?, key_bytes, &record);
        batch.put_cf(self.cf(INDEX_CF)?, key_bytes, stored_u32.to_le_bytes());
        if let Err(e) = self.write(batch, "write shard") {
            self.accounting.release(grow);
            return Err(e);
        }
        self.accounting.stored(stored, previous);
        Ok(())
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        get_record(&self.db, key)
    }

    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        let key_bytes = key.to_bytes();
        let _guard = self.locks.lock(key);
        let Some(previous) = stored_len(&self.db, &key_bytes)? else {
            return Ok(false);
        };
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(SHARDS_CF)?, key_bytes);
        batch.delete_cf(self.cf(INDEX_CF)?, key_bytes);
        self.write(batch, "delete shard")?;
        self.accounting.deleted(previous);
        Ok(true)
    }

    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError> {
        list_index(&self.db, after, limit)
    }

    fn usage(&self) -> Result<StoreUsage, ShardStoreError> {
        Ok(StoreUsage {
            shards: self.accounting.shards(),
            used_bytes: self.accounting.used_bytes(),
            capacity_bytes: self.config.capacity_bytes,
            disk_available_bytes: disk_space::available(&self.config.path)?,
            background_errors: self.background_errors(),
        })
    }
}

#[cfg(test)]
mod tests;
