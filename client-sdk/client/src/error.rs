//! What can go wrong in a client call. An answer of the API keeps its stable [`ErrorCode`], so
//! callers branch on [`ClientError::is`] (or [`ClientError::api_code`]), never on messages.

use std::path::PathBuf;

use cairn_proto::api::ErrorCode;
use reqwest::StatusCode;

/// A failed client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The cluster answered with an error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The stable error code.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
        /// For `missing_blocks`: the ids (hex) the cluster lacks.
        missing: Vec<String>,
        /// For `conflict` on a commit: the file's head now (`Some(None)`: no file there).
        head: Option<Option<u64>>,
    },
    /// No node could be reached, or none answered in time, until the retry deadline passed.
    #[error("no node of the cluster answered: {0}")]
    Unreachable(String),
    /// A node answered something that is not the API (a proxy's page, a truncated body).
    #[error("unexpected answer from {node}: {what}")]
    Protocol {
        /// The node.
        node: String,
        /// What was wrong.
        what: String,
    },
    /// Downloaded bytes do not match their block id or the file's hash: nothing was written.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The client was configured wrongly (no node, a bad address, an unreadable CA).
    #[error("client configuration: {0}")]
    Config(String),
    /// The request itself is wrong (a path the API would refuse, say), caught before sending.
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The API's error code, or a code of our own for failures that never reached the API
    /// (`unreachable`, `protocol`, `integrity`, `io`, `config`, `invalid`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Api { code, .. } => code.as_str(),
            Self::Unreachable(_) => "unreachable",
            Self::Protocol { .. } => "protocol",
            Self::Integrity(_) => "integrity",
            Self::Io { .. } => "io",
            Self::Config(_) => "config",
            Self::Invalid(_) => "invalid",
        }
    }

    /// The API's error code, for an error the cluster answered with.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the cluster answered with `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.api_code() == Some(code)
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
