//! A sync never writes outside its folder, nor deletes what it cannot see. The case as a user
//! met it: a synced folder holding a link `docs -> /elsewhere`, and a drive folder `/proj/docs`
//! holding `a.txt` and `b.txt`. The old engine made the local folder on its first pass (it
//! "existed": the link), downloaded through it into `/elsewhere`, then, on the next scan, which
//! skips links, read the folder as deleted and trashed `/proj/docs` for every device. Now:
//!
//! - nothing is written through the link, pass after pass: `/elsewhere` holds what it held;
//! - `/proj/docs` stays in the drive, files and all: a link is never a local delete;
//! - a link to a file is neither uploaded nor written through, and its namesake in the drive
//!   stays;
//! - `cairn sync status` names both links and says why;
//! - everything else syncs as usual, in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::sync_device::{Device, drive_files, eventually, tree, waiting};

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_stays_inside_its_folder() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let sdk = client(&cluster, &token);
    for (path, content) in [
        ("proj/docs/a.txt", "a in the drive"),
        ("proj/docs/b.txt", "b in the drive"),
        ("proj/top.txt", "top"),
        ("proj/note.txt", "the drive's note"),
    ] {
        put_text(&sdk, path, content).await;
    }
    let before = drive_files(&sdk, "proj").await;

    // The device's folder holds a link to a folder elsewhere and a link to a file there.
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("secret.txt"), b"not for the drive").unwrap();
    let urls: Vec<String> = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    let mut device = Device::login(home.path(), &urls, &token, None);
    std::fs::create_dir_all(&device.dir).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), device.dir.join("docs")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("secret.txt"), device.dir.join("note.txt")).unwrap();
    device.start(&["--remote", "/proj", "--device", "laptop"]);

    // The first pass brings top.txt down and holds both links.
    let status = device.wait_status("top.txt down and both links held", |s| {
        let held: Vec<String> = waiting(s).into_iter().map(|(p, _)| p).collect();
        device.dir.join("top.txt").is_file()
            && held.contains(&"docs".into())
            && held.contains(&"note.txt".into())
    });

    // A change on each side makes more passes. The old engine took the link for a deleted
    // folder on the pass right after the one that downloaded through it: by the time both
    // changes have crossed, that pass is long done.
    std::fs::write(device.dir.join("new.txt"), b"made here").unwrap();
    put_text(&sdk, "proj/later.txt", "made in the drive").await;
    eventually("new.txt uploaded", || async {
        drive_files(&sdk, "proj").await.iter().any(|(p, c)| p == "new.txt" && c == "made here")
    })
    .await;
    let later = device.dir.join("later.txt");
    eventually("later.txt downloaded", || async { later.is_file() }).await;

    // Nothing went through either link.
    assert_eq!(tree(elsewhere.path()), ["secret.txt"]);
    assert_eq!(std::fs::read(elsewhere.path().join("secret.txt")).unwrap(), b"not for the drive");
    // The drive lost nothing: /proj/docs and its files, and the link's namesake, are there.
    let mut expected = before.clone();
    expected.push(("later.txt".into(), "made in the drive".into()));
    expected.push(("new.txt".into(), "made here".into()));
    expected.sort();
    assert_eq!(drive_files(&sdk, "proj").await, expected);
    // The folder holds the links as they were, and what synced.
    let local: Vec<String> = tree(&device.dir).into_iter().filter(|p| !p.starts_with(".cairn")).collect();
    assert_eq!(local, ["docs", "later.txt", "new.txt", "note.txt", "top.txt"]);
    assert!(std::fs::symlink_metadata(device.dir.join("docs")).unwrap().file_type().is_symlink());

    // `cairn sync status` names each link and why, from another process.
    for (path, reason) in waiting(&status) {
        assert!(reason.contains("symbolic link"), "{path}: {reason}");
    }
    let dir = device.dir.to_str().unwrap().to_owned();
    let shown = device.cairn.ok(&["sync", "status", &dir]).text();
    for link in ["docs", "note.txt"] {
        let line = format!("waiting: {link}: a symbolic link");
        assert!(shown.contains(&line), "no {line:?} in:\n{shown}");
    }
}
