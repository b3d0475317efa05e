//! Password sign-in: `POST /v1/sessions` trades a user name and password for a session token
//! that ends when unused for a while (each use renews it) and at the latest after a fixed
//! time; `DELETE /v1/sessions/current` signs out (revokes the token it is sent with).
//!
//! Guessing is limited before any argon2 run: each user name and each client address gets a
//! few attempts, then one every few seconds; past that the answer is 429 with `Retry-After`.
//! An unknown name, a user without a password and a wrong password get the same answer after
//! the same work, so the answers do not tell which names exist.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use cairn_proto::api::{ErrorCode, SessionView, SignIn};
use cairn_raft::model::tokens::{TokenKind, TokenTerms};
use cairn_raft::model::users::Account;
use cairn_raft::model::{Answer, Command, Query, TokenHash};

use crate::auth::Bearer;
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json as ApiJson};
use crate::password::guard::{self, MAX_PASSWORD};
use crate::password::pool;
use crate::state::ApiState;
pub use crate::state::SessionLimits;
use crate::tokens::new_token;
use crate::users::user_view;

/// The routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/sessions", post(sign_in)).route("/sessions/current", delete(sign_out))
}

fn wrong() -> ApiError {
    ApiError::unauthenticated("wrong user name or password")
}

/// `POST /v1/sessions`.
async fn sign_in(
    State(state): State<ApiState>,
    ClientAddr(from): ClientAddr,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    if body.user.is_empty() || body.user.len() > 64 || body.password.len() > MAX_PASSWORD {
        return Err(wrong());
    }
    guard::take_attempt(&body.user, from)?;
    let found = match state.query(Query::SignIn(body.user.clone())).await? {
        Answer::SignIn(found) => found,
        other => return Err(ApiError::internal(format!("unexpected answer to a sign-in: {other:?}"))),
    };
    let Some((user, Account { password: Some(phc), disabled, .. })) = found else {
        pool::verify_nothing(body.password).await?;
        return Err(wrong());
    };
    if !pool::verify(phc, body.password).await? {
        return Err(wrong());
    }
    // Only someone who knows the password learns that the user is disabled.
    if disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::UserDisabled,
            "this user is disabled: an administrator can enable them again",
        ));
    }
    let limits = state.sessions;
    let now_ms = state.clock.now_ms();
    let terms = TokenTerms {
        kind: TokenKind::Session,
        expires_ms: Some(now_ms.saturating_add(limits.max_ms)),
        idle_ms: Some(limits.idle_ms),
        used_ms: now_ms,
    };
    let token = new_token();
    let hash = TokenHash::of(&token);
    let label = body.label.unwrap_or_else(|| "signed in with a password".into());
    let issue = Command::IssueToken { user: user.id, token_hash: hash, label, terms: Some(terms) };
    state.propose_step(issue).await?.into_result()?;
    let view = SessionView {
        token,
        id: hash.to_hex(),
        user: user_view(&user, false),
        idle_s: limits.idle_ms / 1_000,
        expires_ms: now_ms.saturating_add(limits.max_ms),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /v1/sessions/current`: revokes the token the request is sent with.
async fn sign_out(State(state): State<ApiState>, bearer: Bearer) -> Result<StatusCode, ApiError> {
    let revoke = Command::RevokeOwnToken { user: bearer.caller.user.id, token_hash: bearer.hash };
    state.propose_step(revoke).await?.into_result()?;
    Ok(StatusCode::NO_CONTENT)
}
