//! Upload of a file or stream as a new version, sending only the blocks the cluster lacks.
//!
//! The content is cut into blocks by the same content-defined chunker the nodes use, so an edit
//! changes only the blocks around it, and a file the account already holds (in any folder,
//! any version) sends nothing but its block list. The pipeline:
//!
//! 1. a blocking reader chunks and hashes the content; each block waits for room in the
//!    memory budget before it enters the pipeline, so a slow network holds the reader back;
//! 2. blocks are asked about in batches (`POST /v1/blocks/missing`), except the block of a
//!    one-block file, which is sent straight away (the node skips a block it already has);
//! 3. the missing ones are compressed and sent `parallel` at a time (`PUT /v1/blocks/{id}`),
//!    spread over the nodes in turn, each retried on another node if its node fails;
//! 4. the version is committed with its base (`POST /v1/commit`), once, under an idempotency
//!    key. If the cluster lost a block in between (`missing_blocks`), a file is read and sent
//!    again; a stream cannot be, and the error is returned.
//!
//! A file smaller than the chunker's minimum block is one block: it goes up whole in one
//! request (`PUT /v1/content/...`), which the node commits in one Raft entry.
//!
//! A file of [`SESSION_MIN`] bytes or more is uploaded inside an upload session ([`crate::session`]),
//! so it shows as `uploading` while its blocks travel.

use crate::api::ErrorCode;
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use cairn_proto::api::{
    BlockEntry, BlockTarget, Committed, Ids, Missing, NewCommit, Stored, UploadOptions, Uploaded,
};
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{BlockId, Chunk, EncodedBlock, StreamChunker};
use reqwest::Method;
use reqwest::header::{IF_MATCH, IF_NONE_MATCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::drive::drive_path;
use crate::nodes::Call;
use crate::session::Target;
use crate::{Client, ClientError};

/// Ids asked about per `missing` call (the API's limit).
const MAX_IDS: usize = 1000;
/// The smallest memory budget that always leaves room for a largest block beside a full batch.
const MIN_BUDGET: usize = 16 << 20;
/// Attempts of a file upload whose commit found blocks gone.
const ATTEMPTS: usize = 3;
/// Files smaller than this are one block whatever their content (the chunker never cuts
/// before its minimum), so they go up whole in one request ([`Client::upload_whole`]) instead
/// of asking about and sending their block and then committing.
const ONE_REQUEST_BELOW: u64 = cairn_proto::ChunkParams::DEFAULT.min_size as u64;
/// Files this large take long enough to upload that others should see them as `uploading`;
/// smaller ones are done before anyone could look, and skip the session's extra writes.
pub const SESSION_MIN: u64 = 16 << 20;

/// What a new version replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOn {
    /// Whatever the head is when the upload starts (none, for a new file); a change committed
    /// in the meantime still makes the commit fail with `conflict` rather than be overwritten.
    Head,
    /// Nothing: the file must not exist.
    New,
    /// This version, which must still be the head.
    Version(u64),
}

/// Called with the number of content bytes each step dealt with (sent or found present).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// How to upload.
#[derive(Clone)]
pub struct PutOptions {
    /// What the new version replaces.
    pub base: CommitOn,
    /// A namespace other than the caller's drive.
    pub ns: Option<u64>,
    /// The modification time to record (ms since the epoch); default: the file's, or now.
    pub mtime_ms: Option<u64>,
    /// Progress reports.
    pub progress: Option<Progress>,
}

impl Default for PutOptions {
    fn default() -> Self {
        Self { base: CommitOn::Head, ns: None, mtime_ms: None, progress: None }
    }
}

/// What an upload did.
#[derive(Debug, Clone)]
pub struct UploadReport {
    /// The new version.
    pub committed: Committed,
    /// Its size.
    pub size: u64,
    /// blake3 of its content, hex.
    pub hash: String,
    /// Blocks in the file.
    pub blocks: usize,
    /// Blocks that had to be sent.
    pub blocks_sent: usize,
}

/// The content as sent: block list, size, hash.
struct Sent {
    blocks: Vec<BlockEntry>,
    size: u64,
    hash: [u8; 32],
    blocks_sent: usize,
}

