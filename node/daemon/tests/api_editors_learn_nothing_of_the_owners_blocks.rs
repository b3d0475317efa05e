//! An editor of a shared folder stores blocks in the owner's account, but dedup does not let
//! them probe it: `POST /v1/blocks/missing` answers them relative to the file they write, and
//! `PUT /v1/blocks/{id}` checks their body before anything and answers `written: true` whether
//! or not the owner had the block. A commit of theirs (plain or closing an upload session) may
//! name only blocks of the file it replaces and blocks they sent: any other is `missing`, as if
//! the owner lacked it. The owner keeps full dedup. Real cluster, two users, a share.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::sample_data::random;
use cairn_proto::{BlockId, EncodedBlock};
use cairn_test_cluster::http::{self, Reply};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::{Value, json};

struct Api {
    addrs: Vec<SocketAddr>,
}

impl Api {
    fn call(&self, n: usize, token: &str, method: &str, path: &str, body: &[u8]) -> Reply {
        http::call(&self.addrs, n, Some(token), method, path, &[], body)
    }

    fn json(&self, n: usize, token: &str, method: &str, path: &str, body: Value) -> Reply {
        self.call(n, token, method, path, body.to_string().as_bytes())
    }

    fn block_ids(&self, token: &str, path: &str) -> Vec<String> {
        self.blocks(token, path).into_iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect()
    }

    fn blocks(&self, token: &str, path: &str) -> Vec<Value> {
        let manifest = self.call(1, token, "GET", &format!("/v1/manifest/{path}"), b"").json();
        manifest["blocks"].as_array().unwrap().clone()
    }

    /// A plain commit of `blocks` ({id, len}) as a new file at `path` in namespace `ns`.
    fn commit(&self, token: &str, ns: u64, path: &str, blocks: &[Value]) -> Reply {
        let size: u64 = blocks.iter().map(|b| b["len"].as_u64().unwrap()).sum();
        let body = json!({"path": path, "ns": ns, "blocks": blocks, "size": size, "hash": "00".repeat(32)});
        self.json(2, token, "POST", "/v1/commit", body)
    }

    /// Opens an upload session for a new file of `size` bytes at `path` in `ns` and closes it
    /// with `blocks`.
    fn session_commit(&self, token: &str, ns: u64, path: &str, blocks: &[Value]) -> Reply {
        let size: u64 = blocks.iter().map(|b| b["len"].as_u64().unwrap()).sum();
        let metadata = format!("path {},ns {}", B64.encode(path), B64.encode(ns.to_string()));
        let length = size.to_string();
        let tus =
            [("Tus-Resumable", "1.0.0"), ("Upload-Length", length.as_str()), ("Upload-Metadata", &metadata)];
        let r = http::call(&self.addrs, 0, Some(token), "POST", "/v1/uploads", &tus, b"");
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let session = r.header("location").unwrap().to_owned();
        let body = json!({"blocks": blocks, "hash": "00".repeat(32)});
        self.json(1, token, "POST", &format!("{session}/commit"), body)
    }

