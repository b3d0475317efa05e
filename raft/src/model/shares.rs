//! Shares: a folder or file of one user's namespace, opened to another user as viewer or
//! editor; who may do what where; and telling everyone who sees a path that it changed.
//!
//! A share covers its path and everything below it. Access is decided per path by walking from
//! the path up to the root, one point read per level, so the check costs O(depth) whatever the
//! number of shares.

use std::collections::BTreeSet;

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::drive;
use super::ids::{FileId, NamespaceId, UserId};
use super::journal::{self, ChangeKind};
use super::txn::decode;
use super::{Space, StateError, StateRead, Txn};

/// What a share lets its recipient do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ShareRole {
    /// Viewer: list, stat, download, see history.
    Read,
    /// Editor: also commit, make folders, trash, restore and purge.
    ReadWrite,
}

/// What a user may do at a path, strongest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Access {
    /// Through a viewer share.
    Read,
    /// Through an editor share.
    ReadWrite,
    /// The namespace is the user's own.
    Owner,
}

impl Access {
    /// True if the user may change things here.
    pub fn can_write(self) -> bool {
        self >= Access::ReadWrite
    }
}

/// A share as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    /// The owner's namespace.
    pub namespace: NamespaceId,
    /// The shared folder or file.
    pub path: DrivePath,
    /// Who it is shared with.
    pub user: UserId,
    /// As what.
    pub role: ShareRole,
    /// When it was shared (or its role last changed).
    pub created_ms: u64,
}

/// (namespace, path, NUL, recipient): the recipients of one path are one contiguous range, and
/// no path is a byte prefix of another's range because paths contain no NUL.
fn key(namespace: NamespaceId, path: &DrivePath, user: UserId) -> Vec<u8> {
    let mut key = path_prefix(namespace, path);
    key.extend_from_slice(&user.0.to_be_bytes());
    key
}

fn path_prefix(namespace: NamespaceId, path: &DrivePath) -> Vec<u8> {
    let mut key = namespace.0.to_be_bytes().to_vec();
    key.extend_from_slice(path.as_str().as_bytes());
    key.push(0);
    key
}

/// (recipient, namespace, path): what one user has received, in one range.
fn received_key(user: UserId, namespace: NamespaceId, path: &DrivePath) -> Vec<u8> {
    let mut key = user.0.to_be_bytes().to_vec();
    key.extend_from_slice(&namespace.0.to_be_bytes());
    key.extend_from_slice(path.as_str().as_bytes());
    key
}

/// `path`, its parent, …, the root.
fn ancestors(path: &DrivePath) -> impl Iterator<Item = DrivePath> {
    std::iter::successors(Some(path.clone()), |p| p.split_last().map(|(parent, _)| parent))
}

