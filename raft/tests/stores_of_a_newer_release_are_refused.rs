//! A node's Raft log and state machine record the format they hold, and a release refuses to
//! open stores a newer release wrote (a binary rolled back past a format change), saying so,
//! rather than misreading them. Snapshots being installed and backups being restored are opened
//! the same way as the live state machine. Stores of a release before stamps existed open as
//! format 1 and are stamped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::model::{Space, txn_encode};
use cairn_raft::storage::format::{self, KEY, LOG_FORMAT, STATE_FORMAT};
use cairn_raft::storage::{RocksLogStore, RocksStateMachine};

fn raw(dir: &std::path::Path, cfs: &[&str]) -> rocksdb::DB {
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    rocksdb::DB::open_cf(&options, dir, cfs).unwrap()
}

#[test]
fn a_state_machine_written_by_a_newer_release_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let names: Vec<&str> = Space::ALL.iter().map(|s| s.name()).collect();
    // Written before stamps existed: opens, and is stamped with today's format.
    drop(raw(&base.path().join("sm-0"), &names));
    drop(RocksStateMachine::open(base.path()).unwrap());
    {
        let db = raw(&base.path().join("sm-0"), &names);
        let meta = db.cf_handle(Space::Meta.name()).unwrap();
        assert_eq!(format::stamped(&db, meta, "state").unwrap(), STATE_FORMAT);
        db.put_cf(meta, KEY, txn_encode(&(STATE_FORMAT + 1))).unwrap();
    }
    let refused = RocksStateMachine::open(base.path()).unwrap_err().to_string();
    assert!(refused.contains("written by a newer cairn release"), "{refused}");
}

#[test]
fn a_log_written_by_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(raw(dir.path(), &["logs", "store"]));
    drop(RocksLogStore::open(dir.path()).unwrap());
    {
        let db = raw(dir.path(), &["logs", "store"]);
        let store = db.cf_handle("store").unwrap();
        assert_eq!(format::stamped(&db, store, "log").unwrap(), LOG_FORMAT);
        db.put_cf(store, KEY, txn_encode(&(LOG_FORMAT + 1))).unwrap();
    }
    let refused = RocksLogStore::open(dir.path()).unwrap_err().to_string();
    assert!(refused.contains("written by a newer cairn release"), "{refused}");
}
