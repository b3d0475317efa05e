//! Who is calling: the bearer token of every `/v1` request, checked against the token hashes
//! in the metadata (a linearizable read, so a revoked token stops working at once).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cairn_raft::model::users::TokenRecord;
use cairn_raft::model::{Answer, Query, TokenHash, User};

use super::error::ApiError;
use crate::state::ApiState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user the token belongs to.
    pub user: User,
    /// The token's record (its label).
    pub token: TokenRecord,
}

impl Caller {
    /// Refuses callers who are not administrators.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.admin { Ok(()) } else { Err(ApiError::forbidden("only an administrator may do this")) }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated("an Authorization: Bearer <token> header is required")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        match state.meta.query(&Query::UserByToken(TokenHash::of(token))).await? {
            Answer::Authenticated(Some((user, token))) => Ok(Self { user, token }),
            Answer::Authenticated(None) => Err(ApiError::unauthenticated("unknown or revoked token")),
            other => Err(ApiError::internal(format!("unexpected answer to a token lookup: {other:?}"))),
        }
    }
}
