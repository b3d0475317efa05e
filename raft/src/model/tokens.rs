//! Tokens: API tokens for programs and sessions for people, stored by hash, each with the terms
//! that end it; and authentication, which checks a token, its terms and its user's account.
//!
//! A token made before terms existed has none and never expires, like an API token made
//! without an expiry. Terms with an end are also listed in the expiry index, so an ended token
//! is deleted by a later request; until then [`session`] refuses it by the reader's clock.

use serde::{Deserialize, Serialize};

use super::expiry;
use super::ids::{TokenHash, UserId};
use super::txn::decode;
use super::users::{self, User};
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A token as stored, under its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Whose token.
    pub user: UserId,
    /// What it is for.
    pub label: String,
    /// When it was registered.
    pub created_ms: u64,
}

/// What a token is for, which decides how it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    /// A program's token, made on purpose and kept until it expires or is revoked.
    Api,
    /// A person's sign-in with a password: it ends when unused for a while, at its latest end,
    /// or when the password changes.
    Session,
}

/// When a token stops working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTerms {
    /// What the token is for.
    pub kind: TokenKind,
    /// The latest end (ms since the epoch), if any.
    pub expires_ms: Option<u64>,
    /// A sliding end: the token ends this long after `used_ms`, which use renews.
    pub idle_ms: Option<u64>,
    /// When the token was made or last renewed (ms since the epoch).
    pub used_ms: u64,
}

impl TokenTerms {
    /// When the token ends, if ever: the earlier of its latest end and its idle end.
    pub fn ends_ms(&self) -> Option<u64> {
        let idle_end = self.idle_ms.map(|idle| self.used_ms.saturating_add(idle));
        match (self.expires_ms, idle_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A token that authenticates: whose it is, its record and its terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The token's record.
    pub token: TokenRecord,
    /// Its terms (`None`: a token that never ends).
    pub terms: Option<TokenTerms>,
}

/// A token in its user's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// The token's hash: its name in the list, and what revoking it takes.
    pub hash: TokenHash,
    /// The record.
    pub record: TokenRecord,
    /// The terms (`None`: a token that never ends).
    pub terms: Option<TokenTerms>,
}

/// The longest token label, in bytes.
pub const MAX_TOKEN_LABEL: usize = 64;

/// The most tokens one user may hold: as many as one page of [`Query::Tokens`] returns, so the
/// listing a user revokes from is always complete.
///
/// [`Query::Tokens`]: super::Query::Tokens
pub const MAX_TOKENS_PER_USER: usize = 1_000;

/// (user, token hash): a user's tokens are one range of [`Space::UserTokens`].
fn user_token_key(user: UserId, token: &TokenHash) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&user.0.to_be_bytes());
    key[8..].copy_from_slice(&token.0);
    key
}

/// Registers a token without terms (the command of releases before terms existed).
pub(super) fn add_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    user: UserId,
    token_hash: &TokenHash,
    label: &str,
) -> Result<Response, StateError> {
    issue_token(txn, time_ms, user, token_hash, label, None)
}

