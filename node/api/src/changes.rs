//! The change journal over HTTP, so devices learn of changes within moments: `GET /v1/changes`
//! (a page after a cursor; with `timeout_ms`, a long poll), `GET /v1/changes/latest` (the
//! cursor to start from after a full listing) and `GET /v1/changes/stream` (the same changes
//! as server-sent events, for browsers).
//!
//! Waiting costs Raft nothing: a poll makes one linearizable read, then watches this node's
//! applied log index and re-reads its own state each time the index moves. The watch is taken
//! before the read, so a change applied at any moment after the read wakes the wait. A long
//! poll whose node dies is re-issued on another node with the same cursor; the journal is Raft
//! state, so nothing is missed.
//!
//! Polls that wait and streams are capped per user and per node ([`crate::watch_limit`]): one
//! over a cap is answered 429 before it waits.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use cairn_proto::api::changes::{MAX_POLL_MS, kind};
use cairn_proto::api::{ChangePage, ChangeView, ChangesQuery, CursorView};
use cairn_raft::model::drive::FileStatus;
use cairn_raft::model::journal::{Change, ChangeKind, JournalPage};
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::{Answer, Query, UserId};
use futures_util::Stream;
use serde::Deserialize;
use tokio::time::Instant;

use super::auth::{Bearer, Caller, Recheck};
use super::error::ApiError;
use super::extract::Params;
use crate::state::ApiState;
use crate::watch_limit::WatchPermit;
use cairn_metadata::AppliedWatch;

/// The longest a long poll waits. The client asks again after it; a minute of silence is what
/// proxies and NATs usually let an idle connection live.
pub const MAX_WAIT: Duration = Duration::from_millis(MAX_POLL_MS);

/// How often the stream sends a comment while nothing happens, so proxies keep it open and a
/// dead client is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Changes the stream reads from the state at a time.
const STREAM_BATCH: usize = 100;

/// The header a reconnecting `EventSource` sends: the id of the last event it got.
const LAST_EVENT_ID: &str = "last-event-id";

/// The routes of this module, to merge into the `/v1` router.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/changes", get(changes))
        .route("/changes/latest", get(latest))
        .route("/changes/stream", get(stream))
}

/// `GET /v1/changes?cursor=&timeout_ms=&limit=`: the caller's changes after `cursor`. With none
/// yet and a `timeout_ms`, waits (up to [`MAX_WAIT`]) for one; answers an empty page with the
/// same cursor if none came. 410 `cursor_expired` if the journal no longer covers the cursor;
/// 429 `rate_limited` if the caller or the node holds too many waits already.
pub async fn changes(
    State(state): State<ApiState>,
    bearer: Bearer,
    Params(query): Params<ChangesQuery>,
) -> Result<Json<ChangePage>, ApiError> {
    let (user, cursor) = (bearer.caller.user.id, query.cursor.unwrap_or(0));
    let limit = page_limit(query.limit)?;
    // Held until the answer: only a poll that may wait counts.
    let _watch = match query.timeout_ms {
        Some(ms) if ms > 0 => Some(state.watches.admit(user)?),
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_millis(query.timeout_ms.unwrap_or(0)).min(MAX_WAIT);
    let read = Query::Journal { user, cursor, limit };
    let mut applied = state.meta.applied_watch();
    let mut seen = applied.current();
    let mut page = journal(state.query(read.clone()).await?)?;
    // A wait ends early, refused, once its token is revoked or its user disabled.
    let mut recheck = Recheck::new(&state, &bearer);
    while page.changes.is_empty() && Instant::now() < deadline {
        let woke = tokio::select! {
            woke = tokio::time::timeout_at(deadline, applied.beyond(seen)) => woke,
            refusal = recheck.refused() => return Err(refusal),
        };
        match woke {
            Ok(Some(index)) => seen = index,
            // Timed out, or the node is stopping: the client asks again, here or elsewhere.
            Ok(None) | Err(_) => break,
        }
        page = journal(state.meta.local(&read).map_err(ApiError::from)?)?;
    }
    Ok(Json(page_view(cursor, &page)))
}

/// `GET /v1/changes/latest`: the caller's newest change, the cursor to follow changes from
/// after listing the whole tree.
pub async fn latest(State(state): State<ApiState>, caller: Caller) -> Result<Json<CursorView>, ApiError> {
    match state.query(Query::JournalLatest(caller.user.id)).await? {
        Answer::JournalLatest(cursor) => Ok(Json(CursorView { cursor })),
        other => Err(ApiError::internal(format!("unexpected answer to a journal read: {other:?}"))),
    }
}

/// The query string of `GET /v1/changes/stream`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// The last `seq` the client has (default 0); a `Last-Event-ID` header overrides it.
    pub cursor: Option<u64>,
}

