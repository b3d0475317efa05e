//! Resumable upload sessions (tus): the session lives in Raft, so any node can take over an
//! upload when the one that started it dies.
//!
//! A session declares where the file goes, its base version and its total size. The node that
//! receives the bytes cuts them into blocks, stores them, and appends them to the session at the
//! offset they start at; the block list is therefore known only as it arrives. Finishing turns
//! the session into a commit through [`commit::commit`], the same conditional commit every
//! other version goes through.
//!
//! The node that receives a session's bytes hashes them as they arrive and keeps its progress
//! in the session ([`HashProgress`]), so the finish, on whichever node, knows the file's hash
//! without reading the file again. A finish the commit refuses ends the session: its blocks
//! can be finished only once, so no request can make a node go over them again.
//!
//! A session holds one reference on each block appended to it, as a version does, so garbage
//! collection cannot take a block that an unfinished upload has stored. The references go when
//! the session ends: at the finish (after the commit added the version's own), at an abort, and
//! when an expired session is pruned.

use cairn_proto::{AccountId, DrivePath};
use serde::{Deserialize, Serialize};

use super::block_refs;
use super::blocks::{self, BlockRef};
use super::commit;
use super::devices;
use super::drive::{self, FileStatus, NewVersion, VersionContent};
use super::expiry;
use super::ids::{DeviceId, NamespaceId, UploadId, UserId};
use super::journal::ChangeKind;
use super::shares;
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A session as a client opens it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpload {
    /// Its id, drawn at random by the proposer.
    pub upload: UploadId,
    /// Where the file goes.
    pub namespace: NamespaceId,
    /// Its path.
    pub path: DrivePath,
    /// The head version the upload replaces (`None`: a new file); checked at the start and
    /// again, authoritatively, at the finish.
    pub base: Option<u64>,
    /// The file's total size in bytes (tus `Upload-Length`).
    pub size: u64,
    /// Modification time on the device.
    pub mtime_ms: u64,
    /// The uploading device, if any; it must be a registered device of `author`.
    pub device: Option<DeviceId>,
    /// Who uploads.
    pub author: UserId,
    /// When the session lapses (ms since the epoch); after it, only an abort is accepted, and a
    /// later request prunes the session.
    pub expires_ms: u64,
}

/// How far the bytes of a session have been hashed with blake3, by the nodes that received them:
/// the chaining values of the largest complete subtrees of blake3's tree that cover the first
/// `hashed` bytes, largest first. The bytes after them (at most one blake3 chunk, 1 KiB) are
/// read back from the session's last blocks. The model keeps it and never computes with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashProgress {
    /// Bytes covered, a multiple of blake3's chunk length.
    pub hashed: u64,
    /// The subtrees' chaining values, one per bit set in `hashed / 1024`, largest first.
    pub subtrees: Vec<[u8; 32]>,
}

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    /// What was asked for.
    pub session: NewUpload,
    /// The account the blocks are stored in (the namespace owner's), which holds the session's
    /// references on them.
    pub account: AccountId,
    /// The blocks received so far, in file order.
    pub blocks: Vec<BlockRef>,
    /// Bytes received so far: the sum of the blocks' lengths (tus `Upload-Offset`).
    pub received: u64,
    /// When the session began.
    pub created_ms: u64,
    /// How far its bytes are hashed; `None` once blocks came that no node hashed as they
    /// arrived (a client's own, through the session commit), after which only a commit that
    /// declares the hash can finish it.
    pub progress: Option<HashProgress>,
}

fn key(upload: UploadId) -> [u8; 16] {
    upload.0.to_be_bytes()
}

/// The session's entry in [`Space::UploadPaths`]: its target's entry key, NUL, its id.
fn path_key(session: &NewUpload) -> Vec<u8> {
    let mut index = drive::entry_key(session.namespace, &session.path);
    index.push(0);
    index.extend_from_slice(&key(session.upload));
    index
}

