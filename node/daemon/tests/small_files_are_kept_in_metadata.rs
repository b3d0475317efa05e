//! Small files kept in metadata, with real processes.
//!
//! A file of one block of at most `storage.inline_max_bytes` is sealed by the node it was sent
//! to and committed together with its bytes in one Raft entry: no node holds a shard of it. It
//! reads back byte-identical from every node, survives the loss of a node as any metadata does,
//! is stored once however many files hold the same content, and goes with its last reference.
//! A block over the threshold is still erasure-coded into shards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;

use cairn_client::api::DownloadOptions;
use cairn_client::upload::PutOptions;
use cairn_proto::sample_data::{random, text};
use cairn_proto::{AccountId, BlockId};
use cairn_raft::model::version::CURRENT;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::http::request;
use cairn_test_cluster::{ProcessCluster, Settings, sdk, wait_until};

/// Small enough to be kept in metadata under the default threshold (16 KiB).
const SMALL: [usize; 5] = [1, 100, 4096, 12_000, 16 << 10];
/// Over the threshold, under the chunker's minimum: one block, in shards.
const LARGE: usize = 100_000;

fn metric(addr: SocketAddr, name: &str) -> u64 {
    let page = request(addr, "GET", "/metrics", &[], b"");
    let text = String::from_utf8(page.body).unwrap();
    let line =
        text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_files_live_in_metadata_and_large_ones_in_shards() {
    let settings = Settings {
        storage: "gc_grace_ms = 1000\ndown_after_ms = 1500\nhedge_after_ms = 200".into(),
        ..Default::default()
    };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let operator = cluster.client().await;
    // A new cluster runs at the oldest version until its leader sees every member run this one.
    wait_until("the cluster version to reach this release's", || async {
        matches!(operator.query(&Query::ClusterVersion).await.ok()?, Answer::ClusterVersion(v) if v == CURRENT)
            .then_some(())
    })
    .await;
    let token = cluster.add_user("ada", false);
    let client = sdk::client(&cluster, &token);
    let account = AccountId(client.me().await.unwrap().id);
    let dir = tempfile::tempdir().unwrap();

    let mut files = Vec::new();
    for (i, len) in SMALL.iter().chain([&LARGE]).enumerate() {
        let content = if i % 2 == 0 { text(*len, i as u64) } else { random(*len, i as u64) };
        let local = dir.path().join(format!("f{i}"));
        std::fs::write(&local, &content).unwrap();
        let options = PutOptions::default();
        client.upload_file(&local, &format!("/small/f{i}"), &options).await.unwrap();
        files.push((format!("/small/f{i}"), content));
    }
    let addrs: Vec<SocketAddr> = cluster.nodes.values().map(|n| n.api).collect();
    let inline: u64 = addrs.iter().map(|a| metric(*a, "cairn_blocks_written_inline_total")).sum();
    assert_eq!(inline, SMALL.len() as u64, "every small file's block is kept in metadata");
    let mut shards = 0;
    for id in cluster.running() {
        shards += cluster.status_of(&operator, id).await.blocks.unwrap().shards_held;
    }
    assert_eq!(shards, 3, "only the large file's block is in shards (2+1)");
    for (path, content) in &files[..SMALL.len()] {
        let id = BlockId::of(content);
        match operator.query(&Query::InlineBlock { account, block: id }).await.unwrap() {
            Answer::InlineBlock(Some(sealed)) => {
                assert!(sealed.len() < content.len() + 1024, "{path}: sealed, not padded");
                if content.len() > 64 {
                    assert!(
                        !sealed.windows(64).any(|w| w == &content[..64]),
                        "{path} is stored in the clear"
                    );
                }
            }
            other => panic!("{path}: {other:?}"),
        }
    }

    // The same content under another name is not stored again.
    let again = dir.path().join("again");
    std::fs::write(&again, &files[2].1).unwrap();
    client.upload_file(&again, "/small/again", &PutOptions::default()).await.unwrap();
    let after: u64 = addrs.iter().map(|a| metric(*a, "cairn_blocks_written_inline_total")).sum();
    assert_eq!(after, inline, "a known block is not kept twice");

    // Every node serves every file; then two nodes serve them without the third.
    for node in cluster.nodes.values() {
        let one = cairn_client::Client::new(cairn_client::ClientConfig::new(
            vec![format!("http://{}", node.api)],
            token.clone(),
        ))
        .unwrap();
        assert_read_back(&one, &files, dir.path()).await;
    }
    let leader = cluster.wait_for_leader().await;
    let victim = cluster.running().into_iter().find(|id| *id != leader).unwrap();
    cluster.kill(victim);
    assert_read_back(&client, &files, dir.path()).await;
    cluster.start_node(victim);

    // The last reference gone, GC drops the block and its bytes with it.
    let (path, content) = &files[3];
    client.delete(path, None).await.unwrap();
    client.purge(path, None).await.unwrap();
    let id = BlockId::of(content);
    wait_until("GC to drop the purged file's block and its bytes", || async {
        match operator.query(&Query::InlineBlock { account, block: id }).await.ok()? {
            Answer::InlineBlock(None) => Some(()),
            _ => None,
        }
    })
    .await;
    assert!(matches!(
        operator.query(&Query::Block { account, block: id }).await.unwrap(),
        Answer::Block(None)
    ));
}

async fn assert_read_back(client: &cairn_client::Client, files: &[(String, Vec<u8>)], dir: &std::path::Path) {
    for (path, content) in files {
        let local = dir.join("back");
        client.download_file(path, &local, &DownloadOptions::default(), None).await.unwrap();
        assert!(std::fs::read(&local).unwrap() == *content, "{path} came back different");
    }
}
