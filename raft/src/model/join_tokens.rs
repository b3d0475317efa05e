//! Join tokens: short-lived, single-use permissions for a new machine to join the cluster.
//!
//! An operator mints one on a member (`cairn-node join-token`); the new machine presents it with
//! its signing request, and the node that signs consumes it here first. Consuming is a Raft
//! write, so a token works once however many nodes are asked at the same moment. Only the
//! token's hash is stored, like an API token's.
//!
//! A used or expired token is kept for [`KEEP_ENDED_MS`] after its end, so that presenting it
//! again is answered with what happened to it ("used by node 4", "expired at …") rather than
//! "unknown"; then the expiry index deletes it.

use serde::{Deserialize, Serialize};

use super::expiry;
use super::ids::{NodeId, TokenHash};
pub use super::joining::{JoinRefusal, JoinRole};
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A join token as stored, under its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinToken {
    /// What the node that joins with it becomes.
    pub role: JoinRole,
    /// When it was minted (ms since the epoch).
    pub created_ms: u64,
    /// When it stops working (ms since the epoch).
    pub expires_ms: u64,
    /// The node that used it, and when; `None` while it is unused.
    pub used: Option<(NodeId, u64)>,
}

/// A join token in the list: its hash (its name, which grants nothing) and record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinTokenEntry {
    /// The token's hash.
    pub hash: TokenHash,
    /// The record.
    pub token: JoinToken,
}

/// The most join tokens kept at once (unused, or ended but still remembered): one page of the
/// list, so the list an operator revokes from is complete.
pub const MAX_JOIN_TOKENS: usize = 1_000;

/// How long a used or expired token is remembered after its end, to say why it is refused.
pub const KEEP_ENDED_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// The longest a join token may live: a token is a key to the cluster, so it is short-lived.
pub const MAX_JOIN_TOKEN_TTL_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Mints a token: stores its hash with its role and end.
pub(super) fn issue<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    hash: &TokenHash,
    role: JoinRole,
    expires_ms: u64,
) -> Result<Response, StateError> {
    if expires_ms <= time_ms {
        return Ok(Response::Rejected(Rejection::ExpiryInPast { expires_ms, now_ms: time_ms }));
    }
    if expires_ms - time_ms > MAX_JOIN_TOKEN_TTL_MS {
        return Ok(Response::Rejected(Rejection::TooLarge {
            what: "a join token's lifetime in ms".into(),
            limit: MAX_JOIN_TOKEN_TTL_MS,
        }));
    }
    if txn.get_raw(Space::JoinTokens, &hash.0)?.is_some() {
        return Ok(Response::Rejected(Rejection::TokenExists));
    }
    if txn.scan(Space::JoinTokens, &[], None, MAX_JOIN_TOKENS)?.len() >= MAX_JOIN_TOKENS {
        return Ok(Response::Rejected(Rejection::TooLarge {
            what: "the cluster's join tokens".into(),
            limit: MAX_JOIN_TOKENS as u64,
        }));
    }
    let token = JoinToken { role, created_ms: time_ms, expires_ms, used: None };
    txn.put(Space::JoinTokens, &hash.0, &token);
    expiry::schedule(txn, forget_at(&token), Space::JoinTokens, &hash.0, &[]);
    Ok(Response::JoinTokenIssued)
}

/// Revokes a token, used or not.
pub(super) fn revoke<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    hash: &TokenHash,
) -> Result<Response, StateError> {
    let Some(token) = txn.get::<JoinToken>(Space::JoinTokens, &hash.0)? else {
        return Ok(Response::Rejected(Rejection::NoSuchToken));
    };
    expiry::cancel(txn, forget_at(&token), Space::JoinTokens, &hash.0);
    txn.delete(Space::JoinTokens, &hash.0);
    Ok(Response::JoinTokenRevoked)
}

/// Uses a token for node `node`: once, before its end, and for an id no node has or was given
/// by another token. `members` are the ids in the Raft membership as the proposer saw it (the
/// membership is Raft's, not this state's); the cluster map and the used tokens are checked here.
pub(super) fn consume<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    hash: &TokenHash,
    node: NodeId,
    members: &[NodeId],
) -> Result<Response, StateError> {
    let refuse = |why| Ok(Response::Rejected(Rejection::JoinRefused(why)));
    let Some(mut token) = txn.get::<JoinToken>(Space::JoinTokens, &hash.0)? else {
        return refuse(JoinRefusal::Unknown);
    };
    if let Some((used_by, _)) = token.used {
        return refuse(JoinRefusal::Used { node: used_by });
    }
    if token.expires_ms <= time_ms {
        return refuse(JoinRefusal::Expired { ago_s: (time_ms - token.expires_ms) / 1000 });
    }
    let mapped = txn.get_raw(Space::Nodes, &node.to_be_bytes())?.is_some();
    let given = tokens(txn)?.iter().any(|e| e.token.used.is_some_and(|(n, _)| n == node));
    if members.contains(&node) || mapped || given {
        return refuse(JoinRefusal::IdTaken(node));
    }
    expiry::cancel(txn, forget_at(&token), Space::JoinTokens, &hash.0);
    token.used = Some((node, time_ms));
    txn.put(Space::JoinTokens, &hash.0, &token);
    expiry::schedule(txn, forget_at(&token), Space::JoinTokens, &hash.0, &[]);
    Ok(Response::JoinTokenAccepted { role: token.role })
}

