//! `cairn-node backup` taken from a follower of a 3-process cluster while writers keep writing:
//! it holds every write acknowledged before the command started (the backup is taken at a
//! linearizable point), and `cairn-node restore` seeds a new cluster from it (fresh data folders,
//! the old cluster's secrets) that holds those writes, takes new ones, and lets a new node join
//! (which must be sent the seeded snapshot: the new log starts after the backup's index). A
//! backup with a flipped byte, or cut short, is refused with a reason and changes nothing; an
//! existing file is not overwritten without --force; a node with Raft state refuses a restore.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use cairn_node::ClusterClient;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, create_user, created, wait_until};
use tokio::task::JoinSet;

/// Creates users until `stop`, recording when each creation was acknowledged.
async fn write_timed(
    client: Arc<ClusterClient>,
    writer: u128,
    stop: Arc<AtomicBool>,
) -> Vec<(String, Instant)> {
    let mut acknowledged = Vec::new();
    let mut i = 0u128;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let name = format!("w{writer}-{i}");
        if let Ok(response) = client.write(create_user(writer << 64 | i, &name)).await {
            assert!(created(&response), "{response:?}");
            acknowledged.push((name, Instant::now()));
        }
    }
    acknowledged
}

async fn has_user(client: &ClusterClient, name: &str) -> bool {
    matches!(client.query(&Query::UserByName(name.to_owned())).await.unwrap(), Answer::User(Some(_)))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn stderr_of(cluster: &ProcessCluster, id: u64, args: &[&str]) -> String {
    let out = cluster.run_on(id, args);
    assert!(!out.status.success(), "cairn-node {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_into_a_new_cluster() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = Arc::new(cluster.client().await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 1..=3 {
        writers.spawn(write_timed(client.clone(), w, stop.clone()));
    }
    wait_until("some writes before the backup", || async {
        (client.status().await.ok()?.applied_index? > 60).then_some(())
    })
    .await;

    // The backup, through a follower, while the writers go on.
    let leader = cluster.wait_for_leader().await;
    let via = (1..=3).find(|id| *id != leader).unwrap();
    let out = cluster.path().join("metadata.backup");
    let out_arg = out.display().to_string();
    let config = cluster.config_arg(via);
    let started = Instant::now();
    let printed = {
        let args = ["backup", "-c", config.as_str(), out_arg.as_str()];
        let out = cluster.run_on(via, &args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "backup failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let index: u64 = printed
        .split("at index ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no index in {printed:?}"));
    // Writes go on after it, so the backup is not simply the final state.
    let applied_at_backup = client.status_of(leader).await.unwrap().applied_index.unwrap();
    wait_until("writes after the backup", || async {
        (client.status_of(leader).await.ok()?.applied_index? > applied_at_backup + 30).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut before = Vec::new();
    let mut after = Vec::new();
    while let Some(acked) = writers.join_next().await {
        for (name, at) in acked.unwrap() {
            if at < started { before.push(name) } else { after.push(name) }
        }
    }
    assert!(before.len() > 20, "only {} writes were acknowledged before the backup", before.len());
    assert!(!after.is_empty(), "no write was acknowledged after the backup started");
    println!("backup at index {index}: {} writes before it, {} after it began", before.len(), after.len());

    // An existing file is kept unless --force.
    let config = cluster.config_arg(via);
    let refused = stderr_of(&cluster, via, &["backup", "-c", config.as_str(), out_arg.as_str()]);
    assert!(refused.contains("exists") && refused.contains("--force"), "{refused}");
    client.shutdown().await;
    let old_secrets = cluster.path().join("secrets");

    // A new cluster: fresh folders, the old cluster's secrets.
    let mut fresh = ProcessCluster::prepare(Settings::default());
    copy_dir(&old_secrets, &fresh.path().join("secrets"));
    let backup = fresh.path().join("copied.backup");
    std::fs::copy(&out, &backup).unwrap();
    drop(cluster);
    fresh.add_files(1);
    let config = fresh.config_arg(1);

    // A flipped byte in the content, or a cut, is refused, and nothing is seeded.
    let bytes = std::fs::read(&backup).unwrap();
    let mut flipped = bytes.clone();
    let middle = bytes.len() - bytes.len() / 3;
    flipped[middle] ^= 0x01;
    let corrupt = fresh.path().join("corrupt.backup");
    std::fs::write(&corrupt, &flipped).unwrap();
    let error = stderr_of(&fresh, 1, &["restore", "-c", config.as_str(), corrupt.to_str().unwrap()]);
    assert!(error.contains("corrupt"), "{error}");
    let cut = fresh.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let error = stderr_of(&fresh, 1, &["restore", "-c", config.as_str(), cut.to_str().unwrap()]);
    assert!(error.contains("truncated"), "{error}");
    assert!(!fresh.data_dir(1).join("raft-log").exists(), "a refused restore left Raft state behind");

    let restored = fresh.run_ok_on(1, &["restore", "-c", config.as_str(), backup.to_str().unwrap()]);
    println!("{restored}");
    assert!(restored.contains(&format!("index {index}")), "{restored}");
    assert!(restored.contains("removed from the cluster map"), "{restored}");
    // A second restore onto the same node is refused.
    let again = stderr_of(&fresh, 1, &["restore", "-c", config.as_str(), backup.to_str().unwrap()]);
    assert!(again.contains("already holds"), "{again}");

    fresh.start_node(1);
    assert_eq!(fresh.wait_for_leader().await, 1);
    let client = fresh.client().await;
    let status = fresh.status_of(&client, 1).await;
    assert!(
        status.applied_index >= Some(index),
        "restored node applied {:?} < {index}",
        status.applied_index
    );
    assert_eq!(status.voters, vec![1]);
    for name in &before {
        assert!(has_user(&client, name).await, "{name}, acknowledged before the backup, is not restored");
    }
    let response = client.write(create_user(u128::MAX - 1, "after-restore")).await.unwrap();
    assert!(created(&response), "{response:?}");
    client.shutdown().await;

    // A new node joins the restored cluster: it can only be sent the seeded snapshot.
    fresh.add_files(4);
    fresh.start_node(4);
    fresh.join(4).await;
    let client = fresh.client().await;
    let status = fresh.status_of(&client, 1).await;
    assert_eq!(status.voters, vec![1, 4]);
    for name in before.iter().rev().take(20).chain([&"after-restore".to_owned()]) {
        let answer = client.query_via(4, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "node 4 lacks {name}");
    }
    client.shutdown().await;
}
