//! A 16 MiB payload crosses the transport and comes back intact: the raised flow-control
//! windows and the frame limit let multi-MiB shards through in one request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, cluster, echo, serving};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_payload_round_trips_intact() {
    let seed = 0x5EED_0016;
    println!("payload seed: {seed:#x}");
    let mut payload = vec![0u8; 16 * 1024 * 1024];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut payload);
    let sent_hash = blake3::hash(&payload);

    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let server = serving(&ids[1], echo()).await;

    let (kind, returned) =
        client.request(server.local_addr(), "node-2", 41, Bytes::from(payload), PATIENCE).await.unwrap();
    assert_eq!(kind, 42);
    assert_eq!(returned.len(), 16 * 1024 * 1024);
    assert_eq!(blake3::hash(&returned), sent_hash, "payload changed in transit (seed {seed:#x})");
}
