//! Every format the metadata stores or sends stays readable: today's bytes of every command,
//! response, rejection, query, answer, keyspace record, log entry and snapshot meta are
//! committed under `tests/golden/`, and each build must decode them to the same values and
//! encode those values to the same bytes (see `cairn_proto::golden`; `CAIRN_BLESS=1` records a
//! new kind). A node of the next release replays this release's log and snapshots, and serves
//! its peers during a rolling upgrade: an encoding changes by a new version, never in place.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod commands;
mod reads;
mod replies;
mod values;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use cairn_proto::golden::Golden;
use cairn_raft::model::cluster::{NodeMark, NodeRole, NodeState};
use cairn_raft::model::drive::{EntryKind, FileStatus};
use cairn_raft::model::join_tokens::JoinRole;
use cairn_raft::model::journal::ChangeKind;
use cairn_raft::model::links::{LinkStatus, LinkTarget};
use cairn_raft::model::shares::{Access, ShareRole};
use cairn_raft::model::tokens::TokenKind;
use cairn_raft::model::{Response, Space, txn_decode, txn_encode};
use cairn_raft::storage::snapshot::{Meta, SnapshotDir};
use cairn_raft::storage::{RocksLogStore, format};
use cairn_raft::{NodeId, Proposal, TypeConfig};
use openraft::storage::RaftLogStorage;
use openraft::{Entry, EntryPayload, LogId, RaftLogReader, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use values::*;

fn golden(file: &str, what: &str) -> Golden {
    Golden::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file), what)
}

#[test]
fn requests_and_every_command_stay_readable() {
    let mut g = golden("requests.txt", "the Raft requests a log entry carries");
    let commands = commands::commands();
    g.check("Request", &request(commands[1].clone()));
    g.check("Proposal", &Proposal(vec![request(commands[0].clone()), request(commands[1].clone())]));
    g.check_enum("Command", &commands);
    g.finish();
}

#[test]
fn every_response_and_rejection_stays_readable() {
    let mut g = golden("responses.txt", "the answers of applied requests, kept under their ids");
    g.check_enum("Response", &replies::responses());
    g.finish();
    let mut g = golden("rejections.txt", "why a request was refused");
    g.check_enum("Rejection", &replies::rejections());
    g.check_enum("JoinRefusal", &replies::join_refusals());
    g.finish();
}

#[test]
fn every_query_and_answer_stays_readable() {
    let mut g = golden("queries.txt", "the reads one node asks of another");
    g.check_enum("Query", &reads::queries());
    g.finish();
    let mut g = golden("answers.txt", "the answers to reads");
    g.check_enum("Answer", &reads::answers());
    for (kind, answer) in reads::answers_refused() {
        g.check(kind, &answer);
    }
    g.finish();
}

#[test]
fn every_enum_inside_commands_and_records_stays_readable() {
    let mut g = golden("variants.txt", "the enums inside commands, records and answers, variant by variant");
    g.check_enum("Access", &[Access::Read, Access::ReadWrite, Access::Owner]);
    g.check_enum(
        "ChangeKind",
        &[
            ChangeKind::FolderCreated,
            ChangeKind::VersionCommitted { version: 3, status: FileStatus::Trashed },
            ChangeKind::Trashed,
            ChangeKind::Restored { status: FileStatus::Uploading },
            ChangeKind::Purged,
            ChangeKind::Moved { from: path("photos/old.jpg") },
            ChangeKind::MovedIn,
            ChangeKind::MovedOut,
            ChangeKind::FolderTrashed { files: 7 },
            ChangeKind::UploadStarted { size: 7_340_033 },
            ChangeKind::UploadAborted,
        ],
    );
    g.check_enum("EntryKind", &[EntryKind::Folder, EntryKind::File(FILE)]);
    g.check_enum("FileStatus", &[FileStatus::Uploading, FileStatus::Complete, FileStatus::Trashed]);
    g.check_enum("JoinRole", &[JoinRole::Voter, JoinRole::Storage]);
    g.check_enum(
        "LinkStatus",
        &[LinkStatus::Live, LinkStatus::Expired, LinkStatus::Trashed, LinkStatus::Gone, LinkStatus::NoRights],
    );
    g.check_enum("LinkTarget", &[LinkTarget::File(FILE), LinkTarget::Folder(path("photos"))]);
    g.check_enum("NodeMark", &[NodeMark::Up, NodeMark::Draining, NodeMark::Down, NodeMark::Undrain]);
    g.check_enum("NodeRole", &[NodeRole::Voter, NodeRole::Learner, NodeRole::StorageOnly]);
    g.check_enum(
        "NodeState",
        &[
            NodeState::Active,
            NodeState::Draining,
            NodeState::Down { since_ms: T0 + 18 },
            NodeState::DownDraining { since_ms: T0 + 19 },
        ],
    );
    g.check_enum("ShareRole", &[ShareRole::Read, ShareRole::ReadWrite]);
    g.check_enum("TokenKind", &[TokenKind::Api, TokenKind::Session]);
    g.finish();
}

