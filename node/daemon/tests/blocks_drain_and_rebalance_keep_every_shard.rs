//! Drain and rebalance on real processes, coded 2+1 (issue 19).
//!
//! A loaded 3-node cluster gains nodes 4 and 5: the leader moves their share of the shards to
//! them at `storage.rebalance_bytes_per_sec`, and goes on after the leader is killed midway.
//! Then node 5 is drained under a client load while a checker walks every block over and over,
//! asking each shard's node for it: no block is ever short of a shard, no client call fails,
//! every block reads back, and node 5 ends holding nothing. Removing an undrained node is
//! refused without --force, and says what redundancy would be lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_block_service::{RebalanceAsk, RebalanceReport};
use cairn_node::ClusterClient;
use cairn_proto::BlockId;
use cairn_raft::model::blocks::BlockRecord;
use cairn_raft::model::{Answer, Query};
use cairn_shard_store::ShardKey;
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use common::blocks::{ACCOUNT, Sample, assert_all_read_back, put_all, samples};
use tokio::sync::Mutex;

/// Slow enough that the moves take seconds, so the leader can be killed among them.
const RATE: u64 = 2 << 20;

/// 2+1, a slow rebalance, no repair during the test, and a short orphan grace: a copy made by a
/// leader killed mid-move is a stray on its node until its scrubber deletes it, and node 5 must
/// end the test empty.
fn storage() -> String {
    format!(
        "profile = \"2+1\"\nrepair_every_ms = 300\nrebalance_bytes_per_sec = {RATE}\nhedge_after_ms = 200\n\
         down_after_ms = 3000\nrepair_grace_ms = 600000\nscrub_every_ms = 2000\norphan_grace_ms = 15000"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_nodes_take_their_share_and_a_drained_node_leaves_nothing_short() {
    let mut cluster = ProcessCluster::start(3, Settings { storage: storage(), ..Default::default() }).await;
    let client = cluster.client().await;
    let initial = samples(60, 1);
    put_all(&client, &initial).await;

    // --- Rebalance: nodes 4 and 5 join a loaded cluster. ---
    for id in [4, 5] {
        cluster.add_files(id);
        cluster.start_node(id);
        cluster.join(id).await;
    }
    let leader = cluster.wait_for_leader().await;
    let first = wait_until("the leader to move shards", || async {
        let r = report(&client, leader).await?;
        (r.moved_shards > 0).then(|| (Instant::now(), r))
    })
    .await;
    // The rate is measured over a few MiB of moves, well within the ~11 MiB to move.
    let before_kill = wait_until("3 MiB of moves", || async {
        let r = report(&client, leader).await?;
        (r.moved_bytes >= first.1.moved_bytes + (3 << 20)).then(|| (Instant::now(), r))
    })
    .await;
    let rate = (before_kill.1.moved_bytes - first.1.moved_bytes) as f64
        / before_kill.0.duration_since(first.0).as_secs_f64().max(0.001);
    assert!(before_kill.1.shards_left > 0, "the moves ended before the leader could be killed");
    cluster.kill(leader);
    cluster.start_node(leader);
    // Leadership may change more than once (the restarted node may win it back): whoever leads
    // must finish the moves.
    let successor = wait_until("a leader to finish the rebalance", || async {
        let (node, r) = leading_report(&client).await?;
        (r.scans >= 1 && r.shards_left == 0 && r.blocks_stuck == 0).then_some(node)
    })
    .await;
    let records = all_records(&client).await;
    let initial_ids: Vec<BlockId> = initial.iter().map(|s| s.id).collect();
    let shards: usize =
        records.iter().filter(|(b, _)| initial_ids.contains(b)).map(|(_, r)| r.placement.len()).sum();
    let on_new = records
        .iter()
        .filter(|(b, _)| initial_ids.contains(b))
        .flat_map(|(_, r)| r.placement.iter())
        .filter(|&&n| n >= 4)
        .count();
    let fraction = on_new as f64 / shards as f64;
    println!(
        "rebalance: nodes 4 and 5 hold {on_new} of {shards} shards = {fraction:.3} (expected 2/5 = 0.400); \
         moved at {:.2} MiB/s with rebalance_bytes_per_sec = {:.2} MiB/s; leader {leader} killed after {} moves, \
         node {successor} finished",
        rate / f64::from(1 << 20),
        RATE as f64 / f64::from(1 << 20),
        before_kill.1.moved_shards,
    );
    assert!((0.28..0.52).contains(&fraction), "nodes 4 and 5 hold {fraction:.3} of the shards");
    assert!(rate < RATE as f64 * 1.5, "moved at {rate:.0} B/s, over the configured {RATE}");
    assert_all_read_back(&client, &initial).await;
    assert_every_shard_held(&cluster, &client).await;

    // --- Drain node 5 under a client load, checked all the while. ---
    let client = Arc::new(client);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Mutex::new(initial.iter().map(|s| s.id).collect::<Vec<_>>()));
    let load = tokio::spawn(load(client.clone(), stop.clone(), written.clone()));
    let checker = tokio::spawn(check_continuously(node_client(&cluster).await, stop.clone()));

    let refused = cluster.run_on(1, &["member", "remove", "-c", &cluster.config_arg(1), "--id", "4"]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "an undrained node was removed without --force");
    assert!(why.contains("still holds a shard of") && why.contains("--force"), "{why}");

    let config = cluster.config_arg(1);
    let out = tokio::task::spawn_blocking({
        let binary = cairn_test_cluster::binary();
        move || {
            std::process::Command::new(binary)
                .args(["member", "drain", "-c", &config, "--id", "5", "--wait"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "drain failed: {said}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("node 5 is drained"), "{said}");
    let status = cluster.run_ok(&["status", "-c", &cluster.config_arg(1)]);
    assert!(status.contains("draining"), "status does not show the drain:\n{status}");

    stop.store(true, Ordering::Relaxed);
    let (failures, operations) = load.await.unwrap();
    let (passes, violations) = checker.await.unwrap();
    println!("drain: {operations} client calls during the drain, {passes} checker passes over every shard");
    assert!(failures.is_empty(), "client calls failed during the drain: {failures:#?}");
    assert!(violations.is_empty(), "blocks were short of a shard during the drain: {violations:#?}");
    assert!(passes >= 2, "the checker finished only {passes} passes");

    let records = all_records(&client).await;
    assert!(records.iter().all(|(_, r)| !r.placement.contains(&5)), "a block still places a shard on node 5");
    // The first client knows only nodes 1 to 3.
    let all_nodes = cluster.client().await;
    wait_until("node 5 to hold no shard", || async {
        let stats = all_nodes.status_of(5).await.ok()?.blocks?;
        (stats.shards_held == 0).then_some(())
    })
    .await;
    let ids = written.lock().await.clone();
    for id in &ids {
        client.get_block(ACCOUNT, *id).await.unwrap_or_else(|e| panic!("get {id} after the drain: {e}"));
    }
    assert_all_read_back(&client, &initial).await;
    cluster.run_ok(&["member", "remove", "-c", &cluster.config_arg(1), "--id", "5"]);
    println!("drain: {} blocks read back after it; node 5 removed without --force", ids.len());
}

/// Node `node`'s rebalance report, if it leads.
async fn report(client: &ClusterClient, node: u64) -> Option<RebalanceReport> {
    client.rebalance_of(node, RebalanceAsk::default()).await.ok().filter(|r| r.leading)
}

/// The report of whichever of nodes 1 to 5 leads now.
async fn leading_report(client: &ClusterClient) -> Option<(u64, RebalanceReport)> {
    for node in 1..=5 {
        if let Some(r) = report(client, node).await {
            return Some((node, r));
        }
    }
    None
}

/// Every block record, linearizably.
async fn all_records(client: &ClusterClient) -> Vec<(BlockId, BlockRecord)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let Answer::Blocks(page) = client.query(&Query::Blocks { after, limit: 500 }).await.unwrap() else {
            panic!("not a page of blocks")
        };
        let Some(last) = page.last() else { return out };
        after = Some((last.0, last.1));
        out.extend(page.into_iter().map(|(_, block, record)| (block, record)));
    }
}

/// A client that may make shard calls: a node's certificate.
async fn node_client(cluster: &ProcessCluster) -> ClusterClient {
    let identity = cluster.secrets().node_identity(1).unwrap();
    cluster.client_with(&identity, Duration::from_secs(10)).await
}

/// The shard problems of `block` as recorded now: fewer than k+m shards, a damaged one, or a
/// node that does not hold the shard the record gives it.
async fn shortfalls(shards: &ClusterClient, block: BlockId, record: &BlockRecord) -> Vec<String> {
    let mut problems = Vec::new();
    if record.placement.len() != usize::from(record.data_shards + record.parity_shards)
        || !record.damaged.is_empty()
    {
        problems.push(format!("block {block}: {record:?}"));
    }
    for (index, &node) in record.placement.iter().enumerate() {
        let key = ShardKey { account: ACCOUNT, block, generation: record.generation, index: index as u8 };
        match shards.shard_held(node, key).await {
            Ok(true) => {}
            Ok(false) => problems.push(format!("block {block}: node {node} lacks shard {index}")),
            Err(e) => problems.push(format!("block {block}: shard {index} on node {node}: {e}")),
        }
    }
    problems
}

async fn assert_every_shard_held(cluster: &ProcessCluster, client: &ClusterClient) {
    let shards = node_client(cluster).await;
    for (block, record) in all_records(client).await {
        let problems = shortfalls(&shards, block, &record).await;
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

/// Walks every block until `stop`, checking that each shard is where its record says. A shard
/// missing from a node the record named a moment ago counts only if the record, read again,
/// still names that node: a move may have been recorded in between, and its old copy deleted.
async fn check_continuously(shards: ClusterClient, stop: Arc<AtomicBool>) -> (u32, Vec<String>) {
    let mut violations = Vec::new();
    let mut passes = 0;
    while !stop.load(Ordering::Relaxed) {
        for (block, record) in all_records(&shards).await {
            if shortfalls(&shards, block, &record).await.is_empty() {
                continue;
            }
            let Answer::Block(Some(again)) =
                shards.query(&Query::Block { account: ACCOUNT, block }).await.unwrap()
            else {
                continue; // Dropped meanwhile: nothing to be short of.
            };
            violations.extend(shortfalls(&shards, block, &again).await);
        }
        passes += 1;
    }
    (passes, violations)
}

/// Writes new blocks and reads old ones until `stop`; returns the calls that failed, and how
/// many were made.
async fn load(
    client: Arc<ClusterClient>,
    stop: Arc<AtomicBool>,
    written: Arc<Mutex<Vec<BlockId>>>,
) -> (Vec<String>, u64) {
    let mut failures = Vec::new();
    let mut calls = 0u64;
    let mut seed = 100;
    while !stop.load(Ordering::Relaxed) {
        seed += 1;
        let fresh: Vec<Sample> = samples(2, seed);
        for s in &fresh {
            calls += 1;
            match client.put_block(ACCOUNT, s.id, &s.wire).await {
                Ok(_) => written.lock().await.push(s.id),
                Err(e) => failures.push(format!("put {}: {e}", s.id)),
            }
        }
        let ids = written.lock().await.clone();
        for id in ids.iter().rev().take(3).chain(ids.iter().step_by(7).take(3)) {
            calls += 1;
            if let Err(e) = client.get_block(ACCOUNT, *id).await {
                failures.push(format!("get {id}: {e}"));
            }
        }
    }
    (failures, calls)
}
