//! `apply`: the one function that changes metadata.

use super::blocks::BlockRecord;
use super::shares::ShareRecord;
use super::{
    Command, Request, Response, Space, StateError, StateRead, Txn, block_holders, block_lifecycle, cluster,
    commit, devices, expiry, join_tokens, journal, lifecycle, links, precondition, sharing, subtree, tokens,
    uploads, users, version,
};

/// How long a request's outcome is remembered: a retry with the same id within this window (24
/// hours after the first apply, by the proposers' clocks) gets the first outcome; later, the
/// record may be gone and the retry is applied afresh. SDK retries span seconds to minutes.
pub const REQUEST_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// Applies one request to the state seen through `txn`. Pure: the outcome depends only on the
/// state and the request. A request whose id was applied within [`REQUEST_RETENTION_MS`] gets
/// the first outcome again, and changes nothing. Each fresh request also deletes a bounded
/// number of expired records (see [`expiry`]), so the state does not grow with old requests.
pub fn apply<R: StateRead + ?Sized>(txn: &mut Txn<R>, request: &Request) -> Result<Response, StateError> {
    let key = request.id.0.to_be_bytes();
    if let Some(first) = txn.get::<Response>(Space::Requests, &key)? {
        return Ok(first);
    }
    let t = request.time_ms;
    let response = match &request.command {
        Command::CreateUser { name } => users::create_user(txn, t, name)?,
        Command::AddToken { user, token_hash, label } => tokens::add_token(txn, t, *user, token_hash, label)?,
        Command::RevokeToken { token_hash } => tokens::revoke_token(txn, token_hash)?,
        Command::MakeFolder { namespace, path, user } => {
            commit::make_folder(txn, t, *namespace, path, *user)?
        }
        Command::CommitVersion(new) => commit::commit(txn, t, new)?,
        Command::RegisterDevice { user, name } => devices::register(txn, t, *user, name)?,
        Command::RemoveDevice { user, device } => devices::remove(txn, *user, *device)?,
        Command::Share { namespace, path, with, role, by } => {
            let record = ShareRecord {
                namespace: *namespace,
                path: path.clone(),
                user: *with,
                role: *role,
                created_ms: t,
            };
            sharing::share(txn, t, record, *by)?
        }
        Command::RevokeShare { namespace, path, with, by } => {
            sharing::revoke(txn, *namespace, path, *with, *by)?
        }
        Command::CreateLink(new) => links::create(txn, t, new)?,
        Command::RevokeLink { link, by } => links::revoke(txn, *link, *by)?,
        Command::Trash { namespace, path, user } => lifecycle::trash(txn, t, *namespace, path, *user)?,
        Command::TrashUnchanged { namespace, path, user, since } => {
            precondition::trash_unchanged(txn, t, *namespace, path, *user, *since)?
        }
        Command::Restore { namespace, path, user } => lifecycle::restore(txn, t, *namespace, path, *user)?,
        Command::Purge { namespace, path, user } => lifecycle::purge(txn, t, *namespace, path, *user)?,
        Command::PinVersion { file, version, pinned, user } => {
            lifecycle::pin(txn, *file, *version, *pinned, *user)?
        }
        Command::BeginUpload(new) => uploads::begin(txn, t, new)?,
        Command::UploadBlocks { upload, user, offset, blocks, progress } => {
            uploads::append(txn, t, *upload, *user, *offset, blocks, progress.as_ref())?
        }
        Command::FinishUpload { upload, user, hash, verified } => {
            uploads::finish(txn, t, *upload, *user, *hash, *verified)?
        }
        Command::AbortUpload { upload, user } => uploads::abort(txn, t, *upload, *user)?,
        Command::SetNode(spec) => cluster::set_node(txn, t, spec)?,
        Command::MarkNode { node, mark } => cluster::mark_node(txn, t, *node, *mark)?,
        Command::RemoveNode { node } => cluster::remove_node(txn, *node)?,
        Command::RegisterBlock { account, block, plain_len, shape, generation, placement, damaged } => {
            let record = BlockRecord {
                plain_len: *plain_len,
                data_shards: shape.0,
                parity_shards: shape.1,
                generation: *generation,
                placement: placement.clone(),
                damaged: damaged.clone(),
                refcount: 0,
                changed_ms: t,
            };
            block_lifecycle::register(txn, *account, block, record)?
        }
        Command::RegisterInlineBlock { account, block, plain_len, generation, sealed } => {
            let record = BlockRecord {
                plain_len: *plain_len,
                data_shards: 0,
                parity_shards: 0,
                generation: *generation,
                placement: Vec::new(),
                damaged: Vec::new(),
                refcount: 0,
                changed_ms: t,
            };
            block_lifecycle::register_inline(txn, *account, block, record, sealed)?
        }
        Command::ReportDamage { account, block, generation, shards } => {
            block_lifecycle::report_damage(txn, *account, block, *generation, shards)?
        }
        Command::MoveShards { account, block, generation, moves } => {
            block_lifecycle::move_shards(txn, *account, block, *generation, moves)?
        }
        Command::DropBlock { account, block, generation, unchanged_since_ms } => {
            block_lifecycle::drop_block(txn, *account, block, *generation, *unchanged_since_ms)?
        }
        Command::SetAdmin { user, admin } => users::set_admin(txn, *user, *admin)?,
        Command::RevokeOwnToken { user, token_hash } => tokens::revoke_own_token(txn, *user, token_hash)?,
        Command::Move { namespace, from, to, user } => {
            subtree::move_path(txn, t, *namespace, from, to, *user)?
        }
        Command::SetJournalRetention { ms } => journal::set_retention(txn, *ms),
        Command::IssueToken { user, token_hash, label, terms } => {
            tokens::issue_token(txn, t, *user, token_hash, label, *terms)?
        }
        Command::TouchToken { token_hash } => tokens::touch_token(txn, t, token_hash)?,
        Command::SetPassword { user, password_hash } => {
            users::set_password(txn, t, *user, password_hash.as_deref())?
        }
        Command::SetDisabled { user, disabled } => users::set_disabled(txn, *user, *disabled)?,
        Command::HoldBlock { account, block, user } => block_holders::hold(txn, *account, block, *user)?,
        Command::IssueJoinToken { token_hash, role, expires_ms } => {
            join_tokens::issue(txn, t, token_hash, *role, *expires_ms)?
        }
        Command::RevokeJoinToken { token_hash } => join_tokens::revoke(txn, token_hash)?,
        Command::ConsumeJoinToken { token_hash, node, members } => {
            join_tokens::consume(txn, t, token_hash, *node, members)?
        }
        Command::SetClusterVersion { version: v } => version::set(txn, *v)?,
    };
    txn.put(Space::Requests, &key, &response);
    expiry::schedule(txn, t.saturating_add(REQUEST_RETENTION_MS), Space::Requests, &key, &[]);
    expiry::prune(txn, t, |txn, space, key| on_expiry(txn, t, space, key))?;
    Ok(response)
}