pub(super) fn begin<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    new: &NewUpload,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    if txn.get_raw(Space::Uploads, &key(new.upload))?.is_some() {
        return reject(Rejection::UploadExists(new.upload));
    }
    let owner = match commit::writable(txn, new.namespace, &new.path, new.author)? {
        Ok(owner) => owner,
        Err(rejection) => return reject(rejection),
    };
    if new.path.is_root() {
        return reject(Rejection::IsAFolder(new.path.clone()));
    }
    // Refuse early what the finish would refuse anyway, before the client sends gigabytes.
    let existing = match commit::base_check(txn, new.namespace, &new.path, new.base)? {
        Ok(existing) => existing,
        Err(rejection) => return reject(rejection),
    };
    if let Some(device) = new.device
        && devices::device(txn, new.author, device)?.is_none()
    {
        return reject(Rejection::NoSuchDevice { user: new.author, device });
    }
    if new.expires_ms <= time_ms {
        return reject(Rejection::ExpiryInPast { expires_ms: new.expires_ms, now_ms: time_ms });
    }
    let record = UploadRecord {
        session: new.clone(),
        account: AccountId(owner.0),
        blocks: Vec::new(),
        received: 0,
        created_ms: time_ms,
        progress: Some(HashProgress::default()),
    };
    txn.put(Space::Uploads, &key(new.upload), &record);
    txn.put_raw(Space::UploadPaths, &path_key(new), Vec::new());
    let also = [(Space::UploadPaths, path_key(new))];
    expiry::schedule(txn, new.expires_ms, Space::Uploads, &key(new.upload), &also);
    // Everyone who sees the path learns that a file is on its way there.
    let file = existing.map(|f| f.id);
    shares::announce(
        txn,
        owner,
        time_ms,
        new.namespace,
        &new.path,
        file,
        ChangeKind::UploadStarted { size: new.size },
    )?;
    Ok(Response::UploadBegun)
}

/// The session, if it exists, belongs to `user` and has not lapsed.
fn live_session<R: StateRead + ?Sized>(
    txn: &Txn<R>,
    time_ms: u64,
    upload: UploadId,
    user: UserId,
) -> Result<Result<UploadRecord, Rejection>, StateError> {
    let Some(record) = txn.get::<UploadRecord>(Space::Uploads, &key(upload))? else {
        return Ok(Err(Rejection::NoSuchUpload(upload)));
    };
    if record.session.author != user {
        return Ok(Err(Rejection::Forbidden));
    }
    if record.session.expires_ms <= time_ms {
        return Ok(Err(Rejection::UploadExpired { upload, expired_ms: record.session.expires_ms }));
    }
    Ok(Ok(record))
}

/// Appends stored blocks at `offset`, which must be the bytes received so far (so a client
/// that lost track learns the right offset from the rejection, as with tus `HEAD`), and takes a
/// reference on each for the session. `progress` is how far the appending node has hashed the
/// session's bytes with these blocks; without it the session's hash is no longer known.
pub(super) fn append<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    upload: UploadId,
    user: UserId,
    offset: u64,
    refs: &[BlockRef],
    progress: Option<&HashProgress>,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    let mut record = match live_session(txn, time_ms, upload, user)? {
        Ok(record) => record,
        Err(rejection) => return reject(rejection),
    };
    if offset != record.received {
        return reject(Rejection::OffsetMismatch { expected: record.received, given: offset });
    }
    let reached = refs.iter().fold(record.received, |sum, r| sum.saturating_add(u64::from(r.len)));
    if reached > record.session.size {
        return reject(Rejection::UploadTooLarge { declared: record.session.size, reached });
    }
    // Access is checked again: a share may have been revoked since the session began.
    let s = &record.session;
    if let Err(rejection) = commit::writable(txn, s.namespace, &s.path, user)? {
        return reject(rejection);
    }
    let missing = blocks::missing(txn, record.account, refs)?;
    if !missing.is_empty() {
        return reject(Rejection::MissingBlocks(missing));
    }
    if let Some(rejection) = blocks::wrong_length(txn, record.account, refs)? {
        return reject(rejection);
    }
    block_refs::add_refs(txn, time_ms, record.account, refs)?;
    record.blocks.extend_from_slice(refs);
    record.received = reached;
    // Progress counts only over bytes that were all hashed as they arrived.
    record.progress = progress.filter(|_| record.progress.is_some()).cloned();
    txn.put(Space::Uploads, &key(upload), &record);
    Ok(Response::UploadReceived { received: reached })
}

