//! One sample of every [`Query`] and every [`Answer`]: reads travel from the node a client asked
//! to any other node, which may run the previous release during an upgrade.

use cairn_raft::model::Rejection;
use cairn_raft::model::block_index::BlockSet;
use cairn_raft::model::join_tokens::JoinTokenEntry;
use cairn_raft::model::journal::JournalPage;
use cairn_raft::model::links::{LinkState, LinkStatus};
use cairn_raft::model::shares::Access;
use cairn_raft::model::tokens::{Session, TokenEntry};
use cairn_raft::model::{Answer, Query};

use super::values::*;

/// Every query.
pub fn queries() -> Vec<Query> {
    vec![
        Query::UserByName("ada".into()),
        Query::User(BOB),
        Query::Stat { namespace: DRIVE, path: path("photos/beach.jpg") },
        Query::List { namespace: DRIVE, folder: path("photos"), after: Some("beach.jpg".into()), limit: 250 },
        Query::Versions { file: FILE, limit: 20 },
        Query::ChangesAfter { user: BOB, cursor: 101, limit: 500 },
        Query::Block { account: ACCOUNT, block: block("one") },
        Query::Blocks { after: Some((ACCOUNT, block("two"))), limit: 500 },
        Query::Devices { user: ADA, after: Some(DEVICE), limit: 30 },
        Query::Access { namespace: DRIVE, path: path("photos/beach.jpg"), user: BOB },
        Query::SharesGiven { user: ADA, after: Some((path("photos"), BOB)), limit: 40 },
        Query::SharesReceived { user: BOB, after: Some((DRIVE, path("photos"))), limit: 50 },
        Query::Trash { namespace: DRIVE, after: Some(FILE), limit: 60 },
        Query::Upload(UPLOAD),
        Query::ClusterMap,
        Query::Namespace(DRIVE),
        Query::Link { link: LINK, now_ms: T0 + 50 },
        Query::Links { user: ADA, after: Some(LINK), limit: 70, now_ms: T0 + 51 },
        Query::UserByToken(token()),
        Query::Tokens { user: ADA },
        Query::Uploading { namespace: DRIVE, path: path("videos"), now_ms: T0 + 52 },
        Query::Journal { user: BOB, cursor: 102, limit: 80 },
        Query::JournalLatest(BOB),
        Query::VersionsFrom { file: FILE, newest: 3, limit: 2 },
        Query::Session { token: token(), now_ms: T0 + 53 },
        Query::TokenList { user: ADA },
        Query::JoinTokens,
        Query::SignIn("bob".into()),
        Query::Unheld { account: ACCOUNT, user: BOB, blocks: vec![block("one"), block("three")] },
        Query::ClusterVersion,
        Query::InlineBlock { account: ACCOUNT, block: block("small") },
        Query::BlocksIn { set: BlockSet::OnNode(NODE_B), after: Some((ACCOUNT, block("one"))), limit: 7 },
        Query::ShardNodes,
    ]
}

fn session() -> Session {
    Session { user: user(), token: token_record(), terms: Some(token_terms()) }
}

fn page() -> JournalPage {
    JournalPage { changes: vec![change()], latest: 106 }
}

fn expired_cursor() -> Rejection {
    Rejection::CursorExpired { cursor: 5, oldest: 90, latest: 106 }
}

/// Every answer (with `Ok` where an answer is a `Result`; see [`answers_refused`]).
pub fn answers() -> Vec<Answer> {
    let link_state = LinkState { record: link(), path: Some(path("photos")), status: LinkStatus::Live };
    vec![
        Answer::User(Some(user())),
        Answer::Stat(Some((entry(), Some(file())))),
        Answer::List(vec![("beach.jpg".into(), entry())]),
        Answer::Versions(vec![version()]),
        Answer::Changes(vec![change()]),
        Answer::Block(Some(block_record())),
        Answer::Blocks(vec![(ACCOUNT, block("one"), block_record())]),
        Answer::Devices(vec![device()]),
        Answer::Access(Some(Access::ReadWrite)),
        Answer::Shares(vec![share()]),
        Answer::Trash(vec![trash()]),
        Answer::Upload(Some(upload())),
        Answer::ClusterMap(cluster_map()),
        Answer::Namespace(Some(namespace())),
        Answer::Link(Some(link_state.clone())),
        Answer::Links(vec![link_state]),
        Answer::Authenticated(Some((user(), token_record()))),
        Answer::Tokens(vec![(token(), token_record())]),
        Answer::Uploads(vec![upload()]),
        Answer::Journal(Ok(page())),
        Answer::JournalLatest(106),
        Answer::Session(Ok(session())),
        Answer::TokenList(vec![TokenEntry {
            hash: token(),
            record: token_record(),
            terms: Some(token_terms()),
        }]),
        Answer::JoinTokens(vec![JoinTokenEntry { hash: join_token(), token: join_token_record() }]),
        Answer::SignIn(Some((user(), account()))),
        Answer::Unheld(vec![block("three")]),
        Answer::ClusterVersion(2),
        Answer::InlineBlock(Some(sealed_block())),
        Answer::ShardNodes(vec![NODE_A, NODE_B]),
    ]
}

/// The answers whose `Err` side travels too, by kind name.
pub fn answers_refused() -> Vec<(&'static str, Answer)> {
    vec![
        ("Answer::Journal(Err)", Answer::Journal(Err(expired_cursor()))),
        ("Answer::Session(Err)", Answer::Session(Err(Rejection::TokenExpired))),
    ]
}
