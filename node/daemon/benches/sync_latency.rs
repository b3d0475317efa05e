//! Propagation latency of `cairn sync`: how long a file written on one device takes to be on
//! another device's disk. A local 3-node cluster of real `cairn-node` processes (2+1, HTTPS with
//! the cluster CA as deployed) and two devices, A and B, each a release `cairn sync` process
//! (found beside this benchmark) with its own profile (`CAIRN_CONFIG`) and its own folder, both
//! synced with the drive folder `/Latency`; A talks to node 1 first, B to node 2.
//!
//! Once both are in step, A gets one new 4 KiB file of random content at a time (`lat/NNN.bin`);
//! the clock starts when the write has returned and the file is closed, and stops when B's folder
//! holds the file with exactly that content (B's folder is polled every 2 ms, the file read and
//! compared). Each change gets 30 s, or the benchmark panics with both devices' logs. Between
//! changes both devices are left to go idle, so every change meets two quiet engines, as one
//! person's edit would. Prints p50, p90, p99 and max in milliseconds, and where the time goes:
//! the median moment, after A's write, at which each device's status line (`--progress lines`,
//! timestamped as it arrives here) showed each step. The measurement lives in `common/sync.rs`,
//! which `fast_paths` runs too.
//!
//! `cargo bench -p cairn-node --bench sync_latency [-- CHANGES]` (default 100), after
//! `cargo build --release -p cairn-cli --bin cairn`; `make bench` does both.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

mod common;

use std::time::Duration;

use cairn_test_cluster::{ProcessCluster, Settings};
use common::sync::{measure, ms, percentile, print_steps, start_pair};

fn main() {
    let changes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100);
    assert!(changes > 0, "measure at least one change");
    let Some(binary) = common::cli_binary() else {
        println!(
            "(no release `cairn` beside the benchmark: `cargo build --release -p cairn-cli --bin cairn`)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let settings = Settings { storage: "profile = \"2+1\"".into(), api_tls: true, ..Default::default() };
    let cluster = runtime.block_on(ProcessCluster::start(3, settings));
    let token = cluster.add_user("bench", false);
    let ca = cluster.path().join("secrets").join("ca.crt");
    let nodes: Vec<String> = cluster.nodes.values().map(|n| format!("https://{}", n.api)).collect();
    let home = tempfile::tempdir().unwrap();
    // Declared after the cluster, so dropped (killed) before it, also on a panic.
    let (a, b) = start_pair(&binary, home.path(), &nodes, &ca, &token);

    let (latencies, steps) = measure(&a, &b, changes, "", 0);

    let mut sorted = latencies.clone();
    sorted.sort();
    println!(
        "{changes} new files of 4 KiB written on A one at a time; on B's disk after (3 nodes, 2+1, HTTPS):"
    );
    println!("{:>8} {:>8} {:>8} {:>8} {:>8} {:>8}", "min", "p50", "p90", "p99", "max", "mean");
    let mean = latencies.iter().sum::<Duration>() / changes as u32;
    println!(
        "{:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   ms",
        ms(sorted[0]),
        ms(percentile(&sorted, 50)),
        ms(percentile(&sorted, 90)),
        ms(percentile(&sorted, 99)),
        ms(sorted[changes - 1]),
        ms(mean)
    );
    print_steps(&steps, &sorted);
    drop((a, b));
}
