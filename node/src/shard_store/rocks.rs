//! `RocksShardStore`: shards in RocksDB, each with a blake3 checksum, every write WAL-synced.
//!
//! Two column families:
//! - `shards`: key → record `version u8 | blake3(key ‖ data) [32] | data`. With blob files on
//!   (the default), values this large live in blob files and compaction moves only keys.
//! - `index`: key → stored length (u32 LE). Listing, accounting at start-up and "is it there?"
//!   read only this small family, never the shard data.
//!
//! Both are written in one atomic, synced batch, so they never disagree after a crash.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Direction, ErrorKind, IteratorMode, Options, WriteBatch,
    WriteOptions,
};

use super::{ShardEntry, ShardKey, ShardStore, ShardStoreError, StoreUsage, disk_space};

const SHARDS_CF: &str = "shards";
const INDEX_CF: &str = "index";
const RECORD_VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 32;
/// Bytes a record adds to the shard: version and checksum.
pub const RECORD_OVERHEAD: usize = 1 + CHECKSUM_LEN;
/// Stripes of the per-key lock that makes read-modify-write of the accounting safe.
const LOCK_STRIPES: usize = 64;

/// How to open a shard store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardStoreConfig {
    /// Directory of the RocksDB database.
    pub path: PathBuf,
    /// Most bytes of shard records to hold; `None` for as much as the disk allows.
    pub capacity_bytes: Option<u64>,
    /// Free disk space to leave untouched, so RocksDB can still flush and compact when the
    /// store has refused new shards.
    pub reserve_disk_bytes: u64,
    /// Keep shard values in RocksDB blob files (BlobDB) instead of SST files.
    pub blob_files: bool,
}

impl ShardStoreConfig {
    /// Defaults for a store at `path`: no capacity limit, 1 GiB disk reserve, blob files on.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), capacity_bytes: None, reserve_disk_bytes: 1 << 30, blob_files: true }
    }
}

/// The RocksDB shard store.
pub struct RocksShardStore {
    db: DB,
    config: ShardStoreConfig,
    used_bytes: AtomicU64,
    shards: AtomicU64,
    locks: Vec<Mutex<()>>,
    sync_write: WriteOptions,
}

impl std::fmt::Debug for RocksShardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksShardStore").field("path", &self.config.path).finish_non_exhaustive()
    }
}

