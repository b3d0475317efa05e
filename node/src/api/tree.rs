//! The folder tree: stat and list (`GET /v1/tree/...`), make a folder (`POST /v1/folders/...`),
//! delete to the trash (`DELETE /v1/tree/...`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_proto::api::{Changed, ChildView, FileView, Listing, TreeView};
use cairn_raft::model::drive::{EntryKind, FileRecord, FileStatus};
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::{Answer, Command, Query, Response};

use super::ApiState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::Params;
use super::paths::{self, InNamespace};

/// The API's view of a file.
pub fn file_view(f: &FileRecord) -> FileView {
    let status = match f.status {
        FileStatus::Uploading => "uploading",
        FileStatus::Complete => "complete",
        FileStatus::Trashed => "trashed",
    };
    FileView { id: f.id.0, version: f.head, size: f.size, status: status.into() }
}

/// `GET /v1/tree`: the root of the drive.
pub async fn get_root(
    state: State<ApiState>,
    caller: Caller,
    listing: Params<Listing>,
) -> Result<Json<TreeView>, ApiError> {
    get_path(state, caller, Path(String::new()), listing).await
}

/// `GET /v1/tree/{path}`: a file's state, or a folder's children.
pub async fn get_path(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(listing): Params<Listing>,
) -> Result<Json<TreeView>, ApiError> {
    let path = paths::parse(&raw)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: listing.ns }, path, false).await?;
    let stat = match state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await?
    {
        Answer::Stat(Some(stat)) => stat,
        Answer::Stat(None) => return Err(ApiError::not_found(format!("nothing at {}", place.path))),
        other => return Err(ApiError::internal(format!("unexpected answer to a stat: {other:?}"))),
    };
    let path = place.path.as_str().to_owned();
    match stat {
        (_, Some(file)) => Ok(Json(TreeView {
            path,
            kind: "file".into(),
            file: Some(file_view(&file)),
            children: Vec::new(),
            next: None,
        })),
        (entry, None) if matches!(entry.kind, EntryKind::Folder) => {
            let limit = listing.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
            let query =
                Query::List { namespace: place.namespace, folder: place.path, after: listing.after, limit };
            let Answer::List(entries) = state.query(query).await? else {
                return Err(ApiError::internal("unexpected answer to a listing"));
            };
            let next =
                (entries.len() == limit).then(|| entries.last().map(|(name, _)| name.clone())).flatten();
            let children = entries
                .into_iter()
                .map(|(name, entry)| match entry.kind {
                    EntryKind::Folder => ChildView { name, kind: "folder".into(), file: None },
                    EntryKind::File(id) => ChildView { name, kind: "file".into(), file: Some(id.0) },
                })
                .collect();
            Ok(Json(TreeView { path, kind: "folder".into(), file: None, children, next }))
        }
        (_, None) => Err(ApiError::internal("a file entry without its file record")),
    }
}

/// `POST /v1/folders/{path}`: makes a folder and any missing parents.
pub async fn make_folder(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(ns): Params<InNamespace>,
) -> Result<(StatusCode, Json<Changed>), ApiError> {
    let path = paths::parse(&raw)?;
    if path.is_root() {
        return Err(ApiError::bad_request("the root folder always exists"));
    }
    let place = paths::place(&state, &caller, &ns, path, true).await?;
    let command = Command::MakeFolder { namespace: place.namespace, path: place.path, user: caller.user.id };
    state.propose(command).await?;
    Ok((StatusCode::CREATED, Json(Changed { seq: None })))
}

/// `DELETE /v1/tree/{path}`: moves a file to the trash.
pub async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(ns): Params<InNamespace>,
) -> Result<Json<Changed>, ApiError> {
    let path = paths::parse(&raw)?;
    let place = paths::place(&state, &caller, &ns, path, true).await?;
    let command = Command::Trash { namespace: place.namespace, path: place.path, user: caller.user.id };
    match state.propose(command).await? {
        Response::Trashed { seq, .. } => Ok(Json(Changed { seq: Some(seq) })),
        other => Ok(Json(Changed { seq: response_seq(&other) })),
    }
}

fn response_seq(response: &Response) -> Option<u64> {
    match response {
        Response::Trashed { seq, .. }
        | Response::FolderTrashed { seq, .. }
        | Response::Committed { seq, .. }
        | Response::Moved { seq } => Some(*seq),
        _ => None,
    }
}
