//! `cairn export` against a real 3-node cluster: a drive with nested folders, an empty folder,
//! a file with three versions, a multi-block random file and a name with spaces and non-ASCII
//! letters comes back byte for byte — every head at its path, every older version under
//! `.cairn-versions/`, and a manifest that lists each version with its size and blake3. A
//! re-run after one exported file is deleted and another truncated fetches exactly those two
//! again; an export of a sub-folder holds only that folder. Through a server that lies, names
//! that would leave the export folder are skipped and reported, and a version whose declared
//! hash is not its content's is reported as failed (exit 7) while the rest is exported.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cairn_client::api::DownloadOptions;
use cairn_proto::sample_data::{random, text};
use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::cli::{Cairn, node_url};
use common::lying_proxy::LyingProxy;
use serde_json::Value;

/// The name with spaces and letters outside ASCII.
const UNICODE: &str = "docs/Ünïcödé notes 名前.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exports_a_drive_byte_for_byte() {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    println!("seed {seed}");
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let home = tempfile::tempdir().unwrap();
    let ada = Cairn::new(&home.path().join("ada"));
    let mut login = Vec::new();
    for id in cluster.nodes.keys() {
        login.extend(["--node".to_owned(), node_url(&cluster, *id)]);
    }
    ada.login_with_token(&token, &login.iter().map(String::as_str).collect::<Vec<_>>());

    // What the drive holds: each drive path with its versions' content, oldest first.
    let mut drive: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    drive.insert("docs/a.txt", vec![text(300, seed)]);
    drive.insert("docs/deep/nested/b.bin", vec![random(100 << 10, seed + 1)]);
    drive.insert("docs/three.txt", (0..3).map(|i| text(1_000 + i * 7, seed + 2 + i as u64)).collect());
    drive.insert("big.bin", vec![random(6 << 20, seed + 5)]);
    drive.insert(UNICODE, vec![text(2_000, seed + 6)]);
    ada.ok(&["mkdir", "/docs/empty/"]);
    for (path, versions) in &drive {
        for content in versions {
            let local = ada.cwd.join("upload.tmp");
            std::fs::write(&local, content).unwrap();
            ada.ok(&["put", local.to_str().unwrap(), &format!("/{path}")]);
        }
    }
    let sdk = client(&cluster, &token);
    let big = sdk.manifest("/big.bin", &DownloadOptions::default()).await.unwrap();
    assert!(big.blocks.len() > 1, "big.bin should span several blocks: {}", big.blocks.len());

    // The whole drive, every version.
    let out = home.path().join("backup");
    let tar = home.path().join("backup.tar");
    let first = ada.json(&[
        "export",
        "--all-versions",
        "/",
        out.to_str().unwrap(),
        "--archive",
        tar.to_str().unwrap(),
    ]);
    assert_eq!(counts(&first), (5, 7, 7, 0), "{first}");
    assert_eq!(first["failed"], Value::Array(vec![]), "{first}");
    assert_eq!(first["skipped"], Value::Array(vec![]), "{first}");
    assert_eq!(first["size"], drive.values().flatten().map(Vec::len).sum::<usize>(), "{first}");
    holds_every_version(&out, &drive);
    assert!(out.join("docs/empty").is_dir(), "the empty folder is exported too");
    archive_matches(&tar, &out);

    // One file deleted, another truncated: a re-run fetches those two and keeps the rest.
    std::fs::remove_file(out.join("big.bin")).unwrap();
    let old = out.join(".cairn-versions/docs/three.txt/v1");
    let len = std::fs::metadata(&old).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&old).unwrap().set_len(len / 2).unwrap();
    let again = ada.json(&["export", "--all-versions", "/", out.to_str().unwrap()]);
    assert_eq!(counts(&again), (5, 7, 2, 5), "{again}");
    assert_eq!(again["fetched_size"], (6 << 20) + 1_000, "{again}");
    holds_every_version(&out, &drive);
    // A run with nothing to do fetches nothing.
    let idle = ada.json(&["export", "--all-versions", "/", out.to_str().unwrap()]);
    assert_eq!(counts(&idle), (5, 7, 0, 7), "{idle}");

    // A sub-folder, heads only: that folder and nothing else.
    let part = home.path().join("part");
    let sub = ada.json(&["export", "/docs/deep", part.to_str().unwrap()]);
    assert_eq!(counts(&sub), (1, 1, 1, 0), "{sub}");
    assert_eq!(files_below(&part), vec![".cairn-export.json".to_owned(), "nested/b.bin".to_owned()]);
    assert!(std::fs::read(part.join("nested/b.bin")).unwrap() == drive["docs/deep/nested/b.bin"][0]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(part.join(".cairn-export.json")).unwrap()).unwrap();
    assert_eq!(manifest["remote"], "/docs/deep");
    assert_eq!(manifest["files"][0]["path"], "/docs/deep/nested/b.bin");

    // A file is not a folder to export.
    ada.fails(2, &["export", "/big.bin", part.to_str().unwrap()]);

    lying_server(&cluster, &ada, &token, home.path()).await;
}

