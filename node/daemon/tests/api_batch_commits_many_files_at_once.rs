//! `POST /v1/batch`, with real processes: many files in one request, each answered on its own.
//!
//! Small files of a batch read back byte-identical from every node; a file over the inline
//! threshold goes to shards; a block-list file commits blocks the account has. A bad file
//! (stale base, create-only on an existing file, a bad path, a path twice, content and blocks
//! both) fails alone with the status and code it would have had by itself, and changes nothing;
//! the rest of its batch commits. A retry with the same `Idempotency-Key` replays the answer
//! without writing again; a malformed or oversized batch is refused whole.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_client::api::{DownloadOptions, MAX_BATCH_FILES};
use cairn_client::upload::PutOptions;
use cairn_proto::sample_data::{random, text};
use cairn_test_cluster::http::{Reply, call};
use cairn_test_cluster::{ProcessCluster, Settings, sdk};
use serde_json::{Value, json};

const FILES: usize = 150;

fn batch(addrs: &[SocketAddr], n: usize, token: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    call(addrs, n, Some(token), "POST", "/v1/batch", headers, body.to_string().as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_commits_each_file_on_its_own() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let client = sdk::client(&cluster, &token);
    let addrs: Vec<SocketAddr> = cluster.nodes.values().map(|n| n.api).collect();
    let dir = tempfile::tempdir().unwrap();

    // Through the SDK: small files, an empty one, two alike, one over the inline threshold.
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut contents = Vec::new();
    for i in 0..FILES {
        let content = match i {
            0 => Vec::new(),
            1 => text(4096, 0),
            2 => random(100_000, 2),
            _ => text(100 + i * 37, i as u64),
        };
        let local = dir.path().join(format!("f{i}"));
        std::fs::write(&local, &content).unwrap();
        files.push((local, format!("/many/f{i}")));
        contents.push(content);
    }
    let reports = client.upload_batch(&files, &PutOptions::default()).await.unwrap();
    assert_eq!(reports.len(), FILES);
    for (report, content) in reports.iter().zip(&contents) {
        let report = report.as_ref().unwrap();
        assert_eq!(report.committed.version, 1);
        assert_eq!(report.size, content.len() as u64);
    }
    for node in cluster.nodes.values() {
        let one = cairn_client::Client::new(cairn_client::ClientConfig::new(
            vec![format!("http://{}", node.api)],
            token.clone(),
        ))
        .unwrap();
        for i in [0, 1, 2, 3, FILES - 1] {
            let back = dir.path().join("back");
            one.download_file(&files[i].1, &back, &DownloadOptions::default(), None).await.unwrap();
            assert!(std::fs::read(&back).unwrap() == contents[i], "{} came back different", files[i].1);
        }
    }

    // Raw: good files beside bad ones.
    let manifest = client.manifest("/many/f2", &DownloadOptions::default()).await.unwrap();
    let b64 = |s: &str| BASE64.encode(s);
    let body = json!({ "files": [
        { "path": "/mixed/new.txt", "content": b64("fresh") },
        { "path": "/many/f3", "base": 1, "content": b64("second version") },
        { "path": "/many/f4", "base": 7, "content": b64("stale base") },
        { "path": "/many/f5", "base": null, "content": b64("create only") },
        { "path": "/bad\u{0}name", "content": b64("x") },
        { "path": "/mixed/new.txt", "content": b64("twice") },
        { "path": "/mixed/copy-of-f2", "blocks": manifest.blocks, "size": manifest.size, "hash": manifest.hash },
        { "path": "/mixed/both", "content": b64("x"), "blocks": [], "size": 1, "hash": manifest.hash },
        { "path": "/mixed/not-base64", "content": "!!" },
    ]});
    let reply = batch(&addrs, 1, &token, &[], &body);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let outcomes = reply.json()["files"].as_array().unwrap().clone();
    let status: Vec<u64> = outcomes.iter().map(|o| o["status"].as_u64().unwrap()).collect();
    assert_eq!(status, [201, 200, 409, 409, 400, 400, 201, 400, 400], "{outcomes:#?}");
    assert_eq!(outcomes[2]["error"]["code"], "conflict");
    assert_eq!(outcomes[2]["error"]["head"], 1, "a conflict says where the head is");
    assert_eq!(outcomes[1]["uploaded"]["version"], 2);

    let read = |path: &str| {
        let client = client.clone();
        let (path, back) = (path.to_owned(), dir.path().join("read"));
        async move {
            client.download_file(&path, &back, &DownloadOptions::default(), None).await.unwrap();
            std::fs::read(&back).unwrap()
        }
    };
    assert_eq!(read("/mixed/new.txt").await, b"fresh");
    assert_eq!(read("/many/f3").await, b"second version");
    assert!(read("/many/f4").await == contents[4], "a refused file is unchanged");
    assert!(read("/many/f5").await == contents[5], "a refused file is unchanged");
    assert!(read("/mixed/copy-of-f2").await == contents[2], "a block list commits the account's blocks");

    // The same key replays the first answer and writes nothing again.
    let once = json!({ "files": [{ "path": "/retried", "content": b64("once") }] });
    let key = [("Idempotency-Key", "batch-retry-1")];
    let first = batch(&addrs, 0, &token, &key, &once);
    let again = batch(&addrs, 2, &token, &key, &once);
    assert_eq!(first.status, 200);
    assert_eq!(first.json(), again.json(), "a retry replays the first answer");
    let history = client.history("/retried", &Default::default()).await.unwrap();
    assert_eq!(history.versions.len(), 1, "a retry writes nothing again");

    // Refused whole: not JSON, unknown fields, too many files.
    let not_json = call(&addrs, 0, Some(&token), "POST", "/v1/batch", &[], b"{files");
    assert_eq!((not_json.status, not_json.code().as_str()), (400, "bad_request"));
    let unknown = batch(&addrs, 0, &token, &[], &json!({ "files": [], "extra": 1 }));
    assert_eq!((unknown.status, unknown.code().as_str()), (400, "bad_request"));
    let many: Vec<Value> =
        (0..=MAX_BATCH_FILES).map(|i| json!({ "path": format!("/too/{i}"), "content": "" })).collect();
    let too_many = batch(&addrs, 0, &token, &[], &json!({ "files": many }));
    assert_eq!((too_many.status, too_many.code().as_str()), (413, "too_large"));
    let listing = call(&addrs, 0, Some(&token), "GET", "/v1/tree/too", &[], b"");
    assert_eq!(listing.status, 404, "a refused batch writes nothing");
}
