//! A sync pass that would delete most of the folder in the drive holds those deletes back
//! until a person says so — the disk that did not mount, the folder another program wiped —
//! while everything else goes on:
//!
//! - 20 of 25 synced files deleted locally (80 %): the pass pauses, `cairn sync status` says
//!   how many of how many and how to go on, the drive keeps all 25, and a new local file is
//!   still uploaded meanwhile;
//! - `cairn sync resume` beside the running sync lets exactly those deletes go;
//! - a sync started with `--confirm-deletes` lets a mass delete made while it was stopped go
//!   at once; the guard is back for the pass after;
//! - deleting a few files is never held.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_client::Client;
use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::sync_device::{Device, drive_files, eventually};

async fn names(client: &Client) -> Vec<String> {
    drive_files(client, "photos").await.into_iter().map(|(p, _)| p).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_holds_back_a_mass_delete() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let sdk = client(&cluster, &token);
    for i in 0..25 {
        put_text(&sdk, &format!("photos/{i:02}.jpg"), &format!("photo {i}")).await;
    }
    let home = tempfile::tempdir().unwrap();
    let urls: Vec<String> = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    let mut device = Device::login(home.path(), &urls, &token, None);
    device.start(&["--remote", "/photos", "--device", "laptop"]);
    let dir = device.dir.clone();
    let dir_arg = dir.to_str().unwrap().to_owned();
    device.wait_status("all 25 synced", |s| s["synced"] == 25 && s["activity"] == "idle");

    // 20 of 25 go locally, as a wiped folder would look.
    for i in 0..20 {
        std::fs::remove_file(dir.join(format!("{i:02}.jpg"))).unwrap();
    }
    let status = device.wait_status("the deletes held back", |s| !s["paused"].is_null());
    assert_eq!((status["paused"]["files"].as_u64(), status["paused"]["of"].as_u64()), (Some(20), Some(25)));
    // Everything else goes on meanwhile.
    std::fs::write(dir.join("new.jpg"), b"taken today").unwrap();
    eventually("new.jpg uploaded while the deletes wait", || async {
        names(&sdk).await.contains(&"new.jpg".to_owned())
    })
    .await;
    // The passes after the upload hold the deletes back again, now out of 26 synced files (the
    // pass that uploaded it counted 25: the upload comes after the check).
    assert_eq!(names(&sdk).await.len(), 26, "the drive keeps every file while the deletes wait");
    device.wait_status("the deletes held back out of 26", |s| s["paused"]["of"] == 26);
    let shown = device.cairn.ok(&["sync", "status", &dir_arg]).text();
    assert!(
        shown.contains("would delete 20 of the 26 synced files") && shown.contains("cairn sync resume"),
        "{shown}"
    );

    // A person says yes: exactly those deletes go, and the status says nothing waits.
    let resumed = device.cairn.json(&["sync", "resume", &dir_arg]);
    assert_eq!((resumed["running"].as_bool(), resumed["deletes"]["files"].as_u64()), (Some(true), Some(20)));
    eventually("the confirmed deletes made", || async { names(&sdk).await.len() == 6 }).await;
    let mut left = names(&sdk).await;
    left.sort();
    assert_eq!(left, ["20.jpg", "21.jpg", "22.jpg", "23.jpg", "24.jpg", "new.jpg"]);
    device.wait_status("nothing held back", |s| s["paused"].is_null() && s["activity"] == "idle");
    // Nothing is left to confirm.
    let run = device.cairn.fails(3, &["sync", "resume", &dir_arg]);
    assert!(run.stderr.contains("no deletes are held back"), "{}", run.stderr);

    // A few deletes are never held back.
    std::fs::remove_file(dir.join("20.jpg")).unwrap();
    eventually("a small delete made", || async { names(&sdk).await.len() == 5 }).await;

    // Grown again, then wiped while the sync is stopped: started with --confirm-deletes, it
    // goes at once.
    for i in 30..55 {
        std::fs::write(dir.join(format!("{i}.jpg")), format!("photo {i}")).unwrap();
    }
    eventually("30 files up", || async { names(&sdk).await.len() == 30 }).await;
    device.wait_status("30 synced", |s| s["synced"] == 30 && s["activity"] == "idle");
    device.stop();
    for i in 30..55 {
        std::fs::remove_file(dir.join(format!("{i}.jpg"))).unwrap();
    }
    device.start(&["--remote", "/photos", "--device", "laptop", "--confirm-deletes"]);
    eventually("the confirmed mass delete made", || async { names(&sdk).await.len() == 5 }).await;
    device.wait_status("nothing held back", |s| s["paused"].is_null() && s["synced"] == 5);
}