/// Through a proxy that renames entries to names that would leave the export folder and
/// declares a wrong hash for one file: those are reported, nothing lands outside, and the
/// honest file is exported.
async fn lying_server(cluster: &ProcessCluster, ada: &Cairn, token: &str, home: &Path) {
    let sdk = client(cluster, token);
    for (path, content) in [
        ("hostile/ok.txt", "honest"),
        ("hostile/h-dotdot", "would land beside the export"),
        ("hostile/h-dir/inside.txt", "in a folder beside the export"),
        ("hostile/lied.txt", "the real content"),
    ] {
        put_text(&sdk, path, content).await;
    }
    let proxy = LyingProxy::start(cluster.nodes[&1].api, &[("h-dotdot", "../x"), ("h-dir", "../evil")]).await;
    proxy.lie_about("hostile/lied.txt", blake3::hash(b"other content").to_hex().as_str());
    let out = home.join("hostile-out");
    let url = format!("http://{}", proxy.addr);
    let run =
        ada.run(&["--json", "--node", &url, "export", "--all-versions", "/hostile", out.to_str().unwrap()]);
    assert_eq!(
        run.code,
        7,
        "a hash that does not match is an integrity failure:\n{}\n{}",
        run.text(),
        run.stderr
    );
    let summary = run.json();
    assert_eq!(counts(&summary), (1, 1, 1, 0), "{summary}");
    let failed = summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{summary}");
    assert_eq!(failed[0]["path"], "/hostile/lied.txt");
    assert_eq!(failed[0]["version"], 1);
    let skipped: Vec<&str> =
        summary["skipped"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(skipped.len(), 2, "{summary}");
    assert!(run.stderr.contains("lied.txt"), "{}", run.stderr);
    assert_eq!(files_below(&out), vec![".cairn-export.json".to_owned(), "ok.txt".to_owned()]);
    assert!(
        !home.join("x").exists() && !home.join("evil").exists(),
        "a name from the drive wrote outside the export"
    );
    assert!(proxy.writes().is_empty(), "an export changed the drive: {:?}", proxy.writes());
}

/// The tar file holds what the export folder holds, byte for byte, the empty folder too.
fn archive_matches(tar: &Path, out: &Path) {
    let mut archive = tar::Archive::new(std::fs::File::open(tar).unwrap());
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_str().unwrap().trim_end_matches('/').to_owned();
        if entry.header().entry_type().is_dir() {
            folders.push(name);
            continue;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        assert!(bytes == std::fs::read(out.join(&name)).unwrap(), "{name} differs in the archive");
        files.push(name);
    }
    files.sort();
    assert_eq!(files, files_below(out));
    assert!(folders.contains(&"docs/empty".to_owned()), "{folders:?}");
}

/// The summary's files, versions, fetched and already-present counts.
fn counts(summary: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| summary[k].as_u64().unwrap_or_else(|| panic!("no {k} in {summary}"));
    (n("files"), n("versions"), n("fetched"), n("present"))
}

/// Every version of `drive` is in the export `out` with its bytes (the head at its path, the
/// rest under `.cairn-versions/`), the manifest lists each with its size and hash, and nothing
/// else is there: no temporary file, no stray version.
fn holds_every_version(out: &Path, drive: &BTreeMap<&str, Vec<Vec<u8>>>) {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join(".cairn-export.json")).unwrap()).unwrap();
    assert_eq!(manifest["all_versions"], true);
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), drive.len(), "{manifest}");
    let mut expected = vec![".cairn-export.json".to_owned()];
    for (path, versions) in drive {
        let entry = listed
            .iter()
            .find(|f| f["path"] == format!("/{path}"))
            .unwrap_or_else(|| panic!("{path} not in {manifest}"));
        assert_eq!(entry["local"], *path);
        assert_eq!(entry["head"], versions.len());
        let held = entry["versions"].as_array().unwrap();
        assert_eq!(held.len(), versions.len(), "{entry}");
        for (i, content) in versions.iter().enumerate() {
            let number = i + 1;
            let local = if number == versions.len() {
                (*path).to_owned()
            } else {
                format!(".cairn-versions/{path}/v{number}")
            };
            let bytes = std::fs::read(out.join(&local)).unwrap_or_else(|e| panic!("{local}: {e}"));
            assert!(bytes == *content, "{local} differs from version {number} of {path}");
            let version = held.iter().find(|v| v["version"] == number).unwrap_or_else(|| panic!("{entry}"));
            assert_eq!(version["local"], local.as_str());
            assert_eq!(version["size"], content.len());
            assert_eq!(version["hash"], blake3::hash(content).to_hex().as_str());
            assert!(version["committed_ms"].as_u64().unwrap() > 0);
            expected.push(local);
        }
    }
    expected.sort();
    assert_eq!(files_below(out), expected);
}

/// Every file below `dir`, relative and `/`-separated, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_str().unwrap().replace('\\', "/"))
        .collect();
    files.sort();
    files
}
