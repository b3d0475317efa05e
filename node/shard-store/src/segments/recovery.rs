//! Opening a segment store: the index counted, the segments found, the newest cut back to its
//! last acknowledged record.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use rocksdb::{IteratorMode, WriteOptions};

use super::appender::Appender;
use super::background::Background;
use super::group_commit::GroupCommit;
use super::index::{self, LOCATIONS_CF, SEGMENT_RECORDS_CF};
use super::inner::Inner;
use super::segment;
use super::segment::{HEADER_LEN, Segments, file_error, parse_name};
use crate::accounting::Accounting;
use crate::key_locks::KeyLocks;
use crate::rocks::{self, SHARDS_CF, cf};
use crate::{ShardStoreConfig, ShardStoreError};

/// The folder of the segment files, inside the store's.
pub(crate) const SEGMENTS_DIR: &str = "segments";

impl Inner {
    pub(super) fn open(config: ShardStoreConfig) -> Result<Self, ShardStoreError> {
        let db = rocks::open_db(&config, &[LOCATIONS_CF, SEGMENT_RECORDS_CF])?;
        let accounting = Accounting::new(&config);
        let (shards, bytes) = rocks::count_index(&db)?;
        accounting.set(shards, bytes);
        let legacy = db.iterator_cf(cf(&db, SHARDS_CF)?, IteratorMode::Start).next().is_some();

        let dir = config.path.join(SEGMENTS_DIR);
        std::fs::create_dir_all(&dir).map_err(file_error("create segment folder", &dir))?;
        let segments = Segments::new(dir);
        // Live bytes and last record's end of each segment, from the index alone.
        let extents = index::segment_extents(&db)?;
        let files = segment_files(&segments)?;
        for (&id, &len) in &files {
            segments.insert(id, len, extents.get(&id).map_or(0, |e| e.0));
        }
        let missing: Vec<u64> = extents.keys().filter(|id| !files.contains_key(id)).copied().collect();
        if !missing.is_empty() {
            tracing::error!(
                ?missing,
                path = %config.path.display(),
                "the index points into segment files that are gone: their shards read as corrupt until the scrubber replaces them"
            );
        }
        let appender = resume(&segments, &files, &extents, config.segment_bytes)?;

        let mut sync_write = WriteOptions::default();
        sync_write.set_sync(true);
        Ok(Self {
            config,
            db,
            accounting,
            locks: KeyLocks::new(),
            segments,
            appender,
            commits: GroupCommit::new(),
            sync_write,
            write_failed: AtomicBool::new(false),
            legacy: AtomicBool::new(legacy),
            compaction: Mutex::new(()),
            compaction_errors: AtomicU64::new(0),
            background: Background::new(),
        })
    }
}

/// The segment files in the folder: id → length.
fn segment_files(segments: &Segments) -> Result<BTreeMap<u64, u64>, ShardStoreError> {
    let dir = segments.dir();
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(file_error("list segment files", dir))? {
        let entry = entry.map_err(file_error("list segment files", dir))?;
        let Some(id) = entry.file_name().to_str().and_then(parse_name) else {
            continue;
        };
        let len = entry.metadata().map_err(file_error("read segment file size", &entry.path()))?.len();
        out.insert(id, len);
    }
    Ok(out)
}

/// The appender, at the end of the newest segment's last indexed record: what lies past it was
/// never acknowledged (a torn tail, or records whose index entries a crash cut off), so it is
/// cut. A new segment is started instead when the newest is full, shorter than its indexed
/// records say (the file system lost some: keep those bytes where the reads that report them
/// corrupt expect them; a file cut short of its header, created just before a crash, is such a
/// one and is deleted by the next compaction, holding nothing), or when there is none. A new segment's id is above every id the index
/// names, so no stale entry can point into it.
fn resume(
    segments: &Segments,
    files: &BTreeMap<u64, u64>,
    extents: &BTreeMap<u64, (u64, u64)>,
    segment_bytes: u64,
) -> Result<Appender, ShardStoreError> {
    let highest_named = extents.keys().next_back().copied().unwrap_or(0);
    if let Some((&id, &len)) = files.last_key_value()
        && id >= highest_named
    {
        let indexed_end = extents.get(&id).map_or(HEADER_LEN, |e| e.1).max(HEADER_LEN);
        if indexed_end < segment_bytes && len >= indexed_end {
            let (segment, file) = segments.reopen_for_append(id)?;
            let path = segments.path(id);
            if len != indexed_end {
                tracing::info!(
                    segment = id,
                    cut = len.saturating_sub(indexed_end),
                    "cutting unacknowledged tail"
                );
                file.set_len(indexed_end).map_err(file_error("cut segment tail", &path))?;
            }
            file.sync_all().map_err(file_error("sync segment file", &path))?;
            return Ok(Appender::new(segment, file, indexed_end, segment_bytes));
        }
    }
    let next = files.keys().next_back().copied().unwrap_or(0).max(highest_named) + 1;
    let (segment, file) = segments.create(next)?;
    segment::sync_dir(segments.dir())?;
    debug_assert!(!segment.sealed.load(Ordering::SeqCst));
    Ok(Appender::new(segment, file, HEADER_LEN, segment_bytes))
}
