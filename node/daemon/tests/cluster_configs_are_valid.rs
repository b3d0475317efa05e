//! Every config shipped under `cluster-configs/` parses and validates, and each cluster folder
//! passes the layout check (distinct ids and addresses, any one zone expendable); nodes of one
//! machine have distinct ports and data and share one secrets folder. The binary refuses a bad
//! config with a message naming the key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cairn_node::{NodeConfig, layout};

#[test]
fn every_shipped_config_is_valid_and_consistent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cluster-configs");
    let mut clusters = 0;
    for cluster in std::fs::read_dir(&root).unwrap() {
        let cluster = cluster.unwrap().path();
        let mut configs = Vec::new();
        for file in std::fs::read_dir(&cluster).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "toml") {
                let config = NodeConfig::load(&file).unwrap_or_else(|e| panic!("{e}"));
                configs.push(config);
            }
        }
        assert!(!configs.is_empty(), "{} holds no configs", cluster.display());
        // Distinct ids and addresses, enough nodes for each profile, any one zone expendable.
        let layout = layout::check(&configs).unwrap_or_else(|e| panic!("{}: {e}", cluster.display()));
        let zones: BTreeSet<_> = configs.iter().map(|c| c.zone.as_str()).collect();
        if zones.len() > 1 {
            assert!(layout[1].contains("any one zone"), "{}: {layout:?}", cluster.display());
        }
        // Nodes on one machine (one advertised IP) must not share ports or data, and share the
        // cluster's one secrets folder; nodes on separate hosts have each their own.
        let hosts: BTreeSet<_> = configs.iter().map(|c| c.advertised().ip()).collect();
        if hosts.len() == 1 {
            let api: BTreeSet<_> = configs.iter().map(|c| c.network.api).collect();
            let data: BTreeSet<_> = configs.iter().map(|c| c.data_dir.clone()).collect();
            let secrets: BTreeSet<_> = configs.iter().map(|c| c.secrets_dir.clone()).collect();
            let n = configs.len();
            assert_eq!((api.len(), data.len()), (n, n), "{}", cluster.display());
            assert_eq!(secrets.len(), 1, "{}: one machine, one secrets folder", cluster.display());
        }
        clusters += 1;
    }
    assert!(clusters >= 1);
}

#[test]
fn the_binary_refuses_a_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, "id = 1\ndata_dir = \"d\"\nsecrets_dir = \"s\"\n[network]\nlisten = \"127.0.0.1:7000\"\napi = \"127.0.0.1:8000\"\nlisen = 1\n").unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_cairn-node")).args(["start", "-c"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lisen"), "{stderr}");
    // Nothing was created for a config that was refused.
    assert!(!dir.path().join("d").exists());

    let missing = Command::new(env!("CARGO_BIN_EXE_cairn-node"))
        .args(["status", "-c", "/nonexistent/node.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/node.toml"));
}
