//! Writing into a drive: who may write where, the folders on the way, and the conditional
//! commit of a new version (first writer wins).

use cairn_proto::{AccountId, DrivePath};

use super::block_refs;
use super::blocks;
use super::devices;
use super::drive::{self, entry_key, stat, version_key};
use super::drive::{EntryKind, EntryRecord, FileRecord, FileStatus, Namespace, NewVersion, VersionRecord};
use super::ids::{FileId, NamespaceId, UserId};
use super::journal::ChangeKind;
use super::shares::{self, Access};
use super::trash;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// Creates the drive namespace of a new user.
pub(super) fn create_drive<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    owner: UserId,
) -> Result<NamespaceId, StateError> {
    let id = NamespaceId(txn.next_id("namespace")?);
    txn.put(Space::Namespaces, &id.0.to_be_bytes(), &Namespace { id, owner });
    Ok(id)
}

/// Checks that `user` may write at `path` in `namespace` (as its owner, or through an editor
/// share of the path or a folder above it) and returns the namespace's owner, whose account
/// stores the blocks and whose journal hears of the change.
pub(super) fn writable(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Result<UserId, Rejection>, StateError> {
    let Some(ns) = drive::namespace(state, namespace)? else {
        return Ok(Err(Rejection::NoSuchNamespace(namespace)));
    };
    if !shares::access(state, namespace, path, user)?.is_some_and(Access::can_write) {
        return Ok(Err(Rejection::Forbidden));
    }
    Ok(Ok(ns.owner))
}

/// Makes sure every folder on the way to `folder` exists, creating the missing ones (and telling
/// everyone who sees them). Refuses, before writing anything, if a file is on the way.
pub(super) fn ensure_folders<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    owner: UserId,
    folder: &DrivePath,
) -> Result<Result<(), Rejection>, StateError> {
    let mut missing = Vec::new();
    let mut at = folder.clone();
    while let Some((parent, _)) = at.split_last() {
        match txn.get::<EntryRecord>(Space::Entries, &entry_key(namespace, &at))? {
            Some(EntryRecord { kind: EntryKind::Folder, .. }) => break,
            Some(_) => return Ok(Err(Rejection::NotAFolder(at))),
            None => missing.push(at.clone()),
        }
        at = parent;
    }
    for path in missing.into_iter().rev() {
        txn.put(
            Space::Entries,
            &entry_key(namespace, &path),
            &EntryRecord { kind: EntryKind::Folder, created_ms: time_ms },
        );
        shares::announce(txn, owner, time_ms, namespace, &path, None, ChangeKind::FolderCreated)?;
    }
    Ok(Ok(()))
}

pub(super) fn make_folder<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    let owner = match writable(txn, namespace, path, user)? {
        Ok(owner) => owner,
        Err(rejection) => return Ok(Response::Rejected(rejection)),
    };
    if let Err(rejection) = ensure_folders(txn, time_ms, namespace, owner, path)? {
        return Ok(Response::Rejected(rejection));
    }
    Ok(Response::FolderReady)
}

/// The first-writer-wins rule: the file at `path`, if any, provided `base` is its head (or
/// `None` and there is no file). Upload sessions check it early with the same function.
pub(super) fn base_check(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    base: Option<u64>,
) -> Result<Result<Option<FileRecord>, Rejection>, StateError> {
    let existing = match stat(state, namespace, path)? {
        Some((EntryRecord { kind: EntryKind::Folder, .. }, _)) => {
            return Ok(Err(Rejection::IsAFolder(path.clone())));
        }
        Some((_, file)) => file,
        None => None,
    };
    // A trashed file is invisible to a commit: creating it anew (base `None`) brings it back
    // out of the trash with a new version on top of its history, as a drive's users expect
    // when they recreate a file they deleted.
    let head = existing.as_ref().filter(|f| f.status != FileStatus::Trashed).map(|f| f.head);
    if head != base {
        return Ok(Err(Rejection::Conflict { head }));
    }
    Ok(Ok(existing))
}

