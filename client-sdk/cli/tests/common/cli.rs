//! Runs the `cairn` command line against a test cluster, as a user would: the real binary as
//! a subprocess, its own profile file in a temporary folder, nothing from the environment of
//! the test run leaking in.
//! The nodes are `cairn-node` processes (see `cairn_test_cluster::binary`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_test_cluster::ProcessCluster;

/// The `cairn` binary Cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cairn"))
}

/// A node's API base address as the CLI takes it.
pub fn node_url(cluster: &ProcessCluster, id: cairn_raft::NodeId) -> String {
    let scheme = if cluster_uses_tls(cluster) { "https" } else { "http" };
    format!("{scheme}://{}", cluster.nodes[&id].api)
}

/// The cluster CA the CLI must trust for HTTPS.
pub fn ca_file(cluster: &ProcessCluster) -> PathBuf {
    cluster.path().join("secrets").join("ca.crt")
}

fn cluster_uses_tls(cluster: &ProcessCluster) -> bool {
    let config = std::fs::read_to_string(&cluster.nodes.values().next().unwrap().config).unwrap();
    config.contains("api_tls = true")
}

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1: killed by a signal).
    pub code: i32,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Stdout as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not one JSON document ({e}):\n{}\nstderr:\n{}", self.text(), self.stderr)
        })
    }
}

/// One user of the CLI: a profile file of their own.
pub struct Cairn {
    /// The profile file (`CAIRN_CONFIG`).
    pub config: PathBuf,
    /// The folder the CLI runs in (relative local paths land here).
    pub cwd: PathBuf,
}

impl Cairn {
    /// A user whose profile and working folder are under `home` (made if missing).
    pub fn new(home: &Path) -> Self {
        std::fs::create_dir_all(home).unwrap();
        Self { config: home.join("cairn").join("config.toml"), cwd: home.to_path_buf() }
    }

    /// The command, ready for arguments: its profile, its folder, and no `CAIRN_*` from the
    /// test run's environment.
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary());
        command
            .current_dir(&self.cwd)
            .env("CAIRN_CONFIG", &self.config)
            .env_remove("CAIRN_TOKEN")
            .env_remove("CAIRN_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Runs `cairn args…` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().unwrap())
    }

    /// Runs `cairn args…` to the end with `input` on its standard input (a token or password,
    /// which never go on the command line).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write as _;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that fails before reading its input closes the pipe: that is its answer.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        Run::from(child.wait_with_output().unwrap())
    }

    /// Runs `cairn args…` and panics with its output unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "cairn {args:?} failed:\nstdout:\n{}\nstderr:\n{}", run.text(), run.stderr);
        run
    }

    /// `cairn login --token-stdin args…` with `token` on standard input, which must succeed.
    pub fn login_with_token(&self, token: &str, args: &[&str]) -> Run {
        let all = [&["login", "--token-stdin"], args].concat();
        let run = self.run_with_input(&all, &format!("{token}\n"));
        assert_eq!(run.code, 0, "cairn {all:?} failed:\nstdout:\n{}\nstderr:\n{}", run.text(), run.stderr);
        run
    }

    /// Runs `cairn --json args…`, which must exit 0, and returns its document.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all).json()
    }

    /// Runs `cairn args…`, which must exit with `code`; returns the run.
    pub fn fails(&self, code: i32, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, code, "cairn {args:?}:\nstdout:\n{}\nstderr:\n{}", run.text(), run.stderr);
        assert!(run.stderr.contains("cairn: "), "no error message on stderr: {:?}", run.stderr);
        run
    }

    /// Starts `cairn --progress lines args…` in the background; its stderr is collected line
    /// by line into the returned [`Background`].
    pub fn spawn(&self, args: &[&str]) -> Background {
        let mut child = self
            .command()
            .arg("--progress")
            .arg("lines")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // Stdout is drained as it comes too, so a chatty child never blocks on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
            bytes
        });
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = std::thread::spawn({
            let lines = lines.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            }
        });
        Background { child: Some(child), stderr: lines, reader: Some(reader), stdout: Some(out) }
    }
}

/// A `cairn` process running in the background; killed if dropped while running.
pub struct Background {
    child: Option<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Background {
    /// The highest percentage its `--progress lines` output reported so far.
    pub fn percent(&self) -> u64 {
        let lines = self.stderr.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.starts_with("cairn: progress "))
            .filter_map(|l| l.rsplit_once(": ")?.1.split('%').next()?.parse().ok())
            .max()
            .unwrap_or(0)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits (polling, up to `patience`) until it has reported at least `percent`% while still
    /// running; panics if it ends first or the deadline passes.
    pub fn wait_for_progress(&mut self, percent: u64, patience: Duration) -> u64 {
        let give_up = Instant::now() + patience;
        loop {
            let seen = self.percent();
            assert!(self.running(), "cairn ended before reaching {percent}%:\n{}", self.stderr());
            if seen >= percent {
                return seen;
            }
            assert!(
                Instant::now() < give_up,
                "no {percent}% progress after {patience:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (up to `patience`) for it to end and returns how.
    pub fn finish(mut self, patience: Duration) -> Run {
        let give_up = Instant::now() + patience;
        while self.running() {
            assert!(Instant::now() < give_up, "cairn still running after {patience:?}:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.child.take().unwrap().wait().unwrap();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        Run { code: status.code().unwrap_or(-1), stdout, stderr: self.stderr() }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// blake3 of a local file, read in pieces (the files here reach hundreds of MiB).
pub fn file_hash(path: &Path) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path).unwrap()).unwrap();
    hasher.finalize()
}