impl Client {
    /// Uploads the file at `local` as a new version of `remote`.
    pub async fn upload_file(
        &self,
        local: &Path,
        remote: &str,
        options: &PutOptions,
    ) -> Result<UploadReport, ClientError> {
        let mut options = options.clone();
        if options.mtime_ms.is_none() {
            options.mtime_ms = mtime_of(local);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let file = std::fs::File::open(local).map_err(|e| ClientError::io(local, e))?;
            let size = file.metadata().map_err(|e| ClientError::io(local, e))?.len();
            if size < ONE_REQUEST_BELOW {
                return self.upload_whole(file, local, remote, &options).await;
            }
            let session_size = (size >= SESSION_MIN).then_some(size);
            match self.upload(file, remote, &options, session_size).await {
                Err(ClientError::Api { code: ErrorCode::MissingBlocks, .. }) if attempt < ATTEMPTS => {
                    tracing::warn!(%remote, "the cluster lost blocks of the upload; sending again");
                }
                other => return other,
            }
        }
    }

    /// Uploads everything `reader` yields as a new version of `remote`.
    pub async fn upload_reader<R: Read + Send + 'static>(
        &self,
        reader: R,
        remote: &str,
        options: &PutOptions,
    ) -> Result<UploadReport, ClientError> {
        self.upload(reader, remote, options, None).await
    }

    /// Uploads exactly `size` bytes from `reader` as a new version of `remote`; a large one
    /// inside an upload session, so it shows as `uploading` until it completes.
    pub async fn upload_reader_sized<R: Read + Send + 'static>(
        &self,
        reader: R,
        size: u64,
        remote: &str,
        options: &PutOptions,
    ) -> Result<UploadReport, ClientError> {
        self.upload(reader, remote, options, (size >= SESSION_MIN).then_some(size)).await
    }

    /// The upload itself; with `session_size`, inside an upload session for that many bytes.
    async fn upload<R: Read + Send + 'static>(
        &self,
        reader: R,
        remote: &str,
        options: &PutOptions,
        session_size: Option<u64>,
    ) -> Result<UploadReport, ClientError> {
        let path = file_path(remote)?;
        let base = match options.base {
            CommitOn::Version(v) => Some(v),
            CommitOn::New => None,
            CommitOn::Head => self.head_of(path.as_str(), options.ns).await?,
        };
        let session = match session_size {
            Some(size) => {
                let target =
                    Target { path: path.as_str(), size, base, ns: options.ns, mtime_ms: options.mtime_ms };
                Some(self.open_session(&target).await?)
            }
            None => None,
        };
        let sent = match self.send_blocks(reader, path.as_str(), options).await {
            Ok(sent) => sent,
            Err(e) => {
                if let Some(session) = session {
                    self.abandon_session(session).await;
                }
                return Err(e);
            }
        };
        if let Some(session) = session {
            let blocks = sent.blocks.len();
            return match self.commit_session(&session, sent.blocks, hex::encode(sent.hash)).await {
                Ok(committed) => Ok(UploadReport {
                    committed,
                    size: sent.size,
                    hash: hex::encode(sent.hash),
                    blocks,
                    blocks_sent: sent.blocks_sent,
                }),
                Err(e) => {
                    self.abandon_session(session).await;
                    Err(e)
                }
            };
        }
        let commit = NewCommit {
            path: path.as_str().to_owned(),
            base,
            blocks: sent.blocks,
            size: sent.size,
            hash: hex::encode(sent.hash),
            mtime_ms: options.mtime_ms,
            ns: options.ns,
        };
        let blocks = commit.blocks.len();
        let call = Call::new(Method::POST, &["commit"]).json(&commit)?.idempotent();
        let committed: Committed = self.call(call).await?;
        Ok(UploadReport {
            committed,
            size: sent.size,
            hash: hex::encode(sent.hash),
            blocks,
            blocks_sent: sent.blocks_sent,
        })
    }

    /// Uploads a small file in one request (`PUT /v1/content/...`): the node cuts, seals and
    /// commits it, with its base as a precondition, and keeps a small one-block file in
    /// metadata with the commit in one Raft entry. The node's hash of what it received must be
    /// the file's.
    async fn upload_whole(
        &self,
        mut file: std::fs::File,
        local: &Path,
        remote: &str,
        options: &PutOptions,
    ) -> Result<UploadReport, ClientError> {
        let path = file_path(remote)?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(|e| ClientError::io(local, e))?;
        let hash = blake3::hash(&content).to_hex().to_string();
        let size = content.len() as u64;
        let query = UploadOptions { ns: options.ns, mtime_ms: options.mtime_ms };
        let mut call = Call::new(Method::PUT, &["content"]).path(&path).query(&query)?;
        call = match options.base {
            CommitOn::Head => call,
            CommitOn::New => call.header(IF_NONE_MATCH, "*")?,
            CommitOn::Version(v) => call.header(IF_MATCH, &format!("\"{v}\""))?,
        };
        let uploaded: Uploaded = self.call(call.bytes(Bytes::from(content)).idempotent()).await?;
        self.stored_whole(remote, uploaded, hash, size, options)
    }

    /// The report of a one-block file the node sealed and committed from its whole content
    /// (`PUT /v1/content`, or one file of a batch): what the node stored must hash to what was
    /// sent.
    pub(crate) fn stored_whole(
        &self,
        remote: &str,
        uploaded: Uploaded,
        hash: String,
        size: u64,
        options: &PutOptions,
    ) -> Result<UploadReport, ClientError> {
        if uploaded.hash != hash || uploaded.size != size {
            return Err(ClientError::Integrity(format!(
                "{remote}: the node stored {} bytes hashing to {}, not the {size} bytes hashing to {hash} sent",
                uploaded.size, uploaded.hash
            )));
        }
        let blocks = usize::from(size > 0);
        let written = usize::try_from(uploaded.blocks_written).unwrap_or(usize::MAX).min(blocks);
        if written > 0 {
            self.counters().block_sent();
        } else {
            self.counters().blocks_skipped(blocks as u64);
        }
        report(options, size);
        Ok(UploadReport {
            committed: Committed { file: uploaded.file, version: uploaded.version, seq: uploaded.seq },
            size,
            hash,
            blocks,
            blocks_sent: written,
        })
    }

    /// The head version of the file at `path`, or `None` when there is none.
    async fn head_of(&self, path: &str, ns: Option<u64>) -> Result<Option<u64>, ClientError> {
        let listing = cairn_proto::api::Listing { ns, limit: Some(1), ..Default::default() };
        match self.stat(path, &listing).await {
            Ok(view) => match view.file {
                // A trashed file has no head: the upload brings it back anew.
                Some(file) if file.status == "trashed" => Ok(None),
                Some(file) => Ok(Some(file.version)),
                None => Err(ClientError::Invalid(format!("{path} is a folder"))),
            },
            Err(e) if e.is(ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Chunks `reader` and sends the blocks the account lacks.
    async fn send_blocks<R: Read + Send + 'static>(
        &self,
        reader: R,
        remote: &str,
        options: &PutOptions,
    ) -> Result<Sent, ClientError> {
        let target = BlockTarget { ns: options.ns, path: Some(remote.to_owned()) };
        let budget = self.config.memory_budget.max(MIN_BUDGET);
        let room = Arc::new(Semaphore::new(kib(budget)));
        let (tx, mut rx) = mpsc::channel::<(Chunk, OwnedSemaphorePermit)>(MAX_IDS);
        let producer = tokio::task::spawn_blocking({
            let room = room.clone();
            let runtime = tokio::runtime::Handle::current();
            move || chunk_all(reader, &room, &runtime, &tx)
        });

        let mut blocks = Vec::new();
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        let mut seen = HashSet::new();
        let mut senders = JoinSet::new();
        let mut blocks_spawned = 0usize;
        let mut blocks_sent = 0;
        loop {
            let next = rx.recv().await;
            let done = next.is_none();
            if let Some((chunk, permit)) = next {
                blocks.push(BlockEntry { id: chunk.id.to_hex(), len: chunk.data.len() as u32 });
                batch_bytes += chunk.data.len();
                batch.push((chunk, permit));
            }
            let full = batch_bytes >= budget / 4 || batch.len() >= MAX_IDS;
            if !batch.is_empty() && (done || full) {
                // A file of one block sends it at once: asking first would cost a round trip
                // to save at most one block's bytes, and the node answers "already stored"
                // without storing it again.
                let single = done && blocks.len() == 1;
                let missing =
                    if single { HashSet::new() } else { self.missing(&batch, &seen, &target).await? };
                for (chunk, permit) in batch.drain(..) {
                    let len = chunk.data.len() as u64;
                    if (!single && !missing.contains(&chunk.id)) || !seen.insert(chunk.id) {
                        self.counters().blocks_skipped(1);
                        report(options, len);
                        continue;
                    }
                    while senders.len() >= self.config.parallel.max(1) {
                        blocks_sent += join_one(&mut senders).await?;
                    }
                    let (client, options, target) = (self.clone(), options.clone(), target.clone());
                    let slot = blocks_spawned;
                    blocks_spawned += 1;
                    senders.spawn(async move {
                        let written = client.send_block(chunk, &target, slot).await?;
                        report(&options, len);
                        drop(permit);
                        Ok(usize::from(written))
                    });
                }
                batch_bytes = 0;
            }
            if done {
                break;
            }
        }
        while !senders.is_empty() {
            blocks_sent += join_one(&mut senders).await?;
        }
        let (size, hash) =
            producer.await.map_err(|e| ClientError::Invalid(format!("the reading task failed: {e}")))??;
        Ok(Sent { blocks, size, hash, blocks_sent })
    }

    /// Which of the batch's blocks (not yet sent by this upload) the account lacks.
    async fn missing(
        &self,
        batch: &[(Chunk, OwnedSemaphorePermit)],
        seen: &HashSet<BlockId>,
        target: &BlockTarget,
    ) -> Result<HashSet<BlockId>, ClientError> {
        let mut ids: Vec<String> = Vec::new();
        let mut asked = HashSet::new();
        for (chunk, _) in batch {
            if !seen.contains(&chunk.id) && asked.insert(chunk.id) {
                ids.push(chunk.id.to_hex());
            }
        }
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let answer: Missing = self
            .call(Call::new(Method::POST, &["blocks", "missing"]).json(&Ids {
                ids,
                ns: target.ns,
                path: target.path.clone(),
            })?)
            .await?;
        answer
            .missing
            .iter()
            .map(|hex| {
                hex::decode(hex).ok().and_then(|b| BlockId::from_slice(&b).ok()).ok_or_else(|| {
                    ClientError::Protocol { node: String::new(), what: format!("{hex:?} is not a block id") }
                })
            })
            .collect()
    }

    /// Compresses and stores one block, first trying the node `slot` places after the one in
    /// use ([`Call::spread`]); true if the node stored it, false if the account already had it.
    async fn send_block(&self, chunk: Chunk, target: &BlockTarget, slot: usize) -> Result<bool, ClientError> {
        let id = chunk.id;
        let wire = tokio::task::spawn_blocking(move || {
            EncodedBlock::raw(chunk.data).map(|b| b.into_compressed(DEFAULT_ZSTD_LEVEL).to_bytes())
        })
        .await
        .map_err(|e| ClientError::Invalid(format!("the compression task failed: {e}")))?
        .map_err(|e| ClientError::Invalid(format!("compress block {id}: {e}")))?;
        let call = Call::new(Method::PUT, &["blocks", &id.to_hex()])
            .query(target)?
            .bytes(Bytes::from(wire))
            .spread(slot);
        let stored: Stored = self.call(call).await?;
        if stored.written {
            self.counters().block_sent();
        } else {
            self.counters().blocks_skipped(1);
        }
        Ok(stored.written)
    }
}

/// The reading side: chunks `reader`, hashing it whole, and hands each block on once the
/// budget has room for it. Returns the size and hash of everything read.
fn chunk_all<R: Read>(
    reader: R,
    room: &Arc<Semaphore>,
    runtime: &tokio::runtime::Handle,
    tx: &mpsc::Sender<(Chunk, OwnedSemaphorePermit)>,
) -> Result<(u64, [u8; 32]), ClientError> {
    let mut chunker = StreamChunker::new(reader);
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    while let Some(chunk) =
        chunker.next_chunk().map_err(|e| ClientError::io("<upload source>", std::io::Error::other(e)))?
    {
        hasher.update(&chunk.data);
        size += chunk.data.len() as u64;
        let permit = runtime
            .block_on(room.clone().acquire_many_owned(kib(chunk.data.len()) as u32))
            .map_err(|_| ClientError::Invalid("the upload was abandoned".into()))?;
        if tx.blocking_send((chunk, permit)).is_err() {
            // The sending side stopped (it failed, and says why).
            break;
        }
    }
    Ok((size, *hasher.finalize().as_bytes()))
}

/// `remote` as the drive path of a file: anything but the root.
pub(crate) fn file_path(remote: &str) -> Result<cairn_proto::DrivePath, ClientError> {
    let path = drive_path(remote)?;
    if path.is_root() {
        return Err(ClientError::Invalid("the root is a folder; name a file".into()));
    }
    Ok(path)
}

/// Bytes in whole KiB, rounded up: the unit of the memory budget's permits.
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// A local file's modification time (ms since the epoch), if it can be read.
pub(crate) fn mtime_of(local: &Path) -> Option<u64> {
    std::fs::metadata(local)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
}

pub(crate) fn report(options: &PutOptions, bytes: u64) {
    if let Some(progress) = &options.progress {
        progress(bytes);
    }
}

/// Waits for one sender and returns how many blocks it stored (0 or 1).
async fn join_one(set: &mut JoinSet<Result<usize, ClientError>>) -> Result<usize, ClientError> {
    match set.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(ClientError::Invalid(format!("a sending task failed: {e}"))),
        None => Ok(0),
    }
}