    fn missing(&self, token: &str, ids: &[String], ns: Option<u64>, path: &str) -> Vec<String> {
        let r =
            self.json(2, token, "POST", "/v1/blocks/missing", json!({"ids": ids, "ns": ns, "path": path}));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["missing"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_cannot_probe_the_owners_blocks() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect() };
    let (ada, bob) = (cluster.add_user("ada", false), cluster.add_user("bob", false));
    let drive = api.call(0, &ada, "GET", "/v1/me", b"").json()["drive"].as_u64().unwrap();

    // Ada's private file, and a folder she shares with Bob as editor, with a file in it.
    let secret = random(3 << 20, 11);
    assert_eq!(api.call(0, &ada, "PUT", "/v1/content/private/secret.bin", &secret).status, 201);
    assert_eq!(api.call(0, &ada, "PUT", "/v1/content/team/plan.bin", &random(1 << 20, 12)).status, 201);
    let r = api.json(1, &ada, "POST", "/v1/shares", json!({"path": "team", "user": "bob", "role": "editor"}));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let secret_ids = api.block_ids(&ada, "private/secret.bin");
    let plan_ids = api.block_ids(&ada, "team/plan.bin");
    let fresh = BlockId::of(b"never stored anywhere").to_hex();

    // The owner dedups against everything she has.
    assert_eq!(api.missing(&ada, &secret_ids, None, "team/new.bin"), Vec::<String>::new());
    // The editor hears "missing" for her other blocks, as for a block no one has...
    let mut asked = secret_ids.clone();
    asked.push(fresh.clone());
    assert_eq!(api.missing(&bob, &asked, Some(drive), "team/new.bin"), asked);
    // ...and may dedup against the file he writes, which he can read anyway.
    assert_eq!(api.missing(&bob, &plan_ids, Some(drive), "team/plan.bin"), Vec::<String>::new());

    // A block PUT by the editor is read and checked whole before any answer: a body that is not
    // the block is refused even when the owner has the block...
    let put = |token: &str, id: &str, body: &[u8]| {
        api.call(0, token, "PUT", &format!("/v1/blocks/{id}?ns={drive}&path=team/new.bin"), body)
    };
    let r = put(&bob, &secret_ids[0], b"not the block");
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_block"), "{}", String::from_utf8_lossy(&r.body));
    // ...and the right body gets the same answer whether or not she had it.
    let known = ada_block(&secret, &secret_ids[0]);
    let wire = |data: &[u8]| EncodedBlock::compress(data, DEFAULT_ZSTD_LEVEL).unwrap().to_bytes();
    let r = put(&bob, &secret_ids[0], &wire(&known));
    assert_eq!((r.status, r.json()["written"].as_bool()), (201, Some(true)));
    let new_block = random(300_000, 13);
    let r = put(&bob, &BlockId::of(&new_block).to_hex(), &wire(&new_block));
    assert_eq!((r.status, r.json()["written"].as_bool()), (201, Some(true)));
    // The owner still hears the truth.
    let r = api.call(0, &ada, "PUT", &format!("/v1/blocks/{}", secret_ids[0]), &wire(&known));
    assert_eq!((r.status, r.json()["written"].as_bool()), (200, Some(false)));

    // A commit by the editor naming a guessed block of the owner's is refused exactly like one
    // naming a block no one has, plainly and through an upload session.
    let secret_blocks = api.blocks(&ada, "private/secret.bin");
    let guessed = vec![secret_blocks[1].clone(), json!({"id": fresh, "len": 1000})];
    let named = vec![secret_ids[1].clone(), fresh.clone()];
    assert_eq!(refused_as_missing(&api.commit(&bob, drive, "team/guess.bin", &guessed)), named);
    assert_eq!(refused_as_missing(&api.session_commit(&bob, drive, "team/guess2.bin", &guessed)), named);
    // The owner committing the same is told only of the block she lacks.
    assert_eq!(refused_as_missing(&api.commit(&ada, drive, "team/guess.bin", &guessed)), vec![fresh.clone()]);
    // Blocks the editor sent, and those of the file he replaces, he may name.
    let sent =
        vec![secret_blocks[0].clone(), json!({"id": BlockId::of(&new_block).to_hex(), "len": 300_000})];
    let r = api.commit(&bob, drive, "team/mine.bin", &sent);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let plan = api.blocks(&ada, "team/plan.bin");
    let r = api.session_commit(&bob, drive, "team/plan-copy.bin", &plan);
    assert_eq!(refused_as_missing(&r).len(), plan.len(), "another file's blocks are not this one's");
    let body = json!({"path": "team/plan.bin", "ns": drive, "blocks": plan, "base": 1,
        "size": 1 << 20, "hash": "00".repeat(32)});
    let r = api.json(2, &bob, "POST", "/v1/commit", body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// The bytes of the block `id` of `file`, found by cutting it as the node did.
fn ada_block(file: &[u8], id: &str) -> Vec<u8> {
    cairn_proto::StreamChunker::new(file)
        .map(|c| c.unwrap())
        .find(|c| c.id.to_hex() == id)
        .map(|c| c.data)
        .expect("the node cuts as the chunker does")
}

/// The ids a `missing_blocks` refusal names.
fn refused_as_missing(r: &Reply) -> Vec<String> {
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "missing_blocks"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()["missing"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}
