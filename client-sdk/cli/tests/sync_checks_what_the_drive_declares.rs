//! "Both sides hold the same content" is never taken on the drive's word. A device and the
//! drive both made `x.txt`, with different content, and a server in between declares the
//! drive's version to hash like the device's — so a client that trusted the declared hash
//! would record the two as in step, keep its own version, and never fetch the drive's. Here:
//!
//! - the device keeps its version as a conflicted copy, uploaded like any file;
//! - the drive's `x.txt` is untouched, and nothing that fails its check is written at
//!   `x.txt` locally while the server lies; the status says why;
//! - once the server tells the truth, the drive's version comes down.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::lying_proxy::LyingProxy;
use common::sync_device::{Device, drive_files, eventually, waiting};

const THEIRS: &str = "the drive's version";
const OURS: &str = "this device's version";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_checks_what_the_drive_declares() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let sdk = client(&cluster, &token);
    put_text(&sdk, "proj/x.txt", THEIRS).await;
    let proxy = LyingProxy::start(cluster.nodes[&1].api, &[]).await;
    proxy.lie_about("proj/x.txt", blake3::hash(OURS.as_bytes()).to_hex().as_str());

    let home = tempfile::tempdir().unwrap();
    let mut device = Device::login(home.path(), &[format!("http://{}", proxy.addr)], &token, None);
    std::fs::create_dir_all(&device.dir).unwrap();
    std::fs::write(device.dir.join("x.txt"), OURS).unwrap();
    device.start(&["--remote", "/proj", "--device", "laptop"]);

    // The device's version is kept, as a conflicted copy, in the drive too.
    eventually("the device's version uploaded as a conflicted copy", || async {
        drive_files(&sdk, "proj").await.iter().any(|(p, c)| p.contains("conflicted copy") && c == OURS)
    })
    .await;
    let status = device.wait_status("x.txt waits for a download that checks out", |s| {
        waiting(s).iter().any(|(p, reason)| p == "x.txt" && reason.contains("hashes to"))
    });
    assert!(!device.dir.join("x.txt").exists(), "{status:#}");
    let in_the_drive = drive_files(&sdk, "proj").await;
    assert!(in_the_drive.contains(&("x.txt".into(), THEIRS.into())), "{in_the_drive:?}");
    assert_eq!(in_the_drive.len(), 2, "{in_the_drive:?}");

    // The truth, and a change that wakes the sync: the drive's version comes down.
    proxy.stop_lying();
    put_text(&sdk, "proj/wake.txt", "wake up").await;
    let x = device.dir.join("x.txt");
    eventually("the drive's x.txt down", || async {
        std::fs::read(&x).is_ok_and(|c| c == THEIRS.as_bytes())
    })
    .await;
    let copies: Vec<_> = std::fs::read_dir(&device.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("conflicted copy"))
        .collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(std::fs::read(copies[0].path()).unwrap(), OURS.as_bytes());
}
