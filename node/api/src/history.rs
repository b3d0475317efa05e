//! A file's past and a drive's trash: version history (`GET /v1/history/...`), restoring an old
//! version as the new head and pinning versions (`POST /v1/history/.../restore`, `.../pin`),
//! the trash (`GET /v1/trash`, `POST /v1/trash/restore`, `DELETE /v1/trash`) and moves
//! (`POST /v1/move`).
//!
//! Restoring a version is a new commit of the old version's blocks on top of the head, so the
//! history only ever grows and the usual first-writer-wins rule decides races. A trashed folder
//! leaves only its files in the trash (the model removes the folders), so restoring or purging a
//! folder's path acts on every trashed file below it, one command per file.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use cairn_proto::DrivePath;
use cairn_proto::api::ErrorCode;
use cairn_proto::api::{
    HistoryOptions, HistoryView, MoveRequest, Moved, PinView, TrashChanged, TrashItem, TrashListing,
    TrashTarget, TrashView, VersionAction, VersionRestored, VersionView,
};
use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent, VersionRecord};
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::trash::TrashRecord;
use cairn_raft::model::{Answer, Command, MAX_MOVE_ENTRIES, Query, Rejection, Response};
use futures_util::{StreamExt, TryStreamExt};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Params};
use super::paths::{self, InNamespace, file_at, no_version, version_of};
use crate::state::ApiState;

/// Versions listed when the request names no limit.
const DEFAULT_LIMIT: usize = 100;

/// Metadata reads or commands one request keeps in flight at a time: enough for the batcher
/// to group them, few enough not to crowd out other callers.
const IN_FLIGHT: usize = 16;

/// The routes of this module, to merge into the `/v1` router.
pub fn routes() -> Router<ApiState> {
    Router::new()
        // A catch-all must end the route, so the action (`restore`, `pin`) is the path's last
        // segment and `act` splits it off.
        .route("/history/{*path}", get(history).post(act))
        .route("/trash", get(trash_list).delete(purge))
        .route("/trash/restore", post(restore_from_trash))
        .route("/move", post(move_path))
}

/// The API's view of a version.
pub fn version_view(v: &VersionRecord) -> VersionView {
    VersionView {
        version: v.version,
        size: v.content.size,
        hash: hex::encode(v.content.hash),
        mtime_ms: v.content.mtime_ms,
        committed_ms: v.committed_ms,
        author: v.author.0,
        device: (!v.device_name.is_empty()).then(|| v.device_name.clone()),
        pinned: v.pinned,
    }
}

/// `GET /v1/history/{path}`: the file's versions, newest first.
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(options): Params<HistoryOptions>,
) -> Result<axum::Json<HistoryView>, ApiError> {
    let limit = page_limit(options.limit)?;
    let place =
        paths::place(&state, &caller, &InNamespace { ns: options.ns }, paths::parse(&raw)?, false).await?;
    let file = file_at(&state, &place).await?;
    let newest = options.before.map_or(u64::MAX, |before| before.saturating_sub(1));
    let query = Query::VersionsFrom { file: file.id, newest, limit };
    let Answer::Versions(versions) = state.query(query).await? else {
        return Err(ApiError::internal("unexpected answer to a history query"));
    };
    Ok(axum::Json(HistoryView {
        path: place.path.as_str().to_owned(),
        file: file.id.0,
        head: file.head,
        versions: versions.iter().map(version_view).collect(),
    }))
}

/// `POST /v1/history/{path}/restore` and `POST /v1/history/{path}/pin`: the last segment of the
/// path says which.
pub async fn act(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Json(body): Json<VersionAction>,
) -> Result<HttpResponse, ApiError> {
    let (file, action) = raw.trim_end_matches('/').rsplit_once('/').unwrap_or(("", raw.as_str()));
    let path = paths::parse(file)?;
    if path.is_root() {
        return Err(ApiError::bad_request("name a file: POST /v1/history/<path>/restore or .../pin"));
    }
    match (action, body.pinned) {
        ("restore", None) => {
            Ok(axum::Json(restore_version(&state, &caller, path, body).await?).into_response())
        }
        ("restore", Some(_)) => {
            Err(ApiError::bad_request("a restore takes `version` and `base`, not `pinned`"))
        }
        ("pin", Some(pinned)) if body.base.is_none() => {
            Ok(axum::Json(pin(&state, &caller, path, body.version, pinned, body.ns).await?).into_response())
        }
        ("pin", _) => {
            Err(ApiError::bad_request("a pin takes `version` and `pinned` (true or false), not `base`"))
        }
        (other, _) => Err(ApiError::not_found(format!(
            "no history action {other:?}: POST /v1/history/<path>/restore or .../pin"
        ))),
    }
}