/// Registers a token for `user` under `terms`, whose `used_ms` is set to the request's time.
pub(super) fn issue_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    user: UserId,
    token_hash: &TokenHash,
    label: &str,
    terms: Option<TokenTerms>,
) -> Result<Response, StateError> {
    if users::user(txn, user)?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchUser(user)));
    }
    if users::account(txn, user)?.disabled {
        return Ok(Response::Rejected(Rejection::UserDisabled(user)));
    }
    if txn.get_raw(Space::Tokens, &token_hash.0)?.is_some() {
        return Ok(Response::Rejected(Rejection::TokenExists));
    }
    // A label cut short silently would not be the one the user typed, so a long one is refused.
    // The refusal quotes only its start: it is stored with the request's outcome.
    if label.len() > MAX_TOKEN_LABEL {
        return Ok(Response::Rejected(Rejection::InvalidName {
            name: label.chars().take(MAX_TOKEN_LABEL).collect(),
            reason: format!("a token label is at most {MAX_TOKEN_LABEL} bytes"),
        }));
    }
    let terms = terms.map(|terms| TokenTerms { used_ms: time_ms, ..terms });
    if let Some(end) = terms.and_then(|t| t.ends_ms())
        && end <= time_ms
    {
        return Ok(Response::Rejected(Rejection::ExpiryInPast { expires_ms: end, now_ms: time_ms }));
    }
    let held = txn.scan(Space::UserTokens, &user.0.to_be_bytes(), None, MAX_TOKENS_PER_USER)?;
    if held.len() >= MAX_TOKENS_PER_USER {
        return Ok(Response::Rejected(Rejection::TooLarge {
            what: format!("the tokens of user {user}"),
            limit: MAX_TOKENS_PER_USER as u64,
        }));
    }
    let record = TokenRecord { user, label: label.into(), created_ms: time_ms };
    txn.put(Space::Tokens, &token_hash.0, &record);
    txn.put_raw(Space::UserTokens, &user_token_key(user, token_hash), Vec::new());
    if let Some(terms) = terms {
        txn.put(Space::TokenTerms, &token_hash.0, &terms);
        schedule_end(txn, user, token_hash, &terms);
    }
    Ok(Response::TokenAdded)
}

/// Renews a sliding token's idle end from the request's time. A token without an idle end is
/// left as it is; one that has ended already stays ended.
pub(super) fn touch_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    token_hash: &TokenHash,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<TokenRecord>(Space::Tokens, &token_hash.0)? else {
        return Ok(Response::Rejected(Rejection::NoSuchToken));
    };
    let Some(mut terms) = txn.get::<TokenTerms>(Space::TokenTerms, &token_hash.0)? else {
        return Ok(Response::TokenTouched);
    };
    if terms.ends_ms().is_some_and(|end| end <= time_ms) {
        return Ok(Response::Rejected(Rejection::TokenExpired));
    }
    if terms.idle_ms.is_none() || time_ms <= terms.used_ms {
        return Ok(Response::TokenTouched);
    }
    cancel_end(txn, token_hash, &terms);
    terms.used_ms = time_ms;
    txn.put(Space::TokenTerms, &token_hash.0, &terms);
    schedule_end(txn, record.user, token_hash, &terms);
    Ok(Response::TokenTouched)
}

/// Revokes any token: the API lets administrators do this.
pub(super) fn revoke_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    token_hash: &TokenHash,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<TokenRecord>(Space::Tokens, &token_hash.0)? else {
        return Ok(Response::Rejected(Rejection::NoSuchToken));
    };
    delete_token(txn, record.user, token_hash)?;
    Ok(Response::TokenRevoked)
}

/// Revokes one of `user`'s own tokens. Someone else's token is answered exactly like a token
/// that does not exist, so the command cannot be used to learn which hashes are registered.
pub(super) fn revoke_own_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    token_hash: &TokenHash,
) -> Result<Response, StateError> {
    match txn.get::<TokenRecord>(Space::Tokens, &token_hash.0)? {
        Some(record) if record.user == user => {
            delete_token(txn, user, token_hash)?;
            Ok(Response::TokenRevoked)
        }
        _ => Ok(Response::Rejected(Rejection::NoSuchToken)),
    }
}

fn delete_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    token_hash: &TokenHash,
) -> Result<(), StateError> {
    if let Some(terms) = txn.get::<TokenTerms>(Space::TokenTerms, &token_hash.0)? {
        cancel_end(txn, token_hash, &terms);
    }
    txn.delete(Space::Tokens, &token_hash.0);
    txn.delete(Space::UserTokens, &user_token_key(user, token_hash));
    txn.delete(Space::TokenTerms, &token_hash.0);
    Ok(())
}

