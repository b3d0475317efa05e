//! A node whose disk fills: small files live in the metadata state, so uploads alone can fill
//! the disk under Raft's log and state. The node must refuse what grows the drive with 507
//! `storage_full` while it still has room for its log and its next snapshot, and go on serving:
//! reads, deletes, the trash, and a restart all work on the full disk.
//!
//! The disk is real and small: a 384 MiB tmpfs mounted on the node's data folder (the tests run
//! as root), with a 128 MiB reserve: room for a compaction and a snapshot after the refusal. Before the guard, such a disk ended in `No space left on
//! device` inside RocksDB, and a Raft core that stopped for good.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_proto::sample_data::random;
use cairn_test_cluster::http::{Reply, call};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::{Value, json};

const FILES_PER_BATCH: usize = 100;
const FILE_BYTES: usize = 8 << 10;
/// More batches than the disk can hold four times over: the refusal must come well before.
const MAX_BATCHES: usize = 400;

/// A tmpfs mounted for the test, lazily unmounted when it ends (the node may still hold files
/// open if the test failed; the memory goes when the last of them closes).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs on {} (the tests run as root)", at.display());
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn code(reply: &Reply) -> String {
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    body["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_files_and_keeps_serving() {
    let settings = Settings {
        storage: "reserve_disk_bytes = 134217728".into(),
        snapshot_every: 50,
        keep_after_snapshot: 20,
        ..Default::default()
    };
    let mut cluster = ProcessCluster::prepare(settings);
    cluster.add_files(1);
    // Declared after the cluster: dropped first, so the mount goes before the folder does.
    let _disk = Tmpfs::mount(&cluster.data_dir(1), "384m");
    cluster.run_ok_on(1, &["init", "-c", cluster.config_arg(1).as_str()]);
    cluster.start_node(1);
    cluster.wait_for_leader().await;
    let token = cluster.add_user("ada", false);
    let addrs: Vec<SocketAddr> = vec![cluster.nodes[&1].api];
    let auth = Some(token.as_str());
    let send = |method: &str, path: &str, body: &Value| {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        call(&addrs, 0, auth, method, path, &[], &body)
    };

    // Small files until the node says its disk is full; then a new folder must be refused too.
    // The free space moves while the disk is nearly full (a snapshot is built beside the old
    // one, then the old one and the log behind it go), so a folder asked for just after a
    // refused batch may find room again: then the filling goes on until both are refused.
    let mut last_stored = None;
    let mut refusals = 0;
    let mut folder_refused = false;
    for b in 0..MAX_BATCHES {
        let files: Vec<Value> = (0..FILES_PER_BATCH)
            .map(|f| {
                let content = random(FILE_BYTES, (b * FILES_PER_BATCH + f) as u64);
                json!({ "path": format!("/full/b{b}/f{f}"), "content": BASE64.encode(content) })
            })
            .collect();
        let reply = send("POST", "/v1/batch", &json!({ "files": files }));
        if reply.status == 507 {
            assert_eq!(code(&reply), "storage_full");
            refusals += 1;
            let folder = send("POST", &format!("/v1/folders/more{b}"), &Value::Null);
            if folder.status == 507 {
                assert_eq!(code(&folder), "storage_full");
                folder_refused = true;
                break;
            }
            assert_eq!(folder.status, 201, "a folder: {}", String::from_utf8_lossy(&folder.body));
            continue;
        }
        assert_eq!(reply.status, 200, "batch {b}: {}", String::from_utf8_lossy(&reply.body));
        last_stored = Some(b);
    }
    assert!(folder_refused, "{MAX_BATCHES} batches ({refusals} refused) and no folder refused with 507");
    let last_stored = last_stored.expect("the empty disk refused the first batch");

    // Everything else goes on.
    let first = send("GET", "/v1/content/full/b0/f0", &Value::Null);
    assert_eq!(first.status, 200);
    assert!(first.body == random(FILE_BYTES, 0), "a stored file reads back as written");
    let trashed = send("DELETE", "/v1/tree/full/b0", &Value::Null);
    assert_eq!(trashed.status, 200, "{}", String::from_utf8_lossy(&trashed.body));
    let deleted = send("DELETE", "/v1/trash", &json!({ "path": "/full/b0" }));
    assert_eq!(deleted.status, 200, "{}", String::from_utf8_lossy(&deleted.body));
    assert!(cluster.is_running(1), "the node survived its full disk");

    // Its stores were never cut short: it restarts on the same full disk and serves the rest.
    cluster.stop(1).await;
    cluster.start_node(1);
    cluster.wait_for_leader().await;
    let last = format!("/v1/content/full/b{last_stored}/f0");
    let back = send("GET", &last, &Value::Null);
    assert_eq!(back.status, 200, "{last} after the restart");
    assert!(back.body == random(FILE_BYTES, (last_stored * FILES_PER_BATCH) as u64));
}
