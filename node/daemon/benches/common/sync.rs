//! Propagation latency of `cairn sync` between two devices, A and B, each a release `cairn sync`
//! process with its own profile (`CAIRN_CONFIG`) and its own folder, both synced with the drive
//! folder `/Latency`; A talks to the first node first, B to the second.
//!
//! Once both are in step, A gets one new 4 KiB file of random content at a time; the clock
//! starts when the write has returned and the file is closed, and stops when B's folder holds the
//! file with exactly that content (B's folder is polled every 2 ms, the file read and compared).
//! Each change gets 30 s, or the benchmark panics with both devices' logs. Between changes both
//! devices are left to go idle, so every change meets two quiet engines, as one person's edit
//! would. [`Steps`] says where the time went: the moment, after A's write, at which each
//! device's status line (`--progress lines`, timestamped as it arrives here) showed each step.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_proto::sample_data::random;

/// The size of every file A writes.
pub const SIZE: usize = 4096;
/// How long one change may take to reach B before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(30);
/// How often B's folder is looked at.
const POLL: Duration = Duration::from_millis(2);
/// How long both devices' status lines must have been still, at "up to date", to count as idle:
/// longer than the engine's 200 ms debounce, so a pass a device's own download set off is seen.
const QUIET: Duration = Duration::from_millis(400);
/// What a status line of `cairn sync --progress lines` starts with.
const STATUS: &str = "cairn: sync: ";

/// One device: a profile, a synced folder, and its `cairn sync` process (killed when dropped),
/// whose stderr lines are kept with the moment each arrived.
pub struct Device {
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

/// Devices A and B under `home`, each logged in with `token` and running `cairn sync`: A lists
/// `nodes` as given, B the same rotated by one, so each starts at a different node. Once this
/// returns both are in step: a first file (which also makes `lat/`) has reached B, and both are
/// idle. Drop them before the cluster, so they are killed first, also on a panic.
pub fn start_pair(binary: &Path, home: &Path, nodes: &[String], ca: &Path, token: &str) -> (Device, Device) {
    let mut b_nodes = nodes.to_vec();
    b_nodes.rotate_left(1);
    let a = Device::start(binary, &home.join("a"), "a", nodes, ca, token);
    let b = Device::start(binary, &home.join("b"), "b", &b_nodes, ca, token);
    let warm = random(SIZE, u64::MAX);
    std::fs::create_dir_all(a.dir.join("lat")).unwrap();
    std::fs::write(a.dir.join("lat").join("warm-up.bin"), &warm).unwrap();
    wait_for(&b.dir.join("lat").join("warm-up.bin"), &warm, Duration::from_secs(120), &a, &b);
    settle(&a, &b);
    (a, b)
}

/// Writes `changes` new files on A, one at a time (`lat/<prefix>NNN.bin`, the content of seed
/// `seed + i`), each timed until it is on B's disk, the devices left to go idle after each.
/// Returns each change's latency, and where its time went.
pub fn measure(
    a: &Device,
    b: &Device,
    changes: usize,
    prefix: &str,
    seed: u64,
) -> (Vec<Duration>, Vec<Steps>) {
    let mut latencies = Vec::with_capacity(changes);
    let mut steps = Vec::with_capacity(changes);
    for i in 0..changes {
        let rel = format!("lat/{prefix}{i:03}.bin");
        let content = random(SIZE, seed + i as u64);
        std::fs::write(a.dir.join(&rel), &content).unwrap();
        let start = Instant::now();
        let seen = wait_for(&b.dir.join(&rel), &content, DEADLINE, a, b);
        latencies.push(seen - start);
        settle(a, b);
        steps.push(Steps::read(a, b, &rel, start));
    }
    (latencies, steps)
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

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The nearest-rank percentile `p` (0–100) of sorted values.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// When, after a write at `start`, each step showed on the devices' status lines.
#[derive(Default)]
pub struct Steps {
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

/// Prints where the time of `steps` went: the median moment of each step after A's write, and
/// last the median latency itself (`sorted` latencies).
pub fn print_steps(steps: &[Steps], sorted: &[Duration]) {
    let changes = steps.len();
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
        ms(percentile(sorted, 50))
    );
}
