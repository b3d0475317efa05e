//! The process-cluster harness lives in its own crate, shared with the benchmarks and the chaos
//! suite; test files keep naming it `common::process_cluster`.

pub use cairn_test_cluster::*;
