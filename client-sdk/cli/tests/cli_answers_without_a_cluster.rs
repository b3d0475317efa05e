//! What `cairn` answers before (or without) reaching a cluster: the exit code table in
//! `--help`, usage errors, a missing or broken profile, nodes that do not answer, and bad
//! values caught before anything is sent — each with its exit code, and with `--json` one
//! error document on stdout.
//!
//! Being an integration test of this package also makes `cargo test` build the `cairn` binary,
//! which the cluster tests in `node/tests/cli_*.rs` run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

fn cairn(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .env("CAIRN_CONFIG", config)
        .env_remove("CAIRN_TOKEN")
        .output()
        .unwrap()
}

/// [`cairn`] with a token in `CAIRN_TOKEN`, where a token that is not in a profile goes.
fn cairn_with_token(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .env("CAIRN_CONFIG", config)
        .env("CAIRN_TOKEN", "t")
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("not one JSON document ({e}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

/// A loopback address where nothing listens (bound, then closed).
fn dead_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn help_lists_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let help = cairn(&dir.path().join("c.toml"), &["--help"]);
    assert_eq!(code(&help), 0);
    let text = String::from_utf8(help.stdout).unwrap();
    for line in
        ["Exit codes:", "3  not found", "4  conflict", "5  permission", "6  unreachable", "9  bad input"]
    {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["put"][..], &["--json", "frobnicate"], &["pin", "/a"], &["share", "--list", "/a", "bob"]] {
        let run = cairn(&dir.path().join("c.toml"), args);
        assert_eq!(code(&run), 2, "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?} printed on stdout");
    }
}

#[test]
fn no_profile_means_log_in_first() {
    let dir = tempfile::tempdir().unwrap();
    let run = cairn(&dir.path().join("none.toml"), &["--json", "ls"]);
    assert_eq!(code(&run), 5);
    let doc = json(&run);
    assert_eq!(doc["error"]["code"], "no_profile");
    assert_eq!(doc["error"]["exit"], 5);
    assert!(String::from_utf8_lossy(&run.stderr).contains("cairn login"));
}

#[test]
fn a_broken_profile_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "nodes = [\"http://127.0.0.1:1\"]\ntoken = \"t\"\ncolour = \"blue\"\n").unwrap();
    let run = cairn(&config, &["ls"]);
    assert_eq!(code(&run), 9);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("c.toml") && stderr.contains("colour"), "{stderr}");
}

#[test]
fn status_with_no_node_answering_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    let node = dead_address();
    let run = cairn_with_token(&dir.path().join("c.toml"), &["--json", "--node", &node, "status"]);
    assert_eq!(code(&run), 6, "{}", String::from_utf8_lossy(&run.stderr));
    // The status itself is the one document: every node listed, none up.
    let doc = json(&run);
    assert_eq!(doc["nodes"][0]["url"], node);
    assert_eq!(doc["nodes"][0]["ok"], false);
    assert_eq!(doc["nodes"][0]["reachable"], false);
}

#[test]
fn bad_values_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let node = dead_address();
    let with = |args: &[&str]| {
        let mut all = vec!["--node", node.as_str()];
        all.extend_from_slice(args);
        cairn_with_token(&config, &all)
    };
    assert_eq!(code(&with(&["mkdir", "/a/../b"])), 9);
    assert_eq!(code(&with(&["link", "/a", "--expires", "soon"])), 9);
    assert_eq!(code(&with(&["--json", "get", "/a", "-"])), 2, "`-` and --json both want stdout");
    assert_eq!(code(&with(&["put", &dir.path().join("missing").display().to_string()])), 8);
    let run = cairn_with_token(&config, &["--node", "ftp://x", "ls"]);
    assert_eq!(code(&run), 9, "{}", String::from_utf8_lossy(&run.stderr));
}
