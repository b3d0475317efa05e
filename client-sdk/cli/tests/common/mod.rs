//! Helpers shared by the command line's tests: the `cairn` binary as a user runs it, a synced
//! device driven through it, and a proxy that lies on a node's behalf. The cluster itself, the
//! SDK client and the raw HTTP client come from `cairn_test_cluster`.

pub mod cli;
pub mod lying_proxy;
pub mod sync_device;