/// Lists an ended token in the expiry index, with its list entry and terms to go with it.
fn schedule_end<R: StateRead + ?Sized>(txn: &mut Txn<R>, user: UserId, hash: &TokenHash, terms: &TokenTerms) {
    if let Some(end) = terms.ends_ms() {
        let also =
            [(Space::UserTokens, user_token_key(user, hash).to_vec()), (Space::TokenTerms, hash.0.to_vec())];
        expiry::schedule(txn, end, Space::Tokens, &hash.0, &also);
    }
}

fn cancel_end<R: StateRead + ?Sized>(txn: &mut Txn<R>, hash: &TokenHash, terms: &TokenTerms) {
    if let Some(end) = terms.ends_ms() {
        expiry::cancel(txn, end, Space::Tokens, &hash.0);
    }
}

/// Authenticates `token` at the reader's time `now_ms`: the session, or why the token is
/// refused — unknown or revoked ([`Rejection::NoSuchToken`]), ended by its terms or, for a
/// session, by a password change since ([`Rejection::TokenExpired`]), or its user disabled
/// ([`Rejection::UserDisabled`]).
pub fn session(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
    now_ms: u64,
) -> Result<Result<Session, Rejection>, StateError> {
    let Some(bytes) = state.get(Space::Tokens, &token.0)? else { return Ok(Err(Rejection::NoSuchToken)) };
    let record: TokenRecord = decode(Space::Tokens, &bytes)?;
    let Some(user) = users::user(state, record.user)? else { return Ok(Err(Rejection::NoSuchToken)) };
    let terms: Option<TokenTerms> =
        state.get(Space::TokenTerms, &token.0)?.map(|b| decode(Space::TokenTerms, &b)).transpose()?;
    let account = users::account(state, user.id)?;
    if terms.is_some_and(|t| t.ends_ms().is_some_and(|end| end <= now_ms)) {
        return Ok(Err(Rejection::TokenExpired));
    }
    if terms.is_some_and(|t| t.kind == TokenKind::Session) && record.created_ms < account.sessions_from_ms {
        return Ok(Err(Rejection::TokenExpired));
    }
    if account.disabled {
        return Ok(Err(Rejection::UserDisabled(user.id)));
    }
    Ok(Ok(Session { user, token: record, terms }))
}

/// The user a token belongs to and the token's record, if the token is registered, whatever
/// its terms: the answer to [`Query::UserByToken`](super::Query::UserByToken), which nodes of
/// earlier releases ask. [`session`] is what authenticates.
pub fn authenticate(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
) -> Result<Option<(User, TokenRecord)>, StateError> {
    let Some(bytes) = state.get(Space::Tokens, &token.0)? else { return Ok(None) };
    let record: TokenRecord = decode(Space::Tokens, &bytes)?;
    Ok(users::user(state, record.user)?.map(|user| (user, record)))
}

/// A user's tokens with their terms; all of them, since a user holds at most
/// [`MAX_TOKENS_PER_USER`]. Ended tokens the expiry index has not deleted yet are listed too;
/// their terms say they ended.
pub fn token_list(state: &(impl StateRead + ?Sized), user: UserId) -> Result<Vec<TokenEntry>, StateError> {
    let mut out = Vec::new();
    for (key, _) in state.scan(Space::UserTokens, &user.0.to_be_bytes(), None, MAX_TOKENS_PER_USER)? {
        // Keys are (user, hash), 40 bytes; anything else was not written by this version.
        let Some(Ok(hash)) = key.get(8..).map(<[u8; 32]>::try_from) else {
            return Err(StateError::Decode {
                space: Space::UserTokens,
                message: "key is not 40 bytes".into(),
            });
        };
        let Some(bytes) = state.get(Space::Tokens, &hash)? else { continue };
        let terms =
            state.get(Space::TokenTerms, &hash)?.map(|b| decode(Space::TokenTerms, &b)).transpose()?;
        out.push(TokenEntry { hash: TokenHash(hash), record: decode(Space::Tokens, &bytes)?, terms });
    }
    Ok(out)
}

