//! The drive as its users see it, on a local 3-node cluster of real `cairn-node` processes
//! (2+1, HTTPS with the cluster CA as deployed): a 1 GiB file put and got whole, through the `cairn` command line (when it is built
//! beside this benchmark) and through the SDK it uses; then many small files (4 KiB each) put by
//! several clients at once, in files per second.
//!
//! `cargo bench -p cairn-node --bench drive_throughput [-- SMALL_FILES]` (default 10 000).
//! `make bench` builds `cairn` in release first.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cairn_client::api::DownloadOptions;
use cairn_client::upload::PutOptions;
use cairn_client::{Client, ClientConfig, CommitOn};
use cairn_proto::sample_data::random;
use cairn_test_cluster::{ProcessCluster, Settings};
use tokio::task::JoinSet;

const GIB: usize = 1 << 30;
const SMALL: usize = 4096;

/// The release `cairn` binary beside this benchmark's, if `make bench` built it.
fn cli_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    Some(dir.join("cairn")).filter(|p| p.exists())
}

fn mb_per_s(bytes: usize, started: Instant) -> f64 {
    bytes as f64 / started.elapsed().as_secs_f64() / 1e6
}

/// Runs `cairn` with a fresh profile; panics with its output on failure.
fn cairn(binary: &Path, config: &Path, ca: &Path, nodes: &[String], token: &str, args: &[&str]) {
    let mut command = std::process::Command::new(binary);
    command.env("CAIRN_CONFIG", config).arg("--quiet").arg("--ca").arg(ca);
    for node in nodes {
        command.args(["--node", node]);
    }
    let out = command.env("CAIRN_TOKEN", token).args(args).output().unwrap();
    assert!(out.status.success(), "cairn {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

async fn big_file(cluster: &ProcessCluster, client: &Client, token: &str, nodes: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("one.gib");
    // 1 GiB of random data in 64 MiB pieces, so the benchmark holds little of it in memory.
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&local).unwrap();
        for piece in 0..16 {
            file.write_all(&random(GIB / 16, 100 + piece)).unwrap();
        }
    }
    println!("1 GiB random file, 3 nodes, 2+1");
    println!("{:>28} {:>10}", "what", "MB/s");
    let started = Instant::now();
    client
        .upload_file(&local, "sdk.gib", &PutOptions { base: CommitOn::New, ..Default::default() })
        .await
        .unwrap();
    println!("{:>28} {:>10.1}", "SDK put", mb_per_s(GIB, started));
    let started = Instant::now();
    client
        .download_file("sdk.gib", &dir.path().join("back"), &DownloadOptions::default(), None)
        .await
        .unwrap();
    println!("{:>28} {:>10.1}", "SDK get", mb_per_s(GIB, started));
    std::fs::remove_file(dir.path().join("back")).unwrap();

    match cli_binary() {
        Some(binary) => {
            // New content, or `cairn put` would only find every block already stored.
            {
                use std::io::Write;
                let mut file = std::fs::File::create(&local).unwrap();
                for piece in 0..16 {
                    file.write_all(&random(GIB / 16, 200 + piece)).unwrap();
                }
            }
            let config = dir.path().join("cairn.toml");
            let started = Instant::now();
            let ca = cluster.path().join("secrets").join("ca.crt");
            cairn(&binary, &config, &ca, nodes, token, &["put", local.to_str().unwrap(), "cli.gib"]);
            println!("{:>28} {:>10.1}", "cairn put", mb_per_s(GIB, started));
            let back = dir.path().join("cli-back");
            let started = Instant::now();
            cairn(&binary, &config, &ca, nodes, token, &["get", "cli.gib", back.to_str().unwrap()]);
            println!("{:>28} {:>10.1}", "cairn get", mb_per_s(GIB, started));
        }
        None => println!("(no release `cairn` beside the benchmark: `cargo build --release -p cairn-cli`)"),
    }
    // Both copies hold the same blocks: the second upload of the same content is a dedup.
    let started = Instant::now();
    client
        .upload_file(&local, "again.gib", &PutOptions { base: CommitOn::New, ..Default::default() })
        .await
        .unwrap();
    println!("{:>28} {:>10.1}", "SDK put, content known", mb_per_s(GIB, started));
}

async fn small_files(clients: &[Client], files: usize) {
    println!("{files} files of 4 KiB");
    println!("{:>10} {:>12}", "clients", "files/s");
    for (round, &parallel) in [4usize, 16].iter().enumerate() {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for c in 0..parallel {
            let (client, next) = (clients[c % clients.len()].clone(), next.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files {
                        return;
                    }
                    let content = random(SMALL, (round * files + i) as u64);
                    let path = format!("small-{round}/{:02}/{i}", i % 64);
                    let options = PutOptions { base: CommitOn::New, ..Default::default() };
                    client.upload_reader(std::io::Cursor::new(content), &path, &options).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        println!("{parallel:>10} {:>12.0}", files as f64 / started.elapsed().as_secs_f64());
    }
}

fn main() {
    let files: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let settings = Settings { storage: "profile = \"2+1\"".into(), api_tls: true, ..Default::default() };
        let cluster = ProcessCluster::start(3, settings).await;
        let token = cluster.add_user("bench", false);
        let ca = std::fs::read_to_string(cluster.path().join("secrets").join("ca.crt")).unwrap();
        let nodes: Vec<String> = cluster.nodes.values().map(|n| format!("https://{}", n.api)).collect();
        // One client per node, each starting at its own node, as separate devices would.
        let clients: Vec<Client> = (0..nodes.len())
            .map(|i| {
                let mut order = nodes.clone();
                order.rotate_left(i);
                let mut config = ClientConfig::new(order, &token);
                config.ca_pem = Some(ca.clone());
                Client::new(config).unwrap()
            })
            .collect();
        big_file(&cluster, &clients[0], &token, &nodes).await;
        small_files(&clients, files).await;
    });
}
