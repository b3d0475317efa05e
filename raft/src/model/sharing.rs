//! Sharing: the owner of a namespace opens a folder or file of it to another user, and a share
//! ends when its owner revokes it or its recipient leaves it. The records, and what they let
//! each user do, are [`super::shares`]'s.

use cairn_proto::DrivePath;

use super::drive;
use super::ids::{NamespaceId, UserId};
use super::shares::{self, ShareRecord};
use super::users;
use super::{Rejection, Response, StateError, StateRead, Txn};

pub(super) fn share<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    record: ShareRecord,
    by: UserId,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    let Some(ns) = drive::namespace(txn, record.namespace)? else {
        return reject(Rejection::NoSuchNamespace(record.namespace));
    };
    // Only the owner shares: an editor passing the folder on would be sharing what is not theirs.
    if ns.owner != by {
        return reject(Rejection::Forbidden);
    }
    if record.user == ns.owner {
        return reject(Rejection::ShareWithOwner(record.user));
    }
    if users::user(txn, record.user)?.is_none() {
        return reject(Rejection::NoSuchUser(record.user));
    }
    if drive::stat(txn, record.namespace, &record.path)?.is_none() {
        return reject(Rejection::NotFound(record.path));
    }
    shares::put_record(txn, &ShareRecord { created_ms: time_ms, ..record });
    Ok(Response::Shared)
}

/// Ends a share; its owner may, and so may its recipient (leaving a share).
pub(super) fn revoke<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
    by: UserId,
) -> Result<Response, StateError> {
    let Some(ns) = drive::namespace(txn, namespace)? else {
        return Ok(Response::Rejected(Rejection::NoSuchNamespace(namespace)));
    };
    if by != ns.owner && by != user {
        return Ok(Response::Rejected(Rejection::Forbidden));
    }
    let Some(record) = shares::find(txn, namespace, path, user)? else {
        return Ok(Response::Rejected(Rejection::NoSuchShare { user, path: path.clone() }));
    };
    shares::remove_record(txn, &record);
    Ok(Response::ShareRevoked)
}
