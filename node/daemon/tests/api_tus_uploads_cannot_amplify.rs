//! The tus amplification of issue 17, tried against a real cluster, counting the block bytes
//! every node reads (`cairn_block_bytes_read_total`): a session filled through its commit with
//! one stored block repeated, a refused finish, then empty PATCHes at its end offset — each of
//! which used to read and decrypt the whole session again, in a task that outlived the client.
//! Now the refused finish ends the session, lengths that are not the stored blocks' are
//! refused, a commit that does not complete the session appends nothing, and what the nodes
//! read stays under the session's size. An honest upload resumed in odd pieces through every
//! node reads back no more than a few bytes per PATCH, and its hash is recorded as verified.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::sample_data::random;
use cairn_proto::{BlockId, EncodedBlock};
use cairn_test_cluster::http::{self, Reply, request};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::json;

const MIB: usize = 1 << 20;
/// Times the one block is listed in the hostile session.
const REPEATS: u64 = 64;

struct Api {
    addrs: Vec<SocketAddr>,
    token: String,
}

impl Api {
    fn call(&self, n: usize, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
        let headers = [&[("Tus-Resumable", "1.0.0")], extra].concat();
        http::call(&self.addrs, n, Some(&self.token), method, path, &headers, body)
    }

    /// Opens a tus session of `size` bytes for `path` (which must not exist); returns its URL.
    fn create(&self, size: u64, path: &str) -> String {
        let metadata = format!("path {},base {}", B64.encode(path), B64.encode("none"));
        let size = size.to_string();
        let r = self.call(
            0,
            "POST",
            "/v1/uploads",
            &[("Upload-Length", &size), ("Upload-Metadata", &metadata)],
            b"",
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.header("location").unwrap().to_owned()
    }

    fn patch(&self, n: usize, url: &str, offset: u64, body: &[u8]) -> Reply {
        let offset = offset.to_string();
        let headers =
            [("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", offset.as_str())];
        self.call(n, "PATCH", url, &headers, body)
    }

    fn commit(&self, url: &str, blocks: serde_json::Value) -> Reply {
        let body = json!({"blocks": blocks, "hash": "00".repeat(32)});
        self.call(1, "POST", &format!("{url}/commit"), &[], body.to_string().as_bytes())
    }

    /// Plaintext block bytes read by every node since it started.
    fn bytes_read(&self) -> u64 {
        (0..self.addrs.len())
            .map(|n| {
                let r = request(self.addrs[n], "GET", "/metrics", &[], b"");
                let text = String::from_utf8(r.body).unwrap();
                text.lines()
                    .find_map(|l| l.strip_prefix("cairn_block_bytes_read_total "))
                    .unwrap_or_else(|| panic!("no cairn_block_bytes_read_total in\n{text}"))
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cannot_make_the_nodes_read_more_than_its_bytes() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let api =
        Api { addrs: cluster.nodes.values().map(|n| n.api).collect(), token: cluster.add_user("ada", false) };

    // One stored block of 4 MiB, listed 64 times: a 256 MiB session from 4 MiB sent.
    let block = random(4 * MIB, 3);
    let id = BlockId::of(&block).to_hex();
    let wire = EncodedBlock::compress(&block, DEFAULT_ZSTD_LEVEL).unwrap().to_bytes();
    let r = api.call(0, "PUT", &format!("/v1/blocks/{id}"), &[], &wire);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let size = REPEATS * block.len() as u64;
    let repeated = json!(vec![json!({"id": id, "len": block.len()}); REPEATS as usize]);
    let before = api.bytes_read();

    // The sequence of the report: fill the session through its commit, have the finish refused
    // (someone created the path meanwhile), then PATCH at the end offset, again and again.
    let url = api.create(size, "/amp.bin");
    let r = api.call(2, "PUT", "/v1/content/amp.bin", &[], b"first");
    assert_eq!(r.status, 201);
    let r = api.commit(&url, repeated.clone());
    assert_eq!((r.status, r.code().as_str()), (409, "conflict"), "{}", String::from_utf8_lossy(&r.body));
    for n in 0..20 {
        let r = api.patch(n, &url, size, b"");
        assert_eq!((r.status, r.code().as_str()), (404, "not_found"), "the refused finish ended the session");
    }

    // Lengths that are not the stored block's: refused, whatever they add up to.
    let url = api.create(REPEATS, "/lie.bin");
    let r = api.commit(&url, json!(vec![json!({"id": id, "len": 1}); REPEATS as usize]));
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "block_length_mismatch"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );

    // A commit that would leave the session short of its length appends nothing.
    let url = api.create(size + 1, "/short.bin");
    let r = api.commit(&url, repeated);
    assert_eq!((r.status, r.code().as_str()), (400, "invalid"), "{}", String::from_utf8_lossy(&r.body));
    let r = api.patch(0, &url, 0, b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("upload-offset"), Some("0"), "nothing was appended");

    let read = api.bytes_read() - before;
    println!("block bytes read by the nodes during the sequence: {read} (the session: {size})");
    assert!(read <= size, "the nodes read {read} bytes for a session of {size}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_upload_reads_back_only_its_last_kibibyte_and_its_hash_is_verified() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let api =
        Api { addrs: cluster.nodes.values().map(|n| n.api).collect(), token: cluster.add_user("ada", false) };
    let file = random(10 * MIB + 12_345, 5);
    let url = api.create(file.len() as u64, "/resumed.bin");
    let before = api.bytes_read();
    // Pieces of odd sizes, each through another node: every PATCH resumes the hash from what
    // the one before stored.
    let (mut offset, mut patches) = (0usize, 0usize);
    while offset < file.len() {
        let end = (offset + 3 * MIB / 2 + 7).min(file.len());
        let r = api.patch(patches, &url, offset as u64, &file[offset..end]);
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("upload-offset"), Some(end.to_string().as_str()));
        (offset, patches) = (end, patches + 1);
    }
    let read = api.bytes_read() - before;
    println!("{patches} PATCHes read back {read} bytes");
    assert!(read <= patches as u64 * 1024, "{patches} PATCHes read back {read} bytes");

    let r = api.call(2, "GET", "/v1/content/resumed.bin", &[], b"");
    assert!(r.status == 200 && r.body == file, "the file differs");
    let hash = blake3::hash(&file).to_hex().to_string();
    assert_eq!(r.header("etag"), Some(format!("\"{hash}\"").as_str()));
    let manifest = api.call(1, "GET", "/v1/manifest/resumed.bin", &[], b"").json();
    assert_eq!(
        (manifest["hash"].as_str(), manifest["hash_verified"].as_bool()),
        (Some(hash.as_str()), Some(true))
    );
    // A commit of a block list carries the client's word: recorded as not verified.
    let blocks = &manifest["blocks"];
    let body = json!({"path": "listed.bin", "blocks": blocks, "size": file.len(), "hash": hash});
    let r = api.call(0, "POST", "/v1/commit", &[], body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let manifest = api.call(1, "GET", "/v1/manifest/listed.bin", &[], b"").json();
    assert_eq!(manifest["hash_verified"].as_bool(), Some(false));
}
