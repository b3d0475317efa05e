//! Reads of the metadata model, as values: what a node answers after its read barrier.
//!
//! A [`Query`] travels from a client to any node, which waits until its state machine has
//! applied everything the leader had committed when the read began (the read index), then
//! answers it from its own state with [`answer`]. Like [`apply`](super::apply), `answer` is a
//! pure function of the state, so any node gives the same answer.

use cairn_proto::{AccountId, BlockId, DrivePath};
use serde::{Deserialize, Serialize};

use super::block_index::{self, BlockSet};
use super::blocks::{self, BlockRecord};
use super::cluster::{self, ClusterMap};
use super::devices::{self, DeviceRecord};
use super::drive::{self, EntryRecord, FileRecord, Namespace, VersionRecord};
use super::ids::{DeviceId, FileId, LinkId, NamespaceId, NodeId, TokenHash, UploadId, UserId};
use super::join_tokens;
use super::journal::{self, Change, JournalPage};
use super::links::{self, LinkState};
use super::shares::{self, Access, ShareRecord};
use super::tokens::{self, Session, TokenEntry, TokenRecord};
use super::trash::{self, TrashRecord};
use super::uploads::{self, UploadRecord};
use super::users::{self, Account, User};
use super::{Rejection, StateError, StateRead, block_holders, version};

/// The most items one query returns; a client pages with the last item it saw.
pub const MAX_PAGE: usize = 1_000;

// A user's tokens must fit one page, so the listing a user revokes from is always complete.
const _: () = assert!(tokens::MAX_TOKENS_PER_USER <= MAX_PAGE);

