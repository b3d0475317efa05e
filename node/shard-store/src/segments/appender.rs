//! `Appender`: hands out room at the end of the active segment, and starts a new segment when
//! the active one is full.
//!
//! Reserving is all that happens under its lock: each caller then writes its own record into
//! its own range with `pwrite`, in parallel with the others and without copying the shard into
//! a shared buffer. A range whose write fails or is never committed is dead space, like any
//! unacknowledged record.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::index::Location;
use super::segment::{HEADER_LEN, Segment, Segments, file_error};
use crate::ShardStoreError;

/// The segment being appended to, and where its next record goes.
struct Active {
    segment: Arc<Segment>,
    file: Arc<File>,
    end: u64,
}

/// Appends records to the active segment.
pub(crate) struct Appender {
    active: Mutex<Active>,
    segment_bytes: u64,
}

/// Room for one record in a segment. Holding it counts as a writer of the segment, which keeps
/// compaction away until the record's commit has finished and this is dropped.
pub(crate) struct Slot {
    pub(crate) segment: Arc<Segment>,
    pub(crate) file: Arc<File>,
    pub(crate) at: Location,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.segment.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Slot {
    /// Writes `parts` one after the other into the slot.
    pub(crate) fn write(&self, parts: &[&[u8]], segments: &Segments) -> Result<(), ShardStoreError> {
        let mut offset = self.at.offset;
        for part in parts {
            self.file
                .write_all_at(part, offset)
                .map_err(file_error("write shard record", &segments.path(self.segment.id)))?;
            offset += part.len() as u64;
        }
        Ok(())
    }
}

impl Appender {
    /// Appends after `end` in `segment`, starting a new segment past `segment_bytes`.
    pub(crate) fn new(segment: Arc<Segment>, file: Arc<File>, end: u64, segment_bytes: u64) -> Self {
        segment.size.store(end, Ordering::SeqCst);
        Self { active: Mutex::new(Active { segment, file, end }), segment_bytes }
    }

    /// Room for a record of `len` bytes. A record larger than a segment gets a segment of its
    /// own; a segment whose sync failed is never appended to again.
    pub(crate) fn reserve(&self, segments: &Segments, len: u32) -> Result<Slot, ShardStoreError> {
        let mut active = self.active.lock();
        let full = active.end > HEADER_LEN && active.end + u64::from(len) > self.segment_bytes;
        if full || active.segment.poisoned.load(Ordering::SeqCst) {
            let (segment, file) = segments.create(active.segment.id + 1)?;
            active.segment.sealed.store(true, Ordering::SeqCst);
            *active = Active { segment, file, end: HEADER_LEN };
        }
        let at = Location { segment: active.segment.id, offset: active.end, len };
        active.end += u64::from(len);
        active.segment.size.store(active.end, Ordering::SeqCst);
        active.segment.writers.fetch_add(1, Ordering::SeqCst);
        Ok(Slot { segment: active.segment.clone(), file: active.file.clone(), at })
    }
}
