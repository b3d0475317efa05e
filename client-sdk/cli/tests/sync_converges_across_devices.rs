//! Three devices run `cairn sync` (the real binary, each with its own profile and folder)
//! against a real 3-node cluster, and every folder ends up holding exactly what the others and
//! the drive hold, file by file, hash by hash:
//!
//! - a first device's folder (many small files, one of 20 MiB, nested folders) reaches the
//!   other two;
//! - edits, new files and folders, a rename and deletes of a file and of a folder, made on
//!   different devices at once, reach all of them;
//! - the same file edited on two devices at the same moment: both versions survive on every
//!   device, one as the file and one as a conflicted copy;
//! - a device stopped while the others change things, and changed itself meanwhile, catches up
//!   when it starts again, and nothing is lost on either side;
//! - the node the devices talk to dies: a change made afterwards still reaches every device.
//!
//! Every wait polls for the condition with a generous deadline; nothing sleeps a fixed time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cairn_proto::sample_data::{random, text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::cli::{Background, Cairn, ca_file, node_url};

/// How long the devices get to agree after a change.
const PATIENCE: Duration = Duration::from_secs(180);

/// What a folder holds: each path, and for files the blake3 of the content (folders: `None`).
type Snapshot = BTreeMap<String, Option<String>>;

/// One device: a profile, a synced folder, and its `cairn sync` process while it runs.
struct Device {
    name: &'static str,
    cairn: Cairn,
    dir: PathBuf,
    sync: Option<Background>,
}

impl Device {
    fn new(home: &Path, name: &'static str, urls: &[String], ca: &Path, token: &str) -> Self {
        let cairn = Cairn::new(&home.join(name));
        let mut login = vec!["--ca", ca.to_str().unwrap()];
        for url in urls {
            login.extend(["--node", url.as_str()]);
        }
        cairn.login_with_token(token, &login);
        let dir = home.join(name).join("Drive");
        std::fs::create_dir_all(&dir).unwrap();
        Self { name, cairn, dir, sync: None }
    }

    fn start(&mut self) {
        let dir = self.dir.to_str().unwrap().to_owned();
        self.sync = Some(self.cairn.spawn(&["sync", &dir, "--remote", "/Shared", "--device", self.name]));
    }

    /// Kills the sync process, as a crash or a power cut would.
    fn stop(&mut self) {
        self.sync.take();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, content: &[u8]) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn log(&self) -> String {
        self.sync.as_ref().map(Background::stderr).unwrap_or_default()
    }
}

/// Every folder and file below `dir` that sync keeps in step: not the engine's own `.cairn/`,
/// nor what this test's devices ignore (`*.tmp` by default, `*.log` and the ignore file itself).
fn snapshot(dir: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if rel == ".cairn" || rel == ".cairnignore" || rel.ends_with(".tmp") || rel.ends_with(".log") {
                continue;
            }
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(rel, Some(blake3::hash(&bytes).to_hex().to_string()));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(dir, dir, &mut out);
    out
}

fn hash(content: &[u8]) -> Option<String> {
    Some(blake3::hash(content).to_hex().to_string())
}

