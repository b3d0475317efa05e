//! Public links: an unguessable id that opens a file or folder to anyone holding it, with an
//! optional expiry and an optional password.
//!
//! A link is bound to what it was made on, not to a path: a file link names the file's id, so
//! it follows the file through moves and renames, stops while the file is in the trash, and is
//! gone once the file is purged. Folders have no id in this model (an entry is a name and a
//! kind), so a folder link names the folder's path and is kept in step with it by the commands
//! that change folders: a move carries the folder's links along, as it carries its shares, and
//! trashing a folder deletes the links on it and on the folders below it (the folder itself is
//! gone). Either way a link never opens whatever later takes its old path.
//!
//! Only rights that still hold keep a link alive: [`resolve`] checks at every use that its
//! creator may still write where the target is now, so a link made by an editor stops when the
//! editor is demoted or the share ends (and works again if it is given back).
//!
//! Three index keys in [`Space::LinkIndex`] find links without a scan of every link: by the
//! owner of the namespace (the owner lists and revokes every link on their things), by creator
//! (a user lists the links they made), and, for folder links, by folder path (a move or trash of
//! a folder finds the links at and below it).

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::commit;
use super::drive::{self, EntryKind, FileRecord, FileStatus};
use super::expiry;
use super::ids::{FileId, LinkId, NamespaceId, UserId};
use super::shares;
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A link as a client asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLink {
    /// Its id, chosen at random by the proposer.
    pub link: LinkId,
    /// Where the target is.
    pub namespace: NamespaceId,
    /// The file or folder it opens, as it is named when the link is made; the link is bound to
    /// what is there then (see the module doc).
    pub path: DrivePath,
    /// Who creates it; must be able to write at `path`.
    pub user: UserId,
    /// When it stops working (ms since the epoch); `None`: never.
    pub expires_ms: Option<u64>,
    /// A password hash in PHC string form (argon2id), made by the API node; the password itself
    /// never reaches the cluster's state. `None`: no password.
    pub password_hash: Option<String>,
}

/// What a link opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkTarget {
    /// A file, by id: wherever it moves.
    File(FileId),
    /// A folder, by its path, which moves of the folder keep current.
    Folder(DrivePath),
}

/// A link as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// Its id.
    pub id: LinkId,
    /// Where the target is.
    pub namespace: NamespaceId,
    /// The file or folder it opens.
    pub target: LinkTarget,
    /// The namespace's owner, who may list and revoke it.
    pub owner: UserId,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_ms: u64,
    /// When it stops working; `None`: never.
    pub expires_ms: Option<u64>,
    /// PHC password hash, if the link has a password.
    pub password_hash: Option<String>,
}

/// Whether a link opens anything now, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkStatus {
    /// It opens its target.
    Live,
    /// Its time is up.
    Expired,
    /// Its file is in the trash (it opens again if the file is restored).
    Trashed,
    /// Its file was purged, or its folder is no more.
    Gone,
    /// Its creator may no longer write where the target is (demoted, or the share ended).
    NoRights,
}

/// A link and what it opens now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// The link.
    pub record: LinkRecord,
    /// Where its target is now; `None` once it is gone.
    pub path: Option<DrivePath>,
    /// Whether it opens it.
    pub status: LinkStatus,
}

fn key(link: LinkId) -> [u8; 16] {
    link.0.to_be_bytes()
}

/// Index key: the links on what `owner` owns.
fn by_owner_key(owner: UserId, link: LinkId) -> Vec<u8> {
    [&[b'o'][..], &owner.0.to_be_bytes(), &key(link)].concat()
}

/// Index key: the links `creator` made.
fn by_creator_key(creator: UserId, link: LinkId) -> Vec<u8> {
    [&[b'c'][..], &creator.0.to_be_bytes(), &key(link)].concat()
}

