//! What the block layer sends between nodes stays readable: today's bytes of every kind byte,
//! and of every shard and block call and its answer — a postcard header framed with its length,
//! then the raw body — are committed under `tests/golden/`, and each build must decode them to
//! the same values and encode those values to the same bytes (see `cairn_proto::golden`;
//! `CAIRN_BLESS=1` records a new kind). During a rolling upgrade, nodes of two releases store
//! and fetch each other's shards: a message changes by a new kind or version, never in place.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::fmt::Debug;
use std::path::Path;

use bytes::Bytes;
use cairn_block_service::messages::{
    self, BlockError, BlockGet, BlockPut, BlockStored, KIND_BLOCK_GET, KIND_BLOCK_PUT, KIND_PING,
    KIND_REBALANCE, KIND_SHARD_DELETE, KIND_SHARD_GET, KIND_SHARD_PUT, NodeHolding, NodeLeft, RebalanceAsk,
    RebalanceReport, ShardCallError, ShardUsage,
};
use cairn_metadata::ServiceError;
use cairn_proto::golden::Golden;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::ShardKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

const ACCOUNT: AccountId = AccountId(71);

fn golden(file: &str, what: &str) -> Golden {
    Golden::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file), what)
}

fn block() -> BlockId {
    BlockId::of(b"one")
}

fn shard_key() -> ShardKey {
    ShardKey { account: ACCOUNT, block: block(), generation: 0x9e4e_7a71_0000_0091, index: 5 }
}

#[test]
fn kind_bytes_stay() {
    // A kind byte is how the receiver tells one call from another: renumbering one makes a node
    // of the previous release take it for another call, or refuse it.
    let mut g = golden("kinds.txt", "the transport kind bytes of the block layer's calls");
    let kinds = [
        ("KIND_SHARD_PUT", KIND_SHARD_PUT),
        ("KIND_SHARD_GET", KIND_SHARD_GET),
        ("KIND_SHARD_DELETE", KIND_SHARD_DELETE),
        ("KIND_BLOCK_PUT", KIND_BLOCK_PUT),
        ("KIND_BLOCK_GET", KIND_BLOCK_GET),
        ("KIND_PING", KIND_PING),
        ("KIND_REBALANCE", KIND_REBALANCE),
    ];
    for (name, kind) in kinds {
        g.check_byte(name, kind);
    }
    g.finish();
}

/// Checks a message of `header` and `body` as the block layer frames and splits it:
/// `messages::encode` and `messages::decode`.
fn framed<H>(g: &mut Golden, kind: &str, header: H, body: &[u8])
where
    H: Serialize + DeserializeOwned + PartialEq + Debug,
{
    g.check_with(
        kind,
        &(header, body.to_vec()),
        |(header, body)| messages::encode(header, body).to_vec(),
        |bytes| {
            messages::decode::<H>(&Bytes::copy_from_slice(bytes))
                .map(|(header, body)| (header, body.to_vec()))
        },
    );
}

#[test]
fn every_shard_and_block_call_and_answer_stays_readable() {
    let mut g = golden("messages.txt", "the block layer's calls and answers, header and body");
    let shard = b"a shard: sealed, erasure-coded bytes";
    // KIND_SHARD_PUT, KIND_SHARD_GET, KIND_SHARD_DELETE: a shard key, and for a put the shard.
    framed(&mut g, "shard_put/request", shard_key(), shard);
    framed(&mut g, "shard_put/answer", Ok::<(), ShardCallError>(()), &[]);
    framed(&mut g, "shard_get/request", shard_key(), &[]);
    framed(&mut g, "shard_get/answer", Ok::<bool, ShardCallError>(true), shard);
    framed(&mut g, "shard_delete/request", shard_key(), &[]);
    framed(&mut g, "shard_delete/answer", Ok::<bool, ShardCallError>(false), &[]);
    // KIND_PING: no header, no body.
    framed(&mut g, "ping/request", (), &[]);
    let usage = ShardUsage {
        shards: 1_201,
        used_bytes: 5_000_000_017,
        capacity_bytes: Some(8_000_000_019),
        disk_available_bytes: 3_000_000_023,
    };
    framed(&mut g, "ping/answer", Ok::<ShardUsage, ShardCallError>(usage), &[]);
    // KIND_BLOCK_PUT: the client's encoded block, checked against the id it claims.
    let put = BlockPut { account: ACCOUNT, id: block() };
    framed(&mut g, "block_put/request", put, b"\x00an encoded block: codec byte, then the bytes");
    let stored = BlockStored { written: true, placement: vec![81, 82, 83, 84, 85, 86], damaged: vec![4] };
    framed(&mut g, "block_put/answer", Ok::<BlockStored, BlockError>(stored), &[]);
    // KIND_BLOCK_GET: the plaintext length in the header, the plaintext as body.
    framed(&mut g, "block_get/request", BlockGet { account: ACCOUNT, id: block() }, &[]);
    framed(&mut g, "block_get/answer", Ok::<u32, BlockError>(9), b"plaintext");
    // KIND_REBALANCE: what the leader's mover has left, and what a node still holds.
    framed(&mut g, "rebalance/request", RebalanceAsk { count_on: Some(85) }, &[]);
    let report = RebalanceReport {
        leading: true,
        scans: 3,
        shards_left: 41,
        bytes_left: 170_000_029,
        blocks_stuck: 2,
        leaving: vec![NodeLeft { node: 85, shards: 40, bytes: 160_000_031 }],
        moved_shards: 17,
        moved_bytes: 68_000_037,
        failures: 1,
        holding: Some(NodeHolding { node: 85, blocks: 39, bytes: 156_000_041 }),
    };
    framed(&mut g, "rebalance/answer", Ok::<RebalanceReport, BlockError>(report), &[]);
    // Any call may fail with one of these, as the header of an answer with no body.
    g.check_enum(
        "ShardCallError",
        &[
            ShardCallError::Full("capacity of 8 GB reached".into()),
            ShardCallError::Corrupt("checksum mismatch".into()),
            ShardCallError::Store("write shard: I/O error".into()),
            ShardCallError::Refused("shard calls are for nodes only".into()),
        ],
    );
    g.check_enum(
        "BlockError",
        &[
            BlockError::Invalid("the bytes are not the block they claim".into()),
            BlockError::NotFound(block()),
            BlockError::Unavailable("2 of 4 shards".into()),
            BlockError::Damaged(BlockId::of(b"two")),
            BlockError::Metadata(ServiceError::NotLeader { node: 82, leader: Some(81) }),
            BlockError::Refused("unknown block call 29".into()),
        ],
    );
    framed(&mut g, "shard_call/answer(Err)", Err::<bool, _>(ShardCallError::Corrupt("checksum".into())), &[]);
    framed(&mut g, "block_call/answer(Err)", Err::<u32, _>(BlockError::NotFound(block())), &[]);
    g.finish();
}
