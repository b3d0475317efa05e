//! [`Receiver`]: turns the bytes of one PATCH into blocks appended to the upload session, and
//! finishes the upload when the last byte is in.
//!
//! Blocks are appended a few at a time ([`APPEND_EVERY`]): one Raft write per block would cost
//! a quorum fsync each, one per PATCH would lose a whole PATCH to a crash. The blocks that bring
//! the session to its full length are never appended alone: they go in the same Raft entry as
//! the finish, so a session never holds all its bytes unfinished.
//!
//! The finish needs blake3 of the whole file. When the PATCH started at offset 0 it hashed the
//! bytes as they went by; otherwise the earlier bytes came in other PATCHes, maybe through other
//! nodes, and the only copy of them is in the blocks, so they are read back and hashed — one
//! read of the file per resumed upload, the price of not keeping hasher state anywhere.

use bytes::Bytes;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{AccountId, AsyncStreamChunker, EncodedBlock};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::{Command, Request, Response, UserId};
use futures_util::StreamExt;
use tokio::io::AsyncRead;

use super::session::refusal;
use crate::error::ApiError;
use crate::state::ApiState;

/// Blocks stored before they are appended to the session (about 4 MiB at the average block).
pub const APPEND_EVERY: usize = 4;

/// Blocks read ahead while hashing a stored upload.
const READ_AHEAD: usize = 2;

/// A finished upload.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// The new version of the file.
    pub version: u64,
    /// blake3 of its content.
    pub hash: [u8; 32],
}

/// Stores one PATCH's bytes as blocks and appends them to the session.
pub struct Receiver {
    state: ApiState,
    upload: UploadId,
    user: UserId,
    account: AccountId,
    /// The session's length.
    size: u64,
    /// The session's bytes, as appended so far.
    appended: u64,
    /// Stored, not yet appended.
    pending: Vec<BlockRef>,
    /// Every block this PATCH stored, in order.
    stored: Vec<BlockRef>,
    /// blake3 of the file so far, while this PATCH began at offset 0.
    hasher: Option<blake3::Hasher>,
}

impl Receiver {
    /// A receiver for `upload` (`size` bytes, `offset` of them received) of `user`, storing
    /// blocks in `account`.
    pub fn new(
        state: ApiState,
        upload: UploadId,
        user: UserId,
        account: AccountId,
        size: u64,
        offset: u64,
    ) -> Self {
        let hasher = (offset == 0).then(blake3::Hasher::new);
        Self {
            state,
            upload,
            user,
            account,
            size,
            appended: offset,
            pending: Vec::new(),
            stored: Vec::new(),
            hasher,
        }
    }

    /// The session's bytes once the pending blocks are appended.
    pub fn reached(&self) -> u64 {
        self.appended + self.pending.iter().map(|b| u64::from(b.len)).sum::<u64>()
    }