/// Index key: a folder link by its folder's path. Paths hold no NUL, so the NUL ends the path
/// and a folder's own links are one range, apart from those of its sub-folders ("path/…").
fn folder_key(namespace: NamespaceId, folder: &DrivePath, link: LinkId) -> Vec<u8> {
    [&[b'd'][..], &namespace.0.to_be_bytes(), folder.as_str().as_bytes(), &[0], &key(link)].concat()
}

/// Every index key of `record`, as it is now.
fn index_keys(record: &LinkRecord) -> Vec<(Space, Vec<u8>)> {
    let mut keys = vec![
        (Space::LinkIndex, by_owner_key(record.owner, record.id)),
        (Space::LinkIndex, by_creator_key(record.created_by, record.id)),
    ];
    if let LinkTarget::Folder(folder) = &record.target {
        keys.push((Space::LinkIndex, folder_key(record.namespace, folder, record.id)));
    }
    keys
}

/// Stores `record` with its index keys, and schedules its end if it has one.
fn put<R: StateRead + ?Sized>(txn: &mut Txn<R>, record: &LinkRecord) {
    txn.put(Space::Links, &key(record.id), record);
    let keys = index_keys(record);
    for (space, k) in &keys {
        txn.put_raw(*space, k, Vec::new());
    }
    if let Some(at) = record.expires_ms {
        // The index keys go with the record when it expires.
        expiry::schedule(txn, at, Space::Links, &key(record.id), &keys);
    }
}

/// Deletes `record`, its index keys and its scheduled end.
fn remove<R: StateRead + ?Sized>(txn: &mut Txn<R>, record: &LinkRecord) {
    txn.delete(Space::Links, &key(record.id));
    for (space, k) in index_keys(record) {
        txn.delete(space, &k);
    }
    if let Some(at) = record.expires_ms {
        expiry::cancel(txn, at, Space::Links, &key(record.id));
    }
}

pub(super) fn create<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    new: &NewLink,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    if txn.get_raw(Space::Links, &key(new.link))?.is_some() {
        return reject(Rejection::LinkExists(new.link));
    }
    // Publishing is a kind of writing: a viewer may not open the folder to the world.
    let owner = match commit::writable(txn, new.namespace, &new.path, new.user)? {
        Ok(owner) => owner,
        Err(rejection) => return reject(rejection),
    };
    let target = match drive::stat(txn, new.namespace, &new.path)? {
        // A trashed file keeps its entry, but there is nothing to publish there.
        Some((_, Some(file))) if file.status == FileStatus::Trashed => None,
        Some((_, Some(file))) => Some(LinkTarget::File(file.id)),
        Some((entry, None)) if entry.kind == EntryKind::Folder => Some(LinkTarget::Folder(new.path.clone())),
        _ => None,
    };
    let Some(target) = target else {
        return reject(Rejection::NotFound(new.path.clone()));
    };
    if let Some(expires_ms) = new.expires_ms
        && expires_ms <= time_ms
    {
        return reject(Rejection::ExpiryInPast { expires_ms, now_ms: time_ms });
    }
    let record = LinkRecord {
        id: new.link,
        namespace: new.namespace,
        target,
        owner,
        created_by: new.user,
        created_ms: time_ms,
        expires_ms: new.expires_ms,
        password_hash: new.password_hash.clone(),
    };
    put(txn, &record);
    Ok(Response::LinkCreated)
}

/// Deletes a link; its creator may, and so may the owner of the namespace it points into.
pub(super) fn revoke<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    link: LinkId,
    by: UserId,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<LinkRecord>(Space::Links, &key(link))? else {
        return Ok(Response::Rejected(Rejection::NoSuchLink(link)));
    };
    if by != record.created_by && by != record.owner {
        return Ok(Response::Rejected(Rejection::Forbidden));
    }
    remove(txn, &record);
    Ok(Response::LinkRevoked)
}

