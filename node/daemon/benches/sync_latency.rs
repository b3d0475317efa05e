//! Propagation latency of `cairn sync`: how long a file written on one device takes to be on
//! another device's disk. A local 3-node cluster of real `cairn-node` processes (2+1, HTTPS with
//! the cluster CA as deployed) and two devices, A and B, each a release `cairn sync` process
//! (found beside this benchmark) with its own profile (`CAIRN_CONFIG`) and its own folder, both
//! synced with the drive folder `/Latency`; A talks to node 1 first, B to node 2.
//!
//! Once both are in step, A gets one new 4 KiB file of random content at a time (`lat/NNN.bin`);
//! the clock starts when the write has returned and the file is closed, and stops when B's folder
//! holds the file with exactly that content (B's folder is polled every 2 ms, the file read and
//! compared). Each change gets 30 s, or the benchmark panics with both devices' logs. Between
//! changes both devices are left to go idle, so every change meets two quiet engines, as one
//! person's edit would. Prints p50, p90, p99 and max in milliseconds, and where the time goes:
//! the median moment, after A's write, at which each device's status line (`--progress lines`,
//! timestamped as it arrives here) showed each step.
//!
//! `cargo bench -p cairn-node --bench sync_latency [-- CHANGES]` (default 100), after
//! `cargo build --release -p cairn-cli --bin cairn`; `make bench` does both.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is a failure report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_proto::sample_data::random;
use cairn_test_cluster::{ProcessCluster, Settings};

const SIZE: usize = 4096;
/// How long one change may take to reach B before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(30);
/// How often B's folder is looked at.
const POLL: Duration = Duration::from_millis(2);
/// How long both devices' status lines must have been still, at "up to date", to count as idle:
/// longer than the engine's 200 ms debounce, so a pass a device's own download set off is seen.
const QUIET: Duration = Duration::from_millis(400);
/// What a status line of `cairn sync --progress lines` starts with.
const STATUS: &str = "cairn: sync: ";

/// The release `cairn` binary beside this benchmark's, if it was built.
fn cli_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    Some(dir.join("cairn")).filter(|p| p.exists())
}

