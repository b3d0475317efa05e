//! `cairn put` and `cairn get` of a 200 MiB file survive the kill -9 of the node they are
//! talking to, mid-transfer: the CLI fails over to the next node of its profile, exits 0, and
//! the file is byte-identical on the other side — in the drive, fetched through another node;
//! on disk, with no `.part` file left behind.
//!
//! The cluster has the default storage profile (2+1, which keeps taking writes with one node of
//! three down); only failure detection is quicker than by default, so the test does not wait
//! out the default five seconds before the cluster stops placing shards on the dead node.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cairn_proto::sample_data::random;
use cairn_test_cluster::{ProcessCluster, Settings};
use common::cli::{Cairn, ca_file, file_hash, node_url};

/// The file: large enough that a transfer is still under way when its node dies.
const SIZE: usize = 200 << 20;
/// A transfer of it, failover included, takes far less on any machine that runs the suite;
/// only a hang reaches this.
const TRANSFER_PATIENCE: Duration = Duration::from_secs(600);
const STORAGE: &str = "down_after_ms = 1500\nhedge_after_ms = 200";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_survive_the_death_of_their_node() {
    let settings = Settings { api_tls: true, storage: STORAGE.into(), ..Settings::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let token = cluster.add_user("ada", false);
    let home = tempfile::tempdir().unwrap();
    let ada = Cairn::new(home.path());
    let urls: Vec<String> = (1..=3).map(|id| node_url(&cluster, id)).collect();
    let ca = ca_file(&cluster).display().to_string();
    let mut login = vec!["--ca", ca.as_str()];
    for url in &urls {
        login.extend(["--node", url.as_str()]);
    }
    ada.login_with_token(&token, &login);

    let source = home.path().join("big.bin");
    write_random(&source, SIZE);
    let expected = file_hash(&source);

    // Upload through node 1 (first in the profile) and kill it once blocks are flowing.
    let started = Instant::now();
    let mut put = ada.spawn(&["--json", "put", "big.bin", "/big.bin"]);
    let at = put.wait_for_progress(1, TRANSFER_PATIENCE);
    cluster.kill(1);
    eprintln!("killed node 1 at {at}% of the upload, {:?} in", started.elapsed());
    let run = put.finish(TRANSFER_PATIENCE);
    assert_eq!(run.code, 0, "put failed after the node died:\n{}", run.stderr);
    let report = run.json();
    assert_eq!(report["size"], SIZE, "{report}");
    assert!(report["retries"].as_u64().unwrap() > 0, "no request was retried, so no failover: {report}");
    eprintln!("upload done in {:?}: {report}", started.elapsed());

    // The drive holds exactly the file: fetched through node 2 alone.
    let check = home.path().join("check.bin");
    ada.ok(&["--node", &urls[1], "get", "/big.bin", check.to_str().unwrap()]);
    assert_eq!(file_hash(&check), expected, "the uploaded file is not byte-identical");
    std::fs::remove_file(&check).unwrap();

    // Node 1 back, serving again; then a download through it, killed mid-way.
    cluster.start_node(1);
    let deadline = Instant::now() + TRANSFER_PATIENCE;
    while ada.run(&["--node", &urls[0], "status"]).code != 0 {
        assert!(Instant::now() < deadline, "node 1 never served again");
        std::thread::sleep(Duration::from_millis(100));
    }
    let downloads = home.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    let target = downloads.join("big.bin");
    let started = Instant::now();
    let mut get = ada.spawn(&["--json", "get", "/big.bin", target.to_str().unwrap()]);
    let at = get.wait_for_progress(1, TRANSFER_PATIENCE);
    cluster.kill(1);
    eprintln!("killed node 1 at {at}% of the download, {:?} in", started.elapsed());
    let run = get.finish(TRANSFER_PATIENCE);
    assert_eq!(run.code, 0, "get failed after the node died:\n{}", run.stderr);
    let report = run.json();
    assert!(report["retries"].as_u64().unwrap() > 0, "no request was retried, so no failover: {report}");
    eprintln!("download done in {:?}: {report}", started.elapsed());
    assert_eq!(file_hash(&target), expected, "the downloaded file is not byte-identical");
    let left: Vec<String> = std::fs::read_dir(&downloads)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["big.bin"], "the download left files behind");
}

/// Writes `size` random bytes to `path`, 8 MiB at a time (seeded, so every run is the same).
fn write_random(path: &Path, size: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let piece = 8 << 20;
    for (i, offset) in (0..size).step_by(piece).enumerate() {
        file.write_all(&random(piece.min(size - offset), i as u64)).unwrap();
    }
    file.flush().unwrap();
}
