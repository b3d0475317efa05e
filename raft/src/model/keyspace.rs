//! The keyspaces of the state machine, one RocksDB column family each.

/// A keyspace of the metadata state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Space {
    /// Raft bookkeeping of the state machine itself (last applied log id, membership) and
    /// cluster-wide settings of the model (the journal retention).
    Meta,
    /// Requests already applied: request id → response, so a retry is answered, not re-applied.
    Requests,
    /// Counters for id allocation: name → next id.
    Counters,
    /// Users: user id → user.
    Users,
    /// User names: name → user id (unique).
    UserNames,
    /// API tokens: blake3 hash of the token → token record (whose, label). Tokens themselves
    /// are never stored.
    Tokens,
    /// Tokens by user: (user id, token hash) → nothing, so a user's tokens are one range.
    UserTokens,
    /// Namespaces (a user's drive, later shared folders): namespace id → namespace.
    Namespaces,
    /// Folder entries: (namespace, parent path, NUL, name) → entry, so a folder's children are
    /// one contiguous range.
    Entries,
    /// Files: file id → file (head version, status).
    Files,
    /// Versions: (file id, version number) → version (block list, size, hash, …).
    Versions,
    /// Blocks: (account, block id) → block (reference count, size, placement).
    Blocks,
    /// The per-user change journal: (user, sequence number) → event.
    Journal,
    /// Devices: (user, device id) → device, so a user's devices are one contiguous range.
    Devices,
    /// Shares: (namespace, path, NUL, recipient) → share, so the recipients of a path are one
    /// range and an access check is a point read per level of the path.
    Shares,
    /// Shares by recipient: (recipient, namespace, path) → share, for "shared with me".
    SharesReceived,
    /// Public links: link id → link.
    Links,
    /// Public links found by who owns or made them, and folder links by folder path (see
    /// `links`): index key → nothing.
    LinkIndex,
    /// The trash: (namespace, file id) → when and by whom the file was trashed.
    Trash,
    /// Resumable upload sessions: session id → session.
    Uploads,
    /// Upload sessions by target: (namespace, parent path, NUL, name, NUL, session id) → nothing,
    /// so a folder listing shows the files being uploaded into it as `uploading`.
    UploadPaths,
    /// The cluster map: node id → node record. Its version is a counter.
    Nodes,
    /// Things with an end of life, in time order: (expiry ms, keyspace name, NUL, key) → further
    /// keys to delete with it. `apply` prunes the oldest few on every request.
    Expiries,
    /// How users sign in: user id → account (password hash, disabled).
    Accounts,
    /// When tokens end: token hash → terms. A token without an entry never ends.
    TokenTerms,
    /// Users other than the owner who sent a block's bytes: (account, block id, user) → nothing
    /// (see `block_holders`).
    BlockHolders,
    /// Join tokens: blake3 hash of the token → its role, end and use (see `join_tokens`).
    JoinTokens,
    /// Small blocks kept in metadata instead of shards: (account, block id) → the sealed block
    /// (see `blocks::is_inline`). Its record in [`Space::Blocks`] has the same key.
    InlineBlocks,
    /// Indexes of the block records (by node, sharded, damaged, unreferenced): index key →
    /// nothing (see `block_index`).
    BlockIndex,
}

impl Space {
    /// Every keyspace, for opening the column families.
    pub const ALL: [Space; 29] = [
        Space::Meta,
        Space::Requests,
        Space::Counters,
        Space::Users,
        Space::UserNames,
        Space::Tokens,
        Space::Namespaces,
        Space::Entries,
        Space::Files,
        Space::Versions,
        Space::Blocks,
        Space::Journal,
        Space::Expiries,
        Space::Devices,
        Space::Shares,
        Space::SharesReceived,
        Space::Links,
        Space::Trash,
        Space::Uploads,
        Space::Nodes,
        Space::UserTokens,
        Space::UploadPaths,
        Space::LinkIndex,
        Space::Accounts,
        Space::TokenTerms,
        Space::BlockHolders,
        Space::JoinTokens,
        Space::InlineBlocks,
        Space::BlockIndex,
    ];

    /// The column family name.
    pub fn name(self) -> &'static str {
        match self {
            Space::Meta => "meta",
            Space::Requests => "requests",
            Space::Counters => "counters",
            Space::Users => "users",
            Space::UserNames => "user_names",
            Space::Tokens => "tokens",
            Space::Namespaces => "namespaces",
            Space::Entries => "entries",
            Space::Files => "files",
            Space::Versions => "versions",
            Space::Blocks => "blocks",
            Space::Journal => "journal",
            Space::Expiries => "expiries",
            Space::Devices => "devices",
            Space::Shares => "shares",
            Space::SharesReceived => "shares_received",
            Space::Links => "links",
            Space::Trash => "trash",
            Space::Uploads => "uploads",
            Space::Nodes => "nodes",
            Space::UserTokens => "user_tokens",
            Space::UploadPaths => "upload_paths",
            Space::Accounts => "accounts",
            Space::TokenTerms => "token_terms",
            Space::BlockHolders => "block_holders",
            Space::JoinTokens => "join_tokens",
            Space::LinkIndex => "link_index",
            Space::InlineBlocks => "inline_blocks",
            Space::BlockIndex => "block_index",
        }
    }

    /// The keyspace whose column family is called `name`.
    pub fn from_name(name: &str) -> Option<Space> {
        Space::ALL.into_iter().find(|s| s.name() == name)
    }
}