    /// Cuts `reader` into blocks and stores them, appending every few.
    pub async fn store(&mut self, reader: impl AsyncRead + Unpin) -> Result<(), ApiError> {
        let mut chunker = AsyncStreamChunker::new(reader);
        while let Some(chunk) =
            chunker.next_chunk().await.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?
        {
            let (id, len) = (chunk.id, chunk.data.len());
            let mut hasher = self.hasher.take();
            let (wire, hasher) = tokio::task::spawn_blocking(move || {
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(&chunk.data);
                }
                (EncodedBlock::compress(&chunk.data, DEFAULT_ZSTD_LEVEL).map(|b| b.to_bytes()), hasher)
            })
            .await
            .map_err(|e| ApiError::internal(format!("compression task failed: {e}")))?;
            self.hasher = hasher;
            let wire = wire.map_err(|e| ApiError::internal(format!("compress a block: {e}")))?;
            self.state.blocks.put(self.account, id, Bytes::from(wire)).await?;
            let block = BlockRef { id, len: u32::try_from(len).unwrap_or(u32::MAX) };
            self.pending.push(block);
            self.stored.push(block);
            if self.pending.len() >= APPEND_EVERY && self.reached() < self.size {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Appends the pending blocks, unless they would complete the session (only a finish may).
    pub async fn flush(&mut self) -> Result<(), ApiError> {
        if self.pending.is_empty() || self.reached() >= self.size {
            return Ok(());
        }
        let command = Command::UploadBlocks {
            upload: self.upload,
            user: self.user,
            offset: self.appended,
            blocks: self.pending.clone(),
        };
        match self.state.propose_step(command).await? {
            Response::UploadReceived { received } => {
                self.appended = received;
                self.pending.clear();
                Ok(())
            }
            Response::Rejected(why) => Err(refusal(why)),
            other => Err(ApiError::internal(format!("unexpected answer to an upload append: {other:?}"))),
        }
    }

    /// After a failure: appends what was stored, as far as it can, so the client resumes after
    /// it rather than sending it again.
    pub async fn keep(&mut self) {
        if let Err(e) = self.flush().await {
            tracing::info!(upload = %self.upload, error = %e.message, "could not keep the blocks of a failed PATCH");
        }
    }

    /// Appends the last blocks and commits the file, in one Raft entry. `earlier` are the
    /// session's blocks from before this PATCH.
    pub async fn finish(mut self, earlier: Vec<BlockRef>) -> Result<Finished, ApiError> {
        let hash = match self.hasher.take() {
            Some(hasher) => *hasher.finalize().as_bytes(),
            None => {
                let mut all = earlier;
                all.extend_from_slice(&self.stored);
                hash_blocks(&self.state, self.account, all).await?
            }
        };
        let (upload, user) = (self.upload, self.user);
        let mut commands = Vec::new();
        let appends = !self.pending.is_empty();
        if appends {
            commands.push(Command::UploadBlocks {
                upload,
                user,
                offset: self.appended,
                blocks: self.pending,
            });
        }
        commands.push(Command::FinishUpload { upload, user, hash });
        let mut answers = propose_together(&self.state, commands).await?;
        let finish = answers.pop();
        if appends && let Some(Response::Rejected(why)) = answers.pop() {
            if matches!(finish, Some(Response::Committed { .. })) {
                // Only possible when a concurrent PATCH completed the session but its finish
                // was refused, and the refusal no longer holds: the version has that PATCH's
                // blocks and this one's hash, the same when the client sends one file.
                tracing::warn!(upload = %upload, "upload committed with the blocks of a concurrent PATCH");
            } else {
                return Err(refusal(why));
            }
        }
        match finish {
            Some(Response::Committed { version, .. }) => Ok(Finished { version, hash }),
            Some(Response::Rejected(why)) => Err(refusal(why)),
            other => Err(ApiError::internal(format!("unexpected answer to an upload finish: {other:?}"))),
        }
    }
}

/// Proposes `commands` in one Raft entry, so they apply together or (after a crash) not at all.
pub async fn propose_together(state: &ApiState, commands: Vec<Command>) -> Result<Vec<Response>, ApiError> {
    let now = state.clock.now_ms();
    let requests = commands
        .into_iter()
        .map(|command| Request { id: crate::idempotency::request_id(), time_ms: now, command })
        .collect();
    Ok(state.meta.propose(requests).await?)
}

/// blake3 of the content of `blocks`, read back from the block layer (each block verified
/// against its id there).
async fn hash_blocks(
    state: &ApiState,
    account: AccountId,
    blocks: Vec<BlockRef>,
) -> Result<[u8; 32], ApiError> {
    let service = state.blocks.clone();
    let mut reads = futures_util::stream::iter(blocks)
        .map(move |block| {
            let service = service.clone();
            async move { (block, service.get(account, block.id).await) }
        })
        .buffered(READ_AHEAD);
    let mut hasher = blake3::Hasher::new();
    while let Some((block, plain)) = reads.next().await {
        let plain = plain?;
        if plain.len() != block.len as usize {
            return Err(ApiError::internal(format!("block {} has the wrong length", block.id)));
        }
        hasher = tokio::task::spawn_blocking(move || {
            hasher.update(&plain);
            hasher
        })
        .await
        .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?;
    }
    Ok(*hasher.finalize().as_bytes())
}
