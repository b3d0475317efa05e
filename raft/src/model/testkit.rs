//! A state in memory with two users, for the unit tests of the model: requests go through
//! `apply` and their writes are committed, as the state machine does.

// Each test module uses the part of the kit it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;

use cairn_proto::{AccountId, BlockId, DrivePath};

use super::blocks::BlockRef;
use super::drive::{FileStatus, NewVersion, VersionContent};
use super::ids::{FileId, NamespaceId, UploadId};
use super::uploads::NewUpload;
use super::{Command, Request, RequestId, Response, Space, Txn, UserId, apply};

/// The simplest state.
pub type State = BTreeMap<(Space, Vec<u8>), Vec<u8>>;

/// Ada (user 1, drive 1) and Bob (user 2, drive 2).
pub const ADA: UserId = UserId(1);
/// Bob.
pub const BOB: UserId = UserId(2);
/// Ada's drive.
pub const ADA_DRIVE: NamespaceId = NamespaceId(1);

/// A state, the clock of the next request, and a request-id counter.
pub struct World {
    /// The committed state.
    pub state: State,
    /// `time_ms` of the next request.
    pub now: u64,
    next_request: u128,
}

impl World {
    /// Ada and Bob, and the blocks "one", "two" and "three" stored in Ada's account.
    pub fn new() -> Self {
        let mut world = Self { state: State::new(), now: 1_000, next_request: 0 };
        world.run(Command::CreateUser { name: "ada".into() });
        world.run(Command::CreateUser { name: "bob".into() });
        for b in [b"one".as_slice(), b"two", b"three"] {
            world.run(Command::RegisterBlock {
                account: AccountId(1),
                block: BlockId::of(b),
                plain_len: b.len() as u32,
                shape: (2, 1),
                generation: 1,
                placement: vec![1, 2, 3],
                damaged: Vec::new(),
            });
        }
        world
    }

    /// Applies `command` as a new request and commits its writes.
    pub fn run(&mut self, command: Command) -> Response {
        self.next_request += 1;
        let mut txn = Txn::new(&self.state);
        let request = Request { id: RequestId(self.next_request), time_ms: self.now, command };
        let response = apply(&mut txn, &request).unwrap();
        let writes: Vec<_> = txn.into_writes().collect();
        for ((space, key), value) in writes {
            match value {
                Some(v) => self.state.insert((space, key), v),
                None => self.state.remove(&(space, key)),
            };
        }
        response
    }

    /// A complete version of `path` in `namespace` by `author`.
    pub fn commit_as(
        &mut self,
        author: UserId,
        namespace: NamespaceId,
        path: &str,
        base: Option<u64>,
        blocks: &[&[u8]],
    ) -> Response {
        let blocks = refs(blocks);
        self.run(Command::CommitVersion(NewVersion {
            namespace,
            path: self::path(path),
            base,
            content: VersionContent {
                size: blocks.iter().map(|r| u64::from(r.len)).sum(),
                blocks,
                hash: [7; 32],
                mtime_ms: 1,
                device: None,
                hash_verified: false,
            },
            author,
            status: FileStatus::Complete,
        }))
    }

    /// Ada commits into her drive.
    pub fn commit(&mut self, path: &str, base: Option<u64>, blocks: &[&[u8]]) -> Response {
        self.commit_as(ADA, ADA_DRIVE, path, base, blocks)
    }

    /// Ada commits into her drive and gets the file id.
    pub fn ada_commits(&mut self, path: &str, base: Option<u64>, blocks: &[&[u8]]) -> FileId {
        match self.commit_as(ADA, ADA_DRIVE, path, base, blocks) {
            Response::Committed { file, .. } => file,
            other => panic!("commit of {path} gave {other:?}"),
        }
    }
}

/// A path that must parse.
pub fn path(p: &str) -> DrivePath {
    DrivePath::parse(p).unwrap()
}

/// Ada begins upload `upload` of a new file at `path` of `size` bytes, open until `expires_ms`;
/// callers change the other fields with `..`.
pub fn new_upload(upload: UploadId, path_text: &str, size: u64, expires_ms: u64) -> NewUpload {
    NewUpload {
        upload,
        namespace: ADA_DRIVE,
        path: path(path_text),
        base: None,
        size,
        mtime_ms: 5,
        device: None,
        author: ADA,
        expires_ms,
    }
}

/// References to blocks with the given content.
pub fn refs(blocks: &[&[u8]]) -> Vec<BlockRef> {
    blocks.iter().map(|b| BlockRef { id: BlockId::of(b), len: b.len() as u32 }).collect()
}
