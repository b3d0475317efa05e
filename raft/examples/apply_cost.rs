//! CPU cost of applying metadata requests on the RocksDB state machine: 32,000 `CreateUser`
//! requests in entries of 32, as the batcher packs them under load. Every replica pays this for
//! every request, so it bounds the commit rate of a cluster whose nodes share cores.
//!
//! `cargo run --release -p cairn-raft --example apply_cost`
#![allow(clippy::unwrap_used, clippy::expect_used)] // A measurement: a panic is a failure report.

use cairn_raft::model::{Command, Request, RequestId};
use cairn_raft::storage::RocksStateMachine;
use cairn_raft::{Proposal, TypeConfig};
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

const PER_ENTRY: u64 = 32;
const ENTRIES: u64 = 1_000;

fn entry(index: u64) -> Entry<TypeConfig> {
    let requests = (0..PER_ENTRY)
        .map(|i| {
            let id = (index - 1) * PER_ENTRY + i;
            let command = Command::CreateUser { name: format!("bench-{id}") };
            Request { id: RequestId(u128::from(id)), time_ms: 1_000 + id, command }
        })
        .collect();
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Proposal(requests)),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = RocksStateMachine::open(dir.path()).unwrap();
    let started = std::time::Instant::now();
    for index in 1..=ENTRIES {
        state.apply([entry(index)]).await.unwrap();
    }
    let elapsed = started.elapsed();
    let requests = ENTRIES * PER_ENTRY;
    println!(
        "applied {requests} CreateUser requests in entries of {PER_ENTRY}: {elapsed:.2?}, {:.1} µs per request",
        elapsed.as_secs_f64() * 1e6 / requests as f64
    );
}
