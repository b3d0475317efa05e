//! Shares over HTTP: `POST`/`DELETE /v1/shares` and the listings `/v1/shares/given` and
//! `/v1/shares/received`. Public links are in [`super::links`].
//!
//! Who may share is the model's rule (only a namespace's owner shares; an editor may publish a
//! link, a viewer neither), so this module only turns names into ids, checks that the caller can
//! see the path at all (a stranger gets 404, as everywhere else in the API) and lets each refusal
//! carry its code. A link is read with its creator's rights, through the tree and content
//! handlers themselves: a link stops working when its creator loses access to the path, and its
//! downloads get `Range` and `ETag` without a second copy of the download code.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cairn_proto::DrivePath;
use cairn_proto::api::{EndShare, NewShare, Paging, Role, SharePage, ShareView};
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::shares::{Access, ShareRecord, ShareRole};
use cairn_raft::model::{Answer, Command, Query, Response, User, UserId};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json as ApiJson, Params};
use super::paths::{self, InNamespace};
use crate::state::ApiState;

/// The routes of this module, relative to `/v1`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/shares", post(share).delete(revoke_share))
        .route("/shares/given", get(given))
        .route("/shares/received", get(received))
}

/// The model's role for an API role.
pub fn model_role(role: Role) -> ShareRole {
    match role {
        Role::Viewer => ShareRole::Read,
        Role::Editor => ShareRole::ReadWrite,
    }
}

/// The API's name of a model role.
pub fn api_role(role: ShareRole) -> Role {
    match role {
        ShareRole::Read => Role::Viewer,
        ShareRole::ReadWrite => Role::Editor,
    }
}

/// The default page of shares: every share costs a name lookup or two, so pages stay modest
/// unless a client asks for more.
const DEFAULT_SHARE_PAGE: usize = 100;

/// `POST /v1/shares`: shares a folder or file with another user, or changes the role of an
/// existing share. 201 with the share.
pub async fn share(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewShare>,
) -> Result<(StatusCode, Json<ShareView>), ApiError> {
    let path = paths::parse(&new.path)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: new.ns }, path, false).await?;
    let with = user_named(&state, &new.user).await?;
    // The model refuses this too, as a share "with the owner"; said plainly, it is a bad request.
    if with.id == caller.user.id && place.access == Access::Owner {
        return Err(ApiError::bad_request(format!("{} is yours: share it with someone else", place.path)));
    }
    let command = Command::Share {
        namespace: place.namespace,
        path: place.path.clone(),
        with: with.id,
        role: model_role(new.role),
        by: caller.user.id,
    };
    expect(state.propose(command).await?, |r| matches!(r, Response::Shared), "a share")?;
    let view = ShareView {
        ns: place.namespace.0,
        path: place.path.as_str().to_owned(),
        owner: caller.user.name.clone(),
        user: with.name,
        role: new.role,
        created_ms: None,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /v1/shares`: ends a share. Its owner may, and so may its recipient (leaving it).
/// 204.
pub async fn revoke_share(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(end): ApiJson<EndShare>,
) -> Result<StatusCode, ApiError> {
    let path = paths::parse(&end.path)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: end.ns }, path, false).await?;
    let with = user_named(&state, &end.user).await?;
    let command = Command::RevokeShare {
        namespace: place.namespace,
        path: place.path,
        with: with.id,
        by: caller.user.id,
    };
    expect(state.propose(command).await?, |r| matches!(r, Response::ShareRevoked), "a revocation")?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/shares/given`: the shares of the caller's drive, by path then recipient.
pub async fn given(
    State(state): State<ApiState>,
    caller: Caller,
    Params(paging): Params<Paging>,
) -> Result<Json<SharePage>, ApiError> {
    // The cursor is "<recipient id>:<path>", the model's own order.
    let after = paging
        .after
        .as_deref()
        .map(|cursor| {
            let (user, path) = split_cursor(cursor)?;
            Ok::<_, ApiError>((path, UserId(user)))
        })
        .transpose()?;
    let limit = page_size(paging.limit);
    let query = Query::SharesGiven { user: caller.user.id, after, limit };
    let records = shares_of(state.query(query).await?)?;
    let next = next_cursor(&records, limit, |r| format!("{}:{}", r.user.0, r.path.as_str()));
    let mut names = Names::default();
    let mut shares = Vec::with_capacity(records.len());
    for record in records {
        let user = names.user(&state, record.user).await?;
        shares.push(view(record, caller.user.name.clone(), user));
    }
    Ok(Json(SharePage { shares, next }))
}

/// `GET /v1/shares/received`: what others have shared with the caller ("shared with me"), by
/// namespace then path.
pub async fn received(
    State(state): State<ApiState>,
    caller: Caller,
    Params(paging): Params<Paging>,
) -> Result<Json<SharePage>, ApiError> {
    // The cursor is "<namespace id>:<path>", the model's own order.
    let after = paging
        .after
        .as_deref()
        .map(|cursor| {
            let (ns, path) = split_cursor(cursor)?;
            Ok::<_, ApiError>((NamespaceId(ns), path))
        })
        .transpose()?;
    let limit = page_size(paging.limit);
    let query = Query::SharesReceived { user: caller.user.id, after, limit };
    let records = shares_of(state.query(query).await?)?;
    let next = next_cursor(&records, limit, |r| format!("{}:{}", r.namespace.0, r.path.as_str()));
    let mut names = Names::default();
    let mut shares = Vec::with_capacity(records.len());
    for record in records {
        let owner = names.owner(&state, record.namespace).await?;
        shares.push(view(record, owner, caller.user.name.clone()));
    }
    Ok(Json(SharePage { shares, next }))
}

fn view(record: ShareRecord, owner: String, user: String) -> ShareView {
    ShareView {
        ns: record.namespace.0,
        path: record.path.as_str().to_owned(),
        owner,
        user,
        role: api_role(record.role),
        created_ms: Some(record.created_ms),
    }
}

fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_SHARE_PAGE).clamp(1, MAX_PAGE)
}

