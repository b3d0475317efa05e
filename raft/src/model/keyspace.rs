//! The keyspaces of the state machine, one RocksDB column family each.

/// A keyspace of the metadata state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Space {
    /// Raft bookkeeping of the state machine itself: last applied log id, membership.
    Meta,
    /// Requests already applied: request id → response, so a retry is answered, not re-applied.
    Requests,
    /// Counters for id allocation: name → next id.
    Counters,
    /// Users: user id → user.
    Users,
    /// User names: name → user id (unique).
    UserNames,
    /// API tokens: blake3 hash of the token → user id. Tokens themselves are never stored.
    Tokens,
}

impl Space {
    /// Every keyspace, for opening the column families.
    pub const ALL: [Space; 6] =
        [Space::Meta, Space::Requests, Space::Counters, Space::Users, Space::UserNames, Space::Tokens];

    /// The column family name.
    pub fn name(self) -> &'static str {
        match self {
            Space::Meta => "meta",
            Space::Requests => "requests",
            Space::Counters => "counters",
            Space::Users => "users",
            Space::UserNames => "user_names",
            Space::Tokens => "tokens",
        }
    }
}
