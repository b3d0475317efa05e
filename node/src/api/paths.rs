//! Paths and namespaces in URLs: `/v1/tree/photos/2024/a.jpg?ns=7`. A path is validated by
//! `DrivePath` (no `..`, no NUL, length limits); the namespace is the caller's own drive unless
//! `ns` names another one (a folder shared with the caller), and every call checks the caller's
//! access there.

use cairn_proto::DrivePath;
use cairn_raft::model::drive::NamespaceId;
use cairn_raft::model::shares::Access;
use cairn_raft::model::{Answer, Query};
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::error::ApiError;

/// The `ns` query parameter.
#[derive(Debug, Default, Deserialize)]
pub struct InNamespace {
    /// A namespace other than the caller's drive.
    pub ns: Option<u64>,
}

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
        .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "bad_path", e.to_string()))
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
