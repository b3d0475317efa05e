//! The on-disk format versions of a node's two Raft stores, stamped in each when it is opened.
//!
//! The Raft log and the state machine are read back by the next release after an upgrade, and
//! a store written by a *newer* release (a binary rolled back past a format change) must not be
//! misread. Each store therefore records the format it holds under [`KEY`]; a store without the
//! stamp was written before stamps existed and holds format 1. Opening stamps a store that has
//! none, leaves an older one for a migration to raise, and refuses a newer one with an error
//! that says which release wrote it. A snapshot is a copy of the state machine's database, so
//! it carries the state's stamp with it and is checked the same way when it is installed.

use rocksdb::{ColumnFamily, DB};

use super::db::decode;
use crate::model::txn_encode as encode;

/// The format of the state-machine records this release writes.
pub const STATE_FORMAT: u32 = 1;

/// The format of the Raft log entries (and the log store's own keys) this release writes.
pub const LOG_FORMAT: u32 = 1;

/// Where a store keeps its format version.
pub const KEY: &[u8] = b"format";

/// A store this release cannot read, or whose stamp cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Written by a newer release.
    #[error(
        "the {what} at {path} holds format {found}, newer than the {ours} this release reads: it was \
         written by a newer cairn release; run that release (or a newer one) on this data"
    )]
    TooNew {
        /// Which store.
        what: &'static str,
        /// Its folder.
        path: String,
        /// The format it holds.
        found: u32,
        /// The newest this release reads.
        ours: u32,
    },
    /// RocksDB failed, or the stamp is not a format number.
    #[error("the {what}'s format stamp: {message}")]
    Unreadable {
        /// Which store.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// The format `db` holds in `cf` (1 when it has no stamp).
pub fn stamped(db: &DB, cf: &ColumnFamily, what: &'static str) -> Result<u32, FormatError> {
    let unreadable = |message: String| FormatError::Unreadable { what, message };
    match db.get_cf(cf, KEY).map_err(|e| unreadable(e.into_string()))? {
        Some(bytes) => decode(&bytes).map_err(|e| unreadable(e.to_string())),
        None => Ok(1),
    }
}

/// Checks that this release reads `db` (format at most `ours`), and stamps a store that has no
/// stamp yet with `ours`. An older stamp is left as it is.
pub fn check_and_stamp(db: &DB, cf: &ColumnFamily, ours: u32, what: &'static str) -> Result<(), FormatError> {
    let unreadable = |message: String| FormatError::Unreadable { what, message };
    let found = stamped(db, cf, what)?;
    if found > ours {
        return Err(FormatError::TooNew { what, path: db.path().display().to_string(), found, ours });
    }
    if db.get_cf(cf, KEY).map_err(|e| unreadable(e.into_string()))?.is_none() {
        db.put_cf(cf, KEY, encode(&ours)).map_err(|e| unreadable(e.into_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> DB {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        DB::open_cf(&options, dir, ["store"]).unwrap()
    }

    #[test]
    fn a_store_is_stamped_once_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let cf = db.cf_handle("store").unwrap();
        assert_eq!(stamped(&db, cf, "test store").unwrap(), 1, "no stamp reads as format 1");
        check_and_stamp(&db, cf, 1, "test store").unwrap();
        assert_eq!(db.get_cf(cf, KEY).unwrap(), Some(encode(&1u32)));

        db.put_cf(cf, KEY, encode(&7u32)).unwrap();
        let refused = check_and_stamp(&db, cf, 1, "test store").unwrap_err().to_string();
        assert!(refused.contains("holds format 7, newer than the 1"), "{refused}");
        assert_eq!(stamped(&db, cf, "test store").unwrap(), 7, "a refused store is left as it was");
    }
}