async fn restore_version(
    state: &ApiState,
    caller: &Caller,
    path: DrivePath,
    body: VersionAction,
) -> Result<VersionRestored, ApiError> {
    let place = paths::place(state, caller, &InNamespace { ns: body.ns }, path, true).await?;
    let file = file_at(state, &place).await?;
    if file.status == FileStatus::Trashed {
        // The model treats a trashed file as absent, so a restore based on its head could only
        // conflict; bringing it back is the trash's job.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::WrongKind,
            format!("{} is in the trash: restore it with POST /v1/trash/restore first", place.path),
        ));
    }
    let old = version_of(state, &file, &place.path, body.version).await?;
    let new = NewVersion {
        namespace: place.namespace,
        path: place.path.clone(),
        base: Some(body.base.unwrap_or(file.head)),
        // The old content, committed anew: the restore is a new change to the file, so devices
        // comparing modification times must see it as newer than the copy they hold, and it gets
        // the time of the restore; no device made it.
        content: VersionContent { mtime_ms: state.clock.now_ms(), device: None, ..old.content.clone() },
        author: caller.user.id,
        // Every block of a committed version is stored (a commit refuses missing blocks), and
        // the old version holds references to them, so the content is complete.
        status: FileStatus::Complete,
    };
    let Response::Committed { file, version, seq } = state.propose(Command::CommitVersion(new)).await? else {
        return Err(ApiError::internal("unexpected answer to a commit"));
    };
    Ok(VersionRestored {
        file: file.0,
        version,
        restored_from: old.version,
        size: old.content.size,
        hash: hex::encode(old.content.hash),
        seq,
    })
}

async fn pin(
    state: &ApiState,
    caller: &Caller,
    path: DrivePath,
    version: u64,
    pinned: bool,
    ns: Option<u64>,
) -> Result<PinView, ApiError> {
    let place = paths::place(state, caller, &InNamespace { ns }, path, true).await?;
    let file = file_at(state, &place).await?;
    if version == 0 || version > file.head {
        return Err(no_version(&place.path, version));
    }
    let command = Command::PinVersion { file: file.id, version, pinned, user: caller.user.id };
    match state.propose(command).await? {
        Response::PinSet => Ok(PinView { version, pinned }),
        other => Err(ApiError::internal(format!("unexpected answer to a pin: {other:?}"))),
    }
}

