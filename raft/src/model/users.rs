//! Users and their API tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::drive::{self, NamespaceId};
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A user's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// blake3 of an API token. Only hashes are stored, so a copy of the metadata grants nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        Self(*blake3::hash(token.as_bytes()).as_bytes())
    }
}

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
    let drive = drive::create_drive(txn, id)?;
    txn.put(Space::Users, &id.0.to_be_bytes(), &User { id, name: name.into(), created_ms: time_ms, drive });
    txn.put(Space::UserNames, name.as_bytes(), &id);
    Ok(Response::UserCreated { user: id })
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
    let label: String = label.chars().take(MAX_NAME * 2).collect();
    txn.put(Space::Tokens, &token_hash.0, &TokenRecord { user, label, created_ms: time_ms });
    Ok(Response::TokenAdded)
}

pub(super) fn revoke_token<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    token_hash: &TokenHash,
) -> Result<Response, StateError> {
    if txn.get_raw(Space::Tokens, &token_hash.0)?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchToken));
    }
    txn.delete(Space::Tokens, &token_hash.0);
    Ok(Response::TokenRevoked)
}

/// The user a token belongs to, if the token is registered.
pub fn user_for_token(
    state: &(impl StateRead + ?Sized),
    token: &TokenHash,
) -> Result<Option<User>, StateError> {
    let Some(bytes) = state.get(Space::Tokens, &token.0)? else { return Ok(None) };
    let record: TokenRecord = decode(Space::Tokens, &bytes)?;
    user(state, record.user)
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