/// One device: a profile, a synced folder, and its `cairn sync` process (killed when dropped),
/// whose stderr lines are kept with the moment each arrived.
struct Device {
    name: &'static str,
    dir: PathBuf,
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Device {
    /// Logs in with its own profile under `home`, then starts `cairn sync` on `home/Drive`.
    fn start(
        binary: &Path,
        home: &Path,
        name: &'static str,
        nodes: &[String],
        ca: &Path,
        token: &str,
    ) -> Self {
        std::fs::create_dir_all(home).unwrap();
        let config = home.join("cairn").join("config.toml");
        let command = || {
            let mut command = Command::new(binary);
            command
                .current_dir(home)
                .env("CAIRN_CONFIG", &config)
                .env_remove("CAIRN_TOKEN")
                .env_remove("CAIRN_LOG")
                .stdin(Stdio::null());
            command
        };
        let mut login = command();
        login.args(["--quiet", "login", "--ca", ca.to_str().unwrap()]);
        for node in nodes {
            login.args(["--node", node]);
        }
        let out = login.env("CAIRN_TOKEN", token).output().unwrap();
        assert!(out.status.success(), "cairn login ({name}): {}", String::from_utf8_lossy(&out.stderr));

        let dir = home.join("Drive");
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = command()
            .args(["--progress", "lines", "sync", dir.to_str().unwrap()])
            .args(["--remote", "/Latency", "--device", name])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn({
            let lines = lines.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push((Instant::now(), line));
                }
            }
        });
        Self { name, dir, child, lines }
    }

    /// Its status lines that arrived after `since`, with their moments.
    fn status_since(&self, since: Instant) -> Vec<(Instant, String)> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(at, line)| *at >= since && line.starts_with(STATUS))
            .map(|(at, line)| (*at, line[STATUS.len()..].to_owned()))
            .collect()
    }

    /// Whether its last status line says it is in step and has stood for `QUIET`.
    fn idle(&self) -> bool {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .rev()
            .find(|(_, line)| line.starts_with(STATUS))
            .is_some_and(|(at, line)| line[STATUS.len()..].starts_with("up to date") && at.elapsed() >= QUIET)
    }

    fn log(&self) -> String {
        let lines = self.lines.lock().unwrap();
        lines.iter().map(|(_, line)| line.as_str()).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn report(devices: &[&Device]) -> String {
    devices.iter().map(|d| format!("--- {}'s log:\n{}\n", d.name, d.log())).collect()
}

/// Waits until both devices are idle; panics after `DEADLINE`.
fn settle(a: &Device, b: &Device) {
    let give_up = Instant::now() + DEADLINE;
    while !(a.idle() && b.idle()) {
        assert!(Instant::now() < give_up, "the devices did not go idle\n{}", report(&[a, b]));
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `path` holds exactly `content`; returns when it was first seen so.
fn wait_for(path: &Path, content: &[u8], patience: Duration, a: &Device, b: &Device) -> Instant {
    let give_up = Instant::now() + patience;
    loop {
        if std::fs::read(path).is_ok_and(|bytes| bytes == content) {
            return Instant::now();
        }
        assert!(
            Instant::now() < give_up,
            "{} did not reach B within {patience:?}\n{}",
            path.display(),
            report(&[a, b])
        );
        std::thread::sleep(POLL);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The nearest-rank percentile `p` (0–100) of sorted values.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// When, after a write at `start`, each step showed on the devices' status lines.
#[derive(Default)]
struct Steps {
    a_pass: Option<Duration>,
    a_upload: Option<Duration>,
    a_done: Option<Duration>,
    b_pass: Option<Duration>,
    b_download: Option<Duration>,
}

impl Steps {
    fn read(a: &Device, b: &Device, rel: &str, start: Instant) -> Self {
        let (a_lines, b_lines) = (a.status_since(start), b.status_since(start));
        let after = |at: Instant| at - start;
        let a_upload_at = a_lines.iter().position(|(_, l)| l.starts_with("uploading ") && l.contains(rel));
        let a_done = a_upload_at.and_then(|i| {
            a_lines[i..].iter().find(|(_, l)| l.starts_with("up to date")).map(|(at, _)| after(*at))
        });
        let b_download = b_lines
            .iter()
            .find(|(_, l)| l.starts_with("downloading ") && l.contains(rel))
            .map(|(at, _)| after(*at));
        Self {
            a_pass: a_lines.first().map(|(at, _)| after(*at)),
            a_upload: a_upload_at.map(|i| after(a_lines[i].0)),
            a_done,
            b_pass: b_lines.first().map(|(at, _)| after(*at)),
            b_download,
        }
    }
}

/// Which step of [`Steps`] a row of the report shows.
type StepOf = fn(&Steps) -> Option<Duration>;

/// The median (nearest rank, as the p50 above) of the values that were seen, and how many were.
fn median_of(values: impl Iterator<Item = Option<Duration>>) -> (Option<Duration>, usize) {
    let mut seen: Vec<Duration> = values.flatten().collect();
    seen.sort();
    ((!seen.is_empty()).then(|| percentile(&seen, 50)), seen.len())
}

fn main() {
    let changes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100);
    assert!(changes > 0, "measure at least one change");
    let Some(binary) = cli_binary() else {
        println!(
            "(no release `cairn` beside the benchmark: `cargo build --release -p cairn-cli --bin cairn`)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let settings = Settings { storage: "profile = \"2+1\"".into(), api_tls: true, ..Default::default() };
    let cluster = runtime.block_on(ProcessCluster::start(3, settings));
    let token = cluster.add_user("bench", false);
    let ca = cluster.path().join("secrets").join("ca.crt");
    let nodes: Vec<String> = cluster.nodes.values().map(|n| format!("https://{}", n.api)).collect();
    let home = tempfile::tempdir().unwrap();
    let mut b_nodes = nodes.clone();
    b_nodes.rotate_left(1);
    // Declared after the cluster, so dropped (killed) before it, also on a panic.
    let a = Device::start(&binary, &home.path().join("a"), "a", &nodes, &ca, &token);
    let b = Device::start(&binary, &home.path().join("b"), "b", &b_nodes, &ca, &token);

    // Both in step: a first file (which also makes `lat/`) reaches B, and both go quiet.
    let warm = random(SIZE, u64::MAX);
    std::fs::create_dir_all(a.dir.join("lat")).unwrap();
    std::fs::write(a.dir.join("lat").join("warm-up.bin"), &warm).unwrap();
    wait_for(&b.dir.join("lat").join("warm-up.bin"), &warm, Duration::from_secs(120), &a, &b);
    settle(&a, &b);

    let mut latencies = Vec::with_capacity(changes);
    let mut steps = Vec::with_capacity(changes);
    for i in 0..changes {
        let rel = format!("lat/{i:03}.bin");
        let content = random(SIZE, i as u64);
        std::fs::write(a.dir.join(&rel), &content).unwrap();
        let start = Instant::now();
        let seen = wait_for(&b.dir.join(&rel), &content, DEADLINE, &a, &b);
        latencies.push(seen - start);
        settle(&a, &b);
        steps.push(Steps::read(&a, &b, &rel, start));
    }

    let mut sorted = latencies.clone();
    sorted.sort();
    println!(
        "{changes} new files of 4 KiB written on A one at a time; on B's disk after (3 nodes, 2+1, HTTPS):"
    );
    println!("{:>8} {:>8} {:>8} {:>8} {:>8} {:>8}", "min", "p50", "p90", "p99", "max", "mean");
    let mean = latencies.iter().sum::<Duration>() / changes as u32;
    println!(
        "{:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   ms",
        ms(sorted[0]),
        ms(percentile(&sorted, 50)),
        ms(percentile(&sorted, 90)),
        ms(percentile(&sorted, 99)),
        ms(sorted[changes - 1]),
        ms(mean)
    );
    println!("where the time goes (median ms after A's write; how many changes showed the step):");
    let rows: [(&str, StepOf); 5] = [
        ("A starts a pass (file-system event + debounce)", |s| s.a_pass),
        ("A starts the upload (scan + drive listing)", |s| s.a_upload),
        ("A has committed the new version", |s| s.a_done),
        ("B starts a pass (change journal long poll + coalescing)", |s| s.b_pass),
        ("B starts the download (scan + drive listing)", |s| s.b_download),
    ];
    for (what, step) in rows {
        let (median, n) = median_of(steps.iter().map(step));
        let shown = median.map_or("-".to_owned(), |m| format!("{:.1}", ms(m)));
        println!("{what:>58} {shown:>8} ({n}/{changes})");
    }
    println!(
        "{:>58} {:>8.1}",
        "the file is on B's disk (download, verify, rename)",
        ms(percentile(&sorted, 50))
    );
    drop((a, b));
}
