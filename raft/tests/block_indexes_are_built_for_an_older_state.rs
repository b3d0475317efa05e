//! A state written before the block indexes existed gets them when it is opened: repair, GC and
//! rebalance walk the indexes only, so a block left out of them would never be repaired.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_proto::{AccountId, BlockId};
use cairn_raft::TypeConfig;
use cairn_raft::model::block_index::{BlockSet, blocks_in, is_built, nodes_with_shards};
use cairn_raft::model::{Command, Request, RequestId, Space};
use cairn_raft::storage::RocksStateMachine;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

fn register(index: u64, name: &str, placement: Vec<u64>) -> Entry<TypeConfig> {
    let command = Command::RegisterBlock {
        account: AccountId(1),
        block: BlockId::of(name.as_bytes()),
        plain_len: 10,
        shape: (2, 1),
        generation: index,
        placement,
        damaged: Vec::new(),
    };
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(
            Request { id: RequestId(u128::from(index)), time_ms: 5, command }.into(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_an_unindexed_state_builds_its_indexes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut sm = RocksStateMachine::open(dir.path()).unwrap();
        sm.apply([register(1, "a", vec![1, 2, 3]), register(2, "b", vec![2, 3, 4])]).await.unwrap();
        assert!(is_built(&sm.reader().view()).unwrap());
    }
    // What a release before the indexes left: the records and no index at all.
    {
        let path = dir.path().join("sm-0");
        let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let mut db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, &names).unwrap();
        db.drop_cf(Space::BlockIndex.name()).unwrap();
    }
    let sm = RocksStateMachine::open(dir.path()).unwrap();
    let view = sm.reader().view();
    assert!(is_built(&view).unwrap());
    assert_eq!(nodes_with_shards(&view).unwrap(), vec![1, 2, 3, 4]);
    let on = |node| blocks_in(&view, BlockSet::OnNode(node), None, 100).unwrap().len();
    assert_eq!((on(1), on(2), on(4)), (1, 2, 1));
    assert_eq!(blocks_in(&view, BlockSet::Unreferenced, None, 100).unwrap().len(), 2);
    assert_eq!(blocks_in(&view, BlockSet::Damaged, None, 100).unwrap().len(), 0);
}
