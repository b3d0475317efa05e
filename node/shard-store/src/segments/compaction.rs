//! Segment compaction: live records of mostly-dead sealed segments moved into the active one,
//! then the old files deleted; and the background thread that runs it.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::change::Change;
use super::index;
use super::inner::Inner;
use super::record;
use super::segment::Segment;
use crate::{ShardKey, ShardStoreError};

/// Moved records committed at once: one sync and one index batch for this many bytes.
const COMMIT_BYTES: u64 = 16 << 20;
/// The background thread looks at the segments this often even when nothing woke it.
const PERIOD: Duration = Duration::from_secs(60);

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Segment files deleted.
    pub segments_removed: usize,
    /// Bytes of live records copied into the active segment.
    pub bytes_copied: u64,
    /// Bytes of files deleted.
    pub bytes_reclaimed: u64,
}

impl Inner {
    /// Compacts every segment worth it (see [`Segment::worth_compacting`]).
    pub(super) fn compact(&self) -> Result<CompactionReport, ShardStoreError> {
        let _one = self.compaction.lock();
        let mut report = CompactionReport::default();
        for segment in self.segments.list() {
            if self.background.stopping() {
                break;
            }
            // A record reserved there may still be committing: it would be lost with the file.
            if !segment.worth_compacting() || segment.writers.load(Ordering::SeqCst) > 0 {
                continue;
            }
            let size = segment.size.load(Ordering::SeqCst);
            if let Some(copied) = self.compact_segment(&segment)? {
                report.segments_removed += 1;
                report.bytes_copied += copied;
                report.bytes_reclaimed += size;
            }
        }
        Ok(report)
    }

    /// Moves the live records of `segment` and deletes it; `None` if it must stay for now
    /// (stopping, or a record could not be read: its shard reads as corrupt until the scrubber
    /// deletes it, and the next compaction goes through).
    fn compact_segment(&self, segment: &Arc<Segment>) -> Result<Option<u64>, ShardStoreError> {
        let records = index::records_in(&self.db, segment.id)?;
        let path = self.segments.path(segment.id);
        let mut copied = 0;
        if !records.is_empty() {
            let file = self.segments.file(segment.id).map_err(|e| ShardStoreError::Io {
                context: "open segment to compact",
                message: format!("{}: {e}", path.display()),
            })?;
            let mut moves = Vec::new();
            let mut pending = 0;
            let mut buffer = Vec::new();
            for (from, key) in records {
                if self.background.stopping() {
                    return Ok(None);
                }
                buffer.resize(from.len as usize, 0);
                if let Err(e) = file.read_exact_at(&mut buffer, from.offset) {
                    self.compaction_errors.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(segment = segment.id, offset = from.offset, error = %e, "cannot read a record to compact");
                    return Ok(None);
                }
                // Rot moves with the record, so reads of it still say corrupt, and the scrubber,
                // hurried by the error count, finds it.
                if let Some(shard) = ShardKey::from_bytes(&key)
                    && let Err(reason) = record::verify(&shard, &buffer)
                {
                    self.compaction_errors.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(segment = segment.id, offset = from.offset, %shard, %reason, "compaction met a corrupt record");
                }
                let slot = self.appender.reserve(&self.segments, from.len)?;
                slot.write(&[&buffer], &self.segments)?;
                moves.push(Change::Relocate { key, from, slot });
                pending += u64::from(from.len);
                if pending >= COMMIT_BYTES {
                    copied += self.commit_moves(std::mem::take(&mut moves))?;
                    pending = 0;
                }
            }
            copied += self.commit_moves(moves)?;
        }
        // Nothing may point into the file any more: puts go to the active segment only, and
        // every move committed or lost to a newer put or delete.
        if !index::records_in(&self.db, segment.id)?.is_empty() {
            return Ok(None);
        }
        self.segments.remove(segment.id)?;
        Ok(Some(copied))
    }

    /// Commits moved records; returns the bytes of the ones that applied.
    fn commit_moves(&self, moves: Vec<Change>) -> Result<u64, ShardStoreError> {
        let lens: Vec<u64> = moves
            .iter()
            .map(|m| match m {
                Change::Relocate { from, .. } => u64::from(from.len),
                _ => 0,
            })
            .collect();
        let mut copied = 0;
        for (outcome, len) in self.commit(moves).into_iter().zip(lens) {
            if outcome? {
                copied += len;
            }
        }
        Ok(copied)
    }

    /// Asks the background thread to look for segments to compact.
    pub(super) fn wake_compaction(&self) {
        self.background.wake();
    }
}

/// Starts the thread that compacts `inner`'s segments when woken, and every [`PERIOD`].
pub(super) fn spawn(inner: Arc<Inner>) -> Result<std::thread::JoinHandle<()>, ShardStoreError> {
    std::thread::Builder::new()
        .name("segment-compaction".into())
        .spawn(move || {
            loop {
                if inner.background.wait(PERIOD) {
                    return;
                }
                match inner.compact() {
                    Ok(report) if report.segments_removed > 0 => {
                        tracing::info!(?report, path = %inner.config.path.display(), "compacted segments");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, path = %inner.config.path.display(), "segment compaction failed"),
                }
            }
        })
        .map_err(|e| ShardStoreError::Io { context: "start segment compaction", message: e.to_string() })
}
