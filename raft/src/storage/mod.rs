//! Durable homes for Raft's log and the metadata state machine, both on RocksDB.

pub mod backup;
mod db;
pub mod format;
pub mod log_store;
pub mod seed;
pub mod snapshot;
pub mod state_machine;
mod wal_syncer;

pub use log_store::RocksLogStore;
pub use state_machine::{RocksStateMachine, StateReader};
