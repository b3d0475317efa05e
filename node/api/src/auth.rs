//! Who is calling: the bearer token of every `/v1` request, checked against the token hashes
//! in the metadata with a linearizable read, so a revoked token, an ended session and a
//! disabled user are refused at once on every node.
//!
//! A session (a password sign-in) ends when unused for a while: while it is used, this node
//! renews it now and then ([`renew`]), never on every request, since each renewal is a Raft
//! write. Open long polls and event streams check their token again as they go ([`Recheck`]),
//! so revoking it ends them within seconds.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::tokens::{Session, TokenKind, TokenTerms};
use cairn_raft::model::{Answer, Command, Query, Rejection, TokenHash, TokenRecord, User};

use super::error::ApiError;
use crate::state::ApiState;

/// The longest token the API reads: ours are 64 hex digits.
const MAX_TOKEN: usize = 256;

/// How often an open stream checks its token again.
pub const RECHECK: Duration = Duration::from_secs(1);

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

/// A caller with the token it presented: what managing one's own tokens, signing out and
/// following a stream until the token is refused need.
#[derive(Debug, Clone)]
pub struct Bearer {
    /// Who.
    pub caller: Caller,
    /// The hash of the token presented.
    pub hash: TokenHash,
    /// Its terms (`None`: a token that never ends).
    pub terms: Option<TokenTerms>,
}

impl Bearer {
    /// Whether the token is a password sign-in's session rather than an API token.
    pub fn is_session(&self) -> bool {
        self.terms.is_some_and(|t| t.kind == TokenKind::Session)
    }
}

impl FromRequestParts<ApiState> for Bearer {
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
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        let hash = TokenHash::of(token);
        let now_ms = state.clock.now_ms();
        let session = match state.query(Query::Session { token: hash, now_ms }).await? {
            Answer::Session(Ok(session)) => session,
            Answer::Session(Err(why)) => return Err(refusal(why)),
            other => {
                return Err(ApiError::internal(format!("unexpected answer to a token lookup: {other:?}")));
            }
        };
        renew(state, hash, session.terms, now_ms);
        let Session { user, token, terms } = session;
        Ok(Self { caller: Caller { user, token }, hash, terms })
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        Ok(Bearer::from_request_parts(parts, state).await?.caller)
    }
}

/// The answer to a token that does not authenticate.
fn refusal(why: Rejection) -> ApiError {
    match why {
        Rejection::UserDisabled(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::UserDisabled,
            "this user is disabled: an administrator can enable them again",
        ),
        Rejection::TokenExpired => {
            ApiError::unauthenticated("the token has expired: sign in again, or make a new token")
        }
        _ => ApiError::unauthenticated("unknown or revoked token"),
    }
}

/// Renews a sliding session once an eighth of its idle time has passed since the last
/// renewal, in the background: the request does not wait for the write, and one renewal per
/// token is in flight at a time on this node.
fn renew(state: &ApiState, hash: TokenHash, terms: Option<TokenTerms>, now_ms: u64) {
    static RENEWING: LazyLock<Mutex<HashSet<TokenHash>>> = LazyLock::new(Default::default);
    let Some(idle_ms) = terms.and_then(|t| t.idle_ms) else { return };
    let used_ms = terms.map_or(0, |t| t.used_ms);
    if now_ms.saturating_sub(used_ms) < idle_ms / 8 {
        return;
    }
    if !RENEWING.lock().is_ok_and(|mut set| set.insert(hash)) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = state.propose_step(Command::TouchToken { token_hash: hash }).await {
            tracing::debug!("renewing a session failed (the next request tries again): {e:?}");
        }
        if let Ok(mut set) = RENEWING.lock() {
            set.remove(&hash);
        }
    });
}

/// An open stream's watch on its token: it ends the stream once the token no longer
/// authenticates (revoked, ended, its user disabled). It reads this node's own state every
/// [`RECHECK`]: revocations reach every node's state within a heartbeat, and a local read costs
/// no Raft round, so a stream can afford it.
pub struct Recheck {
    state: ApiState,
    hash: TokenHash,
    every: tokio::time::Interval,
    last: tokio::time::Instant,
}

impl Recheck {
    /// Watches `bearer`'s token.
    pub fn new(state: &ApiState, bearer: &Bearer) -> Self {
        let mut every = tokio::time::interval(RECHECK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { state: state.clone(), hash: bearer.hash, every, last: tokio::time::Instant::now() }
    }

    /// Resolves with the refusal once the token is refused; for a `select!` beside the wait.
    pub async fn refused(&mut self) -> ApiError {
        loop {
            self.every.tick().await;
            if let Some(refusal) = self.check() {
                return refusal;
            }
        }
    }

    /// The refusal, if a check is due (one [`RECHECK`] after the last) and finds the token
    /// refused: for a stream busy sending, which never waits.
    pub fn due(&mut self) -> Option<ApiError> {
        if self.last.elapsed() < RECHECK {
            return None;
        }
        self.check()
    }

    fn check(&mut self) -> Option<ApiError> {
        self.last = tokio::time::Instant::now();
        let now_ms = self.state.clock.now_ms();
        match self.state.meta.local(&Query::Session { token: self.hash, now_ms }) {
            Ok(Answer::Session(Err(why))) => Some(refusal(why)),
            // A local read that fails says nothing about the token: look again next time.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_why_without_saying_whose() {
        let disabled = refusal(Rejection::UserDisabled(cairn_raft::model::UserId(3)));
        assert_eq!((disabled.status, disabled.code), (StatusCode::FORBIDDEN, ErrorCode::UserDisabled));
        let expired = refusal(Rejection::TokenExpired);
        assert_eq!(expired.code, ErrorCode::Unauthenticated);
        assert!(expired.message.contains("expired"), "{}", expired.message);
        let unknown = refusal(Rejection::NoSuchToken);
        assert_eq!(unknown.message, "unknown or revoked token");
    }
}
