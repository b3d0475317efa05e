//! The table of issue 20 ("fast paths"), cairn's side, from one program: a local 3-node cluster
//! of real release `cairn-node` processes (2+1, HTTPS with the cluster CA, fsync on, the
//! node's default Raft heartbeat and election timeouts rather than the tests' slower ones), the
//! release `cairn` command line beside this benchmark run as a user runs it, one process per
//! job. Each row is measured `--reps` times, with new random content every rep, and printed as
//! min, median and max; the Markdown table at the end can be pasted into BENCHMARKS.md.
//!
//! Rows, in the order they run (`--only` takes their names, comma-separated):
//! - `put`, `get`: one big file of random data put and got back (MiB/s); either name runs both.
//! - `put-dir`, `get-dir`: a folder of small files put and got back (files/s); likewise.
//!   `--small-bytes` sets their size and `--inline-max` the nodes' `storage.inline_max_bytes`
//!   (0: none kept in metadata), for the sweep that chose the default threshold.
//! - `disk`: right after those reps, the bytes allocated on disk (`st_blocks` × 512) under every
//!   node's data folder, divided by the bytes of file content put over all reps. Nothing is
//!   waited for first: what the write-ahead log still holds counts, as it would on a user's disk.
//! - `meta`: many HTTPS clients making folders for `--seconds` (ops/s, p50 and p99 latency).
//! - `rss`: each node's resident memory once the cluster is quiet again after the load
//!   (VmRSS), and the most it ever held (VmHWM); the largest node's. With `meta`, after each
//!   of its reps; otherwise once.
//! - `sync`: `cairn sync` from device A to device B, `--sync-changes` new 4 KiB files a rep,
//!   p50 and p99 of each rep (the method of `sync_latency`, shared in `common/sync.rs`).
//! - `kill`: the leader killed (`kill -9`) under 8 writers, `--kills` times (default `--reps`);
//!   every kill's gap is printed, the table gives min, median and max over the kills. How the
//!   gap is measured is in `fast_paths/failover.rs`. `--only kill --kills 20` is the issue's
//!   "kills the leader under load 20 times and reports the gaps".
//!
//! `cargo bench -p cairn-node --bench fast_paths -- [--reps 3] [--big-mib 512]
//! [--small-files 2000] [--small-bytes 4096] [--inline-max BYTES] [--seconds 10] [--kills N] [--sync-changes 30] [--only ROWS]`, after
//! `cargo build --release -p cairn-node --bin cairn-node -p cairn-cli --bin cairn`; `make bench`
//! does both. The benchmark's own clients run on the same machine as the nodes and compete with
//! them for its cores.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

#[path = "fast_paths/args.rs"]
mod args;
mod common;
#[path = "fast_paths/disk.rs"]
mod disk;
#[path = "fast_paths/drive.rs"]
mod drive;
#[path = "fast_paths/failover.rs"]
mod failover;
#[path = "fast_paths/metadata.rs"]
mod metadata;
#[path = "fast_paths/process.rs"]
mod process;
#[path = "fast_paths/table.rs"]
mod table;

use std::path::PathBuf;
use std::time::Duration;

use args::at_least_one;
use cairn_test_cluster::{ProcessCluster, Settings};
use clap::Parser;
use common::sync::{measure, ms, percentile, print_steps, start_pair};
use disk::DiskUse;
use drive::Cli;
use table::{Row, Sizes, Table};

/// Concurrent clients of the metadata row.
const META_CLIENTS: usize = 64;
/// Writers of the failover row.
const KILL_WRITERS: usize = 8;
/// Every name `--only` takes.
const ROWS: [&str; 9] = ["put", "get", "put-dir", "get-dir", "disk", "meta", "rss", "sync", "kill"];

/// The command line. Cargo adds `--bench` to a benchmark's arguments; it is accepted and
/// ignored.
#[derive(Parser)]
#[command(about = "Issue 20's table: the drive end to end on a local 3-node cluster")]
struct Args {
    /// Measurements of each row, each with new random data.
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    reps: usize,
    /// Size of the big file, MiB.
    #[arg(long, default_value_t = 512)]
    big_mib: usize,
    /// Files of the folder rows.
    #[arg(long, default_value_t = 2000)]
    small_files: usize,
    /// Size of each file of the folder rows, bytes.
    #[arg(long, default_value_t = 4096, value_parser = at_least_one)]
    small_bytes: usize,
    /// The nodes' `storage.inline_max_bytes` (default: the node's own default).
    #[arg(long)]
    inline_max: Option<u64>,
    /// How long each rep of the metadata row runs, seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Leader kills of the failover row (default: --reps).
    #[arg(long)]
    kills: Option<usize>,
    /// New files of each rep of the sync row.
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    sync_changes: usize,
    /// The rows to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(ROWS))]
    only: Vec<String>,
    #[arg(long = "bench", hide = true)]
    _bench: bool,
}

