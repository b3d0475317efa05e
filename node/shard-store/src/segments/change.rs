//! [`Change`]: one change to the store (a put, a delete, a compaction's move) on its way to
//! being made durable by a commit (`commit.rs`).

use super::appender::Slot;
use super::index::Location;
use crate::ShardKey;

/// A shard's key, as the index stores it.
pub(super) type Key = [u8; ShardKey::LEN];

/// One change to the store, made durable by a commit.
pub(crate) enum Change {
    /// A new record of `key`, written into `slot`, replacing any earlier one (`replaces` says
    /// the index held one: if it is not in a segment it is in the `shards` family).
    Put { key: Key, replaces: bool, slot: Slot },
    /// `key` is gone.
    Delete { key: Key },
    /// Compaction copied the record of `key` at `from` into `slot`: point there, if `key` is
    /// still at `from`.
    Relocate { key: Key, from: Location, slot: Slot },
}

impl Change {
    pub(super) fn key(&self) -> &Key {
        match self {
            Self::Put { key, .. } | Self::Delete { key } | Self::Relocate { key, .. } => key,
        }
    }

    pub(super) fn slot(&self) -> Option<&Slot> {
        match self {
            Self::Put { slot, .. } | Self::Relocate { slot, .. } => Some(slot),
            Self::Delete { .. } => None,
        }
    }
}