/// Commits the uploaded file through the one conditional commit, with `hash` as its hash
/// (`verified` when the finishing node hashed the bytes itself). The session ends either way:
/// on success the version holds its own references on the blocks; on a refusal of its author's
/// finish (a conflict, an incomplete session, a revoked share) the session is aborted, so a
/// finish is tried at most once and nothing is left to try it again on.
pub(super) fn finish<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    upload: UploadId,
    user: UserId,
    hash: [u8; 32],
    verified: bool,
) -> Result<Response, StateError> {
    let record = match live_session(txn, time_ms, upload, user)? {
        Ok(record) => record,
        Err(rejection) => return Ok(Response::Rejected(rejection)),
    };
    let s = &record.session;
    if record.received != s.size {
        let refused = Rejection::UploadIncomplete { declared: s.size, received: record.received };
        return end_refused(txn, time_ms, &record, refused);
    }
    let new = NewVersion {
        namespace: s.namespace,
        path: s.path.clone(),
        base: s.base,
        content: VersionContent {
            blocks: record.blocks.clone(),
            size: s.size,
            hash,
            mtime_ms: s.mtime_ms,
            device: s.device,
            hash_verified: verified,
        },
        author: s.author,
        status: FileStatus::Complete,
    };
    match commit::commit(txn, time_ms, &new)? {
        Response::Rejected(refused) => end_refused(txn, time_ms, &record, refused),
        response => {
            end(txn, time_ms, &record)?;
            Ok(response)
        }
    }
}

/// Aborts the session of a refused finish and answers the refusal.
fn end_refused<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    record: &UploadRecord,
    refused: Rejection,
) -> Result<Response, StateError> {
    end(txn, time_ms, record)?;
    let s = &record.session;
    let owner = drive::namespace(txn, s.namespace)?.map_or(s.author, |ns| ns.owner);
    shares::announce(txn, owner, time_ms, s.namespace, &s.path, None, ChangeKind::UploadAborted)?;
    Ok(Response::Rejected(refused))
}

/// Ends a session without committing; its author or the namespace's owner may, also after it
/// expired. Its blocks lose the session's references; those that no version uses stay
/// registered without references, for GC.
pub(super) fn abort<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    upload: UploadId,
    user: UserId,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<UploadRecord>(Space::Uploads, &key(upload))? else {
        return Ok(Response::Rejected(Rejection::NoSuchUpload(upload)));
    };
    let owner = drive::namespace(txn, record.session.namespace)?.map(|ns| ns.owner);
    if user != record.session.author && Some(user) != owner {
        return Ok(Response::Rejected(Rejection::Forbidden));
    }
    end(txn, time_ms, &record)?;
    let (s, owner) = (&record.session, owner.unwrap_or(record.session.author));
    shares::announce(txn, owner, time_ms, s.namespace, &s.path, None, ChangeKind::UploadAborted)?;
    Ok(Response::UploadAborted)
}

/// Deletes a session at its finish or abort, releasing its block references and its entry in
/// the expiry index.
fn end<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    record: &UploadRecord,
) -> Result<(), StateError> {
    let k = key(record.session.upload);
    block_refs::release_refs(txn, time_ms, record.account, &record.blocks)?;
    txn.delete(Space::Uploads, &k);
    txn.delete(Space::UploadPaths, &path_key(&record.session));
    expiry::cancel(txn, record.session.expires_ms, Space::Uploads, &k);
    Ok(())
}

/// Releases the block references of the expired session stored under `key`, which expiry's
/// prune deletes next, and returns how many it released (for prune's budget).
pub(super) fn release_expired<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    key: &[u8],
) -> Result<usize, StateError> {
    let Some(record) = txn.get::<UploadRecord>(Space::Uploads, key)? else {
        return Ok(0);
    };
    block_refs::release_refs(txn, time_ms, record.account, &record.blocks)?;
    Ok(record.blocks.len())
}

