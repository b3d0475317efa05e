//! Upload sessions for large files: the upload opens a resumable session (tus creation) before
//! its first block, so from then on the file shows as `uploading` to everyone who sees the
//! path, and finishes it with the block list (`POST /v1/uploads/{id}/commit`) instead of a
//! plain commit. A failed upload ends its session, so the file stops showing as `uploading`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_proto::api::{BlockEntry, Committed, SessionCommit};
use reqwest::Method;
use reqwest::header::{HeaderName, LOCATION};

use crate::nodes::Call;
use crate::{Client, ClientError};

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");

/// An open session.
pub(crate) struct Session {
    id: String,
}

/// Where the session's file goes.
pub(crate) struct Target<'a> {
    pub path: &'a str,
    pub size: u64,
    pub base: Option<u64>,
    pub ns: Option<u64>,
    pub mtime_ms: Option<u64>,
}

impl Client {
    /// Opens a session for `target`.
    pub(crate) async fn open_session(&self, target: &Target<'_>) -> Result<Session, ClientError> {
        let mut metadata = vec![("path", target.path.to_owned())];
        metadata.push(("base", target.base.map_or("none".to_owned(), |v| v.to_string())));
        if let Some(ns) = target.ns {
            metadata.push(("ns", ns.to_string()));
        }
        if let Some(mtime) = target.mtime_ms {
            metadata.push(("mtime_ms", mtime.to_string()));
        }
        let metadata: Vec<String> =
            metadata.into_iter().map(|(k, v)| format!("{k} {}", STANDARD.encode(v))).collect();
        let call = Call::new(Method::POST, &["uploads"])
            .header(TUS_RESUMABLE, "1.0.0")?
            .header(UPLOAD_LENGTH, &target.size.to_string())?
            .header(UPLOAD_METADATA, &metadata.join(","))?;
        let answer = self.nodes.send(&call).await?;
        let location = answer.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        match location.rsplit('/').next() {
            Some(id) if id.len() == 32 => Ok(Session { id: id.to_owned() }),
            _ => Err(ClientError::Protocol {
                node: self.current_node().to_string(),
                what: format!("an upload session without a usable Location ({location:?})"),
            }),
        }
    }

    /// Finishes `session` with the file's blocks and hash.
    pub(crate) async fn commit_session(
        &self,
        session: &Session,
        blocks: Vec<BlockEntry>,
        hash: String,
    ) -> Result<Committed, ClientError> {
        let body = SessionCommit { blocks, hash };
        let call = Call::new(Method::POST, &["uploads", &session.id, "commit"]).json(&body)?.idempotent();
        self.call(call).await
    }

    /// Ends `session` without a version, best effort: an end that fails leaves the session to
    /// expire.
    pub(crate) async fn abandon_session(&self, session: Session) {
        let call = Call::new(Method::DELETE, &["uploads", &session.id]).header(TUS_RESUMABLE, "1.0.0");
        if let Ok(call) = call
            && let Err(e) = self.nodes.send(&call).await
        {
            tracing::debug!(session = %session.id, "could not end the upload session: {e}");
        }
    }
}