/// Link `link` and what it opens as of `now_ms`; `None` if there is no such link (an expired
/// link lingers, [`LinkStatus::Expired`], until pruned).
pub fn resolve(
    state: &(impl StateRead + ?Sized),
    link: LinkId,
    now_ms: u64,
) -> Result<Option<LinkState>, StateError> {
    let Some(bytes) = state.get(Space::Links, &key(link))? else { return Ok(None) };
    let record: LinkRecord = decode(Space::Links, &bytes)?;
    state_of(state, record, now_ms).map(Some)
}

fn state_of(
    state: &(impl StateRead + ?Sized),
    record: LinkRecord,
    now_ms: u64,
) -> Result<LinkState, StateError> {
    let (path, mut status) = match &record.target {
        LinkTarget::File(id) => {
            let file = state
                .get(Space::Files, &id.0.to_be_bytes())?
                .map(|b| decode::<FileRecord>(Space::Files, &b))
                .transpose()?;
            match file {
                Some(file) if file.namespace != record.namespace => (None, LinkStatus::Gone),
                Some(file) if file.status == FileStatus::Trashed => (Some(file.path), LinkStatus::Trashed),
                Some(file) => (Some(file.path), LinkStatus::Live),
                None => (None, LinkStatus::Gone),
            }
        }
        LinkTarget::Folder(folder) => match drive::stat(state, record.namespace, folder)? {
            Some((entry, _)) if entry.kind == EntryKind::Folder => (Some(folder.clone()), LinkStatus::Live),
            _ => (None, LinkStatus::Gone),
        },
    };
    if status == LinkStatus::Live
        && let Some(path) = &path
        && !shares::access(state, record.namespace, path, record.created_by)?.is_some_and(|a| a.can_write())
    {
        status = LinkStatus::NoRights;
    }
    if record.expires_ms.is_some_and(|at| now_ms >= at) {
        status = LinkStatus::Expired;
    }
    Ok(LinkState { record, path, status })
}

/// Up to `limit` links, by id after `after`, that `user` may see and revoke: those on what
/// they own (whoever made them) and those they made.
pub fn listed(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    after: Option<LinkId>,
    limit: usize,
    now_ms: u64,
) -> Result<Vec<LinkState>, StateError> {
    let mut ids = std::collections::BTreeSet::new();
    for (tag, make) in [(b'o', by_owner_key as fn(UserId, LinkId) -> Vec<u8>), (b'c', by_creator_key)] {
        let prefix = [&[tag][..], &user.0.to_be_bytes()].concat();
        let after = after.map(|a| make(user, a));
        for (k, _) in state.scan(Space::LinkIndex, &prefix, after.as_deref(), limit)? {
            ids.insert(link_of_key(&k)?);
        }
    }
    let mut out = Vec::new();
    for id in ids.into_iter().take(limit) {
        if let Some(link) = resolve(state, id, now_ms)? {
            out.push(link);
        }
    }
    Ok(out)
}

/// The link id an index key ends with.
fn link_of_key(k: &[u8]) -> Result<LinkId, StateError> {
    let tail = k.len().checked_sub(16).and_then(|at| k.get(at..)).and_then(|t| <[u8; 16]>::try_from(t).ok());
    tail.map(|t| LinkId(u128::from_be_bytes(t))).ok_or_else(|| StateError::Decode {
        space: Space::LinkIndex,
        message: "link index key too short".into(),
    })
}