pub(super) fn commit<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    new: &NewVersion,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    let owner = match writable(txn, new.namespace, &new.path, new.author)? {
        Ok(owner) => owner,
        Err(rejection) => return reject(rejection),
    };
    let Some((parent, _)) = new.path.split_last() else {
        return reject(Rejection::IsAFolder(new.path.clone()));
    };
    let sum: u64 = new.content.blocks.iter().map(|b| u64::from(b.len)).sum();
    if sum != new.content.size {
        return reject(Rejection::SizeMismatch { declared: new.content.size, blocks: sum });
    }
    let key = entry_key(new.namespace, &new.path);
    let existing = match base_check(txn, new.namespace, &new.path, new.base)? {
        Ok(existing) => existing,
        Err(rejection) => return reject(rejection),
    };
    let device_name = match new.content.device {
        None => String::new(),
        Some(device) => match devices::device(txn, new.author, device)? {
            Some(record) => record.name,
            None => return reject(Rejection::NoSuchDevice { user: new.author, device }),
        },
    };
    let account = AccountId(owner.0);
    let missing = blocks::missing(txn, account, &new.content.blocks)?;
    if !missing.is_empty() {
        return reject(Rejection::MissingBlocks(missing));
    }
    if let Some(rejection) = blocks::wrong_length(txn, account, &new.content.blocks)? {
        return reject(rejection);
    }
    if let Err(rejection) = ensure_folders(txn, time_ms, new.namespace, owner, &parent)? {
        return reject(rejection);
    }

    let file = match &existing {
        Some(f) if f.status == FileStatus::Trashed => {
            trash::leave_trash(txn, new.namespace, f.id);
            f.id
        }
        Some(f) => f.id,
        None => {
            let id = FileId(txn.next_id("file")?);
            txn.put(Space::Entries, &key, &EntryRecord { kind: EntryKind::File(id), created_ms: time_ms });
            id
        }
    };
    let version = existing.as_ref().map_or(0, |f| f.head) + 1;
    let record = VersionRecord {
        version,
        content: new.content.clone(),
        device_name,
        author: new.author,
        committed_ms: time_ms,
        pinned: false,
    };
    txn.put(Space::Versions, &version_key(file, version), &record);
    let file_record = FileRecord {
        id: file,
        namespace: new.namespace,
        path: new.path.clone(),
        head: version,
        status: new.status,
        size: new.content.size,
    };
    txn.put(Space::Files, &file.0.to_be_bytes(), &file_record);
    block_refs::add_refs(txn, time_ms, account, &new.content.blocks)?;
    let kind = ChangeKind::VersionCommitted { version, status: new.status };
    let seq = shares::announce(txn, owner, time_ms, new.namespace, &new.path, Some(file), kind)?;
    Ok(Response::Committed { file, version, seq })
}

#[cfg(test)]
mod tests {
    use crate::model::blocks::BlockRef;
    use crate::model::drive::{VersionContent, list, versions, versions_from};
    use cairn_proto::BlockId;

    use super::*;
    use crate::model::journal::changes_after;
    use crate::model::testkit::{World, path};
    use crate::model::{Command, blocks};

    type State = crate::model::testkit::State;

    #[test]
    fn versions_chain_from_their_base() {
        let mut d = World::new();
        let Response::Committed { file, version: 1, .. } = d.commit("docs/a.txt", None, &[b"one"]) else {
            panic!()
        };
        assert!(matches!(
            d.commit("docs/a.txt", Some(1), &[b"one", b"two"]),
            Response::Committed { version: 2, .. }
        ));
        let (_, record) = stat(&d.state, NamespaceId(1), &path("docs/a.txt")).unwrap().unwrap();
        assert_eq!(record.unwrap().head, 2);
        let history = versions(&d.state, file, 10).unwrap();
        assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(history[0].content.size, 6);
        let listing = list(&d.state, NamespaceId(1), &DrivePath::root(), None, 10).unwrap();
        assert_eq!(listing.len(), 1);
        assert_eq!((listing[0].0.as_str(), listing[0].1.kind), ("docs", EntryKind::Folder));
        assert_eq!(blocks::block(&d.state, AccountId(1), &BlockId::of(b"one")).unwrap().unwrap().refcount, 2);
    }

    #[test]
    fn old_versions_page_back_from_any_number() {
        let mut d = World::new();
        let file = d.ada_commits("docs/long.txt", None, &[b"one"]);
        for head in 1..30u64 {
            let content: &[u8] = if head % 2 == 0 { b"one" } else { b"three" };
            d.ada_commits("docs/long.txt", Some(head), &[content]);
        }
        let numbers = |newest, limit| -> Vec<u64> {
            versions_from(&d.state, file, newest, limit).unwrap().iter().map(|v| v.version).collect()
        };
        assert_eq!(numbers(12, 3), vec![12, 11, 10]);
        assert_eq!(numbers(1, 1), vec![1]);
        assert_eq!(numbers(2, 10), vec![2, 1]);
        // Past the head means from the head; version 0 has nothing below it.
        assert_eq!(numbers(99, 2), vec![30, 29]);
        assert_eq!(numbers(0, 5), Vec::<u64>::new());
        assert_eq!(versions_from(&d.state, file, 7, 1).unwrap()[0].content.size, 3);
        assert_eq!(versions_from(&d.state, file, 8, 1).unwrap()[0].content.size, 5);
    }

