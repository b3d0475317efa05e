//! Paths and namespaces in URLs: `/v1/tree/photos/2024/a.jpg?ns=7`. A path is validated by
//! `DrivePath` (no `..`, no NUL, length limits); the namespace is the caller's own drive unless
//! `ns` names another one (a folder shared with the caller), and every call checks the caller's
//! access there.

use axum::http::StatusCode;
use cairn_proto::DrivePath;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::drive::{FileRecord, VersionRecord};
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::shares::Access;
use cairn_raft::model::{Answer, Query};

use super::auth::Caller;
use super::error::ApiError;
use crate::state::ApiState;

pub use cairn_proto::api::InNamespace;

/// A checked place in a drive.
#[derive(Debug, Clone)]
pub struct Place {
    /// The namespace.
    pub namespace: NamespaceId,
    /// The path in it.
    pub path: DrivePath,
    /// What the caller may do there.
    pub access: Access,
}

/// Parses `raw` (the URL's path tail, already percent-decoded).
pub fn parse(raw: &str) -> Result<DrivePath, ApiError> {
    DrivePath::parse(&format!("/{}", raw.trim_start_matches('/')))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadPath, e.to_string()))
}

/// Resolves `path` in the namespace the request names and checks that `caller` may at least
/// read there (and write, if `write`).
pub async fn place(
    state: &ApiState,
    caller: &Caller,
    ns: &InNamespace,
    path: DrivePath,
    write: bool,
) -> Result<Place, ApiError> {
    let namespace = ns.ns.map_or(caller.user.drive, NamespaceId);
    let query = Query::Access { namespace, path: path.clone(), user: caller.user.id };
    let access = match state.query(query).await? {
        Answer::Access(Some(access)) => access,
        // Not telling a stranger whether the path exists.
        Answer::Access(None) => {
            return Err(ApiError::not_found(format!("nothing at {path} that you can see")));
        }
        other => return Err(ApiError::internal(format!("unexpected answer to an access check: {other:?}"))),
    };
    if write && !access.can_write() {
        return Err(ApiError::forbidden(format!("{path} is shared with you read-only")));
    }
    Ok(Place { namespace, path, access })
}

/// The file at `place`, or 404, or 409 `wrong_kind` for a folder.
pub async fn file_at(state: &ApiState, place: &Place) -> Result<FileRecord, ApiError> {
    match state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await? {
        Answer::Stat(Some((_, Some(file)))) => Ok(file),
        Answer::Stat(Some((_, None))) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::WrongKind,
            format!("{} is a folder", place.path),
        )),
        Answer::Stat(None) => Err(ApiError::not_found(format!("nothing at {}", place.path))),
        other => Err(ApiError::internal(format!("unexpected answer to a stat: {other:?}"))),
    }
}

/// 404 for a version `path` does not have.
pub fn no_version(path: &DrivePath, version: u64) -> ApiError {
    ApiError::not_found(format!("{path} has no version {version}"))
}

/// Version `version` of `file`, however far behind the head.
pub async fn version_of(
    state: &ApiState,
    file: &FileRecord,
    path: &DrivePath,
    version: u64,
) -> Result<VersionRecord, ApiError> {
    if version == 0 || version > file.head {
        return Err(no_version(path, version));
    }
    match state.query(Query::VersionsFrom { file: file.id, newest: version, limit: 1 }).await? {
        Answer::Versions(versions) => {
            versions.into_iter().find(|v| v.version == version).ok_or_else(|| no_version(path, version))
        }
        other => Err(ApiError::internal(format!("unexpected answer to a history query: {other:?}"))),
    }
}