/// One read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A user by name.
    UserByName(String),
    /// A user by id.
    User(UserId),
    /// What is at a path.
    Stat {
        /// Where.
        namespace: NamespaceId,
        /// The path.
        path: DrivePath,
    },
    /// A folder's children, by name, after `after`.
    List {
        /// Where.
        namespace: NamespaceId,
        /// The folder.
        folder: DrivePath,
        /// Start after this name (`None`: from the first).
        after: Option<String>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// A file's versions, newest first. The API now asks [`Query::VersionsFrom`]; this stays
    /// answered because queries travel between nodes, and a node of the previous release sends it.
    Versions {
        /// The file.
        file: FileId,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// A user's journal after a cursor.
    ChangesAfter {
        /// Whose journal.
        user: UserId,
        /// The last sequence number the client saw (0: from the start).
        cursor: u64,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// A block's record.
    Block {
        /// Whose block.
        account: AccountId,
        /// Which.
        block: BlockId,
    },
    /// Every account's blocks, in key order (account, then block id): the page that repair,
    /// GC and the nodes' shard reconcilers walk through.
    Blocks {
        /// Start strictly after this (account, block) (`None`: from the first).
        after: Option<(AccountId, BlockId)>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// A user's devices, by id.
    Devices {
        /// Whose.
        user: UserId,
        /// Start after this device (`None`: from the first).
        after: Option<DeviceId>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// What a user may do at a path: the check every API path makes.
    Access {
        /// Where.
        namespace: NamespaceId,
        /// The path.
        path: DrivePath,
        /// Who.
        user: UserId,
    },
    /// The shares a user has given (of their own drive), by path then recipient.
    SharesGiven {
        /// The giver.
        user: UserId,
        /// Start after this (path, recipient).
        after: Option<(DrivePath, UserId)>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// The shares a user has received, by namespace then path.
    SharesReceived {
        /// The recipient.
        user: UserId,
        /// Start after this (namespace, path).
        after: Option<(NamespaceId, DrivePath)>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// The files in a namespace's trash, by file id.
    Trash {
        /// Where.
        namespace: NamespaceId,
        /// Start after this file.
        after: Option<FileId>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// An upload session (an expired one may linger until pruned: compare its `expires_ms`).
    Upload(UploadId),
    /// The whole cluster map.
    ClusterMap,
    /// A namespace: its owner, whose account stores its blocks.
    Namespace(NamespaceId),
    /// A public link and what it opens at `now_ms` (an expired link lingers until pruned).
    Link {
        /// Which.
        link: LinkId,
        /// The reader's clock (ms since the epoch): queries are pure too.
        now_ms: u64,
    },
    /// The links `user` may see and revoke: those on what they own (whoever made them) and
    /// those they made, by id.
    Links {
        /// Whose.
        user: UserId,
        /// Start after this link.
        after: Option<LinkId>,
        /// At most this many.
        limit: usize,
        /// The reader's clock.
        now_ms: u64,
    },
    /// The user a token belongs to, and the token's record: authentication.
    UserByToken(TokenHash),
    /// A user's tokens, by hash: all of them (a user holds at most
    /// [`MAX_TOKENS_PER_USER`](tokens::MAX_TOKENS_PER_USER), one page).
    Tokens {
        /// Whose.
        user: UserId,
    },
    /// The open upload sessions to a path itself or to names directly inside it (a listing
    /// shows them as `uploading`), at most [`MAX_PAGE`].
    Uploading {
        /// Where.
        namespace: NamespaceId,
        /// The file, or the folder whose children are listed.
        path: DrivePath,
        /// The reader's clock: lapsed sessions are left out.
        now_ms: u64,
    },
    /// A page of a user's journal after a cursor, refused when the journal no longer covers
    /// the cursor (see [`journal::page_after`]).
    Journal {
        /// Whose journal.
        user: UserId,
        /// The last sequence number the client saw (0: from the start).
        cursor: u64,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// The newest sequence number of a user's journal (0: none yet): where a client that has
    /// just listed everything starts following changes.
    JournalLatest(UserId),
    /// A file's versions numbered `newest` and below, newest first (an older page of
    /// [`Query::Versions`], or one version with `limit` 1).
    VersionsFrom {
        /// The file.
        file: FileId,
        /// The newest version wanted.
        newest: u64,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// Authentication: the session a token opens at the reader's clock, or why it is refused.
    Session {
        /// The token's hash.
        token: TokenHash,
        /// The reader's clock (ms since the epoch): queries are pure too.
        now_ms: u64,
    },
    /// A user's tokens with their terms: all of them (a user holds at most
    /// [`MAX_TOKENS_PER_USER`](tokens::MAX_TOKENS_PER_USER), one page).
    TokenList {
        /// Whose.
        user: UserId,
    },
    /// Every join token kept: unused, or used or expired within the last week.
    JoinTokens,
    /// A user by name with their account (password hash, disabled): a password sign-in.
    SignIn(String),
    /// Which of `blocks` `user` has not sent into `account` (see `block_holders`).
    Unheld {
        /// Whose account.
        account: AccountId,
        /// Who would commit them.
        user: UserId,
        /// The blocks asked about.
        blocks: Vec<BlockId>,
    },
    /// The cluster version in force (see [`version`](super::version)).
    ClusterVersion,
    /// The sealed bytes of a block kept in metadata.
    InlineBlock {
        /// Whose block.
        account: AccountId,
        /// Which.
        block: BlockId,
    },
    /// The blocks of one index (see [`block_index`](super::block_index)), in key order, with
    /// their records: what repair, GC and rebalance walk instead of every record.
    BlocksIn {
        /// Which blocks.
        set: BlockSet,
        /// Start strictly after this (account, block) (`None`: from the first).
        after: Option<(AccountId, BlockId)>,
        /// At most this many (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// Every node some block has a shard on.
    ShardNodes,
}

/// The answer to a [`Query`], variant for variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// For [`Query::UserByName`] and [`Query::User`].
    User(Option<User>),
    /// For [`Query::Stat`]: the entry, and the file record for a file.
    Stat(Option<(EntryRecord, Option<FileRecord>)>),
    /// For [`Query::List`]: (name, entry) pairs.
    List(Vec<(String, EntryRecord)>),
    /// For [`Query::Versions`].
    Versions(Vec<VersionRecord>),
    /// For [`Query::ChangesAfter`].
    Changes(Vec<Change>),
    /// For [`Query::Block`].
    Block(Option<BlockRecord>),
    /// For [`Query::Blocks`] and [`Query::BlocksIn`]: (account, block, record) triples.
    Blocks(Vec<(AccountId, BlockId, BlockRecord)>),
    /// For [`Query::Devices`].
    Devices(Vec<DeviceRecord>),
    /// For [`Query::Access`]: `None` means no access at all.
    Access(Option<Access>),
    /// For [`Query::SharesGiven`] and [`Query::SharesReceived`].
    Shares(Vec<ShareRecord>),
    /// For [`Query::Trash`].
    Trash(Vec<TrashRecord>),
    /// For [`Query::Upload`].
    Upload(Option<UploadRecord>),
    /// For [`Query::ClusterMap`].
    ClusterMap(ClusterMap),
    /// For [`Query::Namespace`].
    Namespace(Option<Namespace>),
    /// For [`Query::Link`].
    Link(Option<LinkState>),
    /// For [`Query::Links`].
    Links(Vec<LinkState>),
    /// For [`Query::UserByToken`]: `None` for a token that is unknown or revoked.
    Authenticated(Option<(User, TokenRecord)>),
    /// For [`Query::Tokens`]: (hash, record) pairs.
    Tokens(Vec<(TokenHash, TokenRecord)>),
    /// For [`Query::Uploading`].
    Uploads(Vec<UploadRecord>),
    /// For [`Query::Journal`]: the page, or [`Rejection::CursorExpired`].
    Journal(Result<JournalPage, Rejection>),
    /// For [`Query::JournalLatest`].
    JournalLatest(u64),
    /// For [`Query::Session`].
    Session(Result<Session, Rejection>),
    /// For [`Query::TokenList`].
    TokenList(Vec<TokenEntry>),
    /// For [`Query::JoinTokens`].
    JoinTokens(Vec<join_tokens::JoinTokenEntry>),
    /// For [`Query::SignIn`]: `None` for an unknown name.
    SignIn(Option<(User, Account)>),
    /// For [`Query::Unheld`]: the blocks not held, in the order asked, without repeats.
    Unheld(Vec<BlockId>),
    /// For [`Query::ClusterVersion`].
    ClusterVersion(u32),
    /// For [`Query::InlineBlock`].
    InlineBlock(Option<Vec<u8>>),
    /// For [`Query::ShardNodes`].
    ShardNodes(Vec<NodeId>),
}

/// Answers `query` from `state`.
pub fn answer(state: &(impl StateRead + ?Sized), query: &Query) -> Result<Answer, StateError> {
    let page = |limit: usize| limit.clamp(1, MAX_PAGE);
    Ok(match query {
        Query::UserByName(name) => Answer::User(users::user_by_name(state, name)?),
        Query::User(id) => Answer::User(users::user(state, *id)?),
        Query::Stat { namespace, path } => Answer::Stat(drive::stat(state, *namespace, path)?),
        Query::List { namespace, folder, after, limit } => {
            Answer::List(drive::list(state, *namespace, folder, after.as_deref(), page(*limit))?)
        }
        Query::Versions { file, limit } => Answer::Versions(drive::versions(state, *file, page(*limit))?),
        Query::ChangesAfter { user, cursor, limit } => {
            Answer::Changes(journal::changes_after(state, *user, *cursor, page(*limit))?)
        }
        Query::Block { account, block } => Answer::Block(blocks::block(state, *account, block)?),
        Query::Blocks { after, limit } => Answer::Blocks(blocks::blocks(state, *after, page(*limit))?),
        Query::Devices { user, after, limit } => {
            Answer::Devices(devices::devices(state, *user, *after, page(*limit))?)
        }
        Query::Access { namespace, path, user } => {
            Answer::Access(shares::access(state, *namespace, path, *user)?)
        }
        Query::SharesGiven { user, after, limit } => Answer::Shares(match users::user(state, *user)? {
            Some(giver) => shares::given(state, giver.drive, after.as_ref(), page(*limit))?,
            None => Vec::new(),
        }),
        Query::SharesReceived { user, after, limit } => {
            Answer::Shares(shares::received(state, *user, after.as_ref(), page(*limit))?)
        }
        Query::Trash { namespace, after, limit } => {
            Answer::Trash(trash::trash_list(state, *namespace, *after, page(*limit))?)
        }
        Query::Upload(id) => Answer::Upload(uploads::upload(state, *id)?),
        Query::Uploading { namespace, path, now_ms } => {
            Answer::Uploads(uploads::uploading(state, *namespace, path, *now_ms, MAX_PAGE)?)
        }
        Query::ClusterMap => Answer::ClusterMap(cluster::cluster_map(state)?),
        Query::Namespace(id) => Answer::Namespace(drive::namespace(state, *id)?),
        Query::Link { link, now_ms } => Answer::Link(links::resolve(state, *link, *now_ms)?),
        Query::Links { user, after, limit, now_ms } => {
            Answer::Links(links::listed(state, *user, *after, page(*limit), *now_ms)?)
        }
        Query::UserByToken(token) => Answer::Authenticated(tokens::authenticate(state, token)?),
        Query::Tokens { user } => Answer::Tokens(tokens::tokens(state, *user)?),
        Query::Journal { user, cursor, limit } => {
            Answer::Journal(journal::page_after(state, *user, *cursor, page(*limit))?)
        }
        Query::JournalLatest(user) => Answer::JournalLatest(journal::window(state, *user)?.1),
        Query::VersionsFrom { file, newest, limit } => {
            Answer::Versions(drive::versions_from(state, *file, *newest, page(*limit))?)
        }
        Query::Session { token, now_ms } => Answer::Session(tokens::session(state, token, *now_ms)?),
        Query::TokenList { user } => Answer::TokenList(tokens::token_list(state, *user)?),
        Query::JoinTokens => Answer::JoinTokens(join_tokens::tokens(state)?),
        Query::SignIn(name) => Answer::SignIn(users::sign_in(state, name)?),
        Query::Unheld { account, user, blocks } => {
            Answer::Unheld(block_holders::unheld(state, *account, *user, blocks)?)
        }
        Query::ClusterVersion => Answer::ClusterVersion(version::cluster_version(state)?),
        Query::InlineBlock { account, block } => {
            Answer::InlineBlock(blocks::inline_block(state, *account, block)?)
        }
        Query::BlocksIn { set, after, limit } => {
            Answer::Blocks(block_index::blocks_in(state, *set, *after, page(*limit))?)
        }
        Query::ShardNodes => Answer::ShardNodes(block_index::nodes_with_shards(state)?),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Command, Request, RequestId, Space, Txn, apply};

    type State = BTreeMap<(Space, Vec<u8>), Vec<u8>>;

    #[test]
    fn answers_come_from_the_state_and_pages_are_capped() {
        let mut state = State::new();
        for (i, name) in ["ada", "bob"].into_iter().enumerate() {
            let mut txn = Txn::new(&state);
            let request = Request {
                id: RequestId(i as u128),
                time_ms: 5,
                command: Command::CreateUser { name: name.into() },
            };
            apply(&mut txn, &request).unwrap();
            let writes: Vec<_> = txn.into_writes().collect();
            for ((space, key), value) in writes {
                state.insert((space, key), value.unwrap());
            }
        }
        let Answer::User(Some(bob)) = answer(&state, &Query::UserByName("bob".into())).unwrap() else {
            panic!("bob is missing")
        };
        assert_eq!(answer(&state, &Query::User(bob.id)).unwrap(), Answer::User(Some(bob.clone())));
        assert_eq!(answer(&state, &Query::UserByName("eve".into())).unwrap(), Answer::User(None));
        // A limit of zero still returns a page (of one) rather than nothing forever.
        let changes = Query::ChangesAfter { user: bob.id, cursor: 0, limit: 0 };
        assert!(matches!(answer(&state, &changes).unwrap(), Answer::Changes(_)));
    }

    #[test]
    fn the_new_reads_answer_from_the_state() {
        use crate::model::shares::ShareRole;
        use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, path};

        let mut w = World::new();
        w.ada_commits("team/a.txt", None, &[b"one"]);
        w.run(Command::Share {
            namespace: ADA_DRIVE,
            path: path("team"),
            with: BOB,
            role: ShareRole::Read,
            by: ADA,
        });
        w.run(Command::RegisterDevice { user: BOB, name: "phone".into() });
        w.run(Command::Trash { namespace: ADA_DRIVE, path: path("team/a.txt"), user: ADA });

        let ask = |q: Query| answer(&w.state, &q).unwrap();
        assert_eq!(
            ask(Query::Access { namespace: ADA_DRIVE, path: path("team/a.txt"), user: BOB }),
            Answer::Access(Some(Access::Read))
        );
        let Answer::Shares(given) = ask(Query::SharesGiven { user: ADA, after: None, limit: 10 }) else {
            panic!()
        };
        let Answer::Shares(received) = ask(Query::SharesReceived { user: BOB, after: None, limit: 10 })
        else {
            panic!()
        };
        assert_eq!((given.len(), given), (1, received));
        let Answer::Devices(devices) = ask(Query::Devices { user: BOB, after: None, limit: 0 }) else {
            panic!()
        };
        assert_eq!(devices[0].name, "phone");
        let Answer::Trash(trash) = ask(Query::Trash { namespace: ADA_DRIVE, after: None, limit: 10 }) else {
            panic!()
        };
        assert_eq!(trash[0].path, path("team/a.txt"));
        assert_eq!(ask(Query::Upload(UploadId(1))), Answer::Upload(None));
        assert_eq!(ask(Query::Link { link: LinkId(1), now_ms: 0 }), Answer::Link(None));
        assert_eq!(ask(Query::ClusterMap), Answer::ClusterMap(ClusterMap { version: 0, nodes: vec![] }));
    }
}
