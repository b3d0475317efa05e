//! A 3-process cluster loses two nodes for good (killed, their folders deleted): the survivor
//! alone can neither write nor read. `cairn-node recover --force-new-cluster` refuses while the
//! survivor runs and without the flag; on the stopped survivor it makes a one-member cluster
//! from its own state, reports the blocks whose shards lived on the lost nodes (2+1 blocks on
//! three nodes keep one shard each: none can be rebuilt), and `start` then serves every write the
//! survivor had applied and takes new ones. Two fresh nodes join, and the cluster has three
//! voters again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_node::ClusterClient;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, create_user, created, wait_until, write_until_stopped};
use common::blocks::{put_all, samples};
use tokio::task::JoinSet;

const STORAGE: &str = "profile = \"2+1\"";
const SURVIVOR: u64 = 1;

async fn has_user(client: &ClusterClient, name: &str) -> bool {
    matches!(client.query(&Query::UserByName(name.to_owned())).await.unwrap(), Answer::User(Some(_)))
}

fn failure(cluster: &ProcessCluster, args: &[&str]) -> String {
    let out = cluster.run_on(SURVIVOR, args);
    assert!(!out.status.success(), "cairn-node {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survivor_of_a_lost_majority_becomes_a_new_cluster_that_others_join() {
    let settings = Settings { storage: STORAGE.into(), ..Default::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let client = Arc::new(cluster.client().await);
    let blocks = samples(6, 19);
    put_all(&client, &blocks).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 1..=2 {
        writers.spawn(write_until_stopped(client.clone(), w, stop.clone()));
    }
    wait_until("some writes", || async { (client.status().await.ok()?.applied_index? > 60).then_some(()) })
        .await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    while let Some(names) = writers.join_next().await {
        acknowledged.extend(names.unwrap());
    }
    // Every acknowledged write is committed; the survivor has applied all of them once it has
    // caught up with the leader.
    cluster.wait_caught_up(&client, SURVIVOR).await;
    let applied = client.status_of(SURVIVOR).await.unwrap().applied_index.unwrap();
    client.shutdown().await;

    // Two nodes are lost for good.
    for lost in [2, 3] {
        cluster.kill(lost);
        std::fs::remove_dir_all(cluster.data_dir(lost)).unwrap();
        cluster.nodes.remove(&lost);
    }
    let config = cluster.config_arg(SURVIVOR);
    let error = failure(&cluster, &["recover", "-c", config.as_str()]);
    assert!(error.contains("--force-new-cluster"), "{error}");
    // A running node is refused: its stores are locked.
    let error = failure(&cluster, &["recover", "-c", config.as_str(), "--force-new-cluster", "--yes"]);
    assert!(error.contains("stop the node"), "{error}");
    // Without --yes and without a terminal to confirm on, nothing happens.
    cluster.kill(SURVIVOR);
    let error = failure(&cluster, &["recover", "-c", config.as_str(), "--force-new-cluster"]);
    assert!(error.contains("--yes"), "{error}");

    let out = cluster.run_on(SURVIVOR, &["recover", "-c", config.as_str(), "--force-new-cluster", "--yes"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "recover failed:\n{stdout}\n{stderr}");
    println!("{stderr}{stdout}");
    assert!(stderr.contains("WARNING"), "{stderr}");
    assert!(stdout.contains("removed from the cluster map: 2, 3"), "{stdout}");
    // 2+1 over three nodes: each block had one shard on each, so each lost two and keeps one.
    let expected =
        format!("blocks: {n} recorded; {n} lost 2 shards; {n} cannot be rebuilt", n = blocks.len());
    assert!(stdout.contains(&expected), "{stdout}");

    cluster.start_node(SURVIVOR);
    assert_eq!(cluster.wait_for_leader().await, SURVIVOR);
    let client = cluster.client().await;
    let status = cluster.status_of(&client, SURVIVOR).await;
    assert!(status.applied_index >= Some(applied), "{:?} < {applied}", status.applied_index);
    assert_eq!(status.voters, vec![SURVIVOR]);
    for name in &acknowledged {
        assert!(has_user(&client, name).await, "{name}, applied on the survivor, is lost");
    }
    let response = client.write(create_user(u128::MAX - 2, "after-recover")).await.unwrap();
    assert!(created(&response), "{response:?}");
    client.shutdown().await;

    // Two fresh nodes, with ids the old cluster never used, join the new cluster.
    for id in [4, 5] {
        cluster.add_files(id);
        cluster.start_node(id);
        cluster.join(id).await;
    }
    let client = cluster.client().await;
    let status = cluster.status_of(&client, SURVIVOR).await;
    assert_eq!(status.voters, vec![1, 4, 5]);
    for id in [4, 5] {
        let answer = client.query_via(id, &Query::UserByName("after-recover".into())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "node {id} lacks the write made after recovery");
        let name = acknowledged.last().unwrap();
        let answer = client.query_via(id, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "node {id} lacks {name}");
    }
    client.shutdown().await;
}
