//! On disk, a real `cairn-node`: `init` writes its keys 0600 and its secrets and data folders
//! 0700; `start` refuses, saying `chmod 600 PATH`, while `master.key` or `ca.key` may be read or
//! written by other users; and a data folder found open to others is tightened to 0700 with a
//! log line when the node starts.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_test_cluster::{ProcessCluster, Settings, binary};

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `cairn-node start -c config`, which must exit by itself within a minute; returns its
/// success and standard error.
fn start_expecting_exit(config: &str) -> (bool, String) {
    let mut child = Command::new(binary())
        .env_remove("RUST_LOG")
        .args(["start", "-c", config])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cairn-node start kept running with a key open to others");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_keys_open_to_others_and_keeps_its_folders_private() {
    let mut cluster = ProcessCluster::prepare(Settings::default());
    cluster.add_files(1);
    let config = cluster.nodes[&1].config.display().to_string();
    cluster.run_ok(&["init", "-c", &config]);

    let secrets = cluster.dir.path().join("secrets");
    let data = cluster.dir.path().join("node1");
    assert_eq!(mode_of(&secrets), 0o700, "the secrets folder");
    for key in ["master.key", "ca.key", "node-1.key"] {
        assert_eq!(mode_of(&secrets.join(key)), 0o600, "{key} as init wrote it");
    }
    for dir in ["", "raft-log", "state", "shards"] {
        assert_eq!(mode_of(&data.join(dir)), 0o700, "data folder {dir:?} as init made it");
    }

    for key in ["master.key", "ca.key"] {
        let path = secrets.join(key);
        for loose in [0o644, 0o640, 0o660, 0o606] {
            set_mode(&path, loose);
            let (started, stderr) = start_expecting_exit(&config);
            assert!(!started, "started with {key} at {loose:o}");
            assert!(stderr.contains("chmod 600 ") && stderr.contains(key), "{key} at {loose:o}: {stderr}");
            assert!(stderr.contains(&format!("{loose:04o}")), "the message names the mode: {stderr}");
        }
        set_mode(&path, 0o600);
    }

    // Keys closed, the node starts, and closes the data folder someone opened.
    set_mode(&data, 0o755);
    cluster.start_node(1);
    cluster.wait_for_leader().await;
    assert_eq!(mode_of(&data), 0o700);
    let log = std::fs::read_to_string(&cluster.nodes[&1].log).unwrap();
    assert!(log.contains("made it 0700"), "no log line for the tightened folder:\n{log}");
}
