//! Small files many at a time (`POST /v1/batch`): their content goes up in one request, the
//! node seals each (keeping the small ones in metadata) and commits them all in one Raft entry.
//! Each file succeeds or fails on its own. [`Batcher`] groups a folder's small files into such
//! requests.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_proto::api::{Base, Batch, BatchDone, BatchFile, MAX_BATCH_BODY, MAX_BATCH_FILES};
use reqwest::{Method, StatusCode};

use crate::nodes::Call;
use crate::upload::{CommitOn, PutOptions, UploadReport, file_path, mtime_of};
use crate::{Client, ClientError};

/// Files below this size go up in batches: one block whatever their content, as for a single
/// simple upload.
pub const BATCH_BELOW: u64 = cairn_proto::ChunkParams::DEFAULT.min_size as u64;

/// Files per batch: enough that one request and one Raft entry carry many, few enough that a
/// folder's files spread over parallel requests.
const FILES_PER_BATCH: usize = 100;

/// Content per batch before base64: well under the body limit.
const BYTES_PER_BATCH: u64 = (MAX_BATCH_BODY as u64) / 4;

const _: () = assert!(FILES_PER_BATCH <= MAX_BATCH_FILES);

impl Client {
    /// Sends `batch` as it is (`POST /v1/batch`), under an idempotency key, and returns one
    /// outcome per file, in order.
    pub async fn batch(&self, batch: &Batch) -> Result<BatchDone, ClientError> {
        let call = Call::new(Method::POST, &["batch"]).json(batch)?.idempotent();
        let done: BatchDone = self.call(call).await?;
        if done.files.len() != batch.files.len() {
            return Err(ClientError::Protocol {
                node: "the cluster".into(),
                what: format!("a batch of {} files answered for {}", batch.files.len(), done.files.len()),
            });
        }
        Ok(done)
    }

    /// Uploads the small files `files` (local path, remote path; each below [`BATCH_BELOW`]
    /// bytes, at most 1000) in one request, each as a new version on `options.base`. Returns
    /// one result per file, in order; `Err` only when the request as a whole failed.
    pub async fn upload_batch(
        &self,
        files: &[(PathBuf, String)],
        options: &PutOptions,
    ) -> Result<Vec<Result<UploadReport, ClientError>>, ClientError> {
        let mut batch = Batch { ns: options.ns, files: Vec::with_capacity(files.len()) };
        let mut sent = Vec::with_capacity(files.len());
        for (local, remote) in files {
            let content = std::fs::read(local).map_err(|e| ClientError::io(local, e))?;
            sent.push((blake3::hash(&content).to_hex().to_string(), content.len() as u64));
            batch.files.push(BatchFile {
                path: file_path(remote)?.as_str().to_owned(),
                base: match options.base {
                    CommitOn::Head => Base::Head,
                    CommitOn::New => Base::New,
                    CommitOn::Version(v) => Base::Version(v),
                },
                content: Some(BASE64.encode(&content)),
                mtime_ms: options.mtime_ms.or_else(|| mtime_of(local)),
                ..Default::default()
            });
        }
        let done = self.batch(&batch).await?;
        Ok(done
            .files
            .into_iter()
            .zip(sent)
            .map(|(outcome, (hash, size))| {
                let remote = outcome.path;
                match (outcome.uploaded, outcome.error) {
                    (Some(uploaded), _) => self.stored_whole(&remote, uploaded, hash, size, options),
                    (None, Some(error)) => Err(ClientError::Api {
                        status: StatusCode::from_u16(outcome.status)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                        code: error.code,
                        message: format!("{remote}: {}", error.message),
                        missing: error.missing.unwrap_or_default(),
                        head: error.head,
                    }),
                    (None, None) => Err(ClientError::Protocol {
                        node: "the cluster".into(),
                        what: format!("{remote}: a batch outcome with neither a version nor an error"),
                    }),
                }
            })
            .collect())
    }
}

/// Groups files into transfers: each small file into a batch with its neighbours, each larger
/// file on its own.
#[derive(Debug)]
pub enum Transfer<T> {
    /// Small files for one [`Client::upload_batch`].
    Batch(Vec<T>),
    /// One file for [`Client::upload_file`].
    Single(T),
}

/// Splits `files` into transfers, keeping their order within each batch; `size` tells a file's
/// size.
pub fn transfers<T>(files: impl IntoIterator<Item = T>, size: impl Fn(&T) -> u64) -> Vec<Transfer<T>> {
    let mut out = Vec::new();
    let mut batch: Vec<T> = Vec::new();
    let mut bytes = 0;
    for file in files {
        let len = size(&file);
        if len >= BATCH_BELOW {
            out.push(Transfer::Single(file));
            continue;
        }
        if batch.len() == FILES_PER_BATCH || bytes + len > BYTES_PER_BATCH {
            out.push(Transfer::Batch(std::mem::take(&mut batch)));
            bytes = 0;
        }
        bytes += len;
        batch.push(file);
    }
    if !batch.is_empty() {
        out.push(Transfer::Batch(batch));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_share_batches_and_large_ones_go_alone() {
        let sizes: Vec<u64> = (0..250).map(|i| if i == 10 { BATCH_BELOW } else { 4096 }).collect();
        let transfers = transfers(sizes.iter().copied().enumerate(), |(_, size)| *size);
        let shape: Vec<usize> = transfers
            .iter()
            .map(|t| match t {
                Transfer::Batch(files) => files.len(),
                Transfer::Single(_) => 0,
            })
            .collect();
        assert_eq!(shape, vec![0, 100, 100, 49]);
        let batched: usize = shape.iter().sum();
        assert_eq!(batched, 249);
    }

    #[test]
    fn a_batch_ends_before_its_bytes_pass_the_limit() {
        let big = BATCH_BELOW - 1;
        let per_batch = (BYTES_PER_BATCH / big) as usize;
        let transfers = transfers(vec![big; per_batch + 1], |size| *size);
        assert_eq!(transfers.len(), 2);
        assert!(matches!(&transfers[0], Transfer::Batch(files) if files.len() == per_batch));
    }
}
