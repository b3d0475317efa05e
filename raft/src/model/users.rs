//! Users and how they sign in: the user records, each one's account (password hash, whether
//! it is disabled), and the rule that a cluster always keeps an administrator who can sign in.
//! Tokens, which depend on all this, are in [`tokens`](super::tokens).

use serde::{Deserialize, Serialize};

use super::commit;
use super::ids::{NamespaceId, UserId};
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

/// How a user signs in, kept apart from [`User`] so that a user record, which is listed and
/// passed around, never carries a password hash. A user without one is [`Account::default`]:
/// no password, enabled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The password as an argon2id PHC string (`$argon2id$v=19$…`), hashed by the node that
    /// took the password; `None`: the user cannot sign in with a password.
    pub password: Option<String>,
    /// A disabled user's tokens and sessions are refused, and they cannot sign in.
    pub disabled: bool,
    /// Sessions (not API tokens) issued before this time are no longer valid: setting a
    /// password ends every session made with the old one.
    pub sessions_from_ms: u64,
}

const MAX_NAME: usize = 64;

/// The longest password hash the model stores: a PHC string of argon2id is about 100 bytes.
pub const MAX_PASSWORD_HASH: usize = 512;

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
    if !admin && record.admin && is_last_admin(txn, id)? {
        return Ok(Response::Rejected(Rejection::LastAdmin(id)));
    }
    record.admin = admin;
    txn.put(Space::Users, &id.0.to_be_bytes(), &record);
    Ok(Response::AdminSet)
}

/// Disables a user (their tokens and sessions are refused from the next request on, and they
/// cannot sign in) or enables them again. The last enabled administrator cannot be disabled.
pub(super) fn set_disabled<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    id: UserId,
    disabled: bool,
) -> Result<Response, StateError> {
    let Some(record) = user(txn, id)? else {
        return Ok(Response::Rejected(Rejection::NoSuchUser(id)));
    };
    let mut state = account(txn, id)?;
    if disabled && !state.disabled && record.admin && is_last_admin(txn, id)? {
        return Ok(Response::Rejected(Rejection::LastAdmin(id)));
    }
    state.disabled = disabled;
    txn.put(Space::Accounts, &id.0.to_be_bytes(), &state);
    Ok(Response::DisabledSet)
}

/// Sets (or with `None` removes) a user's password hash, and ends the sessions made before.
pub(super) fn set_password<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    id: UserId,
    password_hash: Option<&str>,
) -> Result<Response, StateError> {
    if user(txn, id)?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchUser(id)));
    }
    if let Some(hash) = password_hash
        && (hash.is_empty() || hash.len() > MAX_PASSWORD_HASH)
    {
        return Ok(Response::Rejected(Rejection::TooLarge {
            what: "a password hash".into(),
            limit: MAX_PASSWORD_HASH as u64,
        }));
    }
    let mut state = account(txn, id)?;
    state.password = password_hash.map(str::to_owned);
    state.sessions_from_ms = time_ms;
    txn.put(Space::Accounts, &id.0.to_be_bytes(), &state);
    Ok(Response::PasswordSet)
}

/// Whether `id` is the only administrator who is not disabled: taking their rights or
/// disabling them would leave nobody able to manage users. Users are few (people, not files),
/// so a scan that stops at the first other administrator is cheap.
fn is_last_admin<R: StateRead + ?Sized>(txn: &Txn<R>, id: UserId) -> Result<bool, StateError> {
    const PAGE: usize = 1_000;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = txn.scan(Space::Users, &[], after.as_deref(), PAGE)?;
        for (key, bytes) in &page {
            let other: User = decode(Space::Users, bytes)?;
            if other.admin && other.id != id && !account(txn, other.id)?.disabled {
                return Ok(false);
            }
            after = Some(key.clone());
        }
        if page.len() < PAGE {
            return Ok(true);
        }
    }
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

/// A user's account; the default (no password, enabled) for a user who never had one set.
pub fn account(state: &(impl StateRead + ?Sized), id: UserId) -> Result<Account, StateError> {
    Ok(state
        .get(Space::Accounts, &id.0.to_be_bytes())?
        .map(|b| decode(Space::Accounts, &b))
        .transpose()?
        .unwrap_or_default())
}

