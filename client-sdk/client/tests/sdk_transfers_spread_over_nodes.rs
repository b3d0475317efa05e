//! A transfer's blocks are spread over every node of the client's list, not all sent to the
//! first: each node does its share of the sealing and coding of an upload, and of the fetching
//! and decoding of a download (`Call::spread`). Counted with each node's own
//! `cairn_block_bytes_read_total`, which grows by the plaintext bytes of each block it reads
//! for a client or its own checks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_client::api::DownloadOptions;
use cairn_client::upload::PutOptions;
use cairn_proto::sample_data::random;
use cairn_test_cluster::sdk::client;
use cairn_test_cluster::{ProcessCluster, Settings, http_get};

/// Bytes of blocks node `addr` has read, from its metrics page.
fn bytes_read(addr: std::net::SocketAddr) -> u64 {
    let page = http_get(addr, "/metrics");
    let line = page.lines().find(|l| l.starts_with("cairn_block_bytes_read_total ")).expect("the metric");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_draws_blocks_from_every_node() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let client = client(&cluster, &token);
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    // Blocks average 1 MiB: some thirty of them.
    let content = random(32 << 20, 11);
    std::fs::write(&local, &content).unwrap();
    let uploaded = client.upload_file(&local, "big.bin", &PutOptions::default()).await.unwrap();
    assert!(uploaded.blocks >= 6, "too few blocks to spread: {}", uploaded.blocks);

    let addrs: Vec<_> = cluster.nodes.values().map(|n| n.api).collect();
    let before: Vec<u64> = addrs.iter().map(|&a| bytes_read(a)).collect();
    let out = dir.path().join("back.bin");
    client.download_file("big.bin", &out, &DownloadOptions::default(), None).await.unwrap();
    assert!(std::fs::read(&out).unwrap() == content, "the download differs");
    let read: Vec<u64> = addrs.iter().zip(&before).map(|(&a, b)| bytes_read(a) - b).collect();
    for (i, bytes) in read.iter().enumerate() {
        assert!(*bytes > 0, "node {} served none of the blocks (bytes read per node: {read:?})", i + 1);
    }
    assert!(read.iter().sum::<u64>() >= content.len() as u64, "{read:?}");
}
