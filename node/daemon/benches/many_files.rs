//! Ten million files (issue 20, item 7): a local 3-node cluster of release `cairn-node`
//! processes (2+1, fsync on, plain HTTP so the clients' TLS does not eat the two cores the
//! nodes share) loaded with `--files` file entries through `POST /v1/batch`, then measured:
//!
//! - ingest rate (files/s over the whole load);
//! - stat latency of random files, and list latency of the first page (1 000 entries) of the
//!   largest folder, p50 and p99, one request at a time from one client;
//! - the snapshot: its size, how long the leader took to build it and the follower to install
//!   it (from the nodes' `built snapshot` / `installed snapshot` log lines);
//! - follower catch-up: a follower is killed when 90 % of the files are in and started again
//!   after the load; the time until it has applied everything the leader has;
//! - a fresh node: after the catch-up, a fourth node with an empty disk joins as a learner;
//!   the time from its admission until it has applied everything, and its snapshot install;
//! - RSS (now and peak) and disk of each node once the cluster is quiet.
//!
//! Files go into one folder of `--big-folder` entries and folders of 1, 10, 100, … 100 000
//! entries in turn for the rest. One file in ten is block-backed (its block list names one
//! stored block, as a folder of copies would); the others are small files kept in metadata,
//! each with its own content.
//!
//! `make bench-many-files` (`MANY_FILES=…` for another count), or `cargo bench -p cairn-node
//! --bench many_files -- [--files 10000000] [--big-folder 1000000] [--per-batch 1000]
//! [--parallel 8] [--samples 1000]`. Not part of `make bench`: at ten million files it runs
//! for most of an hour.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

#[path = "fast_paths/args.rs"]
mod args;
#[path = "fast_paths/disk.rs"]
mod disk;
#[path = "fast_paths/process.rs"]
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use args::at_least_one;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_client::api::{Base, Batch, BatchFile, BlockEntry, DownloadOptions, Listing};
use cairn_client::upload::PutOptions;
use cairn_client::{Client, ClientConfig};
use cairn_proto::sample_data::random;
use cairn_test_cluster::{ProcessCluster, Settings};
use clap::Parser;
use rand::Rng;

/// Folder sizes after the big folder, in turn.
const FOLDER_SIZES: [usize; 6] = [1, 10, 100, 1_000, 10_000, 100_000];
/// One file in this many is block-backed.
const BLOCK_BACKED_EVERY: usize = 10;

/// The command line. Cargo adds `--bench` to a benchmark's arguments; it is accepted and
/// ignored.
#[derive(Parser)]
#[command(about = "Millions of file entries in a local 3-node cluster")]
struct Args {
    /// File entries to load.
    #[arg(long, default_value_t = 10_000_000, value_parser = at_least_one)]
    files: usize,
    /// Entries of the largest folder (at most --files).
    #[arg(long, default_value_t = 1_000_000)]
    big_folder: usize,
    /// Files per `POST /v1/batch`.
    #[arg(long, default_value_t = 1_000, value_parser = at_least_one)]
    per_batch: usize,
    /// Batches in flight.
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    parallel: usize,
    /// Stats and lists measured.
    #[arg(long, default_value_t = 1_000, value_parser = at_least_one)]
    samples: usize,
    #[arg(long = "bench", hide = true)]
    _bench: bool,
}

/// Where file number `n` goes: the big folder first, then folders of [`FOLDER_SIZES`] in turn.
fn path_of(n: usize, big_folder: usize) -> String {
    if n < big_folder {
        return format!("/big/f{n:07}");
    }
    let mut rest = n - big_folder;
    let mut folder = 0;
    loop {
        let size = FOLDER_SIZES[folder % FOLDER_SIZES.len()];
        if rest < size {
            return format!("/d/{folder:05}-{size}/f{rest:06}");
        }
        rest -= size;
        folder += 1;
    }
}

/// The batch of files `from..to`.
fn batch(from: usize, to: usize, big_folder: usize, block: &BlockFile) -> Batch {
    let files = (from..to)
        .map(|n| {
            let path = path_of(n, big_folder);
            if n % BLOCK_BACKED_EVERY == BLOCK_BACKED_EVERY - 1 {
                BatchFile {
                    path,
                    base: Base::New,
                    blocks: Some(block.blocks.clone()),
                    size: Some(block.size),
                    hash: Some(block.hash.clone()),
                    ..Default::default()
                }
            } else {
                let content = format!("file {n} of the many-files benchmark\n");
                BatchFile {
                    path,
                    base: Base::New,
                    content: Some(BASE64.encode(content)),
                    ..Default::default()
                }
            }
        })
        .collect();
    Batch { ns: None, files }
}

