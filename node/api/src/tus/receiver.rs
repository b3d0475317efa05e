//! [`Receiver`]: turns the bytes of one PATCH into blocks appended to the upload session, and
//! finishes the upload when the last byte is in.
//!
//! Blocks are appended a few at a time ([`APPEND_EVERY`]): one Raft write per block would cost
//! a quorum fsync each, one per PATCH would lose a whole PATCH to a crash. The blocks that bring
//! the session to its full length are never appended alone: they go in the same Raft entry as
//! the finish, so a session never holds all its bytes unfinished.
//!
//! The finish needs blake3 of the whole file. The bytes are hashed as they go by, and every
//! append stores how far ([`RunningHash`]), so a PATCH that resumes an upload (through this
//! node or another) goes on from there instead of reading the file back: what it reads is the
//! at most 1 KiB after the stored progress, which the PATCH before it left in a block of its
//! own by cutting its last block there. No request makes a node read more than that.

use bytes::Bytes;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{AccountId, AsyncStreamChunker, BlockId, EncodedBlock};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::uploads::{HashProgress, UploadRecord};
use cairn_raft::model::{Command, Response, UserId};
use tokio::io::AsyncRead;

use super::running_hash::{self, RunningHash};
use super::session::refusal;
use crate::error::ApiError;
use crate::state::ApiState;

/// Blocks stored before they are appended to the session (about 4 MiB at the average block).
pub const APPEND_EVERY: usize = 4;

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
    /// blake3 of the session's bytes so far, once this PATCH brought a byte (resuming it costs
    /// a small read, which a PATCH without bytes need not pay).
    hash: Option<RunningHash>,
    /// The session as this PATCH found it, to resume the hash from.
    found: UploadRecord,
    /// The last chunk read, not yet stored: if it is the PATCH's last, it is cut where the
    /// stored progress will end.
    held: Option<Vec<u8>>,
}

impl Receiver {
    /// A receiver for the session `record` of `user`.
    pub fn new(state: ApiState, user: UserId, record: UploadRecord) -> Self {
        Self {
            state,
            upload: record.session.upload,
            user,
            account: record.account,
            size: record.session.size,
            appended: record.received,
            pending: Vec::new(),
            hash: None,
            found: record,
            held: None,
        }
    }

    /// The session's bytes once the pending blocks are appended.
    pub fn reached(&self) -> u64 {
        self.appended + self.pending.iter().map(|b| u64::from(b.len)).sum::<u64>()
    }

    /// Cuts `reader` into blocks and stores them, appending every few. The last chunk is held
    /// back until [`Self::end`].
    pub async fn store(&mut self, reader: impl AsyncRead + Unpin) -> Result<(), ApiError> {
        let mut chunker = AsyncStreamChunker::new(reader);
        while let Some(chunk) =
            chunker.next_chunk().await.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?
        {
            if let Some(earlier) = self.held.replace(chunk.data) {
                self.store_block(earlier).await?;
            }
        }
        Ok(())
    }

    /// Stores the held chunk, the last of the PATCH. Unless it completes the upload, it is cut
    /// where the hashing progress will end, so the bytes after it — which the next PATCH must
    /// read back — are a block of at most 1 KiB of their own.
    pub async fn end(&mut self) -> Result<(), ApiError> {
        let Some(last) = self.held.take() else { return Ok(()) };
        let start = self.reached();
        let end = start + last.len() as u64;
        let cut = running_hash::progress_at(end);
        if end < self.size && cut > start && cut < end {
            let mut last = last;
            let after = last.split_off((cut - start) as usize);
            self.store_block(last).await?;
            self.store_block(after).await
        } else {
            self.store_block(last).await
        }
    }

