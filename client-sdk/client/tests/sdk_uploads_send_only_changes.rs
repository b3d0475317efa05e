//! The SDK against a real cluster: delta sync and conflicts.
//!
//! - A 256 MiB file uploaded once, then with 1 MiB changed in the middle, then with one byte
//!   inserted at the start: each later upload sends at most a few MiB, measured by the SDK's
//!   own byte counters, and every version downloads byte-identical (each block checked against
//!   its id, the whole against its hash, written via a temporary file).
//! - Two clients commit on the same base version: one wins, the other gets 409 `conflict`.
//! - An editor of a shared folder uploads into it (blocks and commit are checked against the
//!   target path), and nowhere else in the owner's drive; a viewer nowhere.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::path::Path;

use cairn_client::api::DownloadOptions;
use cairn_client::upload::PutOptions;
use cairn_client::{Client, CommitOn};
use cairn_proto::sample_data::random;
use cairn_test_cluster::sdk::client;
use cairn_test_cluster::{ProcessCluster, Settings};

const MIB: usize = 1 << 20;
/// "At most a few MiB": the changed region plus the blocks it touches (blocks average 1 MiB
/// and are at most 4 MiB), with room for the chunker's boundaries to shift on either side.
const FEW_MIB: u64 = 10 * MIB as u64;

async fn assert_downloads_as(client: &Client, remote: &str, expected: &Path, dir: &Path) {
    let out = dir.join("downloaded");
    client.download_file(remote, &out, &DownloadOptions::default(), None).await.unwrap();
    assert!(std::fs::read(&out).unwrap() == std::fs::read(expected).unwrap(), "{remote} differs");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_sends_only_its_changes() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let client = client(&cluster, &token);
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");

    let mut content = random(256 * MIB, 7);
    std::fs::write(&local, &content).unwrap();
    let before = client.counters().snapshot();
    let first = client.upload_file(&local, "big.bin", &PutOptions::default()).await.unwrap();
    let cost = client.counters().snapshot().since(&before);
    assert_eq!(first.size, content.len() as u64);
    assert!(cost.bytes_sent >= content.len() as u64, "the first upload sends everything: {cost:?}");
    println!("first upload: {} blocks, {cost:?}", first.blocks);

    // 1 MiB changed in the middle.
    let middle = content.len() / 2;
    content[middle..middle + MIB].copy_from_slice(&random(MIB, 8));
    std::fs::write(&local, &content).unwrap();
    let before = client.counters().snapshot();
    let second = client.upload_file(&local, "big.bin", &PutOptions::default()).await.unwrap();
    let cost = client.counters().snapshot().since(&before);
    println!("1 MiB changed: {} of {} blocks sent, {cost:?}", second.blocks_sent, second.blocks);
    assert!(cost.bytes_sent <= FEW_MIB, "a 1 MiB change sent {} bytes", cost.bytes_sent);
    assert!(cost.bytes_sent >= MIB as u64, "the change itself must be sent: {cost:?}");
    assert_eq!(second.committed.version, first.committed.version + 1);
    assert_downloads_as(&client, "big.bin", &local, dir.path()).await;

    // One byte inserted at the start: content-defined chunking resynchronises after a block.
    content.insert(0, 0x42);
    std::fs::write(&local, &content).unwrap();
    let before = client.counters().snapshot();
    let third = client.upload_file(&local, "big.bin", &PutOptions::default()).await.unwrap();
    let cost = client.counters().snapshot().since(&before);
    println!("1 byte inserted: {} of {} blocks sent, {cost:?}", third.blocks_sent, third.blocks);
    assert!(cost.bytes_sent <= FEW_MIB, "a 1-byte insert sent {} bytes", cost.bytes_sent);
    assert_eq!(third.size, content.len() as u64);
    assert_downloads_as(&client, "big.bin", &local, dir.path()).await;

    // The same content under another name sends no block at all (dedup).
    let before = client.counters().snapshot();
    let copy = client.upload_file(&local, "copy.bin", &PutOptions::default()).await.unwrap();
    let cost = client.counters().snapshot().since(&before);
    assert_eq!(copy.blocks_sent, 0, "{cost:?}");
    assert!(cost.bytes_sent < 256 * 1024, "a duplicate sent {} bytes", cost.bytes_sent);

    // An old version still downloads as it was.
    let old = dir.path().join("old");
    let first_content = random(256 * MIB, 7);
    let options = DownloadOptions { version: Some(first.committed.version), ..Default::default() };
    client.download_file("big.bin", &old, &options, None).await.unwrap();
    assert!(std::fs::read(&old).unwrap() == first_content, "version 1 differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commits_on_one_base_make_one_winner() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let (alice, bob) = (client(&cluster, &token), client(&cluster, &token));
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, random(3 * MIB, 1)).unwrap();
    std::fs::write(&b, random(3 * MIB, 2)).unwrap();

    let v1 = alice
        .upload_file(&a, "doc", &PutOptions { base: CommitOn::New, ..Default::default() })
        .await
        .unwrap();
    let on_v1 = PutOptions { base: CommitOn::Version(v1.committed.version), ..Default::default() };
    let (ra, rb) = tokio::join!(alice.upload_file(&b, "doc", &on_v1), bob.upload_file(&a, "doc", &on_v1));
    let results = [ra, rb];
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "exactly one commit on version 1 wins: {results:?}");
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(loser.code(), "conflict", "{loser}");
    assert_eq!(loser.status().map(|s| s.as_u16()), Some(409));

    // Creating what exists is a conflict too, and so is a base that never was the head.
    let again = alice.upload_file(&a, "doc", &PutOptions { base: CommitOn::New, ..Default::default() }).await;
    assert_eq!(again.unwrap_err().code(), "conflict");
    let history = alice.history("doc", &Default::default()).await.unwrap();
    assert_eq!(history.versions.len(), 2, "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_upload_into_shared_folders_only() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let ada = client(&cluster, &cluster.add_user("ada", false));
    let bob = client(&cluster, &cluster.add_user("bob", false));
    let eve = client(&cluster, &cluster.add_user("eve", false));
    let drive = ada.me().await.unwrap().drive;
    ada.make_folder("team", None).await.unwrap();
    ada.make_folder("private", None).await.unwrap();
    ada.share("team", "bob", cairn_client::api::Role::Editor, None).await.unwrap();
    ada.share("team", "eve", cairn_client::api::Role::Viewer, None).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("f");
    std::fs::write(&local, random(2 * MIB, 5)).unwrap();
    let into = |path: &str| (path.to_owned(), PutOptions { ns: Some(drive), ..Default::default() });

    let (path, options) = into("team/from-bob.bin");
    let report = bob.upload_file(&local, &path, &options).await.unwrap();
    assert!(report.blocks_sent > 0);
    assert_downloads_as(&ada, "team/from-bob.bin", &local, dir.path()).await;

    let (path, options) = into("private/from-bob.bin");
    let refused = bob.upload_file(&local, &path, &options).await.unwrap_err();
    assert!(["forbidden", "not_found"].contains(&refused.code()), "{refused}");
    let (path, options) = into("team/from-eve.bin");
    let refused = eve.upload_file(&local, &path, &options).await.unwrap_err();
    assert_eq!(refused.code(), "forbidden", "{refused}");
}
