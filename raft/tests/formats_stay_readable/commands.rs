//! One sample of every [`Command`], as a log entry carries it.

use cairn_raft::model::Command;
use cairn_raft::model::blocks::ShardMove;
use cairn_raft::model::cluster::NodeMark;
use cairn_raft::model::drive::{FileStatus, NewVersion};
use cairn_raft::model::join_tokens::JoinRole;
use cairn_raft::model::links::NewLink;
use cairn_raft::model::shares::ShareRole;

use super::values::*;

/// Every command, in any order: the golden check tells which variant each is.
pub fn commands() -> Vec<Command> {
    vec![
        Command::CreateUser { name: "ada".into() },
        Command::AddToken { user: ADA, token_hash: token(), label: "laptop".into() },
        Command::RevokeToken { token_hash: token() },
        Command::MakeFolder { namespace: DRIVE, path: path("photos/2026"), user: BOB },
        Command::CommitVersion(NewVersion {
            namespace: DRIVE,
            path: path("photos/beach.jpg"),
            base: Some(2),
            content: content(),
            author: BOB,
            status: FileStatus::Uploading,
        }),
        Command::RegisterDevice { user: ADA, name: "laptop".into() },
        Command::RemoveDevice { user: ADA, device: DEVICE },
        Command::Share {
            namespace: DRIVE,
            path: path("photos"),
            with: BOB,
            role: ShareRole::ReadWrite,
            by: ADA,
        },
        Command::RevokeShare { namespace: DRIVE, path: path("photos"), with: BOB, by: ADA },
        Command::CreateLink(NewLink {
            link: LINK,
            namespace: DRIVE,
            path: path("photos"),
            user: BOB,
            expires_ms: Some(T0 + 604_800_000),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$bGluaw$cGFzcw".into()),
        }),
        Command::RevokeLink { link: LINK, by: BOB },
        Command::Trash { namespace: DRIVE, path: path("photos/beach.jpg"), user: BOB },
        Command::Restore { namespace: DRIVE, path: path("photos/beach.jpg"), user: BOB },
        Command::Purge { namespace: DRIVE, path: path("photos/beach.jpg"), user: BOB },
        Command::PinVersion { file: FILE, version: 3, pinned: true, user: BOB },
        Command::BeginUpload(new_upload()),
        Command::UploadBlocks {
            upload: UPLOAD,
            user: BOB,
            offset: 4_194_304,
            blocks: refs(),
            progress: Some(progress()),
        },
        Command::FinishUpload {
            upload: UPLOAD,
            user: BOB,
            hash: *blake3::hash(b"talk").as_bytes(),
            verified: true,
        },
        Command::AbortUpload { upload: UPLOAD, user: BOB },
        Command::SetNode(node_spec()),
        Command::MarkNode { node: NODE_B, mark: NodeMark::Draining },
        Command::RemoveNode { node: NODE_C },
        Command::RegisterBlock {
            account: ACCOUNT,
            block: block("one"),
            plain_len: 1_048_577,
            shape: (4, 2),
            generation: 0x9e4e_7a71_0000_0091,
            placement: vec![NODE_A, NODE_B, NODE_C, 84, 85, 86],
            damaged: vec![5],
        },
        Command::ReportDamage {
            account: ACCOUNT,
            block: block("one"),
            generation: 0x9e4e_7a71_0000_0091,
            shards: vec![1, 3],
        },
        Command::MoveShards {
            account: ACCOUNT,
            block: block("one"),
            generation: 0x9e4e_7a71_0000_0091,
            moves: vec![ShardMove { index: 3, from: NODE_B, to: NODE_C }],
        },
        Command::DropBlock {
            account: ACCOUNT,
            block: block("two"),
            generation: 0x7e4e_0000_0092,
            unchanged_since_ms: T0 + 30,
        },
        Command::SetAdmin { user: BOB, admin: true },
        Command::RevokeOwnToken { user: ADA, token_hash: token() },
        Command::Move {
            namespace: DRIVE,
            from: path("photos/beach.jpg"),
            to: path("archive/beach.jpg"),
            user: BOB,
        },
        Command::SetJournalRetention { ms: 2_592_000_031 },
        Command::TrashUnchanged { namespace: DRIVE, path: path("photos/beach.jpg"), user: BOB, since: 101 },
        Command::IssueToken {
            user: ADA,
            token_hash: token(),
            label: "browser".into(),
            terms: Some(token_terms()),
        },
        Command::TouchToken { token_hash: token() },
        Command::SetPassword {
            user: BOB,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        },
        Command::SetDisabled { user: BOB, disabled: true },
        Command::HoldBlock { account: ACCOUNT, block: block("one"), user: BOB },
        Command::IssueJoinToken {
            token_hash: join_token(),
            role: JoinRole::Storage,
            expires_ms: T0 + 3_600_021,
        },
        Command::RevokeJoinToken { token_hash: join_token() },
        Command::ConsumeJoinToken { token_hash: join_token(), node: NODE_C, members: vec![NODE_A, NODE_B] },
        Command::SetClusterVersion { version: 2 },
        Command::RegisterInlineBlock {
            account: ACCOUNT,
            block: block("small"),
            plain_len: 4_099,
            generation: 0x9e4e_7a71_0000_0093,
            sealed: sealed_block(),
        },
    ]
}
