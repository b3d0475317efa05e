//! openraft's own conformance suite, run against our RocksDB log store and state machine.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::TypeConfig;
use cairn_raft::storage::{RocksLogStore, RocksStateMachine};
use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};

struct Builder;

impl StoreBuilder<TypeConfig, RocksLogStore, RocksStateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, RocksLogStore, RocksStateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let log = RocksLogStore::open(&dir.path().join("log")).unwrap();
        let sm = RocksStateMachine::open(&dir.path().join("state")).unwrap();
        Ok((dir, log, sm))
    }
}

#[test]
fn storage_passes_the_openraft_suite() {
    Suite::test_all(Builder).unwrap();
}