/// Waits until all running devices hold the same tree and `check` accepts it; returns it.
fn converge(devices: &[&Device], what: &str, check: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let give_up = Instant::now() + PATIENCE;
    loop {
        let snapshots: Vec<Snapshot> = devices.iter().map(|d| snapshot(&d.dir)).collect();
        if snapshots.windows(2).all(|w| w[0] == w[1]) && check(&snapshots[0]) {
            return snapshots.into_iter().next().unwrap();
        }
        if Instant::now() > give_up {
            let mut report = format!("the devices did not converge ({what}) within {PATIENCE:?}\n");
            for (device, snapshot) in devices.iter().zip(&snapshots) {
                report.push_str(&format!(
                    "--- {}: {:#?}\n--- its log:\n{}\n",
                    device.name,
                    snapshot,
                    device.log()
                ));
            }
            panic!("{report}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The files of the drive folder, downloaded with `cairn get` and hashed.
fn drive_files(cairn: &Cairn, scratch: &Path) -> BTreeMap<String, Option<String>> {
    let _ = std::fs::remove_dir_all(scratch);
    cairn.ok(&["get", "/Shared", scratch.to_str().unwrap()]);
    snapshot(scratch).into_iter().filter(|(_, h)| h.is_some()).collect()
}

fn files_of(snapshot: &Snapshot) -> BTreeMap<String, Option<String>> {
    snapshot.iter().filter(|(_, h)| h.is_some()).map(|(p, h)| (p.clone(), h.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_converges_across_devices() {
    let mut cluster = ProcessCluster::start(3, Settings { api_tls: true, ..Settings::default() }).await;
    let home = tempfile::tempdir().unwrap();
    let token = cluster.add_user("ada", false);
    let urls: Vec<String> = cluster.nodes.keys().map(|id| node_url(&cluster, *id)).collect();
    let ca = ca_file(&cluster);
    let mut a = Device::new(home.path(), "laptop", &urls, &ca, &token);
    let mut b = Device::new(home.path(), "desktop", &urls, &ca, &token);
    let mut c = Device::new(home.path(), "phone", &urls, &ca, &token);

    // The first device brings a folder: many small files, a large one, nested folders.
    for i in 0..40 {
        a.write(&format!("docs/note-{i:02}.txt"), &text(200 + i * 37, i as u64));
    }
    for i in 0..5 {
        a.write(&format!("docs/old/draft-{i}.txt"), &text(1000, 100 + i as u64));
    }
    let big = random(20 << 20, 7);
    a.write("media/big.bin", &big);
    a.write("todo.txt", b"buy milk\n");
    std::fs::create_dir_all(a.path("empty/inside")).unwrap();
    // Never synced: the engine's ignore rules and the device's own .cairnignore.
    a.write("scratch.tmp", b"temporary");
    a.write(".cairnignore", b"*.log\n");
    a.write("build.log", b"local only");
    let first = snapshot(&a.dir);
    a.start();
    b.start();
    c.start();
    converge(&[&a, &b, &c], "the first folder", |s| {
        files_of(s).len() == files_of(&first).len() && s.get("media/big.bin") == Some(&hash(&big))
    });
    for ignored in ["scratch.tmp", "build.log", ".cairnignore"] {
        assert!(!b.path(ignored).exists(), "{ignored} was synced");
    }

    // Changes on every device at once: edit, create, rename, delete a file and a folder.
    a.write("todo.txt", b"buy milk\nand bread\n");
    b.write("desktop/new.txt", b"from the desktop");
    std::fs::rename(b.path("docs/note-01.txt"), b.path("docs/renamed.txt")).unwrap();
    std::fs::remove_file(c.path("docs/note-02.txt")).unwrap();
    std::fs::remove_dir_all(c.path("docs/old")).unwrap();
    std::fs::create_dir_all(c.path("phone/pics")).unwrap();
    c.write("phone/pics/p1.jpg", &random(50_000, 9));
    let renamed = hash(&std::fs::read(b.path("docs/renamed.txt")).unwrap());
    let s = converge(&[&a, &b, &c], "edits, renames and deletes", |s| {
        s.get("todo.txt") == Some(&hash(b"buy milk\nand bread\n"))
            && s.get("desktop/new.txt") == Some(&hash(b"from the desktop"))
            && s.get("docs/renamed.txt") == Some(&renamed)
            && !s.contains_key("docs/note-01.txt")
            && !s.contains_key("docs/note-02.txt")
            && !s.contains_key("docs/old")
            && s.contains_key("phone/pics/p1.jpg")
    });
    assert_eq!(files_of(&s), drive_files(&a.cairn, &home.path().join("check-1")));

    // The same file edited on two devices at the same moment: both versions survive.
    let (mine, theirs) = (b"laptop's edit\n".as_slice(), b"phone's edit\n".as_slice());
    a.write("todo.txt", mine);
    c.write("todo.txt", theirs);
    let s = converge(&[&a, &b, &c], "a conflict", |s| {
        let copies: Vec<_> = s.keys().filter(|p| p.starts_with("todo (conflicted copy, ")).collect();
        copies.len() == 1 && {
            let kept = [s.get("todo.txt").cloned().flatten(), s[copies[0]].clone()];
            kept.contains(&hash(mine)) && kept.contains(&hash(theirs))
        }
    });
    let copy = s.keys().find(|p| p.starts_with("todo (conflicted copy, ")).unwrap();
    assert!(copy.ends_with(".txt") && (copy.contains("laptop") || copy.contains("phone")), "{copy}");

    // A device goes off; the others and it change things meanwhile; it comes back.
    b.stop();
    a.write("offline/from-laptop.txt", b"written while the desktop was off");
    c.write("docs/note-03.txt", b"the phone rewrote this");
    std::fs::remove_file(a.path("docs/note-04.txt")).unwrap();
    b.write("desktop/new.txt", b"the desktop edited this while off");
    b.write("desktop/offline.txt", b"made while off");
    std::fs::remove_file(b.path("docs/note-05.txt")).unwrap();
    converge(&[&a, &c], "while the desktop is off", |s| {
        s.contains_key("offline/from-laptop.txt") && !s.contains_key("docs/note-04.txt")
    });
    b.start();
    let s = converge(&[&a, &b, &c], "after the desktop came back", |s| {
        s.get("offline/from-laptop.txt") == Some(&hash(b"written while the desktop was off"))
            && s.get("docs/note-03.txt") == Some(&hash(b"the phone rewrote this"))
            && s.get("desktop/new.txt") == Some(&hash(b"the desktop edited this while off"))
            && s.get("desktop/offline.txt") == Some(&hash(b"made while off"))
            && !s.contains_key("docs/note-04.txt")
            && !s.contains_key("docs/note-05.txt")
    });
    assert_eq!(s.get("media/big.bin"), Some(&hash(&big)));
    assert_eq!(files_of(&s), drive_files(&c.cairn, &home.path().join("check-2")));

    // The node the devices talk to first (their long polls among it) dies: they carry on
    // through the others.
    let first = *cluster.nodes.keys().next().unwrap();
    cluster.kill(first);
    a.write("after-failover.txt", b"written after a node died");
    converge(&[&a, &b, &c], "after a node died", |s| {
        s.get("after-failover.txt") == Some(&hash(b"written after a node died"))
    });

    // `cairn sync status` reads a running sync's state from another process.
    let status = b.cairn.json(&["sync", "status", b.dir.to_str().unwrap()]);
    assert_eq!(status["running"], true, "{status}");
    for device in [&mut a, &mut b, &mut c] {
        device.stop();
    }
    let status = b.cairn.json(&["sync", "status", b.dir.to_str().unwrap()]);
    assert_eq!(
        (status["running"].clone(), status["state"]["remote"].clone()),
        (false.into(), "Shared".into())
    );
}
