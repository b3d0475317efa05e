//! Every config shipped under `cluster-configs/` parses and validates, and within one cluster
//! folder the nodes have distinct ids and addresses and share one secrets folder; the binary
//! refuses a bad config with a message naming the key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cairn_node::NodeConfig;

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
        let ids: BTreeSet<_> = configs.iter().map(|c| c.id).collect();
        let quic: BTreeSet<_> = configs.iter().map(|c| c.advertised()).collect();
        let api: BTreeSet<_> = configs.iter().map(|c| c.network.api).collect();
        let secrets: BTreeSet<_> = configs.iter().map(|c| c.secrets_dir.clone()).collect();
        let data: BTreeSet<_> = configs.iter().map(|c| c.data_dir.clone()).collect();
        let n = configs.len();
        assert_eq!((ids.len(), quic.len(), api.len(), data.len()), (n, n, n, n), "{}", cluster.display());
        assert_eq!(secrets.len(), 1, "{}: one cluster, one secrets folder", cluster.display());
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
