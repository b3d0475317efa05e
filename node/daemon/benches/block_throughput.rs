//! Block throughput of a local 3-node cluster of real `cairn-node` processes, coded 2+1:
//! writes and reads of 4 MiB blocks (random, so zstd keeps them raw) with 1, 4 and 16
//! concurrent clients spread over the nodes; reads again with one node killed (degraded: every
//! block whose shard lived there is decoded from parity); then a fourth node joins, the dead one
//! leaves, and the time repair takes to rebuild its shards is reported per GiB.
//!
//! `cargo bench -p cairn-node --bench block_throughput [-- BLOCKS_PER_LEVEL]` (default 32).
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_metadata::AdminCommand;

use cairn_node::ClusterClient;
use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId, EncodedBlock};
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use tokio::task::JoinSet;

const ACCOUNT: AccountId = AccountId(1);
const BLOCK: usize = 4 << 20;

struct Block {
    id: BlockId,
    wire: Vec<u8>,
}

fn blocks(count: usize, seed: u64) -> Vec<Block> {
    (0..count)
        .map(|i| {
            let plain = random(BLOCK, seed * 10_000 + i as u64);
            Block { id: BlockId::of(&plain), wire: EncodedBlock::compress(&plain, 3).unwrap().to_bytes() }
        })
        .collect()
}

/// Runs `op` on every block with `clients` concurrent tasks; returns plaintext MB/s.
async fn run<F, Fut>(blocks: Arc<Vec<Block>>, clients: usize, op: F) -> f64
where
    F: Fn(Arc<Vec<Block>>, usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..clients {
        let (blocks, op) = (blocks.clone(), op.clone());
        tasks.spawn(async move {
            for i in (c..blocks.len()).step_by(clients) {
                op(blocks.clone(), i, c).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    (blocks.len() * BLOCK) as f64 / started.elapsed().as_secs_f64() / 1e6
}

async fn put(client: Arc<ClusterClient>, blocks: Arc<Vec<Block>>, clients: usize, nodes: &[u64]) -> f64 {
    let nodes = nodes.to_vec();
    run(blocks, clients, move |blocks, i, c| {
        let (client, node) = (client.clone(), nodes[c % nodes.len()]);
        async move {
            let b = &blocks[i];
            client.put_block_via(node, ACCOUNT, b.id, &b.wire).await.unwrap();
        }
    })
    .await
}

async fn get(client: Arc<ClusterClient>, blocks: Arc<Vec<Block>>, clients: usize, nodes: &[u64]) -> f64 {
    let nodes = nodes.to_vec();
    run(blocks, clients, move |blocks, i, c| {
        let (client, node) = (client.clone(), nodes[c % nodes.len()]);
        async move {
            let b = &blocks[i];
            let plain = client.get_block_via(node, ACCOUNT, b.id).await.unwrap();
            assert_eq!(plain.len(), BLOCK);
        }
    })
    .await
}

fn main() {
    let per_level: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let settings = Settings {
            storage: "profile = \"2+1\"\ndown_after_ms = 1500\nrepair_grace_ms = 2000\nrepair_every_ms = 500"
                .into(),
            ..Default::default()
        };
        let mut cluster = ProcessCluster::start(3, settings).await;
        let client =
            Arc::new(cluster.client_with(&cluster.operator_identity(), Duration::from_secs(120)).await);
        println!(
            "block throughput, local 3-node cluster, 2+1, 4 MiB random blocks, {per_level} blocks per level"
        );
        println!("{:>22} {:>8} {:>10}", "phase", "clients", "MB/s");
        let mut all = Vec::new();
        for (level, clients) in [1usize, 4, 16].into_iter().enumerate() {
            let set = Arc::new(blocks(per_level, level as u64 + 1));
            let write = put(client.clone(), set.clone(), clients, &[1, 2, 3]).await;
            println!("{:>22} {clients:>8} {write:>10.1}", "write");
            let read = get(client.clone(), set.clone(), clients, &[1, 2, 3]).await;
            println!("{:>22} {clients:>8} {read:>10.1}", "read");
            all.push(set);
        }

        let leader = cluster.wait_for_leader().await;
        let victim = (1..=3).find(|id| *id != leader).unwrap();
        cluster.kill(victim);
        wait_until("the dead node marked down", || async {
            match client.query(&Query::ClusterMap).await.ok()? {
                Answer::ClusterMap(map) => map
                    .nodes
                    .iter()
                    .any(|n| {
                        n.spec.id == victim
                            && !matches!(n.state, cairn_raft::model::cluster::NodeState::Active)
                    })
                    .then_some(()),
                _ => None,
            }
        })
        .await;
        let alive: Vec<u64> = (1..=3).filter(|id| *id != victim).collect();
        for (set, clients) in all.iter().zip([1usize, 4, 16]) {
            let read = get(client.clone(), set.clone(), clients, &alive).await;
            println!("{:>22} {clients:>8} {read:>10.1}", "read, one node down");
        }

        // Repair starts once there is a node to rebuild on: time it from node 4's start.
        let repair_started = Instant::now();
        cluster.add_files(4);
        cluster.start_node(4);
        cluster.join(4).await;
        client.admin(&AdminCommand::Remove { id: victim }).await.unwrap();
        let ids: Vec<BlockId> = all.iter().flat_map(|s| s.iter().map(|b| b.id)).collect();
        wait_until("repair to finish", || async {
            for id in &ids {
                match client.query(&Query::Block { account: ACCOUNT, block: *id }).await.ok()? {
                    Answer::Block(Some(r)) if !r.placement.contains(&victim) && r.damaged.is_empty() => {}
                    _ => return None,
                }
            }
            Some(())
        })
        .await;
        let took = repair_started.elapsed();
        let leader = cluster.wait_for_leader().await;
        let stats = client.status_of(leader).await.unwrap().blocks.unwrap();
        let gib = stats.repair_bytes as f64 / (1u64 << 30) as f64;
        println!(
            "repair: {} shards, {:.0} MiB rebuilt in {:.1} s from the new node's start: {:.1} s per GiB of shards",
            stats.repair_shards,
            stats.repair_bytes as f64 / (1 << 20) as f64,
            took.as_secs_f64(),
            took.as_secs_f64() / gib
        );
    });
}