/// Up to `limit` links on `folder` or on a folder below it: (folder path, link), in key order.
pub(super) fn folder_links_below(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    folder: &DrivePath,
    limit: usize,
) -> Result<Vec<(DrivePath, LinkId)>, StateError> {
    let ns = namespace.0.to_be_bytes();
    let prefixes = if folder.is_root() {
        vec![[&[b'd'][..], &ns].concat()]
    } else {
        let path = folder.as_str().as_bytes();
        vec![[&[b'd'][..], &ns, path, &[0]].concat(), [&[b'd'][..], &ns, path, b"/"].concat()]
    };
    let bad = |message: &str| StateError::Decode { space: Space::LinkIndex, message: message.into() };
    let mut out = Vec::new();
    for prefix in prefixes {
        let room = limit.saturating_sub(out.len());
        if room == 0 {
            break;
        }
        for (k, _) in state.scan(Space::LinkIndex, &prefix, None, room)? {
            let link = link_of_key(&k)?;
            // 'd', the namespace, the path, a NUL, the link.
            let path =
                k.get(9..k.len().saturating_sub(17)).ok_or_else(|| bad("folder link key too short"))?;
            let path = std::str::from_utf8(path).map_err(|_| bad("folder link key is not UTF-8"))?;
            out.push((DrivePath::from_stored(path).map_err(|e| bad(&e.to_string()))?, link));
        }
    }
    Ok(out)
}

/// Moves folder link `link` to the folder's new path `to` (a move of the folder or of one
/// above it).
pub(super) fn follow_folder<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    link: LinkId,
    to: &DrivePath,
) -> Result<(), StateError> {
    let Some(record) = txn.get::<LinkRecord>(Space::Links, &key(link))? else { return Ok(()) };
    remove(txn, &record);
    put(txn, &LinkRecord { target: LinkTarget::Folder(to.clone()), ..record });
    Ok(())
}

