//! The folder tree: stat and list (`GET /v1/tree/...`), make a folder (`POST /v1/folders/...`),
//! delete to the trash (`DELETE /v1/tree/...`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_proto::DrivePath;
use cairn_proto::api::{Changed, ChildView, DeleteParams, FileView, Listing, TreeView, UploadingView};
use cairn_raft::model::drive::{EntryKind, FileRecord, FileStatus};
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::uploads::UploadRecord;
use cairn_raft::model::{Answer, Command, Query, Response};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Params;
use super::paths::{self, InNamespace};
use crate::state::ApiState;

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

/// `GET /v1/tree/{path}`: a file's state, or a folder's children (each file with its state), and
/// the files being uploaded there, which show as `uploading` until they complete.
pub async fn get_path(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(listing): Params<Listing>,
) -> Result<Json<TreeView>, ApiError> {
    tree_at(state, caller, paths::parse(&raw)?, listing).await
}

/// [`get_path`] for a path already checked: one that came in through [`paths::parse`], or one
/// the drive stored (a link's target), which must not be held to rules newer than itself.
pub async fn tree_at(
    state: ApiState,
    caller: Caller,
    path: DrivePath,
    listing: Listing,
) -> Result<Json<TreeView>, ApiError> {
    let place = paths::place(&state, &caller, &InNamespace { ns: listing.ns }, path, false).await?;
    let stat = match state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await?
    {
        Answer::Stat(stat) => stat,
        other => return Err(ApiError::internal(format!("unexpected answer to a stat: {other:?}"))),
    };
    let uploads = uploading(&state, &place).await?;
    let path = place.path.as_str().to_owned();
    let here = uploads.iter().find(|u| u.session.path == place.path).map(uploading_view);
    let file_view_of = |file: Option<FileView>| TreeView {
        path: path.clone(),
        kind: "file".into(),
        file,
        children: Vec::new(),
        next: None,
        uploading: here.clone(),
    };
    match stat {
        Some((_, Some(file))) => Ok(Json(file_view_of(Some(file_view(&file))))),
        // Nothing there yet, but a file is on its way.
        None if here.is_some() => Ok(Json(file_view_of(None))),
        None => Err(ApiError::not_found(format!("nothing at {}", place.path))),
        Some((entry, None)) if matches!(entry.kind, EntryKind::Folder) => {
            let limit = listing.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
            let after = listing.after.clone();
            let query = Query::List {
                namespace: place.namespace,
                folder: place.path.clone(),
                after: listing.after,
                limit,
            };
            let Answer::List(entries) = state.query(query).await? else {
                return Err(ApiError::internal("unexpected answer to a listing"));
            };
            let next =
                (entries.len() == limit).then(|| entries.last().map(|(name, _)| name.clone())).flatten();
            let mut children = Vec::with_capacity(entries.len());
            for (name, entry) in entries {
                children.push(match entry.kind {
                    EntryKind::Folder => folder_child(name),
                    EntryKind::File(id) => file_child(&state, &place, name, id.0)?,
                });
            }
            // Uploads under way: on the existing file, or as a new `uploading` name on the page
            // its name falls in.
            for upload in uploads.iter().filter(|u| u.session.path != place.path) {
                let Some((_, name)) = upload.session.path.split_last() else { continue };
                let view = uploading_view(upload);
                match children.iter_mut().find(|c| c.name == name) {
                    Some(child) => child.uploading = Some(view),
                    None if after.as_deref().is_none_or(|a| name > a)
                        && next.as_deref().is_none_or(|n| name < n) =>
                    {
                        let mut child = folder_child(name.to_owned());
                        child.kind = "file".into();
                        child.status = Some("uploading".into());
                        child.size = Some(view.size);
                        child.uploading = Some(view);
                        children.push(child);
                    }
                    None => {}
                }
            }
            children.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Json(TreeView { path, kind: "folder".into(), file: None, children, next, uploading: None }))
        }
        Some((_, None)) => Err(ApiError::internal("a file entry without its file record")),
    }
}

/// The open uploads to `place` or into it (one linearizable read).
async fn uploading(state: &ApiState, place: &paths::Place) -> Result<Vec<UploadRecord>, ApiError> {
    let query = Query::Uploading {
        namespace: place.namespace,
        path: place.path.clone(),
        now_ms: state.clock.now_ms(),
    };
    match state.query(query).await? {
        Answer::Uploads(uploads) => Ok(uploads),
        other => Err(ApiError::internal(format!("unexpected answer to an uploads query: {other:?}"))),
    }
}

fn uploading_view(upload: &UploadRecord) -> UploadingView {
    UploadingView { received: upload.received, size: upload.session.size, started_ms: upload.created_ms }
}

fn folder_child(name: String) -> ChildView {
    ChildView {
        name,
        kind: "folder".into(),
        file: None,
        status: None,
        version: None,
        size: None,
        uploading: None,
    }
}

/// A file in a listing, with its state read locally: the listing was a linearizable read, so
/// this node has applied at least that much.
fn file_child(state: &ApiState, place: &paths::Place, name: String, id: u64) -> Result<ChildView, ApiError> {
    let path = stored_child(&place.path, &name).map_err(|e| ApiError::internal(e.to_string()))?;
    let file = match state.meta.local(&Query::Stat { namespace: place.namespace, path })? {
        Answer::Stat(Some((_, Some(file)))) => Some(file_view(&file)),
        _ => None,
    };
    let mut child = folder_child(name);
    child.kind = "file".into();
    child.file = Some(id);
    if let Some(file) = file {
        child.status = Some(file.status);
        child.version = Some(file.version);
        child.size = Some(file.size);
    }
    Ok(child)
}

/// The path of `name`, a name the drive listed, in `folder`: byte for byte, as stored. Not
/// [`DrivePath::join`], which holds a name to today's rules and NFC: a name stored before they
/// tightened (a newline, an NFD accent) would fail the listing or miss its own file record.
fn stored_child(folder: &DrivePath, name: &str) -> Result<DrivePath, cairn_proto::ProtoError> {
    if folder.is_root() {
        DrivePath::from_stored(name)
    } else {
        DrivePath::from_stored(&format!("{}/{name}", folder.as_str()))
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

/// `DELETE /v1/tree/{path}`: moves a file, or a folder with the files below it, to the trash;
/// with `if_unchanged_since`, only if nothing was put there after that journal cursor.
pub async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(params): Params<DeleteParams>,
) -> Result<Json<Changed>, ApiError> {
    let path = paths::parse(&raw)?;
    let ns = InNamespace { ns: params.ns };
    let place = paths::place(&state, &caller, &ns, path, true).await?;
    let (namespace, path, user) = (place.namespace, place.path, caller.user.id);
    let command = match params.if_unchanged_since {
        None => Command::Trash { namespace, path, user },
        Some(since) => Command::TrashUnchanged { namespace, path, user, since },
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_keep_their_stored_spelling() {
        // Stored before the rules tightened: a newline, and an accent in NFD.
        assert_eq!(stored_child(&DrivePath::root(), "a\nb").unwrap().as_str(), "a\nb");
        let old = DrivePath::from_stored("old").unwrap();
        assert_eq!(stored_child(&old, "cafe\u{301}").unwrap().as_str(), "old/cafe\u{301}");
        assert!(stored_child(&old, "..").is_err(), "the structural rules still hold");
    }
}
