//! Metadata commit rate of a local 3-node cluster of real `cairn-node` processes: small
//! commands (CreateUser), fsync on, 1, 16 and 64 concurrent writers spread over the nodes
//! (followers forward to the leader), then the same with every writer sending to the leader.
//! Prints commits per second and p50/p99/max latency.
//!
//! `cargo bench -p cairn-node --bench commit_rate [-- SECONDS]` (default 10 s per level).
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_test_cluster::{ProcessCluster, Settings, create_user, created};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let seconds: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let cluster = ProcessCluster::start(3, Settings::default()).await;
        let client = Arc::new(cluster.client().await);
        let next_id = Arc::new(AtomicU64::new(1));
        let leader = cluster.wait_for_leader().await;
        println!("commit rate, local 3-node cluster, {seconds} s per level, fsync on");
        println!(
            "{:>10} {:>8} {:>10} {:>12} {:>10} {:>10} {:>10}",
            "via", "writers", "commits", "commits/s", "p50", "p99", "max"
        );
        let levels = [(false, 1usize), (false, 16), (false, 64), (true, 1), (true, 16), (true, 64)];
        for (via_leader, writers) in levels {
            let until = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..writers {
                let client = client.clone();
                let next_id = next_id.clone();
                tasks.push(tokio::spawn(async move {
                    let via = if via_leader { leader } else { (w % 3) as u64 + 1 };
                    let mut latencies = Vec::new();
                    while Instant::now() < until {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let request = create_user(u128::from(id), &format!("bench-{id}"));
                        let sent = Instant::now();
                        let responses = client.propose_via(via, &[request]).await.unwrap();
                        latencies.push(sent.elapsed());
                        assert!(created(&responses[0]), "{responses:?}");
                    }
                    latencies
                }));
            }
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            let elapsed = started.elapsed();
            latencies.sort();
            println!(
                "{:>14} {:>8} {:>10} {:>12.0} {:>10.2?} {:>10.2?} {:>10.2?}",
                if via_leader { "leader" } else { "any node" },
                writers,
                latencies.len(),
                latencies.len() as f64 / elapsed.as_secs_f64(),
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                latencies.last().unwrap(),
            );
        }
        client.shutdown().await;
    });
}