    /// Hashes, compresses and stores one block, and appends every few.
    async fn store_block(&mut self, data: Vec<u8>) -> Result<(), ApiError> {
        let hash = match self.hash.take() {
            Some(hash) => hash,
            None => self.resume_hash().await?,
        };
        let (wire, id, len, before, after) = tokio::task::spawn_blocking(move || {
            let mut after = hash.clone();
            after.update(&data);
            let (id, len) = (BlockId::of(&data), data.len());
            let wire = EncodedBlock::raw(data).map(|b| b.into_compressed(DEFAULT_ZSTD_LEVEL).to_bytes());
            (wire, id, len, hash, after)
        })
        .await
        .map_err(|e| ApiError::internal(format!("compression task failed: {e}")))?;
        // The hash moves on only once the block is stored: what is appended after a failure
        // (see `keep`) must be exactly what the stored progress covers.
        self.hash = Some(before);
        let wire = wire.map_err(|e| ApiError::internal(format!("compress a block: {e}")))?;
        self.state.blocks.put(self.account, id, Bytes::from(wire)).await?;
        self.hash = Some(after);
        let len = u32::try_from(len).map_err(|_| ApiError::internal("a chunk over 4 GiB"))?;
        self.pending.push(BlockRef { id, len });
        if self.pending.len() >= APPEND_EVERY && self.reached() < self.size {
            self.flush().await?;
        }
        Ok(())
    }

    /// The hash of the session's bytes before this PATCH, from its stored progress and the
    /// bytes after it, read back from the session's last blocks.
    async fn resume_hash(&self) -> Result<RunningHash, ApiError> {
        let record = &self.found;
        let progress = record.progress.as_ref().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                cairn_proto::api::ErrorCode::Conflict,
                format!(
                    "upload {} holds blocks this cluster did not hash as they arrived; finish it with \
                     POST /v1/uploads/{}/commit, or start a new one",
                    self.upload, self.upload
                ),
            )
        })?;
        let tail = self.read_tail(progress).await?;
        RunningHash::resume(progress, &tail).map_err(|e| ApiError::internal(e.to_string()))
    }

    /// The session's bytes after `progress`: at most 1 KiB, in its last blocks.
    async fn read_tail(&self, progress: &HashProgress) -> Result<Vec<u8>, ApiError> {
        let record = &self.found;
        let wanted =
            record.received.checked_sub(progress.hashed).filter(|n| *n <= 1024).ok_or_else(|| {
                ApiError::internal(format!("upload {}: its hashing progress is past its bytes", self.upload))
            })?;
        let (mut covered, mut from) = (0u64, record.blocks.len());
        while covered < wanted && from > 0 {
            from -= 1;
            covered += u64::from(record.blocks[from].len);
        }
        let mut bytes = Vec::new();
        for block in &record.blocks[from..] {
            let plain = self.state.blocks.get(self.account, block.id).await?;
            if plain.len() != block.len as usize {
                return Err(ApiError::internal(format!("block {} has the wrong length", block.id)));
            }
            bytes.extend_from_slice(&plain);
        }
        let skip = bytes.len().saturating_sub(wanted as usize);
        Ok(bytes.split_off(skip))
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
            progress: self.hash.as_ref().map(RunningHash::progress),
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

    /// Appends the last blocks and commits the file, in one Raft entry, with the hash this node
    /// computed (recorded as verified). A refused finish ends the session.
    pub async fn finish(mut self) -> Result<Finished, ApiError> {
        let hash = match self.hash.take() {
            Some(hash) => hash,
            None => self.resume_hash().await?,
        };
        let hash = hash.finalize();
        let (upload, user) = (self.upload, self.user);
        let mut commands = Vec::new();
        let appends = !self.pending.is_empty();
        if appends {
            commands.push(Command::UploadBlocks {
                upload,
                user,
                offset: self.appended,
                blocks: self.pending,
                progress: None,
            });
        }
        commands.push(Command::FinishUpload { upload, user, hash, verified: true });
        let mut answers = self.state.propose_together(commands).await?;
        let finish = answers.pop();
        match (finish, answers.pop()) {
            (Some(Response::Committed { version, .. }), _) => Ok(Finished { version, hash }),
            // The append's refusal says more than the finish's "incomplete" that follows it.
            (_, Some(Response::Rejected(why))) | (Some(Response::Rejected(why)), _) => Err(refusal(why)),
            other => Err(ApiError::internal(format!("unexpected answer to an upload finish: {other:?}"))),
        }
    }
}
