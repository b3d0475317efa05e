//! Users and their API tokens.

use serde::{Deserialize, Serialize};

use super::commit;
use super::ids::{NamespaceId, TokenHash, UserId};
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The login name.
    pub name: String,
    /// When the user was created (ms since the epoch).
    pub created_ms: u64,
    /// The user's own drive.
    pub drive: NamespaceId,
    /// Whether the user administers the cluster's users. The model only records it; the API
    /// decides what an administrator may do.
    pub admin: bool,
}

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

const MAX_NAME: usize = 64;

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

fn check_name(name: &str) -> Result<(), Rejection> {
    let invalid = |reason: &str| Rejection::InvalidName { name: name.into(), reason: reason.into() };
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(invalid("must be 1 to 64 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)) {
        return Err(invalid("may contain only a-z, 0-9, '.', '_' and '-'"));
    }
    Ok(())
}

pub(super) fn create_user<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    name: &str,
) -> Result<Response, StateError> {
    if let Err(rejection) = check_name(name) {
        return Ok(Response::Rejected(rejection));
    }
    if txn.get_raw(Space::UserNames, name.as_bytes())?.is_some() {
        return Ok(Response::Rejected(Rejection::NameTaken(name.into())));
    }
    let id = UserId(txn.next_id("user")?);
    let drive = commit::create_drive(txn, id)?;
    let user = User { id, name: name.into(), created_ms: time_ms, drive, admin: false };
    txn.put(Space::Users, &id.0.to_be_bytes(), &user);
    txn.put(Space::UserNames, name.as_bytes(), &id);
    Ok(Response::UserCreated { user: id })
}

pub(super) fn set_admin<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    id: UserId,
    admin: bool,
) -> Result<Response, StateError> {
    let Some(mut record) = user(txn, id)? else {
        return Ok(Response::Rejected(Rejection::NoSuchUser(id)));
    };
    record.admin = admin;
    txn.put(Space::Users, &id.0.to_be_bytes(), &record);
    Ok(Response::AdminSet)
}

pub(super) fn add_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    user: UserId,
    token_hash: &TokenHash,
    label: &str,
) -> Result<Response, StateError> {
    if txn.get_raw(Space::Users, &user.0.to_be_bytes())?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchUser(user)));
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
    Ok(Response::TokenAdded)
}

/// Revokes any token: the API lets administrators do this.
pub(super) fn revoke_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    token_hash: &TokenHash,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<TokenRecord>(Space::Tokens, &token_hash.0)? else {
        return Ok(Response::Rejected(Rejection::NoSuchToken));
    };
    delete_token(txn, record.user, token_hash);
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
            delete_token(txn, user, token_hash);
            Ok(Response::TokenRevoked)
        }
        _ => Ok(Response::Rejected(Rejection::NoSuchToken)),
    }
}

fn delete_token<R: StateRead + ?Sized>(txn: &mut Txn<R>, user: UserId, token_hash: &TokenHash) {
    txn.delete(Space::Tokens, &token_hash.0);
    txn.delete(Space::UserTokens, &user_token_key(user, token_hash));
}

/// The user a token belongs to and the token's record, if the token is registered: what the
/// API needs to authenticate a request and to say which token made it.
pub fn authenticate(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
) -> Result<Option<(User, TokenRecord)>, StateError> {
    let Some(bytes) = state.get(Space::Tokens, &token.0)? else { return Ok(None) };
    let record: TokenRecord = decode(Space::Tokens, &bytes)?;
    Ok(user(state, record.user)?.map(|user| (user, record)))
}

/// A user's tokens, by hash; all of them, since a user holds at most [`MAX_TOKENS_PER_USER`].
pub fn tokens(
    state: &(impl StateRead + ?Sized),
    user: UserId,
) -> Result<Vec<(TokenHash, TokenRecord)>, StateError> {
    let mut out = Vec::new();
    for (key, _) in state.scan(Space::UserTokens, &user.0.to_be_bytes(), None, MAX_TOKENS_PER_USER)? {
        // Keys are (user, hash), 40 bytes; anything else was not written by this version.
        let Some(Ok(hash)) = key.get(8..).map(<[u8; 32]>::try_from) else {
            return Err(StateError::Decode {
                space: Space::UserTokens,
                message: "key is not 40 bytes".into(),
            });
        };
        if let Some(bytes) = state.get(Space::Tokens, &hash)? {
            out.push((TokenHash(hash), decode(Space::Tokens, &bytes)?));
        }
    }
    Ok(out)
}

/// The user a token belongs to, if the token is registered.
pub fn user_for_token(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
) -> Result<Option<User>, StateError> {
    Ok(authenticate(state, token)?.map(|(user, _)| user))
}

/// A user by id.
pub fn user(state: &(impl StateRead + ?Sized), id: UserId) -> Result<Option<User>, StateError> {
    state.get(Space::Users, &id.0.to_be_bytes())?.map(|b| decode(Space::Users, &b)).transpose()
}

/// A user by name.
pub fn user_by_name(state: &(impl StateRead + ?Sized), name: &str) -> Result<Option<User>, StateError> {
    let Some(bytes) = state.get(Space::UserNames, name.as_bytes())? else { return Ok(None) };
    user(state, decode(Space::UserNames, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{ADA, BOB, World};
    use crate::model::{Answer, Command, Query, answer};

    fn add(user: UserId, token: &str, label: &str) -> Command {
        Command::AddToken { user, token_hash: TokenHash::of(token), label: label.into() }
    }

    fn listed(w: &World, user: UserId) -> Vec<(TokenHash, String)> {
        let Answer::Tokens(tokens) = answer(&w.state, &Query::Tokens { user }).unwrap() else { panic!() };
        tokens.into_iter().map(|(hash, record)| (hash, record.label)).collect()
    }

    #[test]
    fn users_start_without_admin_rights_which_can_be_set_and_cleared() {
        let mut w = World::new();
        assert!(!user(&w.state, ADA).unwrap().unwrap().admin);
        assert_eq!(w.run(Command::SetAdmin { user: ADA, admin: true }), Response::AdminSet);
        assert!(user(&w.state, ADA).unwrap().unwrap().admin);
        assert!(!user(&w.state, BOB).unwrap().unwrap().admin);
        assert_eq!(w.run(Command::SetAdmin { user: ADA, admin: false }), Response::AdminSet);
        assert!(!user_by_name(&w.state, "ada").unwrap().unwrap().admin);
        assert_eq!(
            w.run(Command::SetAdmin { user: UserId(9), admin: true }),
            Response::Rejected(Rejection::NoSuchUser(UserId(9)))
        );
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
}
