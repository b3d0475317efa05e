//! A faulty or hostile server — or a proxy between client and cluster — cannot make a client
//! write outside its folder or delete in the drive. A proxy in front of a real node renames
//! entries of every folder listing to names a node never sends: `../x`, `/etc/…`, `C:x`,
//! `a\nb`, an escape sequence, the NFD twin of an existing name, a folder `../evil`, a tab in
//! a subfolder; and `CON`, which Linux can hold and Windows cannot. Against it:
//!
//! - `cairn sync` writes only inside its folder, reports each refused name in
//!   `cairn sync status`, notes that Windows devices skip `CON`, and sends nothing to the
//!   drive because of them;
//! - deleting a local folder that holds a refused name deletes its synced files one by one in
//!   the drive and never trashes the folder with the name nobody here could see;
//! - `cairn get` of the folder writes only under its target, downloads the rest, names what
//!   it skipped and why, and exits 9.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::lying_proxy::LyingProxy;
use common::sync_device::{Device, drive_files, eventually, notes, tree, waiting};

/// Real name in the drive → the name the proxy sends instead.
const RENAMES: &[(&str, &str)] = &[
    ("h-dotdot", "../x"),
    ("h-abs", "/tmp/cairn-hostile-abs"),
    ("h-drive", "C:x"),
    ("h-newline", "a\nb"),
    ("h-esc", "\u{1b}[2Jcleared"),
    ("h-nfd", "cafe\u{301}.txt"),
    ("h-dir", "../evil"),
    ("h-tab", "x\ty"),
    ("h-con", "CON"),
];

/// How the status shows each refused name (control characters escaped).
const REFUSED: &[&str] = &[
    "../x",
    "/tmp/cairn-hostile-abs",
    "C:x",
    "a\\nb",
    "\\u{1b}[2Jcleared",
    "cafe\u{301}.txt",
    "../evil",
    "mixed/x\\ty",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_a_server_should_never_send_are_refused() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let sdk = client(&cluster, &token);
    for (path, content) in [
        ("proj/plain.txt", "plain"),
        ("proj/caf\u{e9}.txt", "the real café"),
        ("proj/h-dotdot", "would land beside the folder"),
        ("proj/h-abs", "would land anywhere"),
        ("proj/h-drive", "a whole path on Windows"),
        ("proj/h-newline", "newline"),
        ("proj/h-esc", "clears the screen"),
        ("proj/h-nfd", "the twin"),
        ("proj/h-dir/inside.txt", "in a folder beside the folder"),
        ("proj/h-con", "a device on Windows"),
        ("proj/mixed/m.txt", "seen"),
        ("proj/mixed/h-tab", "unseen"),
    ] {
        put_text(&sdk, path, content).await;
    }
    let proxy = LyingProxy::start(cluster.nodes[&1].api, RENAMES).await;

    let home = tempfile::tempdir().unwrap();
    let mut device = Device::login(home.path(), &[format!("http://{}", proxy.addr)], &token, None);
    device.start(&["--remote", "/proj", "--device", "laptop"]);
    let status = device.wait_status("the valid names down, every refused one reported", |s| {
        let shown: Vec<String> = waiting(s).into_iter().map(|(p, _)| p).collect();
        device.dir.join("CON").is_file() && REFUSED.iter().all(|r| shown.contains(&(*r).to_owned()))
    });
    // A change in the drive wakes the sync for more passes: none of them takes a refused
    // name for a deleted file, or anything else.
    put_text(&sdk, "proj/later.txt", "later").await;
    let later = device.dir.join("later.txt");
    eventually("later.txt down", || async { later.is_file() }).await;

    let in_the_drive = drive_files(&sdk, "proj").await;
    // Each refused name is reported as such; the name Windows cannot hold is noted.
    for (path, reason) in waiting(&status) {
        assert!(REFUSED.contains(&path.as_str()) && reason.starts_with("refused"), "{path}: {reason}");
    }
    assert!(notes(&status).iter().any(|(p, n)| p == "CON" && n.contains("Windows")), "{status:#}");
    let shown = device.cairn.ok(&["sync", "status", device.dir.to_str().unwrap()]).text();
    assert!(shown.contains("waiting: a\\nb: refused") && !shown.contains('\u{1b}'), "{shown}");

    // Only the valid names reached the disk, inside the folder; nothing was written anywhere
    // else, and nothing was sent to the drive.
    let local: Vec<String> = tree(&device.dir).into_iter().filter(|p| !p.starts_with(".cairn")).collect();
    assert_eq!(local, ["CON", "caf\u{e9}.txt", "later.txt", "mixed/", "mixed/m.txt", "plain.txt"]);
    assert_eq!(std::fs::read(device.dir.join("caf\u{e9}.txt")).unwrap(), b"the real caf\xc3\xa9");
    let outside = |p: &String, folder: &str| {
        p.as_str() == format!("{folder}/") || !p.starts_with(&format!("{folder}/"))
    };
    let beside: Vec<String> = tree(home.path()).into_iter().filter(|p| outside(p, "Drive")).collect();
    assert_eq!(beside, ["Drive/", "cairn/", "cairn/config.toml"]);
    assert!(!std::path::Path::new("/tmp/cairn-hostile-abs").exists());
    assert_eq!(proxy.writes(), Vec::<String>::new());
    assert_eq!(drive_files(&sdk, "proj").await, in_the_drive);

    // The folder that holds a refused name is deleted locally: its synced file goes, one by
    // one; the folder and the name nobody here could see stay in the drive.
    std::fs::remove_dir_all(device.dir.join("mixed")).unwrap();
    eventually("mixed/m.txt deleted in the drive", || async {
        !drive_files(&sdk, "proj").await.iter().any(|(p, _)| p == "mixed/m.txt")
    })
    .await;
    let expected: Vec<(String, String)> =
        in_the_drive.iter().filter(|(p, _)| p != "mixed/m.txt").cloned().collect();
    assert_eq!(drive_files(&sdk, "proj").await, expected);
    let writes = proxy.writes();
    assert!(
        writes.len() == 1 && writes[0].starts_with("DELETE /v1/tree/proj/mixed/m.txt?"),
        "only the file the user deleted: {writes:?}"
    );
    device.stop();

    // `cairn get` of the same folder through the same server.
    let target = home.path().join("got");
    let run = device.cairn.run(&["get", "/proj", target.to_str().unwrap()]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    for refused in REFUSED {
        assert!(run.stderr.contains(refused), "{refused:?} not named in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains('\u{1b}'), "an escape reached the terminal");
    assert_eq!(tree(&target), ["CON", "caf\u{e9}.txt", "later.txt", "mixed/", "plain.txt"]);
    let beside: Vec<String> =
        tree(home.path()).into_iter().filter(|p| outside(p, "Drive") && outside(p, "got")).collect();
    assert_eq!(beside, ["Drive/", "cairn/", "cairn/config.toml", "got/"]);
    assert_eq!(proxy.writes().len(), 1, "`cairn get` wrote nothing to the drive");
}
