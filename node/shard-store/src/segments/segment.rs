//! Segment files: their names, their header, and the registry of the ones a store holds.
//!
//! A segment is `segments/<id, 8 digits or more>.seg`: a 64-byte header (magic
//! `cairn-segment\0\0\0`, version u32 LE, id u64 LE, zeros), then records (see `record.rs`)
//! back to back. The header only says what the file is; nothing reads it back to serve a shard,
//! so rot there costs nothing. Only the newest segment is appended to; the others are sealed
//! and change only by being deleted whole once compaction has moved their live records out.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::ShardStoreError;

/// Bytes before a segment's first record.
pub(crate) const HEADER_LEN: u64 = 64;
const MAGIC: &[u8; 16] = b"cairn-segment\0\0\0";
const VERSION: u32 = 1;
/// Read handles kept open at most; past it, handles of sealed segments are closed (a reader
/// holding one keeps it until its read is done) and reopened when next read.
const MAX_OPEN_FILES: usize = 256;

/// One segment file's state, shared by the writer, readers and compaction.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    /// Bytes of the file given out so far: header and every record reserved in it.
    pub(crate) size: AtomicU64,
    /// Bytes of the records the index points at.
    pub(crate) live: AtomicU64,
    /// No more records will be appended.
    pub(crate) sealed: AtomicBool,
    /// Records reserved here whose commit has not finished. Compaction leaves a segment alone
    /// until this is zero: a record committed after compaction listed the segment's live
    /// records would be lost with the file.
    pub(crate) writers: AtomicU64,
    /// A sync of the file failed: what it held in the page cache may never reach the disk, and a
    /// later successful sync would not say so. No record written here is acknowledged after it.
    pub(crate) poisoned: AtomicBool,
}

/// A sealed segment is compacted when its live records fill less than this share of it (in
/// percent): copying a segment's live bytes then reclaims at least as many dead ones, so
/// compaction writes at most one byte per byte reclaimed.
const LIVE_PERCENT: u64 = 50;

impl Segment {
    /// True when the segment is sealed and mostly dead (or wholly: an empty one is deleted at once).
    pub(super) fn worth_compacting(&self) -> bool {
        if !self.sealed.load(Ordering::SeqCst) {
            return false;
        }
        let payload = self.size.load(Ordering::SeqCst).saturating_sub(HEADER_LEN);
        let live = self.live.load(Ordering::SeqCst);
        live == 0 || live.saturating_mul(100) < payload.saturating_mul(LIVE_PERCENT)
    }