/// A user's tokens, by hash, without their terms: the answer to
/// [`Query::Tokens`](super::Query::Tokens), which nodes of earlier releases ask.
pub fn tokens(
    state: &(impl StateRead + ?Sized),
    user: UserId,
) -> Result<Vec<(TokenHash, TokenRecord)>, StateError> {
    Ok(token_list(state, user)?.into_iter().map(|entry| (entry.hash, entry.record)).collect())
}

/// The user a token belongs to, if the token is registered.
pub fn user_for_token(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
) -> Result<Option<User>, StateError> {
    Ok(authenticate(state, token)?.map(|(user, _)| user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{ADA, BOB, World};
    use crate::model::users::account;
    use crate::model::{Answer, Command, PRUNE_PER_APPLY, Query, answer};

    fn add(user: UserId, token: &str, label: &str) -> Command {
        Command::AddToken { user, token_hash: TokenHash::of(token), label: label.into() }
    }

    fn listed(w: &World, user: UserId) -> Vec<(TokenHash, String)> {
        let Answer::Tokens(tokens) = answer(&w.state, &Query::Tokens { user }).unwrap() else { panic!() };
        tokens.into_iter().map(|(hash, record)| (hash, record.label)).collect()
    }

    #[test]
    fn a_token_authenticates_as_its_user_with_its_record_until_revoked() {
        let mut w = World::new();
        w.now = 5_000;
        assert_eq!(w.run(add(ADA, "t-ada", "laptop")), Response::TokenAdded);
        let ask =
            |w: &World, token: &str| answer(&w.state, &Query::UserByToken(TokenHash::of(token))).unwrap();
        let Answer::Authenticated(Some((who, record))) = ask(&w, "t-ada") else { panic!() };
        assert_eq!((who.id, who.name.as_str()), (ADA, "ada"));
        assert_eq!(record, TokenRecord { user: ADA, label: "laptop".into(), created_ms: 5_000 });
        assert_eq!(ask(&w, "unknown"), Answer::Authenticated(None));
        let revoke = Command::RevokeToken { token_hash: TokenHash::of("t-ada") };
        assert_eq!(w.run(revoke), Response::TokenRevoked);
        assert_eq!(ask(&w, "t-ada"), Answer::Authenticated(None));
        // Revoking also took the token out of its user's list.
        assert!(listed(&w, ADA).is_empty());
    }

    #[test]
    fn users_list_and_revoke_their_own_tokens_only() {
        let mut w = World::new();
        w.run(add(ADA, "a1", "laptop"));
        w.run(add(ADA, "a2", "phone"));
        w.run(add(BOB, "b1", "desk"));
        let mut expected =
            vec![(TokenHash::of("a1"), "laptop".to_string()), (TokenHash::of("a2"), "phone".into())];
        expected.sort();
        assert_eq!(listed(&w, ADA), expected);
        assert_eq!(listed(&w, BOB), [(TokenHash::of("b1"), "desk".to_string())]);
        assert!(listed(&w, UserId(9)).is_empty());

        // Bob cannot revoke Ada's token, and learns no more than if it did not exist.
        let bobs_try = Command::RevokeOwnToken { user: BOB, token_hash: TokenHash::of("a1") };
        assert_eq!(w.run(bobs_try), Response::Rejected(Rejection::NoSuchToken));
        assert_eq!(user_for_token(&w.state, &TokenHash::of("a1")).unwrap().unwrap().id, ADA);
        let unknown = Command::RevokeOwnToken { user: BOB, token_hash: TokenHash::of("zz") };
        assert_eq!(w.run(unknown), Response::Rejected(Rejection::NoSuchToken));

        let own = Command::RevokeOwnToken { user: ADA, token_hash: TokenHash::of("a1") };
        assert_eq!(w.run(own.clone()), Response::TokenRevoked);
        assert_eq!(user_for_token(&w.state, &TokenHash::of("a1")).unwrap(), None);
        assert_eq!(listed(&w, ADA), [(TokenHash::of("a2"), "phone".to_string())]);
        assert_eq!(w.run(own), Response::Rejected(Rejection::NoSuchToken));
    }

    #[test]
    fn long_labels_are_refused_not_cut() {
        let mut w = World::new();
        assert_eq!(w.run(add(ADA, "a", &"x".repeat(MAX_TOKEN_LABEL))), Response::TokenAdded);
        // 33 two-byte characters: 66 bytes, though fewer than 64 characters.
        for (token, label) in [("b", "x".repeat(MAX_TOKEN_LABEL + 1)), ("c", "é".repeat(33))] {
            let Response::Rejected(Rejection::InvalidName { name, reason }) = w.run(add(ADA, token, &label))
            else {
                panic!("{label:?} was accepted")
            };
            assert!(reason.contains("64 bytes"), "{reason}");
            assert!(label.starts_with(&name) && name.chars().count() <= MAX_TOKEN_LABEL);
            assert_eq!(user_for_token(&w.state, &TokenHash::of(token)).unwrap(), None);
        }
        assert_eq!(listed(&w, ADA).len(), 1);
    }

    #[test]
    fn a_user_holds_at_most_one_page_of_tokens() {
        let mut w = World::new();
        for i in 0..MAX_TOKENS_PER_USER {
            assert_eq!(w.run(add(ADA, &format!("t{i}"), "")), Response::TokenAdded);
        }
        assert_eq!(
            w.run(add(ADA, "one-too-many", "")),
            Response::Rejected(Rejection::TooLarge {
                what: "the tokens of user 1".into(),
                limit: MAX_TOKENS_PER_USER as u64
            })
        );
        assert_eq!(listed(&w, ADA).len(), MAX_TOKENS_PER_USER);
        // Bob is not affected, and Ada may add one once she revoked one.
        assert_eq!(w.run(add(BOB, "b", "")), Response::TokenAdded);
        w.run(Command::RevokeOwnToken { user: ADA, token_hash: TokenHash::of("t7") });
        assert_eq!(w.run(add(ADA, "one-too-many", "")), Response::TokenAdded);
    }

    fn issue(
        user: UserId,
        token: &str,
        kind: TokenKind,
        expires_ms: Option<u64>,
        idle_ms: Option<u64>,
    ) -> Command {
        Command::IssueToken {
            user,
            token_hash: TokenHash::of(token),
            label: "t".into(),
            terms: Some(TokenTerms { kind, expires_ms, idle_ms, used_ms: 0 }),
        }
    }

    fn check(w: &World, token: &str, now_ms: u64) -> Result<UserId, Rejection> {
        session(&w.state, &TokenHash::of(token), now_ms).unwrap().map(|s| s.user.id)
    }

    #[test]
    fn a_token_with_an_expiry_is_refused_from_then_on_and_later_deleted() {
        let mut w = World::new();
        w.now = 10_000;
        assert_eq!(w.run(issue(ADA, "api", TokenKind::Api, Some(20_000), None)), Response::TokenAdded);
        assert_eq!(check(&w, "api", 19_999), Ok(ADA));
        assert_eq!(check(&w, "api", 20_000), Err(Rejection::TokenExpired));
        // An end in the past is refused, not stored.
        let past = issue(ADA, "old", TokenKind::Api, Some(10_000), None);
        assert_eq!(
            w.run(past),
            Response::Rejected(Rejection::ExpiryInPast { expires_ms: 10_000, now_ms: 10_000 })
        );
        assert_eq!(check(&w, "old", 0), Err(Rejection::NoSuchToken));
        // Later requests delete the ended token with its list entry and terms.
        w.now = 30_000;
        for _ in 0..PRUNE_PER_APPLY {
            w.run(Command::CreateUser { name: format!("u{}", w.now) });
            w.now += 1;
        }
        assert_eq!(check(&w, "api", 0), Err(Rejection::NoSuchToken));
        assert!(token_list(&w.state, ADA).unwrap().is_empty());
        assert!(!w.state.keys().any(|(space, _)| *space == Space::TokenTerms));
    }

    #[test]
    fn a_session_slides_while_used_and_ends_when_idle_or_at_its_latest_end() {
        let mut w = World::new();
        w.now = 1_000;
        let start = issue(ADA, "s", TokenKind::Session, Some(30_000), Some(10_000));
        assert_eq!(w.run(start), Response::TokenAdded);
        assert_eq!(check(&w, "s", 10_999), Ok(ADA));
        assert_eq!(check(&w, "s", 11_000), Err(Rejection::TokenExpired));
        let touch = || Command::TouchToken { token_hash: TokenHash::of("s") };
        w.now = 9_000;
        assert_eq!(w.run(touch()), Response::TokenTouched);
        assert_eq!(check(&w, "s", 18_999), Ok(ADA));
        assert_eq!(check(&w, "s", 19_000), Err(Rejection::TokenExpired));
        w.now = 18_000;
        assert_eq!(w.run(touch()), Response::TokenTouched);
        // Use renews the idle end, never past the latest end.
        w.now = 25_000;
        assert_eq!(w.run(touch()), Response::TokenTouched);
        assert_eq!(check(&w, "s", 29_999), Ok(ADA));
        assert_eq!(check(&w, "s", 30_000), Err(Rejection::TokenExpired));
        w.now = 30_000;
        assert_eq!(w.run(touch()), Response::Rejected(Rejection::TokenExpired));
        let unknown = Command::TouchToken { token_hash: TokenHash::of("zz") };
        assert_eq!(w.run(unknown), Response::Rejected(Rejection::NoSuchToken));
    }

    #[test]
    fn a_new_password_ends_sessions_but_not_api_tokens() {
        let mut w = World::new();
        w.now = 1_000;
        w.run(issue(ADA, "session", TokenKind::Session, None, Some(1_000_000)));
        w.run(issue(ADA, "program", TokenKind::Api, None, None));
        w.run(add(ADA, "legacy", "made before terms"));
        w.now = 2_000;
        w.run(Command::SetPassword { user: ADA, password_hash: Some("$argon2id$new".into()) });
        assert_eq!(check(&w, "session", 2_000), Err(Rejection::TokenExpired));
        assert_eq!(check(&w, "program", 2_000), Ok(ADA));
        assert_eq!(check(&w, "legacy", 2_000), Ok(ADA));
        // A session made with the new password works.
        w.run(issue(ADA, "session2", TokenKind::Session, None, Some(1_000_000)));
        assert_eq!(check(&w, "session2", 2_000), Ok(ADA));
    }

    #[test]
    fn a_disabled_user_is_refused_and_gets_no_new_tokens_until_enabled() {
        let mut w = World::new();
        w.run(add(BOB, "b", "desk"));
        assert_eq!(w.run(Command::SetDisabled { user: BOB, disabled: true }), Response::DisabledSet);
        assert!(account(&w.state, BOB).unwrap().disabled);
        assert_eq!(check(&w, "b", w.now), Err(Rejection::UserDisabled(BOB)));
        assert_eq!(w.run(add(BOB, "b2", "")), Response::Rejected(Rejection::UserDisabled(BOB)));
        assert_eq!(w.run(Command::SetDisabled { user: BOB, disabled: false }), Response::DisabledSet);
        assert_eq!(check(&w, "b", w.now), Ok(BOB));
        assert_eq!(check(&w, "b", w.now), Ok(BOB));
    }

    #[test]
    fn revoking_a_token_with_an_end_also_forgets_its_expiry() {
        let mut w = World::new();
        w.run(issue(ADA, "x", TokenKind::Api, Some(50_000), None));
        let expiries = |w: &World| w.state.keys().filter(|(space, _)| *space == Space::Expiries).count();
        let before = expiries(&w);
        assert_eq!(
            w.run(Command::RevokeOwnToken { user: ADA, token_hash: TokenHash::of("x") }),
            Response::TokenRevoked
        );
        // The revoke's own request record adds one entry; the token's is gone.
        assert_eq!(expiries(&w), before);
        let listed = token_list(&w.state, ADA).unwrap();
        assert!(listed.is_empty());
    }
}