/// `GET /v1/changes/stream?cursor=`: the caller's changes after the cursor (or after
/// `Last-Event-ID`, which a reconnecting `EventSource` sends) as server-sent events named
/// `change`, each with `id` = its seq and the [`ChangeView`] as JSON data, then every later
/// change as it is applied, with a keep-alive comment every 15 s. If the journal stops
/// covering the stream's position, it sends an `error` event (`{code, message}`) and ends.
/// 429 `rate_limited` if the caller or the node holds too many streams and polls already.
pub async fn stream(
    State(state): State<ApiState>,
    bearer: Bearer,
    headers: HeaderMap,
    Params(query): Params<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, axum::Error>>>, ApiError> {
    let cursor = match headers.get(LAST_EVENT_ID) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be the seq of a change"))?,
        None => query.cursor.unwrap_or(0),
    };
    let user = bearer.caller.user.id;
    let watch = state.watches.admit(user)?;
    let recheck = Recheck::new(&state, &bearer);
    let mut applied = state.meta.applied_watch();
    let seen = applied.current();
    // The first read is linearizable and its refusal a real status; later ones are local.
    let first = journal(state.query(Query::Journal { user, cursor, limit: STREAM_BATCH }).await?)?;
    let behind = full(&first);
    let pending = first.changes.into();
    let follow =
        Follow { state, user, cursor, applied, seen, pending, behind, ended: false, recheck, _watch: watch };
    let events = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Where a stream is: what it has read but not sent, and how far the state had come.
struct Follow {
    state: ApiState,
    user: UserId,
    /// The seq of the last change sent.
    cursor: u64,
    applied: AppliedWatch,
    /// The applied index before the last read of the state.
    seen: u64,
    pending: VecDeque<Change>,
    /// The last read was a full batch: read again before waiting.
    behind: bool,
    ended: bool,
    /// Ends the stream once its token is refused.
    recheck: Recheck,
    /// The stream's place under the caps, freed when the stream is dropped.
    _watch: WatchPermit,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, axum::Error>, Self)> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(refusal) = self.recheck.due() {
                return Some(self.end_with(refusal));
            }
            if let Some(change) = self.pending.pop_front() {
                self.cursor = change.seq;
                let event = Event::default().event("change").id(change.seq.to_string());
                return Some((event.json_data(change_view(&change)), self));
            }
            if !self.behind {
                tokio::select! {
                    // `None`: the node is stopping; the stream ends and the client reconnects.
                    seen = self.applied.beyond(self.seen) => self.seen = seen?,
                    refusal = self.recheck.refused() => return Some(self.end_with(refusal)),
                }
            }
            let read = Query::Journal { user: self.user, cursor: self.cursor, limit: STREAM_BATCH };
            match self.state.meta.local(&read).map_err(ApiError::from).and_then(journal) {
                Ok(page) => {
                    self.behind = full(&page);
                    self.pending = page.changes.into();
                }
                Err(e) => return Some(self.end_with(e)),
            }
        }
    }

    /// An `error` event with `error`, after which the stream ends.
    fn end_with(mut self, error: ApiError) -> (Result<Event, axum::Error>, Self) {
        self.ended = true;
        (Event::default().event("error").json_data(error.into_body()), self)
    }
}

/// Whether more changes follow the page's last one already.
fn full(page: &JournalPage) -> bool {
    page.changes.last().is_some_and(|c| c.seq < page.latest)
}

fn journal(answer: Answer) -> Result<JournalPage, ApiError> {
    match answer {
        Answer::Journal(page) => Ok(page?),
        other => Err(ApiError::internal(format!("unexpected answer to a journal read: {other:?}"))),
    }
}

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(MAX_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!("limit must be from 1 to {MAX_PAGE}, not {n}"))),
    }
}

fn page_view(cursor: u64, page: &JournalPage) -> ChangePage {
    ChangePage {
        changes: page.changes.iter().map(change_view).collect(),
        cursor: page.changes.last().map_or(cursor, |c| c.seq),
        more: full(page),
    }
}