    #[test]
    fn of_many_commits_on_one_base_exactly_one_wins() {
        let mut d = World::new();
        d.commit("race.txt", None, &[b"one"]);
        let outcomes: Vec<_> = (0..50).map(|_| d.commit("race.txt", Some(1), &[b"two"])).collect();
        let wins = outcomes.iter().filter(|r| matches!(r, Response::Committed { .. })).count();
        let conflicts = outcomes
            .iter()
            .filter(|r| matches!(r, Response::Rejected(Rejection::Conflict { head: Some(2) })))
            .count();
        assert_eq!((wins, conflicts), (1, 49));
        let journal = changes_after(&d.state, UserId(1), 0, 100).unwrap();
        let new_versions = journal
            .iter()
            .filter(|c| {
                matches!(c.kind, crate::model::journal::ChangeKind::VersionCommitted { version: 2, .. })
            })
            .count();
        assert_eq!(new_versions, 1);
        // The journal is gapless from 1.
        assert_eq!(
            journal.iter().map(|c| c.seq).collect::<Vec<_>>(),
            (1..=journal.len() as u64).collect::<Vec<_>>()
        );
    }

    #[test]
    fn creating_an_existing_file_is_a_conflict() {
        let mut d = World::new();
        d.commit("a", None, &[b"one"]);
        assert_eq!(d.commit("a", None, &[b"two"]), Response::Rejected(Rejection::Conflict { head: Some(1) }));
        assert_eq!(d.commit("b", Some(3), &[b"two"]), Response::Rejected(Rejection::Conflict { head: None }));
    }

    #[test]
    fn missing_blocks_are_named_and_nothing_changes() {
        let mut d = World::new();
        let before = d.state.clone();
        let r = d.commit("a", None, &[b"one", b"lost", b"lost", b"gone"]);
        assert_eq!(
            r,
            Response::Rejected(Rejection::MissingBlocks(vec![BlockId::of(b"lost"), BlockId::of(b"gone")]))
        );
        // Only the request record (and its entry in the expiry index) was added.
        let without_requests = |s: &State| {
            s.iter().filter(|((sp, _), _)| !matches!(sp, Space::Requests | Space::Expiries)).count()
        };
        assert_eq!(without_requests(&d.state), without_requests(&before));
    }

    #[test]
    fn block_lengths_must_be_the_stored_ones() {
        let mut d = World::new();
        let lying = |len: u32| NewVersion {
            namespace: NamespaceId(1),
            path: path("l"),
            base: None,
            content: VersionContent {
                blocks: vec![BlockRef { id: BlockId::of(b"one"), len }],
                size: u64::from(len),
                hash: [0; 32],
                mtime_ms: 0,
                device: None,
                hash_verified: false,
            },
            author: UserId(1),
            status: FileStatus::Complete,
        };
        // "one" is stored with 3 plain bytes: a list saying 1 or 4096 would make a file whose
        // size is not its bytes.
        for len in [1, 4096] {
            assert_eq!(
                d.run(Command::CommitVersion(lying(len))),
                Response::Rejected(Rejection::BlockLengthMismatch {
                    block: BlockId::of(b"one"),
                    declared: len,
                    stored: 3
                })
            );
        }
        assert!(matches!(d.run(Command::CommitVersion(lying(3))), Response::Committed { .. }));
    }

    #[test]
    fn tree_rules_are_enforced() {
        let mut d = World::new();
        d.commit("file", None, &[b"one"]);
        assert_eq!(
            d.commit("file/inner", None, &[b"one"]),
            Response::Rejected(Rejection::NotAFolder(path("file")))
        );
        d.run(Command::MakeFolder { namespace: NamespaceId(1), path: path("dir/sub"), user: UserId(1) });
        assert_eq!(
            d.commit("dir/sub", None, &[b"one"]),
            Response::Rejected(Rejection::IsAFolder(path("dir/sub")))
        );
        let stranger = Command::MakeFolder { namespace: NamespaceId(1), path: path("x"), user: UserId(2) };
        assert_eq!(d.run(stranger), Response::Rejected(Rejection::Forbidden));
        let mut wrong_size = NewVersion {
            namespace: NamespaceId(1),
            path: path("s"),
            base: None,
            content: VersionContent {
                blocks: vec![BlockRef { id: BlockId::of(b"one"), len: 3 }],
                size: 4,
                hash: [0; 32],
                mtime_ms: 0,
                device: None,
                hash_verified: false,
            },
            author: UserId(1),
            status: FileStatus::Uploading,
        };
        assert_eq!(
            d.run(Command::CommitVersion(wrong_size.clone())),
            Response::Rejected(Rejection::SizeMismatch { declared: 4, blocks: 3 })
        );
        wrong_size.namespace = NamespaceId(99);
        assert_eq!(
            d.run(Command::CommitVersion(wrong_size)),
            Response::Rejected(Rejection::NoSuchNamespace(NamespaceId(99)))
        );
        let names: Vec<_> = list(&d.state, NamespaceId(1), &path("dir"), None, 10)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec!["sub"]);
    }
}