/// Deletes link `link`: its folder is gone.
pub(super) fn drop_link<R: StateRead + ?Sized>(txn: &mut Txn<R>, link: LinkId) -> Result<(), StateError> {
    if let Some(record) = txn.get::<LinkRecord>(Space::Links, &key(link))? {
        remove(txn, &record);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;
    use crate::model::shares::ShareRole;
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, path};

    fn new_link(link: u128, p: &str, user: UserId, expires_ms: Option<u64>) -> Command {
        Command::CreateLink(NewLink {
            link: LinkId(link),
            namespace: ADA_DRIVE,
            path: path(p),
            user,
            expires_ms,
            password_hash: Some("$argon2id$v=19$...".into()),
        })
    }

    fn share(p: &str, role: ShareRole) -> Command {
        Command::Share { namespace: ADA_DRIVE, path: path(p), with: BOB, role, by: ADA }
    }

    fn mv(from: &str, to: &str) -> Command {
        Command::Move { namespace: ADA_DRIVE, from: path(from), to: path(to), user: ADA }
    }

    fn trash(p: &str) -> Command {
        Command::Trash { namespace: ADA_DRIVE, path: path(p), user: ADA }
    }

    /// Where link `link` points now and whether it opens, as of the world's clock.
    fn opens(w: &World, link: u128) -> Option<(Option<String>, LinkStatus)> {
        resolve(&w.state, LinkId(link), w.now)
            .unwrap()
            .map(|s| (s.path.map(|p| p.as_str().to_owned()), s.status))
    }

    fn live(p: &str) -> Option<(Option<String>, LinkStatus)> {
        Some((Some(p.to_owned()), LinkStatus::Live))
    }

    fn listed_ids(w: &World, user: UserId) -> Vec<u128> {
        listed(&w.state, user, None, 100, w.now).unwrap().into_iter().map(|s| s.record.id.0).collect()
    }

    #[test]
    fn links_resolve_until_they_expire_or_are_revoked() {
        let mut w = World::new();
        w.ada_commits("docs/a.txt", None, &[b"one"]);
        let t = w.now;
        assert_eq!(w.run(new_link(7, "docs", ADA, Some(t + 100))), Response::LinkCreated);
        assert_eq!(w.run(new_link(8, "docs/a.txt", ADA, None)), Response::LinkCreated);
        let link = resolve(&w.state, LinkId(7), t + 99).unwrap().unwrap();
        assert_eq!((link.record.target, link.record.created_by), (LinkTarget::Folder(path("docs")), ADA));
        assert_eq!(link.status, LinkStatus::Live);
        assert!(link.record.password_hash.is_some());
        assert_eq!(resolve(&w.state, LinkId(7), t + 100).unwrap().unwrap().status, LinkStatus::Expired);
        assert_eq!(resolve(&w.state, LinkId(8), u64::MAX).unwrap().unwrap().status, LinkStatus::Live);

        assert_eq!(
            w.run(new_link(7, "docs", ADA, None)),
            Response::Rejected(Rejection::LinkExists(LinkId(7)))
        );
        assert_eq!(
            w.run(Command::RevokeLink { link: LinkId(8), by: BOB }),
            Response::Rejected(Rejection::Forbidden)
        );
        assert_eq!(w.run(Command::RevokeLink { link: LinkId(8), by: ADA }), Response::LinkRevoked);
        assert_eq!(resolve(&w.state, LinkId(8), t).unwrap(), None);
        assert_eq!(
            w.run(Command::RevokeLink { link: LinkId(8), by: ADA }),
            Response::Rejected(Rejection::NoSuchLink(LinkId(8)))
        );
        assert_eq!(listed_ids(&w, ADA), [7]);

        // Once expired, the record and its index keys are pruned by a later request.
        w.now = t + 100;
        w.run(Command::CreateUser { name: "later".into() });
        assert_eq!(w.state.get(&(Space::Links, key(LinkId(7)).to_vec())), None);
        assert!(!w.state.keys().any(|(space, _)| *space == Space::LinkIndex), "index keys left behind");
    }

    #[test]
    fn only_writers_publish_existing_paths_with_future_expiry() {
        let mut w = World::new();
        w.ada_commits("docs/a.txt", None, &[b"one"]);
        let t = w.now;
        assert_eq!(w.run(new_link(1, "docs", BOB, None)), Response::Rejected(Rejection::Forbidden));
        w.run(share("docs", ShareRole::Read));
        assert_eq!(w.run(new_link(1, "docs", BOB, None)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(
            w.run(new_link(1, "nope", ADA, None)),
            Response::Rejected(Rejection::NotFound(path("nope")))
        );
        assert_eq!(
            w.run(new_link(1, "docs", ADA, Some(t))),
            Response::Rejected(Rejection::ExpiryInPast { expires_ms: t, now_ms: t })
        );
        w.run(share("docs", ShareRole::ReadWrite));
        assert_eq!(w.run(new_link(1, "docs/a.txt", BOB, None)), Response::LinkCreated);
        // The namespace's owner may revoke what an editor published.
        assert_eq!(w.run(Command::RevokeLink { link: LinkId(1), by: ADA }), Response::LinkRevoked);
        // A file in the trash is not published.
        w.run(trash("docs/a.txt"));
        assert_eq!(
            w.run(new_link(2, "docs/a.txt", ADA, None)),
            Response::Rejected(Rejection::NotFound(path("docs/a.txt")))
        );
    }

    #[test]
    fn a_file_link_follows_its_file_and_stops_while_it_is_in_the_trash() {
        let mut w = World::new();
        w.ada_commits("pub/secret.txt", None, &[b"one"]);
        assert_eq!(w.run(new_link(1, "pub/secret.txt", ADA, None)), Response::LinkCreated);
        assert!(matches!(w.run(mv("pub/secret.txt", "old/renamed.txt")), Response::Moved { .. }));
        assert_eq!(opens(&w, 1), live("old/renamed.txt"));
        // A new file at the old path is not what was published.
        w.ada_commits("pub/secret.txt", None, &[b"two"]);
        assert_eq!(opens(&w, 1), live("old/renamed.txt"));

        w.run(trash("old/renamed.txt"));
        assert_eq!(opens(&w, 1), Some((Some("old/renamed.txt".into()), LinkStatus::Trashed)));
        w.run(Command::Restore { namespace: ADA_DRIVE, path: path("old/renamed.txt"), user: ADA });
        assert_eq!(opens(&w, 1), live("old/renamed.txt"));
        w.run(trash("old/renamed.txt"));
        w.run(Command::Purge { namespace: ADA_DRIVE, path: path("old/renamed.txt"), user: ADA });
        assert_eq!(opens(&w, 1), Some((None, LinkStatus::Gone)));
    }

    #[test]
    fn a_folder_link_follows_its_folder_and_dies_with_it() {
        let mut w = World::new();
        w.ada_commits("pub/a.txt", None, &[b"one"]);
        w.ada_commits("pub/sub/b.txt", None, &[b"two"]);
        assert_eq!(w.run(new_link(1, "pub", ADA, None)), Response::LinkCreated);
        assert_eq!(w.run(new_link(2, "pub/sub", ADA, Some(w.now + 10_000))), Response::LinkCreated);
        w.ada_commits("public/c.txt", None, &[b"three"]);
        assert_eq!(w.run(new_link(3, "public", ADA, None)), Response::LinkCreated);

        // mv /pub /old; mkdir /pub: the links stay with the folder that moved.
        assert!(matches!(w.run(mv("pub", "old")), Response::Moved { .. }));
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("pub"), user: ADA });
        assert_eq!((opens(&w, 1), opens(&w, 2)), (live("old"), live("old/sub")));
        // "public" shares a prefix with "pub" but is not below it.
        assert_eq!(opens(&w, 3), live("public"));

        // Trashing the folder ends the links on it and below it; a folder made in its place later
        // is not opened by them.
        assert!(matches!(w.run(trash("old")), Response::FolderTrashed { .. }));
        assert_eq!((opens(&w, 1), opens(&w, 2)), (None, None));
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("old/sub"), user: ADA });
        assert_eq!((opens(&w, 1), opens(&w, 2)), (None, None));
        assert_eq!(listed_ids(&w, ADA), [3]);
        assert!(
            !w.state
                .keys()
                .any(|(space, k)| *space == Space::Expiries && k.windows(5).any(|x| x == b"links")),
            "the removed link's expiry is still scheduled"
        );
    }

    #[test]
    fn an_editors_link_lives_only_while_the_editor_may_write_and_its_owner_lists_it() {
        let mut w = World::new();
        w.ada_commits("team/plan.txt", None, &[b"one"]);
        w.run(share("team", ShareRole::ReadWrite));
        assert_eq!(w.run(new_link(1, "team/plan.txt", BOB, None)), Response::LinkCreated);
        assert_eq!(w.run(new_link(2, "team", ADA, None)), Response::LinkCreated);
        assert_eq!(opens(&w, 1), live("team/plan.txt"));
        // The owner sees both; the editor sees the one they made.
        assert_eq!(listed_ids(&w, ADA), [1, 2]);
        assert_eq!(listed_ids(&w, BOB), [1]);
        let page = listed(&w.state, ADA, Some(LinkId(1)), 100, w.now).unwrap();
        assert_eq!(page.iter().map(|s| s.record.id.0).collect::<Vec<_>>(), [2]);

        // Demoted to viewer: the link stops; made editor again: it works again.
        w.run(share("team", ShareRole::Read));
        assert_eq!(opens(&w, 1), Some((Some("team/plan.txt".into()), LinkStatus::NoRights)));
        w.run(share("team", ShareRole::ReadWrite));
        assert_eq!(opens(&w, 1), live("team/plan.txt"));
        // The share ends: the link stops.
        w.run(Command::RevokeShare { namespace: ADA_DRIVE, path: path("team"), with: BOB, by: ADA });
        assert_eq!(opens(&w, 1), Some((Some("team/plan.txt".into()), LinkStatus::NoRights)));
        // Moved out of what was shared, the file takes the editor's link out of reach too.
        w.run(share("team", ShareRole::ReadWrite));
        w.run(mv("team/plan.txt", "private/plan.txt"));
        assert_eq!(opens(&w, 1), Some((Some("private/plan.txt".into()), LinkStatus::NoRights)));
        assert_eq!(opens(&w, 2), live("team"));
    }
}