/// Checks a record as the state machine stores and reads it: `txn_encode` and `txn_decode`.
fn stored<T>(g: &mut Golden, space: Space, kind: &str, value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    g.check_with(kind, value, txn_encode, |bytes| txn_decode(space, bytes).map_err(|e| e.to_string()));
}

#[test]
fn the_record_of_every_keyspace_stays_readable() {
    let mut g = golden("records.txt", "the value each keyspace of the state machine stores, by keyspace");
    for space in Space::ALL {
        let name = space.name();
        // Exhaustive, so that a new keyspace does not compile until its record is pinned here.
        match space {
            Space::Meta => {
                stored(&mut g, space, "meta/last_applied", &Some(log_id(4, NODE_A, 58)));
                stored(&mut g, space, "meta/membership", &stored_membership());
                stored(&mut g, space, "meta/journal_retention_ms", &2_592_000_031u64);
                stored(&mut g, space, "meta/cluster_version", &2u32);
                stored(&mut g, space, "meta/format", &1u32);
            }
            Space::Requests => {
                stored(&mut g, space, name, &Response::Committed { file: FILE, version: 3, seq: 101 })
            }
            Space::Counters => stored(&mut g, space, name, &4_097u64),
            Space::Users => stored(&mut g, space, name, &user()),
            Space::UserNames => stored(&mut g, space, name, &ADA),
            Space::Tokens => stored(&mut g, space, name, &token_record()),
            Space::Namespaces => stored(&mut g, space, name, &namespace()),
            Space::Entries => stored(&mut g, space, name, &entry()),
            Space::Files => stored(&mut g, space, name, &file()),
            Space::Versions => stored(&mut g, space, name, &version()),
            Space::Blocks => stored(&mut g, space, name, &block_record()),
            Space::Journal => stored(&mut g, space, name, &change()),
            Space::Expiries => {
                let user_token = [&ADA.0.to_be_bytes()[..], &token().0].concat();
                stored(&mut g, space, name, &vec![("user_tokens".to_owned(), user_token)]);
            }
            Space::Devices => stored(&mut g, space, name, &device()),
            Space::Shares | Space::SharesReceived => stored(&mut g, space, name, &share()),
            Space::Links => stored(&mut g, space, name, &link()),
            Space::Trash => stored(&mut g, space, name, &trash()),
            Space::Uploads => stored(&mut g, space, name, &upload()),
            Space::Nodes => stored(&mut g, space, name, &node()),
            Space::Accounts => stored(&mut g, space, name, &account()),
            Space::TokenTerms => stored(&mut g, space, name, &token_terms()),
            Space::JoinTokens => stored(&mut g, space, name, &join_token_record()),
            Space::InlineBlocks => stored(&mut g, space, name, &sealed_block()),
            // Indexes: the key is the record, the value is empty.
            Space::UserTokens | Space::UploadPaths | Space::LinkIndex | Space::BlockHolders => {
                stored(&mut g, space, name, &())
            }
            Space::BlockIndex => {
                stored(&mut g, space, name, &());
                stored(&mut g, space, "block_index/built", &1u32);
            }
        }
    }
    g.finish();
}

#[test]
fn keyspace_names_stay() {
    // The column family of a keyspace is how the state machine, and a snapshot's checkpoint,
    // find its records: a renamed one would open empty beside the old one.
    let mut g = golden("keyspaces.txt", "the column family name of each keyspace");
    for space in Space::ALL {
        g.check_with(
            &format!("{space:?}"),
            &space,
            |s| s.name().as_bytes().to_vec(),
            |bytes| {
                std::str::from_utf8(bytes)
                    .ok()
                    .and_then(Space::from_name)
                    .ok_or_else(|| "no keyspace of that name".into())
            },
        );
    }
    g.finish();
}

/// The log's entries: a blank one, a batch of two requests, a membership change.
fn entries() -> [Entry<TypeConfig>; 3] {
    let commands = commands::commands();
    let proposal = Proposal(vec![request(commands[3].clone()), request(commands[4].clone())]);
    [
        Entry { log_id: log_id(4, NODE_A, 55), payload: EntryPayload::Blank },
        Entry { log_id: log_id(4, NODE_A, 56), payload: EntryPayload::Normal(proposal) },
        Entry { log_id: log_id(4, NODE_A, 57), payload: EntryPayload::Membership(membership()) },
    ]
}

/// A log store whose column family `cf` holds `value` under `key`, as if an earlier release had
/// written it, and a runtime to call it with.
fn log_store_holding(
    dir: &Path,
    cf: &str,
    key: &[u8],
    value: &[u8],
) -> (RocksLogStore, tokio::runtime::Runtime) {
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    {
        let db = rocksdb::DB::open_cf(&options, dir, ["logs", "store"]).unwrap();
        db.put_cf(db.cf_handle(cf).unwrap(), key, value).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    (RocksLogStore::open(dir).unwrap(), runtime)
}

/// Decodes `bytes` as the log store reads them from `cf` under `key`, with `read`.
fn read_back<T>(
    cf: &str,
    key: &[u8],
    bytes: &[u8],
    read: impl AsyncFnOnce(&mut RocksLogStore) -> Option<T>,
) -> Result<T, String> {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, runtime) = log_store_holding(dir.path(), cf, key, bytes);
    runtime
        .block_on(read(&mut store))
        .ok_or_else(|| format!("the log store does not find {}", String::from_utf8_lossy(key)))
}

