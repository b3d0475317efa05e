//! Public links: an unguessable id that opens a file or folder to anyone holding it, with an
//! optional expiry and an optional password.

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::commit;
use super::drive;
use super::expiry;
use super::ids::{LinkId, NamespaceId, UserId};
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A link as a client asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLink {
    /// Its id, chosen at random by the proposer.
    pub link: LinkId,
    /// Where the target is.
    pub namespace: NamespaceId,
    /// The file or folder it opens.
    pub path: DrivePath,
    /// Who creates it; must be able to write at `path`.
    pub user: UserId,
    /// When it stops working (ms since the epoch); `None`: never.
    pub expires_ms: Option<u64>,
    /// A password hash in PHC string form (argon2id), made by the API node; the password itself
    /// never reaches the cluster's state. `None`: no password.
    pub password_hash: Option<String>,
}

/// A link as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// Its id.
    pub id: LinkId,
    /// Where the target is.
    pub namespace: NamespaceId,
    /// The file or folder it opens.
    pub path: DrivePath,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_ms: u64,
    /// When it stops working; `None`: never.
    pub expires_ms: Option<u64>,
    /// PHC password hash, if the link has a password.
    pub password_hash: Option<String>,
}

fn key(link: LinkId) -> [u8; 16] {
    link.0.to_be_bytes()
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
    if let Err(rejection) = commit::writable(txn, new.namespace, &new.path, new.user)? {
        return reject(rejection);
    }
    if drive::stat(txn, new.namespace, &new.path)?.is_none() {
        return reject(Rejection::NotFound(new.path.clone()));
    }
    if let Some(expires_ms) = new.expires_ms
        && expires_ms <= time_ms
    {
        return reject(Rejection::ExpiryInPast { expires_ms, now_ms: time_ms });
    }
    let record = LinkRecord {
        id: new.link,
        namespace: new.namespace,
        path: new.path.clone(),
        created_by: new.user,
        created_ms: time_ms,
        expires_ms: new.expires_ms,
        password_hash: new.password_hash.clone(),
    };
    txn.put(Space::Links, &key(new.link), &record);
    if let Some(at) = new.expires_ms {
        expiry::schedule(txn, at, Space::Links, &key(new.link), &[]);
    }
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
    let owner = drive::namespace(txn, record.namespace)?.map(|ns| ns.owner);
    if by != record.created_by && Some(by) != owner {
        return Ok(Response::Rejected(Rejection::Forbidden));
    }
    txn.delete(Space::Links, &key(link));
    if let Some(at) = record.expires_ms {
        expiry::cancel(txn, at, Space::Links, &key(link));
    }
    Ok(Response::LinkRevoked)
}

/// The link `link` as of `now_ms`: `None` if there is no such link or it has expired (an
/// expired link may linger until pruned, but it no longer resolves).
pub fn resolve(
    state: &(impl StateRead + ?Sized),
    link: LinkId,
    now_ms: u64,
) -> Result<Option<LinkRecord>, StateError> {
    let Some(bytes) = state.get(Space::Links, &key(link))? else { return Ok(None) };
    let record: LinkRecord = decode(Space::Links, &bytes)?;
    Ok(record.expires_ms.is_none_or(|at| now_ms < at).then_some(record))
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

    #[test]
    fn links_resolve_until_they_expire_or_are_revoked() {
        let mut w = World::new();
        w.ada_commits("docs/a.txt", None, &[b"one"]);
        let t = w.now;
        assert_eq!(w.run(new_link(7, "docs", ADA, Some(t + 100))), Response::LinkCreated);
        assert_eq!(w.run(new_link(8, "docs/a.txt", ADA, None)), Response::LinkCreated);
        let link = resolve(&w.state, LinkId(7), t + 99).unwrap().unwrap();
        assert_eq!((link.path, link.created_by), (path("docs"), ADA));
        assert!(link.password_hash.is_some());
        assert_eq!(resolve(&w.state, LinkId(7), t + 100).unwrap(), None);
        assert!(resolve(&w.state, LinkId(8), u64::MAX).unwrap().is_some());

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

        // Once expired, the record itself is pruned by a later request.
        w.now = t + 100;
        w.run(Command::CreateUser { name: "later".into() });
        assert_eq!(w.state.get(&(Space::Links, key(LinkId(7)).to_vec())), None);
    }

    #[test]
    fn only_writers_publish_existing_paths_with_future_expiry() {
        let mut w = World::new();
        w.ada_commits("docs/a.txt", None, &[b"one"]);
        let t = w.now;
        assert_eq!(w.run(new_link(1, "docs", BOB, None)), Response::Rejected(Rejection::Forbidden));
        let view = Command::Share {
            namespace: ADA_DRIVE,
            path: path("docs"),
            with: BOB,
            role: ShareRole::Read,
            by: ADA,
        };
        w.run(view);
        assert_eq!(w.run(new_link(1, "docs", BOB, None)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(
            w.run(new_link(1, "nope", ADA, None)),
            Response::Rejected(Rejection::NotFound(path("nope")))
        );
        assert_eq!(
            w.run(new_link(1, "docs", ADA, Some(t))),
            Response::Rejected(Rejection::ExpiryInPast { expires_ms: t, now_ms: t })
        );
        let edit = Command::Share {
            namespace: ADA_DRIVE,
            path: path("docs"),
            with: BOB,
            role: ShareRole::ReadWrite,
            by: ADA,
        };
        w.run(edit);
        assert_eq!(w.run(new_link(1, "docs/a.txt", BOB, None)), Response::LinkCreated);
        // The namespace's owner may revoke what an editor published.
        assert_eq!(w.run(Command::RevokeLink { link: LinkId(1), by: ADA }), Response::LinkRevoked);
    }
}