fn split_cursor(cursor: &str) -> Result<(u64, DrivePath), ApiError> {
    let bad = || ApiError::bad_request("`after` must be the `next` of the previous page");
    let (id, path) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((id.parse().map_err(|_| bad())?, DrivePath::from_stored(path).map_err(|_| bad())?))
}

fn next_cursor(
    records: &[ShareRecord],
    limit: usize,
    cursor: impl Fn(&ShareRecord) -> String,
) -> Option<String> {
    (records.len() == limit).then(|| records.last().map(cursor)).flatten()
}

fn shares_of(answer: Answer) -> Result<Vec<ShareRecord>, ApiError> {
    match answer {
        Answer::Shares(records) => Ok(records),
        other => Err(ApiError::internal(format!("unexpected answer to a share listing: {other:?}"))),
    }
}

/// Login names looked up while building one page: a page usually names few distinct people.
#[derive(Default)]
struct Names {
    users: HashMap<UserId, String>,
    owners: HashMap<NamespaceId, String>,
}

impl Names {
    async fn user(&mut self, state: &ApiState, id: UserId) -> Result<String, ApiError> {
        if let Some(name) = self.users.get(&id) {
            return Ok(name.clone());
        }
        let name = match state.query(Query::User(id)).await? {
            Answer::User(Some(user)) => user.name,
            // Users are never deleted; should one be missing, the id still says who it was.
            _ => format!("#{}", id.0),
        };
        self.users.insert(id, name.clone());
        Ok(name)
    }

    async fn owner(&mut self, state: &ApiState, namespace: NamespaceId) -> Result<String, ApiError> {
        if let Some(name) = self.owners.get(&namespace) {
            return Ok(name.clone());
        }
        let name = match state.query(Query::Namespace(namespace)).await? {
            Answer::Namespace(Some(ns)) => self.user(state, ns.owner).await?,
            _ => format!("namespace {}", namespace.0),
        };
        self.owners.insert(namespace, name.clone());
        Ok(name)
    }
}

async fn user_named(state: &ApiState, name: &str) -> Result<User, ApiError> {
    match state.query(Query::UserByName(name.to_owned())).await? {
        Answer::User(Some(user)) => Ok(user),
        Answer::User(None) => Err(ApiError::not_found(format!("there is no user named {name:?}"))),
        other => Err(ApiError::internal(format!("unexpected answer to a user lookup: {other:?}"))),
    }
}

/// Checks that the model answered a command as expected (its refusals are errors already).
pub(super) fn expect(response: Response, ok: impl Fn(&Response) -> bool, what: &str) -> Result<(), ApiError> {
    if ok(&response) {
        Ok(())
    } else {
        Err(ApiError::internal(format!("unexpected answer to {what}: {response:?}")))
    }
}
