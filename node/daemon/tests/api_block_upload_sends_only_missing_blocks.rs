//! The block-level upload over HTTP: ask which blocks the drive lacks, send only those, commit.
//! A changed region resends only its own blocks; a commit naming a block the account lacks gets
//! 409 `missing_blocks` with the ids; a stale base gets 409 `conflict`; a block under a false
//! id, with a bad id or over the size limit is refused with its code.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_proto::sample_data::{random, text};
use cairn_proto::{BlockId, EncodedBlock, StreamChunker};
use cairn_test_cluster::http::{Reply, request, request_raw};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::json;

struct Client {
    addr: std::net::SocketAddr,
    token: String,
}

impl Client {
    fn call(&self, method: &str, path: &str, json: bool, body: &[u8]) -> Reply {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("Authorization", auth.as_str())];
        if json {
            headers.push(("Content-Type", "application/json"));
        }
        request(self.addr, method, path, &headers, body)
    }

    fn missing(&self, ids: &[String]) -> Vec<String> {
        let r = self.call("POST", "/v1/blocks/missing", true, json!({ "ids": ids }).to_string().as_bytes());
        assert_eq!(r.status, 200, "{:?}", r.json());
        serde_json::from_value(r.json()["missing"].clone()).unwrap()
    }

    /// Uploads `content` to `path` block by block; returns (blocks sent, the commit's reply).
    fn upload(&self, path: &str, content: &[u8], base: Option<u64>) -> (usize, Reply) {
        let chunks: Vec<_> = StreamChunker::new(content).map(Result::unwrap).collect();
        let ids: Vec<String> = chunks.iter().map(|c| c.id.to_hex()).collect();
        let missing = self.missing(&ids);
        for chunk in chunks.iter().filter(|c| missing.contains(&c.id.to_hex())) {
            let wire = EncodedBlock::compress(&chunk.data, 3).unwrap().to_bytes();
            let r = self.call("PUT", &format!("/v1/blocks/{}", chunk.id.to_hex()), false, &wire);
            assert_eq!(r.status, 201, "{:?}", r.json());
        }
        let blocks: Vec<_> =
            chunks.iter().map(|c| json!({"id": c.id.to_hex(), "len": c.data.len()})).collect();
        let hash = blake3::hash(content).to_hex().to_string();
        let body = json!({"path": path, "base": base, "blocks": blocks, "size": content.len(), "hash": hash});
        (missing.len(), self.call("POST", "/v1/commit", true, body.to_string().as_bytes()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_upload_sends_only_what_the_drive_lacks() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let nodes: Vec<_> = cluster.nodes.values().map(|n| n.api).collect();
    let client = Client { addr: nodes[1], token };

    let mut content = text(3 << 20, 1);
    content.extend_from_slice(&random(5 << 20, 2));
    let (sent, r) = client.upload("/big.bin", &content, None);
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["version"], 1);
    let total = StreamChunker::new(&content[..]).count();
    assert_eq!(sent, total);
    let download = Client { addr: nodes[2], token: client.token.clone() };
    let r = download.call("GET", "/v1/content/big.bin", false, b"");
    assert!(r.status == 200 && r.body == content, "download differs");

    // Change 64 KiB in the middle: only the blocks around it travel again.
    let mut edited = content.clone();
    edited[4 << 20..(4 << 20) + 65_536].copy_from_slice(&random(65_536, 3));
    let (sent, r) = client.upload("/big.bin", &edited, Some(1));
    assert_eq!(r.json()["version"], 2);
    println!("edit: {sent} of {total} blocks sent again");
    assert!(sent <= 2, "{sent} blocks sent for a 64 KiB edit");
    // The same file again: nothing to send. A stale base: conflict.
    let (sent, r) = client.upload("/big.bin", &edited, Some(1));
    assert_eq!((sent, r.status, r.code().as_str()), (0, 409, "conflict"));

    // A commit naming a block the drive does not have.
    let ghost = BlockId::of(b"never sent").to_hex();
    let body = json!({"path": "/ghost", "blocks": [{"id": ghost, "len": 10}], "size": 10,
                      "hash": blake3::hash(b"never sent").to_hex().to_string()});
    let r = client.call("POST", "/v1/commit", true, body.to_string().as_bytes());
    assert_eq!((r.status, r.code().as_str()), (409, "missing_blocks"));
    assert_eq!(r.json()["missing"], json!([ghost]));

    // Bad blocks.
    let wire = EncodedBlock::compress(b"some bytes", 3).unwrap().to_bytes();
    let r = client.call("PUT", &format!("/v1/blocks/{}", BlockId::of(b"other").to_hex()), false, &wire);
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_block"));
    let r = client.call("PUT", "/v1/blocks/xyz", false, &wire);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    // Over the size limit: a declared length is refused before a byte of the body is read (or
    // any memory reserved for it); a chunked body once it passes the limit.
    let huge = vec![0u8; (4 << 20) + 4096];
    let put_head = |framing: &str| {
        format!(
            "PUT /v1/blocks/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n{framing}\r\n",
            BlockId::of(&huge).to_hex(),
            client.token
        )
    };
    let r = request_raw(client.addr, put_head(&format!("Content-Length: {}\r\n", huge.len())).as_bytes());
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    let mut chunked = put_head("Transfer-Encoding: chunked\r\n").into_bytes();
    for piece in huge.chunks(1 << 20) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = request_raw(client.addr, &chunked);
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    let r =
        client.call("POST", "/v1/commit", true, br#"{"path": "/x", "blocks": [], "size": 0, "hash": "zz"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
}