fn io(context: &'static str) -> impl FnOnce(rocksdb::Error) -> ShardStoreError {
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

impl RocksShardStore {
    /// Opens (or creates) the store and counts what it holds.
    pub fn open(config: ShardStoreConfig) -> Result<Self, ShardStoreError> {
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
        ];
        let db = DB::open_cf_descriptors(&db_opts, &config.path, cfs).map_err(io("open shard store"))?;

        let mut sync_write = WriteOptions::default();
        sync_write.set_sync(true);
        let store = Self {
            db,
            config,
            used_bytes: AtomicU64::new(0),
            shards: AtomicU64::new(0),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            sync_write,
        };
        store.recount()?;
        Ok(store)
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, ShardStoreError> {
        self.db.cf_handle(name).ok_or_else(|| ShardStoreError::Io {
            context: "open column family",
            message: format!("column family {name} is missing"),
        })
    }

    /// Sums the index at start-up: the only full scan, and of the small family only.
    fn recount(&self) -> Result<(), ShardStoreError> {
        let (mut shards, mut bytes) = (0u64, 0u64);
        for item in self.db.iterator_cf(self.cf(INDEX_CF)?, IteratorMode::Start) {
            let (_, value) = item.map_err(io("scan shard index"))?;
            shards += 1;
            bytes += decode_len(&value)?;
        }
        self.shards.store(shards, Ordering::Relaxed);
        self.used_bytes.store(bytes, Ordering::Relaxed);
        Ok(())
    }

    fn stored_len(&self, key: &[u8]) -> Result<Option<u64>, ShardStoreError> {
        match self.db.get_pinned_cf(self.cf(INDEX_CF)?, key).map_err(io("read shard index"))? {
            Some(v) => Ok(Some(decode_len(&v)?)),
            None => Ok(None),
        }
    }

    fn lock(&self, key: &ShardKey) -> parking_lot::MutexGuard<'_, ()> {
        let stripe = key.block.as_bytes()[0] as usize ^ key.index as usize;
        self.locks[stripe % LOCK_STRIPES].lock()
    }

    /// Takes `grow` bytes from the capacity and the disk, or refuses.
    fn reserve(&self, grow: u64) -> Result<(), ShardStoreError> {
        let used = self.used_bytes.fetch_add(grow, Ordering::SeqCst) + grow;
        if let Some(capacity) = self.config.capacity_bytes
            && used > capacity
        {
            self.used_bytes.fetch_sub(grow, Ordering::SeqCst);
            return Err(ShardStoreError::Full(format!(
                "{grow} more bytes would exceed the configured capacity of {capacity} bytes ({} in use)",
                used - grow
            )));
        }
        let available = match disk_space::available(&self.config.path) {
            Ok(available) => available,
            Err(e) => {
                self.used_bytes.fetch_sub(grow, Ordering::SeqCst);
                return Err(e);
            }
        };
        if available < grow.saturating_add(self.config.reserve_disk_bytes) {
            self.used_bytes.fetch_sub(grow, Ordering::SeqCst);
            return Err(ShardStoreError::Full(format!(
                "{available} bytes free on disk, {grow} needed plus a reserve of {}",
                self.config.reserve_disk_bytes
            )));
        }
        Ok(())
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

fn checksum(key: &[u8], data: &[u8]) -> blake3::Hash {
    blake3::Hasher::new().update(key).update(data).finalize()
}

fn decode_len(value: &[u8]) -> Result<u64, ShardStoreError> {
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
        let _guard = self.lock(key);
        let previous = self.stored_len(&key_bytes)?;
        let grow = stored.saturating_sub(previous.unwrap_or(0));
        self.reserve(grow)?;

        let mut record = Vec::with_capacity(stored as usize);
        record.push(RECORD_VERSION);
        record.extend_from_slice(checksum(&key_bytes, shard).as_bytes());
        record.extend_from_slice(shard);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(SHARDS_CF)?, key_bytes, &record);
        batch.put_cf(self.cf(INDEX_CF)?, key_bytes, stored_u32.to_le_bytes());
        if let Err(e) = self.db.write_opt(batch, &self.sync_write) {
            self.used_bytes.fetch_sub(grow, Ordering::SeqCst);
            return Err(io("write shard")(e));
        }
        if let Some(previous) = previous {
            self.used_bytes.fetch_sub(previous.saturating_sub(stored), Ordering::SeqCst);
        } else {
            self.shards.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        let key_bytes = key.to_bytes();
        let record = match self.db.get_pinned_cf(self.cf(SHARDS_CF)?, key_bytes) {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            // RocksDB's own block and blob checksums catch rot before ours does.
            Err(e) if e.kind() == ErrorKind::Corruption => {
                return Err(ShardStoreError::Corrupt { key: *key, reason: e.into_string() });
            }
            Err(e) => return Err(io("read shard")(e)),
        };
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
        let actual = checksum(&key_bytes, data);
        if actual.as_bytes() != stored_sum {
            return Err(corrupt(format!(
                "checksum {} does not match stored {}",
                actual.to_hex(),
                hex::encode(stored_sum)
            )));
        }
        Ok(Some(data.to_vec()))
    }

    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        let key_bytes = key.to_bytes();
        let _guard = self.lock(key);
        let Some(previous) = self.stored_len(&key_bytes)? else {
            return Ok(false);
        };
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(SHARDS_CF)?, key_bytes);
        batch.delete_cf(self.cf(INDEX_CF)?, key_bytes);
        self.db.write_opt(batch, &self.sync_write).map_err(io("delete shard"))?;
        self.used_bytes.fetch_sub(previous, Ordering::SeqCst);
        self.shards.fetch_sub(1, Ordering::SeqCst);
        Ok(true)
    }

    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError> {
        let start = after.map(ShardKey::to_bytes);
        let mode = match &start {
            Some(k) => IteratorMode::From(k, Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut out = Vec::with_capacity(limit.min(4096));
        for item in self.db.iterator_cf(self.cf(INDEX_CF)?, mode) {
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

    fn usage(&self) -> Result<StoreUsage, ShardStoreError> {
        Ok(StoreUsage {
            shards: self.shards.load(Ordering::SeqCst),
            used_bytes: self.used_bytes.load(Ordering::SeqCst),
            capacity_bytes: self.config.capacity_bytes,
            disk_available_bytes: disk_space::available(&self.config.path)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::sample_data::random;
    use cairn_proto::{AccountId, BlockId};
    use proptest::prelude::*;

    fn key(n: u32, index: u8) -> ShardKey {
        ShardKey { account: AccountId(7), block: BlockId::of(&n.to_le_bytes()), generation: 1, index }
    }

    fn open(dir: &Path) -> RocksShardStore {
        let mut config = ShardStoreConfig::new(dir);
        config.reserve_disk_bytes = 0;
        RocksShardStore::open(config).unwrap()
    }

    #[test]
    fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let data = random(700_000, 1);
        store.put(&key(1, 0), &data).unwrap();
        assert_eq!(store.get(&key(1, 0)).unwrap(), Some(data));
        assert_eq!(store.get(&key(1, 1)).unwrap(), None);
        assert!(store.delete(&key(1, 0)).unwrap());
        assert!(!store.delete(&key(1, 0)).unwrap());
        assert_eq!(store.get(&key(1, 0)).unwrap(), None);
        assert_eq!(store.usage().unwrap().shards, 0);
        assert_eq!(store.usage().unwrap().used_bytes, 0);
    }

    #[test]
    fn shards_and_accounting_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [10usize, 5_000, 300_000];
        {
            let store = open(dir.path());
            for (i, &len) in sizes.iter().enumerate() {
                store.put(&key(i as u32, 0), &random(len, i as u64)).unwrap();
            }
            // Overwriting a shard replaces it and does not count it twice.
            store.put(&key(0, 0), &random(20, 99)).unwrap();
        }
        let store = open(dir.path());
        let usage = store.usage().unwrap();
        assert_eq!(usage.shards, 3);
        assert_eq!(usage.used_bytes, (20 + 5_000 + 300_000 + 3 * RECORD_OVERHEAD) as u64);
        assert_eq!(store.get(&key(0, 0)).unwrap(), Some(random(20, 99)));
        assert_eq!(store.get(&key(2, 0)).unwrap(), Some(random(300_000, 2)));
    }

    #[test]
    fn list_pages_through_every_shard_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut keys: Vec<_> = (0..25).flat_map(|n| (0..3).map(move |i| key(n, i))).collect();
        for k in &keys {
            store.put(k, b"x").unwrap();
        }
        keys.sort_by_key(ShardKey::to_bytes);
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.list(cursor.as_ref(), 10).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.iter().all(|e| e.stored_len == 1 + RECORD_OVERHEAD as u64));
            cursor = page.last().map(|e| e.key);
            seen.extend(page.into_iter().map(|e| e.key));
        }
        assert_eq!(seen, keys);
    }

    #[test]
    fn capacity_is_enforced_and_nothing_half_written_remains() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ShardStoreConfig::new(dir.path());
        config.reserve_disk_bytes = 0;
        config.capacity_bytes = Some(3 * (1000 + RECORD_OVERHEAD as u64));
        let store = RocksShardStore::open(config).unwrap();
        for n in 0..3 {
            store.put(&key(n, 0), &[n as u8; 1000]).unwrap();
        }
        let err = store.put(&key(3, 0), &[3; 1000]).unwrap_err();
        assert!(matches!(err, ShardStoreError::Full(_)) && !err.is_retryable(), "{err}");
        assert!(err.to_string().contains("configured capacity"), "{err}");
        assert_eq!(store.get(&key(3, 0)).unwrap(), None);
        // Rewriting a shard in place needs no new room; freeing one makes room again.
        store.put(&key(0, 0), &[9; 1000]).unwrap();
        store.delete(&key(1, 0)).unwrap();
        store.put(&key(3, 0), &[3; 1000]).unwrap();
        assert_eq!(store.usage().unwrap().shards, 3);
    }

    #[test]
    fn a_full_disk_refuses_shards() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ShardStoreConfig::new(dir.path());
        // A reserve larger than any disk: the store must behave as on a full disk.
        config.reserve_disk_bytes = u64::MAX / 2;
        let store = RocksShardStore::open(config).unwrap();
        let err = store.put(&key(1, 0), b"data").unwrap_err();
        assert!(err.to_string().contains("free on disk"), "{err}");
        assert_eq!(store.usage().unwrap().used_bytes, 0);
    }

    #[test]
    fn rocksdb_blob_files_hold_large_shards() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        for n in 0..8 {
            store.put(&key(n, 0), &random(512 << 10, n.into())).unwrap();
        }
        store.db.flush_cf(store.cf(SHARDS_CF).unwrap()).unwrap();
        let blobs = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "blob"))
            .count();
        assert!(blobs > 0, "no blob files after flush");
        assert_eq!(store.get(&key(3, 0)).unwrap(), Some(random(512 << 10, 3)));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        /// Bit rot anywhere in a stored record (version, checksum or data) is reported as
        /// `Corrupt`, never returned as data.
        #[test]
        fn a_flipped_bit_anywhere_is_detected(len in 0usize..20_000, position in any::<prop::sample::Index>(), bit in 0u8..8) {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path());
            let k = key(1, 2);
            store.put(&k, &random(len, len as u64)).unwrap();
            let mut record = store.raw_record(&k);
            let at = position.index(record.len());
            record[at] ^= 1 << bit;
            store.put_raw_record(&k, &record);
            let result = store.get(&k);
            prop_assert!(matches!(result, Err(ShardStoreError::Corrupt { .. })), "flip at {} gave {:?}", at, result.map(|d| d.map(|d| d.len())));
        }
    }

    #[test]
    fn a_shard_copied_under_another_key_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        store.put(&key(1, 0), b"shard zero").unwrap();
        let record = store.raw_record(&key(1, 0));
        store.put_raw_record(&key(1, 1), &record);
        assert!(matches!(store.get(&key(1, 1)), Err(ShardStoreError::Corrupt { .. })));
    }
}