/// The open sessions uploading to `path` itself or to a name directly inside it (a folder's
/// listing shows them as `uploading`), at most `limit`; lapsed ones are left out.
pub fn uploading(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    now_ms: u64,
    limit: usize,
) -> Result<Vec<UploadRecord>, StateError> {
    let mut at = drive::entry_key(namespace, path);
    at.push(0);
    let mut found = Vec::new();
    for prefix in [at, drive::children_prefix(namespace, path)] {
        for (index, _) in state.scan(Space::UploadPaths, &prefix, None, limit)? {
            let Some(id) = index.len().checked_sub(16).and_then(|at| index[at..].try_into().ok()) else {
                continue;
            };
            if let Some(record) = upload(state, UploadId(u128::from_be_bytes(id)))?
                && record.session.expires_ms > now_ms
                && found.len() < limit
            {
                found.push(record);
            }
        }
    }
    Ok(found)
}

/// A session, if it exists (expired ones linger until pruned; compare `expires_ms`).
pub fn upload(
    state: &(impl StateRead + ?Sized),
    upload: UploadId,
) -> Result<Option<UploadRecord>, StateError> {
    state.get(Space::Uploads, &key(upload))?.map(|b| decode(Space::Uploads, &b)).transpose()
}

#[cfg(test)]
mod tests {
    use cairn_proto::BlockId;