/// A user by name with their account: what a password sign-in checks.
pub fn sign_in(state: &(impl StateRead + ?Sized), name: &str) -> Result<Option<(User, Account)>, StateError> {
    let Some(user) = user_by_name(state, name)? else { return Ok(None) };
    let account = account(state, user.id)?;
    Ok(Some((user, account)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;
    use crate::model::testkit::{ADA, BOB, World};

    fn disable(user: UserId, disabled: bool) -> Command {
        Command::SetDisabled { user, disabled }
    }

    #[test]
    fn users_start_without_admin_rights_which_can_be_set_and_cleared() {
        let mut w = World::new();
        assert!(!user(&w.state, ADA).unwrap().unwrap().admin);
        assert_eq!(w.run(Command::SetAdmin { user: ADA, admin: true }), Response::AdminSet);
        assert!(user(&w.state, ADA).unwrap().unwrap().admin);
        assert!(!user(&w.state, BOB).unwrap().unwrap().admin);
        // Ada is the only administrator: she keeps the rights until Bob has them too.
        assert_eq!(
            w.run(Command::SetAdmin { user: ADA, admin: false }),
            Response::Rejected(Rejection::LastAdmin(ADA))
        );
        assert_eq!(w.run(Command::SetAdmin { user: BOB, admin: true }), Response::AdminSet);
        assert_eq!(w.run(Command::SetAdmin { user: ADA, admin: false }), Response::AdminSet);
        assert!(!user_by_name(&w.state, "ada").unwrap().unwrap().admin);
        assert_eq!(
            w.run(Command::SetAdmin { user: UserId(9), admin: true }),
            Response::Rejected(Rejection::NoSuchUser(UserId(9)))
        );
    }

    #[test]
    fn the_last_enabled_administrator_cannot_be_disabled_or_demoted() {
        let mut w = World::new();
        w.run(Command::SetAdmin { user: ADA, admin: true });
        w.run(Command::SetAdmin { user: BOB, admin: true });
        assert_eq!(w.run(disable(BOB, true)), Response::DisabledSet);
        assert!(account(&w.state, BOB).unwrap().disabled);
        // Bob is disabled, so Ada is the last administrator who can act.
        assert_eq!(w.run(disable(ADA, true)), Response::Rejected(Rejection::LastAdmin(ADA)));
        assert_eq!(
            w.run(Command::SetAdmin { user: ADA, admin: false }),
            Response::Rejected(Rejection::LastAdmin(ADA))
        );
        // Demoting the disabled one is fine, and enabling works again.
        assert_eq!(w.run(Command::SetAdmin { user: BOB, admin: false }), Response::AdminSet);
        assert_eq!(w.run(disable(BOB, false)), Response::DisabledSet);
        assert!(!account(&w.state, BOB).unwrap().disabled);
        assert!(!account(&w.state, ADA).unwrap().disabled);
        assert_eq!(w.run(disable(UserId(9), true)), Response::Rejected(Rejection::NoSuchUser(UserId(9))));
    }

    #[test]
    fn a_password_is_stored_as_given_and_ends_older_sessions() {
        let mut w = World::new();
        assert_eq!(account(&w.state, ADA).unwrap(), Account::default());
        w.now = 7_000;
        let set = Command::SetPassword { user: ADA, password_hash: Some("$argon2id$x".into()) };
        assert_eq!(w.run(set), Response::PasswordSet);
        let (who, acct) = sign_in(&w.state, "ada").unwrap().unwrap();
        assert_eq!(who.id, ADA);
        assert_eq!(acct.password.as_deref(), Some("$argon2id$x"));
        assert_eq!(acct.sessions_from_ms, 7_000);
        assert_eq!(sign_in(&w.state, "nobody").unwrap(), None);
        let huge = Command::SetPassword { user: ADA, password_hash: Some("x".repeat(MAX_PASSWORD_HASH + 1)) };
        assert!(matches!(w.run(huge), Response::Rejected(Rejection::TooLarge { .. })));
        assert_eq!(w.run(Command::SetPassword { user: ADA, password_hash: None }), Response::PasswordSet);
        assert_eq!(account(&w.state, ADA).unwrap().password, None);
        let stray = Command::SetPassword { user: UserId(9), password_hash: None };
        assert_eq!(w.run(stray), Response::Rejected(Rejection::NoSuchUser(UserId(9))));
    }
}