fn status_name(status: FileStatus) -> &'static str {
    match status {
        FileStatus::Uploading => "uploading",
        FileStatus::Complete => "complete",
        FileStatus::Trashed => "trashed",
    }
}

/// The API's view of a journal entry: the kind by its stable name, its fields flattened.
pub fn change_view(c: &Change) -> ChangeView {
    let mut view = ChangeView {
        seq: c.seq,
        time_ms: c.time_ms,
        ns: c.namespace.0,
        path: c.path.as_str().to_owned(),
        file: c.file.map(|f| f.0),
        kind: String::new(),
        version: None,
        status: None,
        from: None,
        size: None,
        files: None,
    };
    let name = match &c.kind {
        ChangeKind::FolderCreated => kind::FOLDER_CREATED,
        ChangeKind::VersionCommitted { version, status } => {
            view.version = Some(*version);
            view.status = Some(status_name(*status).to_owned());
            kind::VERSION_COMMITTED
        }
        ChangeKind::Trashed => kind::TRASHED,
        ChangeKind::Restored { status } => {
            view.status = Some(status_name(*status).to_owned());
            kind::RESTORED
        }
        ChangeKind::Purged => kind::PURGED,
        ChangeKind::Moved { from } => {
            view.from = Some(from.as_str().to_owned());
            kind::MOVED
        }
        ChangeKind::MovedIn => kind::MOVED_IN,
        ChangeKind::MovedOut => kind::MOVED_OUT,
        ChangeKind::FolderTrashed { files } => {
            view.files = Some(*files);
            kind::FOLDER_TRASHED
        }
        ChangeKind::UploadStarted { size } => {
            view.size = Some(*size);
            kind::UPLOAD_STARTED
        }
        ChangeKind::UploadAborted => kind::UPLOAD_ABORTED,
    };
    view.kind = name.to_owned();
    view
}

#[cfg(test)]
mod tests {
    use cairn_proto::DrivePath;
    use cairn_proto::api::ErrorCode;
    use cairn_raft::model::ids::{FileId, NamespaceId};

    use super::*;

    fn change(seq: u64, kind: ChangeKind) -> Change {
        Change {
            seq,
            time_ms: 5,
            namespace: NamespaceId(3),
            path: DrivePath::parse("a/b.txt").unwrap(),
            file: Some(FileId(9)),
            kind,
        }
    }

    #[test]
    fn kinds_have_stable_names_and_their_fields_flattened() {
        let committed = change_view(&change(
            1,
            ChangeKind::VersionCommitted { version: 4, status: FileStatus::Complete },
        ));
        assert_eq!(
            (committed.kind.as_str(), committed.version, committed.status.as_deref()),
            ("version_committed", Some(4), Some("complete"))
        );
        assert_eq!((committed.ns, committed.path.as_str(), committed.file), (3, "a/b.txt", Some(9)));
        let from = DrivePath::parse("old.txt").unwrap();
        let moved = change_view(&change(2, ChangeKind::Moved { from }));
        assert_eq!((moved.kind.as_str(), moved.from.as_deref()), ("moved", Some("old.txt")));
        let started = change_view(&change(3, ChangeKind::UploadStarted { size: 7 }));
        assert_eq!((started.kind.as_str(), started.size, started.version), ("upload_started", Some(7), None));
        let trashed = change_view(&change(4, ChangeKind::FolderTrashed { files: 2 }));
        assert_eq!((trashed.kind.as_str(), trashed.files), ("folder_trashed", Some(2)));
    }

    #[test]
    fn pages_carry_the_next_cursor_and_whether_more_follow() {
        let page = JournalPage { changes: vec![change(5, ChangeKind::Trashed)], latest: 9 };
        let view = page_view(4, &page);
        assert_eq!((view.cursor, view.more, view.changes[0].kind.as_str()), (5, true, "trashed"));
        let empty = page_view(9, &JournalPage { changes: vec![], latest: 9 });
        assert_eq!((empty.cursor, empty.more), (9, false));
        assert_eq!(page_limit(None).ok(), Some(MAX_PAGE));
        for bad in [0, MAX_PAGE + 1] {
            assert_eq!(page_limit(Some(bad)).map_err(|e| e.code), Err(ErrorCode::BadRequest));
        }
    }
}