impl Args {
    fn runs(&self, row: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|name| name == row)
    }

    fn kills(&self) -> usize {
        self.kills.unwrap_or(self.reps)
    }
}

fn main() {
    let args = Args::parse();
    let Some(binary) = common::cli_binary() else {
        panic!("no release `cairn` beside the benchmark: `cargo build --release -p cairn-cli --bin cairn`");
    };
    let sizes = Sizes {
        big_mib: args.big_mib,
        small_files: args.small_files,
        small_bytes: args.small_bytes,
        clients: META_CLIENTS,
        writers: KILL_WRITERS,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // The nodes' own Raft timing, as deployed: the failover row measures it.
    let settings = Settings {
        storage: format!(
            "profile = \"2+1\"\n{}",
            args.inline_max.map_or(String::new(), |max| format!("inline_max_bytes = {max}"))
        ),
        api_tls: true,
        node_raft_timing: true,
        ..Default::default()
    };
    // Dropped before the runtime, also on a panic: every node process is killed, and the
    // cluster's folder deleted.
    let mut cluster = runtime.block_on(ProcessCluster::start(3, settings));
    let token = cluster.add_user("bench", false);
    let ca = cluster.path().join("secrets").join("ca.crt");
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    let nodes: Vec<String> = cluster.nodes.values().map(|n| format!("https://{}", n.api)).collect();
    let work = tempfile::tempdir().unwrap();
    let cli = Cli {
        binary: binary.clone(),
        config: work.path().join("cairn.toml"),
        ca: ca.clone(),
        nodes: nodes.clone(),
        token: token.clone(),
    };
    let mut table = Table::default();
    let inline = args.inline_max.map_or("the default".to_owned(), |max| format!("{max} B"));
    println!(
        "issue 20's table: 3 nodes, 2+1, HTTPS, fsync on, inline_max_bytes {inline}; {} reps",
        args.reps
    );

    let (big, dir) = (args.runs("put") || args.runs("get"), args.runs("put-dir") || args.runs("get-dir"));
    let mut stored = 0u64;
    for rep in 0..args.reps {
        if big {
            let t = drive::big_file(&cli, work.path(), args.big_mib, rep);
            println!("rep {rep}: put {} MiB at {:.1} MiB/s, got at {:.1} MiB/s", args.big_mib, t.put, t.get);
            table.add(Row::Put, t.put);
            table.add(Row::Get, t.get);
            stored += t.bytes;
        }
        if dir {
            let t = drive::small_dir(&cli, work.path(), (args.small_files, args.small_bytes), rep);
            println!(
                "rep {rep}: put a folder of {} files at {:.0} files/s, got at {:.0} files/s",
                args.small_files, t.put, t.get
            );
            table.add(Row::PutDir, t.put);
            table.add(Row::GetDir, t.get);
            stored += t.bytes;
        }
    }
    if args.runs("disk") {
        if stored == 0 {
            println!("disk: nothing was put (run `put` or `put-dir` with it)");
        } else {
            let data: Vec<PathBuf> = cluster.nodes.keys().map(|&id| cluster.data_dir(id)).collect();
            let DiskUse { allocated, apparent } = disk::disk_use(&data);
            println!(
                "disk: {allocated} bytes allocated ({apparent} apparent) under the nodes' data folders for \
                 {stored} bytes of content: {:.3} ({:.3} apparent) per byte",
                allocated as f64 / stored as f64,
                apparent as f64 / stored as f64
            );
            table.add(Row::Disk, allocated as f64 / stored as f64);
        }
    }

    let pids = |cluster: &ProcessCluster| -> Vec<u32> {
        cluster.running().iter().filter_map(|&id| cluster.pid(id)).collect()
    };
    let memory = |table: &mut Table, pids: &[u32]| {
        match runtime.block_on(process::wait_quiet(pids)) {
            Some(took) => println!("rss: the nodes were quiet after {took:.1?}"),
            None => println!("rss: the nodes did not go quiet; measured anyway"),
        }
        let all: Vec<process::Memory> = pids.iter().filter_map(|&pid| process::memory(pid)).collect();
        let mib = |kib: u64| kib as f64 / 1024.0;
        let shown: Vec<String> =
            all.iter().map(|m| format!("{:.0}/{:.0}", mib(m.rss_kib), mib(m.peak_kib))).collect();
        println!("rss: idle/peak MiB of each node: {}", shown.join(", "));
        table.add(Row::RssIdle, mib(all.iter().map(|m| m.rss_kib).max().unwrap()));
        table.add(Row::RssPeak, mib(all.iter().map(|m| m.peak_kib).max().unwrap()));
    };
    if args.runs("meta") {
        for rep in 0..args.reps {
            let load = runtime.block_on(metadata::make_folders(
                &nodes,
                &ca_pem,
                &token,
                META_CLIENTS,
                args.seconds,
                rep,
            ));
            let rate = load.ops as f64 / load.elapsed.as_secs_f64();
            let (p50, p99) = (ms(percentile(&load.latencies, 50)), ms(percentile(&load.latencies, 99)));
            println!(
                "rep {rep}: {} folders made by {META_CLIENTS} clients in {:.1?}: {rate:.0}/s, p50 {p50:.1} ms, p99 {p99:.1} ms",
                load.ops, load.elapsed
            );
            table.add(Row::MetaRate, rate);
            table.add(Row::MetaP50, p50);
            table.add(Row::MetaP99, p99);
            if args.runs("rss") {
                memory(&mut table, &pids(&cluster));
            }
        }
    } else if args.runs("rss") {
        memory(&mut table, &pids(&cluster));
    }

    if args.runs("sync") {
        let home = tempfile::tempdir().unwrap();
        let (a, b) = start_pair(&binary, home.path(), &nodes, &ca, &token);
        let mut steps = Vec::new();
        let mut all = Vec::new();
        for rep in 0..args.reps {
            let (mut latencies, rep_steps) =
                measure(&a, &b, args.sync_changes, &format!("r{rep}-"), (rep as u64 + 1) << 32);
            latencies.sort();
            let (p50, p99) = (ms(percentile(&latencies, 50)), ms(percentile(&latencies, 99)));
            println!("rep {rep}: {} changes synced A→B: p50 {p50:.1} ms, p99 {p99:.1} ms", latencies.len());
            table.add(Row::SyncP50, p50);
            table.add(Row::SyncP99, p99);
            steps.extend(rep_steps);
            all.extend(latencies);
        }
        all.sort();
        print_steps(&steps, &all);
        drop((a, b));
    }

    if args.runs("kill") && args.kills() > 0 {
        let gaps = runtime.block_on(failover::kill_leaders(
            &mut cluster,
            &nodes,
            &ca_pem,
            &token,
            KILL_WRITERS,
            args.kills(),
            |k, kill| {
                println!(
                    "kill {k}: node {} killed, node {} leads; gap {:.0} ms, first write sent after the kill \
                     acknowledged after {:.0} ms, {} failed attempts; restarted node caught up in {:.1?}\n  \
                     election (ms after the kill): {}",
                    kill.leader,
                    kill.new_leader,
                    ms(kill.gap),
                    ms(kill.first_ack),
                    kill.errors,
                    kill.caught_up,
                    kill.election
                );
            },
        ));
        for kill in &gaps {
            table.add(Row::KillGap, ms(kill.gap));
        }
        let mut shown: Vec<Duration> = gaps.iter().map(|k| k.gap).collect();
        shown.sort();
        let list: Vec<String> = shown.iter().map(|g| format!("{:.0}", ms(*g))).collect();
        println!("gaps over {} kills, sorted (ms): {}", gaps.len(), list.join(" "));
    }

    println!();
    print!("{}", table.markdown(&sizes));
    println!("\n{}", machine());
}

/// One line about the machine: cores, CPU model, memory, kernel and compiler.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").and_then(|v| v.split_once(':')).map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("?".into(), |kib| format!("{:.0} GiB", kib as f64 / (1 << 20) as f64));
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or("?".into(), |s| s.trim().to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map_or("?".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    format!("machine: {cores} cores ({model}), {memory} RAM, Linux {kernel}, {rustc}, release profile")
}
