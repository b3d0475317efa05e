//! etcd's side of cairn's metadata commit-rate benchmark (`node/benches/commit_rate.rs`):
//! the same load against a local 3-member etcd cluster, so the two tables compare directly.
//!
//! Kept the same as cairn's generator on purpose: levels of 1, 16 and 64 concurrent writers,
//! writer `w` sends to member `w % 3` (followers forward to the leader, as cairn's do), each
//! writer sends one small write (`put bench-<id>`, 40-byte value) and waits for its
//! acknowledgement before the next, latency is timed per write, and the table's columns and
//! percentiles are computed the same way.
//!
//! `etcd-commit-rate [SECONDS [ENDPOINT...]]`: SECONDS per level (default 10); endpoints default
//! to the ones `scripts/etcd-compare.sh` starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::Client;

/// The client ports `scripts/etcd-compare.sh` gives its members unless told otherwise.
const DEFAULT_ENDPOINTS: [&str; 3] = ["127.0.0.1:32379", "127.0.0.1:32381", "127.0.0.1:32383"];

/// About the size of cairn's benchmark command (a small CreateUser), so both move similar bytes.
const VALUE: [u8; 40] = [b'v'; 40];

/// Nearest-rank percentile, exactly as in commit_rate.rs so the columns mean the same thing.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = match args.next() {
        Some(s) => s.parse().map_err(|_| format!("SECONDS must be a number, got {s:?}"))?,
        None => 10,
    };
    let mut endpoints: Vec<String> = args.collect();
    if endpoints.is_empty() {
        endpoints = DEFAULT_ENDPOINTS.map(String::from).to_vec();
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // One client (one HTTP/2 connection) per member, shared by every writer sending to it,
        // like cairn's benchmark client keeps one connection per node.
        let mut clients = Vec::new();
        for endpoint in &endpoints {
            clients.push(Client::connect([endpoint], None).await?);
        }
        let version = clients[0].status().await?.version().to_owned();
        let next_id = Arc::new(AtomicU64::new(1));
        println!(
            "commit rate, local {}-member etcd {version} cluster, {seconds} s per level, fsync on",
            clients.len()
        );
        println!(
            "{:>8} {:>10} {:>12} {:>10} {:>10} {:>10}",
            "writers", "commits", "commits/s", "p50", "p99", "max"
        );
        for writers in [1usize, 16, 64] {
            let until = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..writers {
                // Cloning the KV client shares its member's connection; it does not open another.
                let mut kv = clients[w % clients.len()].kv_client();
                let next_id = next_id.clone();
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < until {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        kv.put(format!("bench-{id}"), VALUE, None).await?;
                        latencies.push(sent.elapsed());
                    }
                    Ok::<_, etcd_client::Error>(latencies)
                }));
            }
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await??);
            }
            let elapsed = started.elapsed();
            latencies.sort();
            println!(
                "{:>8} {:>10} {:>12.0} {:>10.2?} {:>10.2?} {:>10.2?}",
                writers,
                latencies.len(),
                latencies.len() as f64 / elapsed.as_secs_f64(),
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                latencies.last().ok_or("no write finished in time")?,
            );
        }
        Ok(())
    })
}
