//! What a log entry asks of the state machine, and what it answers.

use serde::{Deserialize, Serialize};

use super::{TokenHash, UserId};

/// A client-chosen id that makes a request idempotent: a retry with the same id (after a timeout,
/// or through another node after a failover) gets the first outcome and changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u128);

/// One metadata write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Idempotency key.
    pub id: RequestId,
    /// Wall-clock time in milliseconds since the Unix epoch, stamped by the proposing node.
    /// `apply` never reads a clock: replicas must compute the same result.
    pub time_ms: u64,
    /// What to do.
    pub command: Command,
}

/// The commands of the metadata model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Creates a user with a unique name.
    CreateUser {
        /// Login name: 1–64 characters of `a-z 0-9 . _ -`.
        name: String,
    },
    /// Registers an API token for a user, by the hash of the token.
    AddToken {
        /// Whose token.
        user: UserId,
        /// blake3 of the token; the token itself never reaches the cluster's state.
        token_hash: TokenHash,
        /// What the token is for ("laptop", "cairn sync on nas").
        label: String,
    },
    /// Revokes a token.
    RevokeToken {
        /// The hash of the token to revoke.
        token_hash: TokenHash,
    },
}

/// The outcome of a request (or of a Raft-internal entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// A blank or membership entry: nothing for a client.
    Internal,
    /// The user was created.
    UserCreated {
        /// The new user's id.
        user: UserId,
    },
    /// The token was registered.
    TokenAdded,
    /// The token was revoked.
    TokenRevoked,
    /// The command was refused; the state did not change.
    Rejected(Rejection),
}

/// Why a command was refused. Each is a client error: retrying the same command gets the same
/// answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    /// A name is malformed.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A user of that name exists.
    #[error("a user named {0:?} already exists")]
    NameTaken(String),
    /// No such user.
    #[error("no user with id {0}")]
    NoSuchUser(UserId),
    /// The token is already registered.
    #[error("that token is already registered")]
    TokenExists,
    /// No such token.
    #[error("no such token")]
    NoSuchToken,
}