/// `GET /v1/trash`: the files in the namespace's trash.
pub async fn trash_list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(listing): Params<TrashListing>,
) -> Result<axum::Json<TrashView>, ApiError> {
    let limit = page_limit(listing.limit)?;
    // The trash lists paths anywhere in the namespace, so it takes access to all of it.
    let place =
        paths::place(&state, &caller, &InNamespace { ns: listing.ns }, DrivePath::root(), false).await?;
    let after = listing.after.map(cairn_raft::model::ids::FileId);
    let Answer::Trash(records) =
        state.query(Query::Trash { namespace: place.namespace, after, limit }).await?
    else {
        return Err(ApiError::internal("unexpected answer to a trash listing"));
    };
    let next = (records.len() == limit).then(|| records.last().map(|t| t.file.0)).flatten();
    // A trash record has no size; the file record has. The reads run concurrently, as each
    // waits for the leader's read index.
    let files: Vec<Option<TrashItem>> = futures_util::stream::iter(records)
        .map(|record| {
            let state = state.clone();
            async move {
                let query = Query::Stat { namespace: record.namespace, path: record.path.clone() };
                Ok::<_, ApiError>(match state.query(query).await? {
                    // A file purged or restored since the listing is no longer in the trash.
                    Answer::Stat(Some((_, Some(file))))
                        if file.id == record.file && file.status == FileStatus::Trashed =>
                    {
                        Some(TrashItem {
                            path: record.path.as_str().to_owned(),
                            file: record.file.0,
                            size: file.size,
                            trashed_ms: record.trashed_ms,
                            trashed_by: record.by.0,
                        })
                    }
                    _ => None,
                })
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(axum::Json(TrashView { files: files.into_iter().flatten().collect(), next }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrashAction {
    Restore,
    Purge,
}

/// `POST /v1/trash/restore`: brings a trashed file, or the trashed files below a folder, back.
pub async fn restore_from_trash(
    State(state): State<ApiState>,
    caller: Caller,
    Json(target): Json<TrashTarget>,
) -> Result<axum::Json<TrashChanged>, ApiError> {
    from_trash(&state, &caller, target, TrashAction::Restore).await.map(axum::Json)
}

/// `DELETE /v1/trash`: deletes a trashed file, or the trashed files below a folder, for good.
pub async fn purge(
    State(state): State<ApiState>,
    caller: Caller,
    Json(target): Json<TrashTarget>,
) -> Result<axum::Json<TrashChanged>, ApiError> {
    from_trash(&state, &caller, target, TrashAction::Purge).await.map(axum::Json)
}

async fn from_trash(
    state: &ApiState,
    caller: &Caller,
    target: TrashTarget,
    action: TrashAction,
) -> Result<TrashChanged, ApiError> {
    let place =
        paths::place(state, caller, &InNamespace { ns: target.ns }, paths::parse(&target.path)?, true)
            .await?;
    let command = |path: DrivePath| {
        let (namespace, user) = (place.namespace, caller.user.id);
        match action {
            TrashAction::Restore => Command::Restore { namespace, path, user },
            TrashAction::Purge => Command::Purge { namespace, path, user },
        }
    };
    // A file: one command, whose refusal (not in the trash, say) is the answer.
    if let Answer::Stat(Some((_, Some(_)))) =
        state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await?
    {
        let (file, seq) = changed(state.propose(command(place.path.clone())).await?)?;
        return Ok(TrashChanged { files: vec![file], seq: Some(seq) });
    }
    // A folder, or a path the folder trash removed: every trashed file below it.
    let below = trashed_below(state, place.namespace, &place.path).await?;
    if below.is_empty() {
        return Err(ApiError::not_found(format!("nothing in the trash at or below {}", place.path)));
    }
    let outcomes: Vec<Option<(u64, u64)>> = futures_util::stream::iter(below)
        .map(|record| {
            let command = command(record.path);
            async move {
                match state.propose_step(command).await? {
                    // Restored or purged meanwhile, by someone else or by an earlier try of
                    // this request: the file is where the caller wants it.
                    Response::Rejected(Rejection::NotInTrash(_) | Rejection::NotFound(_)) => Ok(None),
                    Response::Rejected(rejection) => Err(ApiError::from(rejection)),
                    other => changed(other).map(Some),
                }
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    let done: Vec<(u64, u64)> = outcomes.into_iter().flatten().collect();
    Ok(TrashChanged {
        files: done.iter().map(|(file, _)| *file).collect(),
        seq: done.iter().map(|d| d.1).max(),
    })
}

/// The file and journal position of a restore or purge.
fn changed(response: Response) -> Result<(u64, u64), ApiError> {
    match response {
        Response::Restored { file, seq } | Response::Purged { file, seq } => Ok((file.0, seq)),
        other => Err(ApiError::internal(format!("unexpected answer to a trash command: {other:?}"))),
    }
}

/// Every trashed file strictly below `folder` (anywhere in the namespace for the root), at most
/// [`MAX_MOVE_ENTRIES`] of them: the bound the model puts on trashing a folder.
async fn trashed_below(
    state: &ApiState,
    namespace: NamespaceId,
    folder: &DrivePath,
) -> Result<Vec<TrashRecord>, ApiError> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let Answer::Trash(page) = state.query(Query::Trash { namespace, after, limit: MAX_PAGE }).await?
        else {
            return Err(ApiError::internal("unexpected answer to a trash listing"));
        };
        let full = page.len() == MAX_PAGE;
        after = page.last().map(|t| t.file);
        found.extend(page.into_iter().filter(|t| t.path != *folder && t.path.starts_with(folder)));
        if found.len() > MAX_MOVE_ENTRIES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!(
                    "more than {MAX_MOVE_ENTRIES} trashed files are below {folder}: name subfolders or files"
                ),
            ));
        }
        if !full {
            return Ok(found);
        }
    }
}

/// `POST /v1/move`: moves or renames a file or a folder with everything below it.
pub async fn move_path(
    State(state): State<ApiState>,
    caller: Caller,
    Json(request): Json<MoveRequest>,
) -> Result<axum::Json<Moved>, ApiError> {
    let ns = InNamespace { ns: request.ns };
    let (from, to) = (paths::parse(&request.from)?, paths::parse(&request.to)?);
    if from.is_root() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Invalid,
            "the root folder cannot move",
        ));
    }
    let from = paths::place(&state, &caller, &ns, from, true).await?;
    let to = paths::place(&state, &caller, &ns, to, true).await?;
    let command =
        Command::Move { namespace: from.namespace, from: from.path, to: to.path, user: caller.user.id };
    match state.propose(command).await? {
        Response::Moved { seq } => Ok(axum::Json(Moved { seq })),
        other => Err(ApiError::internal(format!("unexpected answer to a move: {other:?}"))),
    }
}

/// A page size from the query string: 1 to [`MAX_PAGE`], [`DEFAULT_LIMIT`] if not given.
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!("limit must be from 1 to {MAX_PAGE}, not {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_default_and_refuse_the_out_of_range() {
        assert_eq!(page_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(page_limit(Some(1)), Ok(1));
        assert_eq!(page_limit(Some(MAX_PAGE)), Ok(MAX_PAGE));
        for bad in [0, MAX_PAGE + 1] {
            assert_eq!(page_limit(Some(bad)).map_err(|e| e.code), Err(ErrorCode::BadRequest), "{bad}");
        }
    }
}