    use super::*;
    use crate::model::Command;
    use crate::model::drive::{stat, versions};
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, new_upload, path, refs};

    const ID: UploadId = UploadId(0xfeed);

    fn begin(w: &mut World, base: Option<u64>, size: u64, ttl: u64) -> Response {
        w.run(Command::BeginUpload(NewUpload { base, ..new_upload(ID, "big.bin", size, w.now + ttl) }))
    }

    fn append(w: &mut World, user: UserId, offset: u64, blocks: &[&[u8]]) -> Response {
        w.run(Command::UploadBlocks { upload: ID, user, offset, blocks: refs(blocks), progress: None })
    }

    fn finish(w: &mut World) -> Response {
        w.run(Command::FinishUpload { upload: ID, user: ADA, hash: [9; 32], verified: false })
    }

    fn refcount(w: &World, b: &[u8]) -> u64 {
        blocks::block(&w.state, AccountId(1), &BlockId::of(b)).unwrap().unwrap().refcount
    }

    #[test]
    fn open_sessions_show_at_their_path_and_in_its_folder_until_they_end() {
        let mut w = World::new();
        let open = |w: &World, at: &str| uploading(&w.state, ADA_DRIVE, &path(at), w.now, 10).unwrap().len();
        assert_eq!(begin(&mut w, None, 3, 60_000), Response::UploadBegun);
        assert_eq!((open(&w, ""), open(&w, "big.bin"), open(&w, "other")), (1, 1, 0));
        let journal = crate::model::journal::changes_after(&w.state, ADA, 0, 100).unwrap();
        assert!(matches!(journal.last().unwrap().kind, ChangeKind::UploadStarted { size: 3 }));
        append(&mut w, ADA, 0, &[b"one"]);
        assert!(matches!(finish(&mut w), Response::Committed { .. }));
        assert_eq!(open(&w, ""), 0, "a finished session is gone from the index");

        assert_eq!(begin(&mut w, Some(1), 3, 60_000), Response::UploadBegun);
        assert_eq!(w.run(Command::AbortUpload { upload: ID, user: ADA }), Response::UploadAborted);
        assert_eq!(open(&w, ""), 0, "an aborted session is gone from the index");
        let journal = crate::model::journal::changes_after(&w.state, ADA, 0, 100).unwrap();
        assert!(matches!(journal.last().unwrap().kind, ChangeKind::UploadAborted));

        // A lapsed session no longer shows, even before it is pruned.
        assert_eq!(begin(&mut w, Some(1), 3, 10), Response::UploadBegun);
        w.now += 11;
        assert_eq!(open(&w, ""), 0);
    }

    #[test]
    fn blocks_arrive_at_their_offsets_and_the_finish_commits() {
        let mut w = World::new();
        assert_eq!(begin(&mut w, None, 6, 60_000), Response::UploadBegun);
        assert_eq!(begin(&mut w, None, 6, 60_000), Response::Rejected(Rejection::UploadExists(ID)));
        assert_eq!(append(&mut w, ADA, 0, &[b"one"]), Response::UploadReceived { received: 3 });
        // A client that lost track is told where to resume.
        assert_eq!(
            append(&mut w, ADA, 0, &[b"one"]),
            Response::Rejected(Rejection::OffsetMismatch { expected: 3, given: 0 })
        );
        assert_eq!(
            append(&mut w, ADA, 3, &[b"three"]),
            Response::Rejected(Rejection::UploadTooLarge { declared: 6, reached: 8 })
        );
        assert_eq!(
            append(&mut w, ADA, 3, &[b"gon"]),
            Response::Rejected(Rejection::MissingBlocks(vec![BlockId::of(b"gon")]))
        );
        assert_eq!(append(&mut w, BOB, 3, &[b"two"]), Response::Rejected(Rejection::Forbidden));
        // A length that is not the stored block's: refused, nothing appended.
        let lying = vec![BlockRef { id: BlockId::of(b"two"), len: 2 }];
        let lie = Command::UploadBlocks { upload: ID, user: ADA, offset: 3, blocks: lying, progress: None };
        assert_eq!(
            w.run(lie),
            Response::Rejected(Rejection::BlockLengthMismatch {
                block: BlockId::of(b"two"),
                declared: 2,
                stored: 3
            })
        );
        assert_eq!(upload(&w.state, ID).unwrap().unwrap().received, 3);

        assert_eq!(append(&mut w, ADA, 3, &[b"two"]), Response::UploadReceived { received: 6 });
        let Response::Committed { file, version: 1, .. } = finish(&mut w) else { panic!("not committed") };
        let v = &versions(&w.state, file, 1).unwrap()[0];
        assert_eq!(
            (v.content.blocks.clone(), v.content.size, v.content.hash, v.content.mtime_ms),
            (refs(&[b"one", b"two"]), 6, [9; 32], 5)
        );
        assert!(!v.content.hash_verified, "the finish did not say the node hashed the bytes");
        let (_, f) = stat(&w.state, ADA_DRIVE, &path("big.bin")).unwrap().unwrap();
        assert_eq!(f.unwrap().status, FileStatus::Complete);
        // The session and its expiry entry are gone; the blocks are referenced by the version.
        assert_eq!(upload(&w.state, ID).unwrap(), None);
        assert!(!w.state.keys().any(|(s, k)| *s == Space::Expiries && k.windows(7).any(|x| x == b"uploads")));
        assert_eq!(blocks::block(&w.state, AccountId(1), &BlockId::of(b"two")).unwrap().unwrap().refcount, 1);
    }

    #[test]
    fn conflicts_are_caught_at_the_start_and_again_at_the_finish() {
        let mut w = World::new();
        assert_eq!(begin(&mut w, Some(1), 3, 60_000), Response::Rejected(Rejection::Conflict { head: None }));
        assert_eq!(begin(&mut w, None, 3, 60_000), Response::UploadBegun);
        append(&mut w, ADA, 0, &[b"one"]);
        assert_eq!(
            w.run(Command::AbortUpload { upload: ID, user: BOB }),
            Response::Rejected(Rejection::Forbidden)
        );
        // Another device commits the same path first: the upload loses, and its session ends
        // with the refused finish, references and all.
        w.ada_commits("big.bin", None, &[b"two"]);
        assert_eq!(refcount(&w, b"one"), 1);
        assert_eq!(finish(&mut w), Response::Rejected(Rejection::Conflict { head: Some(1) }));
        assert_eq!(upload(&w.state, ID).unwrap(), None);
        assert_eq!(refcount(&w, b"one"), 0);
        let journal = crate::model::journal::changes_after(&w.state, ADA, 0, 100).unwrap();
        assert!(matches!(journal.last().unwrap().kind, ChangeKind::UploadAborted));
        assert_eq!(finish(&mut w), Response::Rejected(Rejection::NoSuchUpload(ID)));
        assert_eq!(
            w.run(Command::AbortUpload { upload: ID, user: ADA }),
            Response::Rejected(Rejection::NoSuchUpload(ID))
        );
    }

    #[test]
    fn a_refused_finish_ends_the_session_but_a_strangers_does_not() {
        let mut w = World::new();
        begin(&mut w, None, 6, 60_000);
        append(&mut w, ADA, 0, &[b"one"]);
        let strangers = Command::FinishUpload { upload: ID, user: BOB, hash: [9; 32], verified: true };
        assert_eq!(w.run(strangers), Response::Rejected(Rejection::Forbidden));
        assert!(upload(&w.state, ID).unwrap().is_some());
        assert_eq!(
            finish(&mut w),
            Response::Rejected(Rejection::UploadIncomplete { declared: 6, received: 3 })
        );
        assert_eq!(upload(&w.state, ID).unwrap(), None);
        assert_eq!(refcount(&w, b"one"), 0);
    }

    #[test]
    fn hashing_progress_is_kept_only_over_bytes_all_hashed() {
        let mut w = World::new();
        begin(&mut w, None, 9, 60_000);
        assert_eq!(upload(&w.state, ID).unwrap().unwrap().progress, Some(HashProgress::default()));
        let progress = HashProgress { hashed: 0, subtrees: vec![] };
        let step = |w: &mut World, offset, block: &[u8], progress: Option<HashProgress>| {
            w.run(Command::UploadBlocks { upload: ID, user: ADA, offset, blocks: refs(&[block]), progress })
        };
        step(&mut w, 0, b"one", Some(progress.clone()));
        assert_eq!(upload(&w.state, ID).unwrap().unwrap().progress, Some(progress.clone()));
        // Blocks no node hashed: the session's hash is unknown from then on.
        step(&mut w, 3, b"two", None);
        step(&mut w, 6, b"one", Some(progress));
        assert_eq!(upload(&w.state, ID).unwrap().unwrap().progress, None);
        let finish = Command::FinishUpload { upload: ID, user: ADA, hash: [1; 32], verified: true };
        let Response::Committed { file, .. } = w.run(finish) else { panic!("not committed") };
        assert!(versions(&w.state, file, 1).unwrap()[0].content.hash_verified);
    }

    #[test]
    fn expired_sessions_are_refused_then_pruned() {
        let mut w = World::new();
        let t = w.now;
        assert_eq!(
            begin(&mut w, None, 3, 0),
            Response::Rejected(Rejection::ExpiryInPast { expires_ms: t, now_ms: t })
        );
        let stranger = NewUpload { author: BOB, ..new_upload(UploadId(1), "x", 0, t + 1) };
        assert_eq!(w.run(Command::BeginUpload(stranger)), Response::Rejected(Rejection::Forbidden));
        begin(&mut w, None, 3, 100);
        w.now = t + 100;
        // The refusal is itself a request, and its apply prunes the lapsed session.
        assert_eq!(
            append(&mut w, ADA, 0, &[b"one"]),
            Response::Rejected(Rejection::UploadExpired { upload: ID, expired_ms: t + 100 })
        );
        assert_eq!(upload(&w.state, ID).unwrap(), None);
        assert_eq!(finish(&mut w), Response::Rejected(Rejection::NoSuchUpload(ID)));
    }

    #[test]
    fn an_editor_uploads_until_the_share_is_revoked() {
        use crate::model::shares::ShareRole;
        let mut w = World::new();
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("team"), user: ADA });
        let share = Command::Share {
            namespace: ADA_DRIVE,
            path: path("team"),
            with: BOB,
            role: ShareRole::ReadWrite,
            by: ADA,
        };
        w.run(share);
        let new = NewUpload {
            upload: ID,
            namespace: ADA_DRIVE,
            path: path("team/b.bin"),
            base: None,
            size: 6,
            mtime_ms: 0,
            device: None,
            author: BOB,
            expires_ms: w.now + 1_000,
        };
        assert_eq!(w.run(Command::BeginUpload(new)), Response::UploadBegun);
        assert_eq!(append(&mut w, BOB, 0, &[b"one"]), Response::UploadReceived { received: 3 });
        w.run(Command::RevokeShare { namespace: ADA_DRIVE, path: path("team"), with: BOB, by: ADA });
        assert_eq!(append(&mut w, BOB, 3, &[b"two"]), Response::Rejected(Rejection::Forbidden));
        // The owner of the namespace may clear the session away.
        assert_eq!(w.run(Command::AbortUpload { upload: ID, user: ADA }), Response::UploadAborted);
    }

    #[test]
    fn a_session_holds_its_blocks_until_it_ends() {
        let mut w = World::new();
        // Aborted: the session's reference goes with it.
        begin(&mut w, None, 6, 60_000);
        append(&mut w, ADA, 0, &[b"one"]);
        assert_eq!(refcount(&w, b"one"), 1);
        // GC cannot take the block from under the unfinished upload.
        let seen = blocks::block(&w.state, AccountId(1), &BlockId::of(b"one")).unwrap().unwrap().changed_ms;
        let drop = Command::DropBlock {
            account: AccountId(1),
            block: BlockId::of(b"one"),
            generation: 1,
            unchanged_since_ms: seen,
        };
        assert_eq!(w.run(drop), Response::Rejected(Rejection::BlockInUse { block: BlockId::of(b"one") }));
        assert_eq!(w.run(Command::AbortUpload { upload: ID, user: ADA }), Response::UploadAborted);
        assert_eq!(refcount(&w, b"one"), 0);

        // Finished: the version's references replace the session's.
        begin(&mut w, None, 6, 60_000);
        append(&mut w, ADA, 0, &[b"one"]);
        append(&mut w, ADA, 3, &[b"two"]);
        assert_eq!((refcount(&w, b"one"), refcount(&w, b"two")), (1, 1));
        assert!(matches!(finish(&mut w), Response::Committed { .. }));
        assert_eq!((refcount(&w, b"one"), refcount(&w, b"two")), (1, 1));

        // Expired: pruning the session releases its references.
        let t = w.now;
        begin(&mut w, Some(1), 5, 100);
        append(&mut w, ADA, 0, &[b"three"]);
        assert_eq!(refcount(&w, b"three"), 1);
        w.now = t + 100;
        w.run(Command::CreateUser { name: "cy".into() });
        assert_eq!(upload(&w.state, ID).unwrap(), None);
        assert_eq!((refcount(&w, b"one"), refcount(&w, b"two"), refcount(&w, b"three")), (1, 1, 0));
    }

    #[test]
    fn pruning_stops_once_it_released_its_budget_of_references() {
        let mut w = World::new();
        let per_session = expiry::PRUNE_REFS_PER_APPLY / 2 + 1;
        let size = 3 * per_session as u64;
        let t = w.now;
        for n in 1..=3 {
            let new = NewUpload {
                upload: UploadId(n),
                namespace: ADA_DRIVE,
                path: path(&format!("f{n}")),
                base: None,
                size,
                mtime_ms: 0,
                device: None,
                author: ADA,
                expires_ms: t + 100,
            };
            assert_eq!(w.run(Command::BeginUpload(new)), Response::UploadBegun);
            let blocks = vec![BlockRef { id: BlockId::of(b"one"), len: 3 }; per_session];
            let append =
                Command::UploadBlocks { upload: UploadId(n), user: ADA, offset: 0, blocks, progress: None };
            assert_eq!(w.run(append), Response::UploadReceived { received: size });
        }
        assert_eq!(refcount(&w, b"one"), size);
        w.now = t + 100;
        // The second session takes the released references past the budget, so the third waits
        // for the next request.
        w.run(Command::CreateUser { name: "cy".into() });
        assert_eq!(refcount(&w, b"one"), per_session as u64);
        assert!(upload(&w.state, UploadId(2)).unwrap().is_none());
        assert!(upload(&w.state, UploadId(3)).unwrap().is_some());
        w.run(Command::CreateUser { name: "dee".into() });
        assert_eq!(refcount(&w, b"one"), 0);
        assert_eq!(upload(&w.state, UploadId(3)).unwrap(), None);
    }
}