    fn new(id: u64, size: u64, live: u64, sealed: bool) -> Self {
        Self {
            id,
            size: AtomicU64::new(size),
            live: AtomicU64::new(live),
            sealed: AtomicBool::new(sealed),
            writers: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Bytes of the file no live record uses (records deleted, overwritten, moved away, or never
    /// acknowledged).
    pub(crate) fn dead(&self) -> u64 {
        self.size.load(Ordering::SeqCst).saturating_sub(HEADER_LEN + self.live.load(Ordering::SeqCst))
    }
}

/// The file name of segment `id`.
pub(crate) fn file_name(id: u64) -> String {
    format!("{id:08}.seg")
}

/// The id of a segment file's name, or `None` if it is not one.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The header of segment `id`.
pub(crate) fn header(id: u64) -> [u8; HEADER_LEN as usize] {
    let mut out = [0u8; HEADER_LEN as usize];
    out[..16].copy_from_slice(MAGIC);
    out[16..20].copy_from_slice(&VERSION.to_le_bytes());
    out[20..28].copy_from_slice(&id.to_le_bytes());
    out
}

/// Maps a file-system error met while trying to `context`: a full disk means "place the shard
/// elsewhere", anything else may pass.
pub(crate) fn file_error(context: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ShardStoreError {
    move |e| match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            ShardStoreError::Full(format!("disk full while trying to {context} ({}): {e}", path.display()))
        }
        _ => ShardStoreError::Io { context, message: format!("{}: {e}", path.display()) },
    }
}

/// Every segment of a store, and open handles to their files.
pub(crate) struct Segments {
    dir: PathBuf,
    all: Mutex<BTreeMap<u64, Arc<Segment>>>,
    files: Mutex<HashMap<u64, Arc<File>>>,
}

impl Segments {
    /// A registry of the segments in `dir`, empty until [`Segments::insert`].
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir, all: Mutex::new(BTreeMap::new()), files: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path(&self, id: u64) -> PathBuf {
        self.dir.join(file_name(id))
    }

    /// Registers a segment found at open.
    pub(crate) fn insert(&self, id: u64, size: u64, live: u64) -> Arc<Segment> {
        let segment = Arc::new(Segment::new(id, size, live, true));
        self.all.lock().insert(id, segment.clone());
        segment
    }

    pub(crate) fn get(&self, id: u64) -> Option<Arc<Segment>> {
        self.all.lock().get(&id).cloned()
    }

    /// Every segment, oldest first.
    pub(crate) fn list(&self) -> Vec<Arc<Segment>> {
        self.all.lock().values().cloned().collect()
    }

    /// Creates segment `id`, durably: its header synced and its name in the synced folder, so no
    /// index entry can ever point into a file a crash forgets.
    pub(crate) fn create(&self, id: u64) -> Result<(Arc<Segment>, Arc<File>), ShardStoreError> {
        let path = self.path(id);
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(file_error("create segment file", &path))?;
        let made = file
            .write_all_at(&header(id), 0)
            .map_err(file_error("write segment header", &path))
            .and_then(|()| file.sync_all().map_err(file_error("sync new segment file", &path)))
            .and_then(|()| sync_dir(&self.dir));
        if let Err(e) = made {
            // Out of the way, so the next try (once the disk has room) can create it again.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let segment = Arc::new(Segment::new(id, HEADER_LEN, 0, false));
        let file = Arc::new(file);
        self.all.lock().insert(id, segment.clone());
        self.files.lock().insert(id, file.clone());
        Ok((segment, file))
    }

    /// Opens segment `id` for appending (the newest segment at open), unsealing it.
    pub(crate) fn reopen_for_append(&self, id: u64) -> Result<(Arc<Segment>, Arc<File>), ShardStoreError> {
        let path = self.path(id);
        let segment = self.get(id).ok_or_else(|| ShardStoreError::Io {
            context: "reopen segment",
            message: format!("segment {id} is not registered"),
        })?;
        let file = Arc::new(
            File::options()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(file_error("open segment file", &path))?,
        );
        segment.sealed.store(false, Ordering::SeqCst);
        self.files.lock().insert(id, file.clone());
        Ok((segment, file))
    }

    /// A handle to read segment `id`; `NotFound` if the segment is gone (compacted away).
    pub(crate) fn file(&self, id: u64) -> io::Result<Arc<File>> {
        if let Some(file) = self.files.lock().get(&id) {
            return Ok(file.clone());
        }
        if self.get(id).is_none() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("segment {id} is not in the store")));
        }
        let file = Arc::new(File::open(self.path(id))?);
        let mut files = self.files.lock();
        if files.len() >= MAX_OPEN_FILES {
            let all = self.all.lock();
            let sealed: Vec<u64> = files
                .keys()
                .copied()
                .filter(|id| all.get(id).is_none_or(|s| s.sealed.load(Ordering::SeqCst)))
                .take(MAX_OPEN_FILES / 4)
                .collect();
            for id in sealed {
                files.remove(&id);
            }
        }
        Ok(files.entry(id).or_insert(file).clone())
    }

    /// Forgets segment `id` and deletes its file. Readers that hold its handle finish their
    /// reads; later ones find it gone and look the shard up again.
    pub(crate) fn remove(&self, id: u64) -> Result<(), ShardStoreError> {
        self.all.lock().remove(&id);
        self.files.lock().remove(&id);
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(file_error("delete compacted segment", &path)(e)),
        }
    }
}

/// Syncs a folder, so the files created or deleted in it stay so after a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ShardStoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(file_error("sync segment folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_other_files_are_not_segments() {
        assert_eq!(file_name(1), "00000001.seg");
        assert_eq!(parse_name("00000001.seg"), Some(1));
        assert_eq!(parse_name(&file_name(123_456_789_012)), Some(123_456_789_012));
        for other in ["1.seg", "0000000a.seg", "00000001.seg.tmp", "LOCK", "00000001"] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_header_names_the_segment() {
        let h = header(0x0102);
        assert_eq!(&h[..13], b"cairn-segment");
        assert_eq!(h[20..22], [2, 1]);
        assert!(h[28..].iter().all(|b| *b == 0));
    }
}