#[test]
fn log_entries_and_votes_stay_readable() {
    // Written with `txn_encode`, as `log_store.rs` writes them; read back by the log store itself
    // from the column family and key an earlier release wrote them to.
    let mut g = golden("log.txt", "the Raft log store's entries and its vote, committed and purged marks");
    for (kind, entry) in ["entry/blank", "entry/normal", "entry/membership"].into_iter().zip(entries()) {
        let index = entry.log_id.index;
        g.check_with(kind, &entry, txn_encode, |bytes| {
            read_back("logs", &index.to_be_bytes(), bytes, async |store| {
                store.try_get_log_entries(index..=index).await.unwrap().pop()
            })
        });
    }
    g.check_enum("EntryPayload", &entries().map(|e| e.payload));
    g.check_with("store/vote", &Vote::new_committed(4, NODE_A), txn_encode, |bytes| {
        read_back("store", b"vote", bytes, async |store| store.read_vote().await.unwrap())
    });
    let committed: Option<LogId<NodeId>> = Some(log_id(4, NODE_A, 56));
    g.check_with("store/committed", &committed, txn_encode, |bytes| {
        read_back("store", b"committed", bytes, async |store| Some(store.read_committed().await.unwrap()))
    });
    g.check_with("store/last_purged", &log_id(3, NODE_B, 40), txn_encode, |bytes| {
        read_back("store", b"last_purged", bytes, async |store| {
            store.get_log_state().await.unwrap().last_purged_log_id
        })
    });
    // The format stamp, read as the log store reads it when it opens (and opening accepts it).
    g.check_with("store/format", &format::LOG_FORMAT, txn_encode, |bytes| {
        let dir = tempfile::tempdir().unwrap();
        drop(log_store_holding(dir.path(), "store", format::KEY, bytes));
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), ["logs", "store"]).unwrap();
        format::stamped(&db, db.cf_handle("store").unwrap(), "Raft log").map_err(|e| e.to_string())
    });
    g.finish();
}

fn snapshot_meta() -> Meta {
    Meta {
        last_log_id: Some(log_id(4, NODE_A, 58)),
        last_membership: stored_membership(),
        snapshot_id: "4-81-58-1767225600123000042".into(),
    }
}

/// The bytes `SnapshotDir::adopt` writes to `file` (named after the snapshot's id) for `meta`.
fn adopted(meta: &Meta, file: impl Fn(&str) -> String) -> Vec<u8> {
    let base = tempfile::tempdir().unwrap();
    SnapshotDir::open(base.path()).unwrap().adopt(meta).unwrap();
    std::fs::read(base.path().join("snapshots").join(file(&meta.snapshot_id))).unwrap()
}

/// The current snapshot's meta and tar file name, as `SnapshotDir::current` reads them from a
/// folder holding `meta_file` and `current` as an earlier release wrote them.
fn current(meta_file: &[u8], current: &[u8]) -> Result<(Meta, PathBuf), String> {
    let base = tempfile::tempdir().unwrap();
    let dir = SnapshotDir::open(base.path()).unwrap();
    let id = String::from_utf8(current.to_vec()).map_err(|e| e.to_string())?;
    std::fs::write(base.path().join("snapshots").join(format!("{id}.meta")), meta_file).unwrap();
    std::fs::write(base.path().join("snapshots/current"), current).unwrap();
    let (meta, tar) = dir.current().map_err(|e| e.to_string())?.ok_or("no current snapshot")?;
    Ok((meta, tar.strip_prefix(base.path()).unwrap().to_owned()))
}

#[test]
fn snapshot_meta_and_pointer_stay_readable() {
    // A snapshot is `snapshots/<id>.tar` (a RocksDB checkpoint, whose records the other
    // fixtures pin), `<id>.meta` and `current`, the id of the newest; written and read here by
    // the same `SnapshotDir` the state machine uses.
    let mut g = golden("snapshot.txt", "a snapshot's meta file and the pointer to the current snapshot");
    let meta = snapshot_meta();
    let id = meta.snapshot_id.clone();
    g.check_with(
        "meta",
        &meta,
        |m| adopted(m, |id| format!("{id}.meta")),
        |bytes| current(bytes, id.as_bytes()).map(|(meta, _)| meta),
    );
    let tar = PathBuf::from(format!("snapshots/{id}.tar"));
    g.check_with(
        "current",
        &(id.clone(), tar),
        |(id, _)| adopted(&Meta { snapshot_id: id.clone(), ..snapshot_meta() }, |_| "current".into()),
        |bytes| {
            let meta_file = txn_encode(&Meta {
                snapshot_id: String::from_utf8_lossy(bytes).into_owned(),
                ..snapshot_meta()
            });
            current(&meta_file, bytes).map(|(meta, tar)| (meta.snapshot_id, tar))
        },
    );
    g.finish();
}
