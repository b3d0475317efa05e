//! A user's tokens: `GET /v1/tokens` lists the caller's (API tokens and sessions, never the
//! tokens themselves), `POST /v1/tokens` makes an API token, `DELETE /v1/tokens/{id}` revokes
//! one; administrators do the same for anyone under `/v1/users/{name}/tokens`.
//!
//! A token is not enough to make tokens: that takes a password sign-in's session, or an
//! administrator. So a stolen API token cannot mint others that outlive its revocation.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use cairn_proto::api::{NewToken, TokenInfo, TokenKind as KindView, TokenView};
use cairn_raft::model::tokens::{MAX_TOKEN_LABEL, TokenEntry, TokenKind, TokenTerms};
use cairn_raft::model::{Answer, Command, Query, TokenHash, User};

use crate::auth::Bearer;
use crate::error::ApiError;
use crate::extract::Json as ApiJson;
use crate::state::ApiState;

/// The longest expiry an API token may be given: ten years.
pub const MAX_EXPIRES_IN_S: u64 = 10 * 365 * 24 * 3_600;

/// The routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/tokens", get(list_own).post(add_own))
        .route("/tokens/{id}", delete(revoke_own))
        .route("/users/{name}/tokens", get(list_for).post(add_for))
        .route("/users/{name}/tokens/{id}", delete(revoke_for))
}

/// `GET /v1/tokens`.
async fn list_own(State(state): State<ApiState>, bearer: Bearer) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    list(&state, &bearer.caller.user, Some(bearer.hash)).await
}

/// `POST /v1/tokens`.
async fn add_own(
    State(state): State<ApiState>,
    bearer: Bearer,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let user = bearer.caller.user.clone();
    add(&state, &bearer, &user, new).await
}

/// `DELETE /v1/tokens/{id}`.
async fn revoke_own(
    State(state): State<ApiState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = bearer.caller.user.id;
    let revoke = Command::RevokeOwnToken { user, token_hash: parse_id(&id)? };
    state.propose_step(revoke).await?.into_result()?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/users/{name}/tokens`: the user themself or an administrator.
async fn list_for(
    State(state): State<ApiState>,
    bearer: Bearer,
    Path(name): Path<String>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let user = target(&state, &bearer, &name).await?;
    list(&state, &user, Some(bearer.hash)).await
}

/// `POST /v1/users/{name}/tokens`: the user themself (signed in with a password) or an
/// administrator.
pub async fn add_for(
    State(state): State<ApiState>,
    bearer: Bearer,
    Path(name): Path<String>,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let user = target(&state, &bearer, &name).await?;
    add(&state, &bearer, &user, new).await
}

/// `DELETE /v1/users/{name}/tokens/{id}`: the user themself or an administrator.
async fn revoke_for(
    State(state): State<ApiState>,
    bearer: Bearer,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = target(&state, &bearer, &name).await?;
    let revoke = Command::RevokeOwnToken { user: user.id, token_hash: parse_id(&id)? };
    state.propose_step(revoke).await?.into_result()?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user `name`, whom the caller may manage: themself, or anyone for an administrator.
async fn target(state: &ApiState, bearer: &Bearer, name: &str) -> Result<User, ApiError> {
    if bearer.caller.user.name != name {
        bearer.caller.require_admin()?;
    }
    match state.query(Query::UserByName(name.to_owned())).await? {
        Answer::User(Some(user)) => Ok(user),
        _ => Err(ApiError::not_found(format!("no user named {name:?}"))),
    }
}

async fn list(
    state: &ApiState,
    user: &User,
    current: Option<TokenHash>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let entries = match state.query(Query::TokenList { user: user.id }).await? {
        Answer::TokenList(entries) => entries,
        other => return Err(ApiError::internal(format!("unexpected answer to a token list: {other:?}"))),
    };
    let now_ms = state.clock.now_ms();
    let mut infos: Vec<TokenInfo> = entries
        .into_iter()
        // An ended token the expiry index has not deleted yet is listed by nobody.
        .filter(|e| e.terms.and_then(|t| t.ends_ms()).is_none_or(|end| end > now_ms))
        .map(|e| info(e, current))
        .collect();
    infos.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(Json(infos))
}

fn info(entry: TokenEntry, current: Option<TokenHash>) -> TokenInfo {
    let kind = match entry.terms.map(|t| t.kind) {
        Some(TokenKind::Session) => KindView::Session,
        Some(TokenKind::Api) | None => KindView::Api,
    };
    TokenInfo {
        id: entry.hash.to_hex(),
        label: entry.record.label,
        kind,
        created_ms: entry.record.created_ms,
        expires_ms: entry.terms.and_then(|t| t.ends_ms()),
        current: current == Some(entry.hash),
    }
}

async fn add(
    state: &ApiState,
    bearer: &Bearer,
    user: &User,
    new: NewToken,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    if !bearer.caller.user.admin && !bearer.is_session() {
        return Err(ApiError::forbidden(
            "making a token takes a password sign-in (`cairn login`), not another token",
        ));
    }
    if new.label.len() > MAX_TOKEN_LABEL {
        return Err(ApiError::bad_request(format!("a token label is at most {MAX_TOKEN_LABEL} bytes")));
    }
    let now_ms = state.clock.now_ms();
    let expires_ms = match new.expires_in_s {
        Some(0) => return Err(ApiError::bad_request("expires_in_s must be at least 1")),
        Some(s) if s > MAX_EXPIRES_IN_S => {
            return Err(ApiError::bad_request(format!(
                "expires_in_s is at most {MAX_EXPIRES_IN_S} (ten years)"
            )));
        }
        Some(s) => Some(now_ms.saturating_add(s * 1_000)),
        None => None,
    };
    let terms = TokenTerms { kind: TokenKind::Api, expires_ms, idle_ms: None, used_ms: now_ms };
    let token = new_token();
    let hash = TokenHash::of(&token);
    let issue =
        Command::IssueToken { user: user.id, token_hash: hash, label: new.label.clone(), terms: Some(terms) };
    state.propose_step(issue).await?.into_result()?;
    let view = TokenView { token, label: new.label, user: user.id.0, id: hash.to_hex(), expires_ms };
    Ok((StatusCode::CREATED, Json(view)))
}

fn parse_id(id: &str) -> Result<TokenHash, ApiError> {
    TokenHash::from_hex(id).ok_or_else(|| {
        ApiError::bad_request(format!("{id:?} is not a token id (64 hex digits, from GET /v1/tokens)"))
    })
}

/// A new token: 32 random bytes, hex. 256 bits, beyond guessing.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}