/// What must happen before an expired record is deleted, beyond deleting it; returns the block
/// references released. Kept here, in one match over the keyspaces, so that every keyspace with
/// an end of life is seen to either need nothing or have its hook.
fn on_expiry<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    now_ms: u64,
    space: Space,
    key: &[u8],
) -> Result<usize, StateError> {
    match space {
        // A session's references on its blocks would otherwise keep them from GC for ever.
        Space::Uploads => uploads::release_expired(txn, now_ms, key),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::tokens::user_for_token;
    use crate::model::users::user_by_name;
    use crate::model::{PRUNE_PER_APPLY, Rejection, RequestId, TokenHash, UserId};

    type State = BTreeMap<(Space, Vec<u8>), Vec<u8>>;

    /// Applies and commits, as the state machine does.
    fn run(state: &mut State, id: u128, command: Command) -> Response {
        run_at(state, id, 1_000, command)
    }

    fn run_at(state: &mut State, id: u128, time_ms: u64, command: Command) -> Response {
        let mut txn = Txn::new(&*state);
        let response = apply(&mut txn, &Request { id: RequestId(id), time_ms, command }).unwrap();
        let writes: Vec<_> = txn.into_writes().collect();
        for ((space, key), value) in writes {
            match value {
                Some(v) => state.insert((space, key), v),
                None => state.remove(&(space, key)),
            };
        }
        response
    }

    fn create(name: &str) -> Command {
        Command::CreateUser { name: name.into() }
    }

    #[test]
    fn users_get_distinct_ids_and_unique_names() {
        let mut state = State::new();
        assert_eq!(run(&mut state, 1, create("ada")), Response::UserCreated { user: UserId(1) });
        assert_eq!(run(&mut state, 2, create("bob")), Response::UserCreated { user: UserId(2) });
        assert_eq!(run(&mut state, 3, create("ada")), Response::Rejected(Rejection::NameTaken("ada".into())));
        assert_eq!(user_by_name(&state, "bob").unwrap().unwrap().id, UserId(2));
    }

    #[test]
    fn a_retried_request_returns_the_first_outcome_and_changes_nothing() {
        let mut state = State::new();
        let first = run(&mut state, 7, create("ada"));
        let snapshot = state.clone();
        assert_eq!(run(&mut state, 7, create("ada")), first);
        assert_eq!(state, snapshot);
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        let mut state = State::new();
        for (name, why) in
            [("", "1 to 64"), ("Ada", "only a-z"), ("a/b", "only a-z"), (&"x".repeat(65), "1 to 64")]
        {
            match run(&mut state, name.len() as u128 + 100, create(name)) {
                Response::Rejected(Rejection::InvalidName { reason, .. }) => {
                    assert!(reason.contains(why), "{reason}")
                }
                other => panic!("{name:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn tokens_resolve_to_their_user_until_revoked() {
        let mut state = State::new();
        run(&mut state, 1, create("ada"));
        let hash = TokenHash::of("secret-token");
        let add = Command::AddToken { user: UserId(1), token_hash: hash, label: "laptop".into() };
        assert_eq!(run(&mut state, 2, add.clone()), Response::TokenAdded);
        assert_eq!(run(&mut state, 3, add), Response::Rejected(Rejection::TokenExists));
        assert_eq!(user_for_token(&state, &hash).unwrap().unwrap().name, "ada");
        assert!(!state.values().any(|v| v.windows(12).any(|w| w == b"secret-token"[..12].as_ref())));
        assert_eq!(run(&mut state, 4, Command::RevokeToken { token_hash: hash }), Response::TokenRevoked);
        assert_eq!(user_for_token(&state, &hash).unwrap(), None);
        let stray = Command::AddToken { user: UserId(9), token_hash: hash, label: String::new() };
        assert_eq!(run(&mut state, 5, stray), Response::Rejected(Rejection::NoSuchUser(UserId(9))));
    }

    #[test]
    fn request_records_are_kept_for_the_window_then_pruned_a_few_per_apply() {
        let mut state = State::new();
        let requests = |s: &State| s.keys().filter(|(sp, _)| *sp == Space::Requests).count();
        for i in 1..=40u64 {
            run_at(&mut state, u128::from(i), 1_000 + i, create(&format!("u{i}")));
        }
        assert_eq!(requests(&state), 40);

        // Just inside the window, a retry still gets its first outcome and changes nothing.
        let snapshot = state.clone();
        let last_moment = 1_000 + 1 + REQUEST_RETENTION_MS - 1;
        assert_eq!(
            run_at(&mut state, 1, last_moment, create("u1")),
            Response::UserCreated { user: UserId(1) }
        );
        assert_eq!(state, snapshot);

        // Once every record has expired, each fresh request deletes at most PRUNE_PER_APPLY of
        // the oldest, and records its own.
        let later = 1_000 + 40 + REQUEST_RETENTION_MS;
        run_at(&mut state, 100, later, create("late"));
        assert_eq!(requests(&state), 40 + 1 - PRUNE_PER_APPLY);
        // Request 1 is forgotten: its retry is applied afresh (and now finds the name taken).
        assert_eq!(
            run_at(&mut state, 1, later, create("u1")),
            Response::Rejected(Rejection::NameTaken("u1".into()))
        );
        // Request 40 is not yet pruned (it is among the newest), so its retry is still answered.
        assert_eq!(run_at(&mut state, 40, later, create("u40")), Response::UserCreated { user: UserId(40) });
        run_at(&mut state, 101, later, create("later"));
        // Only the records of the requests made at `later` remain, each with its index entry.
        assert_eq!(requests(&state), 3);
        assert_eq!(state.keys().filter(|(sp, _)| *sp == Space::Expiries).count(), 3);
    }
}