/// The strongest role any share gives `user` at `path` (a share of a folder covers what is in it).
fn share_role(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Option<ShareRole>, StateError> {
    let mut best = None;
    for at in ancestors(path) {
        if let Some(bytes) = state.get(Space::Shares, &key(namespace, &at, user))? {
            let record: ShareRecord = decode(Space::Shares, &bytes)?;
            best = best.max(Some(record.role));
        }
    }
    Ok(best)
}

/// What `user` may do at `path` in `namespace`; `None`: nothing (or no such namespace).
pub fn access(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Option<Access>, StateError> {
    let Some(ns) = drive::namespace(state, namespace)? else { return Ok(None) };
    if ns.owner == user {
        return Ok(Some(Access::Owner));
    }
    Ok(share_role(state, namespace, path, user)?.map(|role| match role {
        ShareRole::Read => Access::Read,
        ShareRole::ReadWrite => Access::ReadWrite,
    }))
}

/// Up to `limit` shares of `namespace` (what its owner has given), by path then recipient,
/// after `after`.
pub fn given(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    after: Option<&(DrivePath, UserId)>,
    limit: usize,
) -> Result<Vec<ShareRecord>, StateError> {
    let after = after.map(|(path, user)| key(namespace, path, *user));
    scan_records(state, Space::Shares, &namespace.0.to_be_bytes(), after, limit)
}

/// Up to `limit` shares `user` has received, by namespace then path, after `after`.
pub fn received(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    after: Option<&(NamespaceId, DrivePath)>,
    limit: usize,
) -> Result<Vec<ShareRecord>, StateError> {
    let after = after.map(|(namespace, path)| received_key(user, *namespace, path));
    scan_records(state, Space::SharesReceived, &user.0.to_be_bytes(), after, limit)
}

fn scan_records(
    state: &(impl StateRead + ?Sized),
    space: Space,
    prefix: &[u8],
    after: Option<Vec<u8>>,
    limit: usize,
) -> Result<Vec<ShareRecord>, StateError> {
    state.scan(space, prefix, after.as_deref(), limit)?.into_iter().map(|(_, v)| decode(space, &v)).collect()
}

/// Everyone who sees `path` in `namespace`: its owner, and every user a share of `path` or of a
/// folder above it was given to.
pub(super) fn audience(
    state: &(impl StateRead + ?Sized),
    owner: UserId,
    namespace: NamespaceId,
    path: &DrivePath,
) -> Result<BTreeSet<UserId>, StateError> {
    const PAGE: usize = 256;
    let mut users = BTreeSet::from([owner]);
    for at in ancestors(path) {
        let prefix = path_prefix(namespace, &at);
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = state.scan(Space::Shares, &prefix, after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for (k, v) in page {
                users.insert(decode::<ShareRecord>(Space::Shares, &v)?.user);
                after = Some(k);
            }
            if !full {
                break;
            }
        }
    }
    Ok(users)
}

/// Records a change at `path` in the journal of the namespace's owner and of every user a share
/// covering `path` was given to, so their devices hear of it too. Returns the owner's sequence
/// number.
pub(super) fn announce<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    owner: UserId,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    file: Option<FileId>,
    kind: ChangeKind,
) -> Result<u64, StateError> {
    let recipients = audience(txn, owner, namespace, path)?;
    let seq = journal::record(txn, owner, time_ms, namespace, path, file, kind.clone())?;
    for user in recipients.into_iter().filter(|u| *u != owner) {
        journal::record(txn, user, time_ms, namespace, path, file, kind.clone())?;
    }
    Ok(seq)
}

/// Up to `limit` shares of `path` or of anything below it, in key order. Like the entries of a
/// subtree, they are two ranges: the shares of `path` itself, and those whose path starts with
/// "path/".
pub(super) fn shares_below(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    limit: usize,
) -> Result<Vec<ShareRecord>, StateError> {
    let ns = namespace.0.to_be_bytes();
    let prefixes = if path.is_root() {
        vec![ns.to_vec()]
    } else {
        vec![path_prefix(namespace, path), [&ns[..], path.as_str().as_bytes(), b"/"].concat()]
    };
    let mut out = Vec::new();
    for prefix in prefixes {
        let room = limit.saturating_sub(out.len());
        if room == 0 {
            break;
        }
        out.extend(scan_records(state, Space::Shares, &prefix, None, room)?);
    }
    Ok(out)
}

/// The share of `path` given to `user`, if there is one.
pub(super) fn find(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Option<ShareRecord>, StateError> {
    state.get(Space::Shares, &key(namespace, path, user))?.map(|b| decode(Space::Shares, &b)).transpose()
}

/// Removes a share's two records; a move re-adds it under its new path with [`put_record`].
pub(super) fn remove_record<R: StateRead + ?Sized>(txn: &mut Txn<R>, record: &ShareRecord) {
    txn.delete(Space::Shares, &key(record.namespace, &record.path, record.user));
    txn.delete(Space::SharesReceived, &received_key(record.user, record.namespace, &record.path));
}

/// Stores a share's two records as they are.
pub(super) fn put_record<R: StateRead + ?Sized>(txn: &mut Txn<R>, record: &ShareRecord) {
    txn.put(Space::Shares, &key(record.namespace, &record.path, record.user), record);
    txn.put(Space::SharesReceived, &received_key(record.user, record.namespace, &record.path), record);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::journal::changes_after;
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, path};
    use crate::model::{Command, drive::stat};
    use crate::model::{Rejection, Response};

    const CAROL: UserId = UserId(3);

    fn shared_world() -> World {
        let mut w = World::new();
        w.run(Command::CreateUser { name: "carol".into() });
        w.ada_commits("team/plan.txt", None, &[b"one"]);
        w.ada_commits("private/diary.txt", None, &[b"two"]);
        for (with, role) in [(BOB, ShareRole::ReadWrite), (CAROL, ShareRole::Read)] {
            let share = Command::Share { namespace: ADA_DRIVE, path: path("team"), with, role, by: ADA };
            assert_eq!(w.run(share), Response::Shared);
        }
        w
    }

    #[test]
    fn an_editor_writes_inside_the_share_a_viewer_and_outsiders_do_not() {
        let mut w = shared_world();
        assert!(matches!(
            w.commit_as(BOB, ADA_DRIVE, "team/plan.txt", Some(1), &[b"two"]),
            Response::Committed { version: 2, .. }
        ));
        let folder = Command::MakeFolder { namespace: ADA_DRIVE, path: path("team/q3"), user: BOB };
        assert_eq!(w.run(folder), Response::FolderReady);
        let forbidden = Response::Rejected(Rejection::Forbidden);
        assert_eq!(w.commit_as(CAROL, ADA_DRIVE, "team/plan.txt", Some(2), &[b"one"]), forbidden);
        assert_eq!(w.commit_as(BOB, ADA_DRIVE, "private/diary.txt", Some(1), &[b"one"]), forbidden);
        assert_eq!(w.commit_as(BOB, ADA_DRIVE, "teamwork.txt", None, &[b"one"]), forbidden);

        assert_eq!(access(&w.state, ADA_DRIVE, &path("team/q3/x"), BOB).unwrap(), Some(Access::ReadWrite));
        assert_eq!(access(&w.state, ADA_DRIVE, &path("team"), CAROL).unwrap(), Some(Access::Read));
        assert_eq!(access(&w.state, ADA_DRIVE, &path("private"), CAROL).unwrap(), None);
        assert_eq!(access(&w.state, ADA_DRIVE, &path(""), ADA).unwrap(), Some(Access::Owner));

        let revoke = Command::RevokeShare { namespace: ADA_DRIVE, path: path("team"), with: BOB, by: ADA };
        assert_eq!(w.run(revoke.clone()), Response::ShareRevoked);
        assert_eq!(w.commit_as(BOB, ADA_DRIVE, "team/plan.txt", Some(2), &[b"one"]), forbidden);
        assert_eq!(
            w.run(revoke),
            Response::Rejected(Rejection::NoSuchShare { user: BOB, path: path("team") })
        );
    }

    #[test]
    fn shares_are_listed_both_ways_and_only_the_owner_shares() {
        let mut w = shared_world();
        let all = given(&w.state, ADA_DRIVE, None, 10).unwrap();
        assert_eq!(
            all.iter().map(|s| (s.user, s.role)).collect::<Vec<_>>(),
            [(BOB, ShareRole::ReadWrite), (CAROL, ShareRole::Read)]
        );
        assert_eq!(received(&w.state, CAROL, None, 10).unwrap()[0].path, path("team"));
        assert!(received(&w.state, ADA, None, 10).unwrap().is_empty());

        let share = |path_: &str, with, by| Command::Share {
            namespace: ADA_DRIVE,
            path: path(path_),
            with,
            role: ShareRole::ReadWrite,
            by,
        };
        assert_eq!(w.run(share("team", CAROL, BOB)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(w.run(share("team", ADA, ADA)), Response::Rejected(Rejection::ShareWithOwner(ADA)));
        assert_eq!(w.run(share("nope", CAROL, ADA)), Response::Rejected(Rejection::NotFound(path("nope"))));
        assert_eq!(
            w.run(share("team", UserId(9), ADA)),
            Response::Rejected(Rejection::NoSuchUser(UserId(9)))
        );
        // Re-sharing changes the role; the recipient may leave the share.
        assert_eq!(w.run(share("team", CAROL, ADA)), Response::Shared);
        assert_eq!(received(&w.state, CAROL, None, 10).unwrap()[0].role, ShareRole::ReadWrite);
        let leave = Command::RevokeShare { namespace: ADA_DRIVE, path: path("team"), with: CAROL, by: CAROL };
        assert_eq!(w.run(leave), Response::ShareRevoked);
        assert!(received(&w.state, CAROL, None, 10).unwrap().is_empty());
        assert_eq!(given(&w.state, ADA_DRIVE, None, 10).unwrap().len(), 1);
    }

    #[test]
    fn recipients_hear_of_changes_inside_their_share_only() {
        let mut w = shared_world();
        let carol_before = changes_after(&w.state, CAROL, 0, 100).unwrap().len();
        w.commit_as(BOB, ADA_DRIVE, "team/plan.txt", Some(1), &[b"two"]);
        w.ada_commits("private/diary.txt", Some(1), &[b"one"]);
        let carol = changes_after(&w.state, CAROL, 0, 100).unwrap();
        assert_eq!(carol.len(), carol_before + 1);
        assert_eq!(carol.last().unwrap().path, path("team/plan.txt"));
        // Bob hears of it too, and Ada, whose drive it is, hears of both.
        assert_eq!(changes_after(&w.state, BOB, 0, 100).unwrap().last().unwrap().path, path("team/plan.txt"));
        let ada = changes_after(&w.state, ADA, 0, 100).unwrap();
        assert_eq!(
            ada.iter().rev().take(2).map(|c| c.path.clone()).collect::<Vec<_>>(),
            [path("private/diary.txt"), path("team/plan.txt")]
        );
        assert!(stat(&w.state, ADA_DRIVE, &path("team/plan.txt")).unwrap().is_some());
    }
}