/// The stored file every block-backed entry shares.
struct BlockFile {
    blocks: Vec<BlockEntry>,
    size: u64,
    hash: String,
}

fn client(nodes: &[String], first: usize, token: &str) -> Client {
    let mut order = nodes.to_vec();
    order.rotate_left(first % nodes.len());
    Client::new(ClientConfig::new(order, token)).unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// The last `what` line of a node's log (`built snapshot`, `installed snapshot`): its `bytes`
/// and `ms` fields.
fn snapshot_line(log: &str, what: &str) -> Option<(u64, u64)> {
    let line = log.lines().rev().find(|l| l.contains(what))?;
    let field = |name: &str| -> Option<u64> {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        line[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    Some((field("bytes")?, field("ms")?))
}

/// Says how node `node` caught up: from a snapshot (`installed`, as [`snapshot_line`] read it)
/// or from the log alone.
fn print_install(node: u64, installed: Option<(u64, u64)>) {
    match installed {
        Some((bytes, ms)) => println!("snapshot: node {node} installed {bytes} bytes in {ms} ms"),
        None => println!("snapshot: node {node} caught up from the log alone"),
    }
}

fn main() {
    let mut args = Args::parse();
    args.big_folder = args.big_folder.min(args.files);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // Snapshots every 1 000 entries: at 1 000 files an entry the leader builds several during
    // the load, and purges its log behind them, so the killed follower needs one.
    let settings = Settings {
        storage: "profile = \"2+1\"".into(),
        snapshot_every: 1_000,
        keep_after_snapshot: 200,
        ..Default::default()
    };
    let mut cluster = runtime.block_on(ProcessCluster::start(3, settings));
    let token = cluster.add_user("bench", false);
    let nodes: Vec<String> = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    let operator = runtime.block_on(cluster.client());
    println!(
        "many files: {} files ({} in one folder), {} per batch, {} batches in flight; 3 nodes, 2+1, fsync on",
        args.files, args.big_folder, args.per_batch, args.parallel
    );

    // The stored file of the block-backed entries.
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("shared");
    std::fs::write(&local, random(300_000, 1)).unwrap();
    let first = client(&nodes, 0, &token);
    runtime.block_on(first.upload_file(&local, "/shared", &PutOptions::default())).unwrap();
    let manifest = runtime.block_on(first.manifest("/shared", &DownloadOptions::default())).unwrap();
    let block = Arc::new(BlockFile { blocks: manifest.blocks, size: manifest.size, hash: manifest.hash });

    // The load.
    let leader = runtime.block_on(cluster.wait_for_leader());
    let follower = cluster.running().into_iter().find(|id| *id != leader).unwrap();
    let batches = args.files.div_ceil(args.per_batch);
    let kill_at = batches * 9 / 10;
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut killed = false;
    let workers: Vec<_> = (0..args.parallel)
        .map(|w| {
            let (next, done, block) = (next.clone(), done.clone(), block.clone());
            let client = client(&nodes, w, &token);
            let (files, big, per) = (args.files, args.big_folder, args.per_batch);
            runtime.spawn(async move {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        return;
                    }
                    let (from, to) = (b * per, ((b + 1) * per).min(files));
                    let answer = client.batch(&batch(from, to, big, &block)).await.unwrap();
                    if let Some(failed) = answer.files.iter().find(|f| f.error.is_some()) {
                        panic!("{}: {:?}", failed.path, failed.error);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut last_report = Instant::now();
    while workers.iter().any(|w| !w.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        let finished = done.load(Ordering::Relaxed);
        if !killed && finished >= kill_at {
            // Survivors must still lead: a follower goes.
            cluster.kill(follower);
            killed = true;
            println!("node {follower} killed at {finished} of {batches} batches");
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            let files = (finished * args.per_batch).min(args.files);
            println!(
                "{:>6.0} s: {files} files, {:.0} files/s so far",
                started.elapsed().as_secs_f64(),
                files as f64 / started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    for worker in workers {
        runtime.block_on(worker).unwrap();
    }
    let took = started.elapsed();
    let ingest = args.files as f64 / took.as_secs_f64();
    println!("ingest: {} files in {took:.1?}: {ingest:.0} files/s", args.files);

    // Catch-up of the follower that missed the last tenth.
    let restarted = Instant::now();
    cluster.start_node(follower);
    // Ten million entries make a snapshot of gigabytes to send, write and unpack.
    runtime.block_on(cluster.wait_caught_up_within(&operator, follower, Duration::from_secs(30 * 60)));
    let catch_up = restarted.elapsed();
    let leader = runtime.block_on(cluster.wait_for_leader());
    let built = snapshot_line(&cluster.log_of(leader), "built snapshot");
    let installed = snapshot_line(&cluster.log_of(follower), "installed snapshot");
    println!("catch-up: node {follower} applied everything {catch_up:.1?} after its restart");
    match built {
        Some((bytes, ms)) => {
            println!("snapshot: node {leader} built its last one, {bytes} bytes, in {ms} ms")
        }
        None => println!("snapshot: node {leader} logged no snapshot build"),
    }
    print_install(follower, installed);

    // A fresh node: an empty disk, admitted as a learner, which can only start from a snapshot.
    let fresh = cluster.nodes.keys().max().unwrap() + 1;
    cluster.add_files(fresh);
    cluster.start_node(fresh);
    let admitted = Instant::now();
    runtime.block_on(cluster.add_learner(fresh));
    // A client that knows the new node's address.
    let operator = runtime.block_on(cluster.client());
    runtime.block_on(cluster.wait_caught_up_within(&operator, fresh, Duration::from_secs(30 * 60)));
    let fresh_took = admitted.elapsed();
    let fresh_installed = snapshot_line(&cluster.log_of(fresh), "installed snapshot");
    println!("fresh node: node {fresh} applied everything {fresh_took:.1?} after its admission");
    print_install(fresh, fresh_installed);

    // Reads, one at a time, once the cluster is quiet.
    let pids: Vec<u32> = cluster.running().iter().filter_map(|&id| cluster.pid(id)).collect();
    match runtime.block_on(process::wait_quiet(&pids)) {
        Some(after) => println!("the nodes were quiet {after:.1?} after the catch-up"),
        None => println!("the nodes did not go quiet; measuring anyway"),
    }
    let reader = client(&nodes, 0, &token);
    let mut rng = rand::rng();
    let mut stats = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let path = path_of(rng.random_range(0..args.files), args.big_folder);
        let sent = Instant::now();
        let view = runtime.block_on(reader.stat(&path, &Listing::default())).unwrap();
        stats.push(sent.elapsed());
        assert!(view.file.is_some(), "{path} is a file");
    }
    let mut lists = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let sent = Instant::now();
        let view = runtime.block_on(reader.stat("/big", &Listing::default())).unwrap();
        lists.push(sent.elapsed());
        assert_eq!(view.children.len(), args.big_folder.min(1_000));
    }
    stats.sort();
    lists.sort();

    // Memory and disk.
    let mut per_node = Vec::new();
    for id in cluster.running() {
        let memory = cluster.pid(id).and_then(process::memory).unwrap();
        let data = cluster.data_dir(id);
        let total = disk::disk_use(std::slice::from_ref(&data)).allocated;
        per_node.push(format!(
            "| node {id}: RSS / peak RSS / disk | {:.0} MiB / {:.0} MiB / {:.2} GB |",
            memory.rss_kib as f64 / 1024.0,
            memory.peak_kib as f64 / 1024.0,
            total as f64 / 1e9
        ));
    }

    let gb = |bytes: u64| bytes as f64 / 1e9;
    println!();
    println!("| many files: {} entries, {} in the largest folder | cairn |", args.files, args.big_folder);
    println!("|---|---:|");
    println!(
        "| ingest (`POST /v1/batch`, {} files each, {} in flight) | {ingest:.0} files/s |",
        args.per_batch, args.parallel
    );
    println!(
        "| stat of a random file, p50 / p99 | {:.1} / {:.1} ms |",
        ms(percentile(&stats, 50)),
        ms(percentile(&stats, 99))
    );
    println!(
        "| list the first page (1 000) of the largest folder, p50 / p99 | {:.1} / {:.1} ms |",
        ms(percentile(&lists, 50)),
        ms(percentile(&lists, 99))
    );
    if let Some((bytes, ms)) = built {
        println!(
            "| snapshot size / build time (leader) | {:.2} GB / {:.1} s |",
            gb(bytes),
            ms as f64 / 1000.0
        );
    }
    if let Some((_, ms)) = installed {
        println!("| snapshot install (follower) | {:.1} s |", ms as f64 / 1000.0);
    }
    println!("| follower catch-up after missing the last 10 % | {:.1} s |", catch_up.as_secs_f64());
    match fresh_installed {
        Some((bytes, ms)) => println!(
            "| fresh node: snapshot of {:.2} GB installed / everything applied | {:.1} s / {:.1} s |",
            gb(bytes),
            ms as f64 / 1000.0,
            fresh_took.as_secs_f64()
        ),
        None => {
            println!("| fresh node: everything applied (from the log) | {:.1} s |", fresh_took.as_secs_f64())
        }
    }
    for line in per_node {
        println!("{line}");
    }
}
