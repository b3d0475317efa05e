//! The drive rows: one big file and a folder of small files, each put and got back by one
//! release `cairn` process per job, as a user runs it; and the disk the nodes used for them.
//!
//! Every rep writes new random content (a seed per rep), so no put finds its blocks already
//! stored; every get is checked against what was put, after the clock has stopped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cairn_proto::sample_data::random;

const MIB: usize = 1 << 20;
/// The big file is written in pieces of at most this many bytes, so little of it is in memory.
const PIECE: usize = 64 * MIB;

/// The `cairn` command line as one user runs it: a profile of its own (which `--node`, `--ca`
/// and `CAIRN_TOKEN` stand in for), quiet, one process per command.
pub struct Cli {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub ca: PathBuf,
    pub nodes: Vec<String>,
    pub token: String,
}

impl Cli {
    /// Runs `cairn ARGS` to completion and returns how long it took; panics with its output if
    /// it fails.
    pub fn run(&self, args: &[&str]) -> Duration {
        let mut command = Command::new(&self.binary);
        command
            .env("CAIRN_CONFIG", &self.config)
            .env_remove("CAIRN_LOG")
            .arg("--quiet")
            .arg("--ca")
            .arg(&self.ca);
        for node in &self.nodes {
            command.args(["--node", node]);
        }
        command.env("CAIRN_TOKEN", &self.token).args(args);
        let started = Instant::now();
        let out = command.output().unwrap();
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "cairn {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }
}

/// What one rep of a put and get measured.
pub struct Transfer {
    /// Units (MiB, files) per second of the put.
    pub put: f64,
    /// … and of the get.
    pub get: f64,
    /// Bytes of file content put.
    pub bytes: u64,
}

/// Rep `rep` of the big file: `mib` MiB of new random content in `work`, `cairn put FILE
/// /big-rREP.bin`, then `cairn get /big-rREP.bin LOCAL`; both local copies are deleted after.
pub fn big_file(cli: &Cli, work: &Path, mib: usize, rep: usize) -> Transfer {
    let local = work.join(format!("big-r{rep}.bin"));
    let bytes = mib * MIB;
    let mut hash = blake3::Hasher::new();
    {
        let mut file = std::fs::File::create(&local).unwrap();
        let mut left = bytes;
        let mut piece = 0;
        while left > 0 {
            let data = random(left.min(PIECE), ((rep as u64 + 1) << 32) + piece);
            hash.update(&data);
            file.write_all(&data).unwrap();
            left -= data.len();
            piece += 1;
        }
        file.sync_all().unwrap();
    }
    let remote = format!("/big-r{rep}.bin");
    let put = cli.run(&["put", local.to_str().unwrap(), &remote]);
    let back = work.join(format!("big-r{rep}.back"));
    let get = cli.run(&["get", &remote, back.to_str().unwrap()]);
    assert_eq!(hash_file(&back), hash.finalize(), "{remote} came back different");
    std::fs::remove_file(&local).unwrap();
    std::fs::remove_file(&back).unwrap();
    Transfer { put: mib as f64 / put.as_secs_f64(), get: mib as f64 / get.as_secs_f64(), bytes: bytes as u64 }
}

fn hash_file(path: &Path) -> blake3::Hash {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hash = blake3::Hasher::new();
    let mut buffer = vec![0; 4 * MIB];
    loop {
        let n = file.read(&mut buffer).unwrap();
        if n == 0 {
            return hash.finalize();
        }
        hash.update(&buffer[..n]);
    }
}

/// Rep `rep` of the small files: a new local folder of `files` files of `size` bytes of new
/// random content, `cairn put DIR /dir-rREP` (a new drive folder), then `cairn get /dir-rREP LOCAL`
/// into a new local folder, which must hold the same files.
pub fn small_dir(cli: &Cli, work: &Path, (files, size): (usize, usize), rep: usize) -> Transfer {
    let local = work.join(format!("dir-r{rep}"));
    std::fs::create_dir(&local).unwrap();
    let name = |i: usize| format!("f{i:05}.bin");
    let seed = |i: usize| (1 << 48) + ((rep as u64) << 32) + i as u64;
    for i in 0..files {
        std::fs::write(local.join(name(i)), random(size, seed(i))).unwrap();
    }
    let remote = format!("/dir-r{rep}");
    let put = cli.run(&["put", local.to_str().unwrap(), &remote]);
    let back = work.join(format!("dir-r{rep}.back"));
    let get = cli.run(&["get", &remote, back.to_str().unwrap()]);
    let got = std::fs::read_dir(&back).unwrap().count();
    assert_eq!(got, files, "{remote} came back with {got} entries");
    for i in 0..files {
        let content = std::fs::read(back.join(name(i))).unwrap();
        assert!(content == random(size, seed(i)), "{remote}/{} came back different", name(i));
    }
    std::fs::remove_dir_all(&local).unwrap();
    std::fs::remove_dir_all(&back).unwrap();
    let per_s = |took: Duration| files as f64 / took.as_secs_f64();
    Transfer { put: per_s(put), get: per_s(get), bytes: (files * size) as u64 }
}
