//! Verified download: a version's manifest (its block list), then its blocks as byte ranges,
//! `parallel` at a time, spread over the nodes in turn (another if one fails), written in order.
//!
//! Every block is checked against its id (blake3) before a byte of it is written, and the whole
//! file against the version's hash before it is renamed into place; a download that fails
//! leaves the destination untouched. A node that dies mid-download costs the blocks it was
//! sending, which are fetched again from another node.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use cairn_proto::BlockId;
use cairn_proto::api::{BlockEntry, DownloadOptions, Manifest};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::Method;
use reqwest::header::RANGE;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::drive::drive_path;
use crate::nodes::Call;
use crate::upload::Progress;
use crate::{Client, ClientError};

/// What a download wrote.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The version downloaded.
    pub manifest: Manifest,
    /// Where it was written.
    pub path: PathBuf,
}

impl Client {
    /// The block list of the head version of `remote`, or of `options.version`.
    pub async fn manifest(&self, remote: &str, options: &DownloadOptions) -> Result<Manifest, ClientError> {
        let path = drive_path(remote)?;
        self.call(Call::new(Method::GET, &["manifest"]).path(&path).query(options)?).await
    }

    /// Downloads `remote` to the file `local`, through a temporary file beside it that is
    /// renamed over `local` once the whole content checked out.
    pub async fn download_file(
        &self,
        remote: &str,
        local: &Path,
        options: &DownloadOptions,
        progress: Option<Progress>,
    ) -> Result<Downloaded, ClientError> {
        let manifest = self.manifest(remote, options).await?;
        self.download_manifest(manifest, options.ns, local, progress).await
    }

    /// [`Self::download_file`] of a version whose manifest the caller already has (to size a
    /// progress bar, say, before the first byte moves).
    pub async fn download_manifest(
        &self,
        manifest: Manifest,
        ns: Option<u64>,
        local: &Path,
        progress: Option<Progress>,
    ) -> Result<Downloaded, ClientError> {
        let folder = match local.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".cairn-").suffix(".part");
        // A downloaded file gets the permissions any new file gets (0666 less the umask), not
        // the owner-only mode of temporary files.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(&folder).map_err(|e| ClientError::io(&folder, e))?;
        let std_file = temp.reopen().map_err(|e| ClientError::io(temp.path(), e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        self.download_into(&manifest, ns, &mut file, progress).await?;
        file.sync_all().await.map_err(|e| ClientError::io(temp.path(), e))?;
        drop(file);
        temp.persist(local).map_err(|e| ClientError::io(local, e.error))?;
        Ok(Downloaded { manifest, path: local.to_path_buf() })
    }

    /// Writes the content `manifest` describes to `out`, block by block, checking each block
    /// and, at the end, the whole. On a failed check, the bytes already written stay written:
    /// callers writing a file use [`Self::download_file`], which then leaves no file.
    pub async fn download_into<W: AsyncWrite + Unpin>(
        &self,
        manifest: &Manifest,
        ns: Option<u64>,
        out: &mut W,
        progress: Option<Progress>,
    ) -> Result<(), ClientError> {
        let path = drive_path(&manifest.path)?;
        let options = DownloadOptions { ns, version: Some(manifest.version) };
        let mut offset = 0u64;
        let mut spans = Vec::with_capacity(manifest.blocks.len());
        for block in &manifest.blocks {
            spans.push((block.clone(), offset));
            offset += u64::from(block.len);
        }
        if offset != manifest.size {
            return Err(ClientError::Integrity(format!(
                "the blocks of {} add up to {offset} bytes, not {}",
                manifest.path, manifest.size
            )));
        }
        let mut blocks = futures_util::stream::iter(spans.into_iter().enumerate())
            .map(|(i, (block, offset))| {
                let call = Call::new(Method::GET, &["content"]).path(&path).spread(i);
                let options = &options;
                async move { self.fetch_block(call, options, &block, offset).await }
            })
            .buffered(self.config.parallel.max(1));
        let mut hasher = blake3::Hasher::new();
        while let Some(data) = blocks.try_next().await? {
            hasher.update(&data);
            out.write_all(&data).await.map_err(|e| ClientError::io("<download destination>", e))?;
            if let Some(progress) = &progress {
                progress(data.len() as u64);
            }
        }
        out.flush().await.map_err(|e| ClientError::io("<download destination>", e))?;
        let hash = hasher.finalize().to_hex();
        if hash.as_str() != manifest.hash {
            return Err(ClientError::Integrity(format!(
                "{} version {} hashes to {hash}, not {}",
                manifest.path, manifest.version, manifest.hash
            )));
        }
        Ok(())
    }

    /// One block, as the byte range it covers, checked against its id.
    async fn fetch_block(
        &self,
        call: Call,
        options: &DownloadOptions,
        block: &BlockEntry,
        offset: u64,
    ) -> Result<Bytes, ClientError> {
        let id = hex::decode(&block.id)
            .ok()
            .and_then(|b| BlockId::from_slice(&b).ok())
            .ok_or_else(|| ClientError::Integrity(format!("{:?} is not a block id", block.id)))?;
        if block.len == 0 {
            return Ok(Bytes::new());
        }
        let range = format!("bytes={offset}-{}", offset + u64::from(block.len) - 1);
        let answer = self.nodes.send(&call.query(options)?.header(RANGE, &range)?).await?;
        let data = answer.body;
        if data.len() != block.len as usize || BlockId::of(&data) != id {
            return Err(ClientError::Integrity(format!(
                "block {id} at offset {offset}: {} bytes that do not hash to its id",
                data.len()
            )));
        }
        self.counters().block_received();
        Ok(data)
    }
}
