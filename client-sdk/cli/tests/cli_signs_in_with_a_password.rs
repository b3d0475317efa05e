//! Password sign-in from the command line against a real cluster over HTTPS: `cairn login`
//! with the password on standard input (never on the command line), wrong passwords exiting 5
//! and saving nothing, `cairn token add | ls | revoke` for a program's token (which then cannot
//! make tokens itself), and `cairn passwd`, after which the old session is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_test_cluster::{ProcessCluster, Settings};
use common::cli::{Cairn, ca_file, node_url};

const USAGE: i32 = 2;
const PERMISSION: i32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_a_password_and_manage_their_tokens() {
    let cluster = ProcessCluster::start(1, Settings { api_tls: true, ..Settings::default() }).await;
    cluster.add_user("ada", false);
    cluster.set_password("ada", "correct horse battery");
    let home = tempfile::tempdir().unwrap();
    let ada = Cairn::new(&home.path().join("ada"));
    let url = node_url(&cluster, 1);
    let ca = ca_file(&cluster).display().to_string();
    let login = ["login", "--node", url.as_str(), "--ca", ca.as_str(), "--user", "ada", "--password-stdin"];

    // Without a terminal and without --password-stdin there is nobody to ask: a usage error.
    let run = ada.run(&["login", "--node", url.as_str(), "--ca", ca.as_str(), "--user", "ada"]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(run.stderr.contains("--password-stdin"), "{}", run.stderr);
    let run = ada.run_with_input(&login, "wrong password\n");
    assert_eq!(run.code, PERMISSION, "{}", run.stderr);
    assert!(run.stderr.contains("wrong user name or password"), "{}", run.stderr);
    assert!(!ada.config.exists(), "a refused login saved a profile");

    let run = ada.run_with_input(&login, "correct horse battery\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.text().contains("logged in as ada"), "{}", run.text());
    let saved = std::fs::read_to_string(&ada.config).unwrap();
    assert!(!saved.contains("correct horse"), "the password was saved");

    // A token for a program, shown once; listed with the session; revoked by a prefix of its id.
    let made = ada.json(&["token", "add", "backup script", "--expires", "7d"]);
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(made["expires_ms"].as_u64().is_some());
    let listed = ada.json(&["token", "ls"]);
    let tokens = listed["tokens"].as_array().unwrap();
    // With the token `cairn-node user add` made.
    assert_eq!(tokens.len(), 3, "{listed}");
    assert!(tokens.iter().any(|t| t["kind"] == "session" && t["current"] == true), "{listed}");
    assert!(tokens.iter().any(|t| t["id"] == id.as_str() && t["label"] == "backup script"), "{listed}");

    // The program's token works, but cannot make tokens.
    let script = Cairn::new(&home.path().join("script"));
    script.login_with_token(&token, &["--node", url.as_str(), "--ca", ca.as_str()]);
    let run = script.run(&["token", "add", "minted"]);
    assert_eq!(run.code, PERMISSION, "{}", run.stderr);
    let run = ada.run(&["token", "revoke", &id[..6]]);
    assert_eq!(run.code, USAGE, "a 6-character prefix is too short: {}", run.stderr);
    ada.ok(&["token", "revoke", &id[..12]]);
    let run = script.run(&["ls"]);
    assert_eq!(run.code, PERMISSION, "a revoked token still works: {}", run.stderr);
    assert_eq!(ada.json(&["token", "ls"])["tokens"].as_array().unwrap().len(), 2);

    // A new password ends the session this profile holds; signing in again works.
    let run = ada.run_with_input(&["passwd"], "correct horse battery\nan even better one\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = ada.run(&["ls"]);
    assert_eq!(run.code, PERMISSION, "{}", run.stderr);
    let relogin = ["login", "--user", "ada", "--password-stdin"];
    let run = ada.run_with_input(&relogin, "an even better one\n");
    assert_eq!(run.code, 0, "signing in again with the profile's nodes: {}", run.stderr);
    ada.ok(&["ls"]);
}