/// Every join token kept, unused or remembered.
pub fn tokens(state: &(impl StateRead + ?Sized)) -> Result<Vec<JoinTokenEntry>, StateError> {
    let mut entries = Vec::new();
    for (key, value) in state.scan(Space::JoinTokens, &[], None, MAX_JOIN_TOKENS)? {
        let hash: [u8; 32] = key.as_slice().try_into().map_err(|_| StateError::Decode {
            space: Space::JoinTokens,
            message: format!("a key of {} bytes, not 32", key.len()),
        })?;
        let token = super::txn::decode(Space::JoinTokens, &value)?;
        entries.push(JoinTokenEntry { hash: TokenHash(hash), token });
    }
    Ok(entries)
}

/// When a token's record goes: a while after it was used or expired.
fn forget_at(token: &JoinToken) -> u64 {
    let ended = token.used.map_or(token.expires_ms, |(_, at)| at.min(token.expires_ms));
    ended.saturating_add(KEEP_ENDED_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::World;
    use crate::model::{Command, Query};

    const MINUTE: u64 = 60_000;

    fn run_at(w: &mut World, now: u64, command: Command) -> Response {
        w.now = now;
        w.run(command)
    }

    fn issue_at(w: &mut World, hash: &TokenHash, role: JoinRole, now: u64, ttl: u64) -> Response {
        run_at(w, now, Command::IssueJoinToken { token_hash: *hash, role, expires_ms: now + ttl })
    }

    fn consume_at(w: &mut World, hash: &TokenHash, node: NodeId, now: u64) -> Response {
        run_at(w, now, Command::ConsumeJoinToken { token_hash: *hash, node, members: vec![1] })
    }

    #[test]
    fn a_token_works_once_and_then_says_who_used_it() {
        let mut w = World::new();
        let hash = TokenHash::of("secret");
        assert_eq!(issue_at(&mut w, &hash, JoinRole::Voter, 1_000, 60 * MINUTE), Response::JoinTokenIssued);
        assert_eq!(
            consume_at(&mut w, &hash, 4, 2_000),
            Response::JoinTokenAccepted { role: JoinRole::Voter }
        );
        assert_eq!(
            consume_at(&mut w, &hash, 5, 3_000),
            Response::Rejected(Rejection::JoinRefused(JoinRefusal::Used { node: 4 }))
        );
    }

    #[test]
    fn an_expired_revoked_or_unknown_token_is_refused_with_its_reason() {
        let mut w = World::new();
        let (late, revoked) = (TokenHash::of("late"), TokenHash::of("revoked"));
        issue_at(&mut w, &late, JoinRole::Storage, 1_000, MINUTE);
        issue_at(&mut w, &revoked, JoinRole::Storage, 1_000, MINUTE);
        assert_eq!(
            consume_at(&mut w, &late, 4, 1_000 + 3 * MINUTE),
            Response::Rejected(Rejection::JoinRefused(JoinRefusal::Expired { ago_s: 120 }))
        );
        assert_eq!(
            run_at(&mut w, 2_000, Command::RevokeJoinToken { token_hash: revoked }),
            Response::JoinTokenRevoked
        );
        for hash in [revoked, TokenHash::of("never")] {
            assert_eq!(
                consume_at(&mut w, &hash, 4, 3_000),
                Response::Rejected(Rejection::JoinRefused(JoinRefusal::Unknown))
            );
        }
    }

    #[test]
    fn an_id_that_is_a_member_or_was_given_is_refused() {
        let mut w = World::new();
        let (a, b, c) = (TokenHash::of("a"), TokenHash::of("b"), TokenHash::of("c"));
        for hash in [&a, &b, &c] {
            issue_at(&mut w, hash, JoinRole::Voter, 1_000, MINUTE);
        }
        // Node 1 is a member (see `consume_at`).
        assert_eq!(
            consume_at(&mut w, &a, 1, 2_000),
            Response::Rejected(Rejection::JoinRefused(JoinRefusal::IdTaken(1)))
        );
        assert_eq!(consume_at(&mut w, &b, 7, 2_000), Response::JoinTokenAccepted { role: JoinRole::Voter });
        assert_eq!(
            consume_at(&mut w, &c, 7, 2_000),
            Response::Rejected(Rejection::JoinRefused(JoinRefusal::IdTaken(7)))
        );
        // The refused token is still unused.
        assert_eq!(consume_at(&mut w, &a, 8, 2_000), Response::JoinTokenAccepted { role: JoinRole::Voter });
    }

    #[test]
    fn ended_tokens_are_forgotten_a_week_after_their_end() {
        let mut w = World::new();
        let hash = TokenHash::of("old");
        issue_at(&mut w, &hash, JoinRole::Voter, 1_000, MINUTE);
        let listed = |w: &World| match crate::model::answer(&w.state, &Query::JoinTokens).unwrap() {
            crate::model::Answer::JoinTokens(list) => list.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(listed(&w), 1);
        // Any later request prunes what is due.
        run_at(&mut w, 1_000 + MINUTE + KEEP_ENDED_MS, Command::CreateUser { name: "later".into() });
        assert_eq!(listed(&w), 0);
    }

    #[test]
    fn lifetimes_are_bounded() {
        let mut w = World::new();
        let hash = TokenHash::of("t");
        assert!(matches!(
            issue_at(&mut w, &hash, JoinRole::Voter, 1_000, MAX_JOIN_TOKEN_TTL_MS + 1),
            Response::Rejected(Rejection::TooLarge { .. })
        ));
        assert!(matches!(
            run_at(
                &mut w,
                1_000,
                Command::IssueJoinToken { token_hash: hash, role: JoinRole::Voter, expires_ms: 1_000 }
            ),
            Response::Rejected(Rejection::ExpiryInPast { .. })
        ));
    }
}
