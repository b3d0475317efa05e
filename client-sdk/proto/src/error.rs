//! The errors of `cairn-proto`.

/// Everything that can go wrong when chunking, encoding or decoding a block.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// Reading the source being chunked failed. Retryable if the reader is.
    #[error("read the file being chunked: {0}")]
    Read(#[from] std::io::Error),
    /// A block id was malformed.
    #[error(transparent)]
    InvalidBlockId(#[from] crate::block_id::InvalidBlockId),
    /// An encoded block's bytes are not a valid encoding. Never retryable: the bytes are wrong.
    #[error("malformed block: {0}")]
    MalformedBlock(String),
    /// A block is larger than any chunk the chunker can produce.
    #[error("block of {size} bytes exceeds the limit of {limit} bytes")]
    BlockTooLarge {
        /// The offending size.
        size: u64,
        /// The largest size accepted.
        limit: u64,
    },
    /// A block's content does not hash to the id it was given under.
    #[error("block content hashes to {actual}, not to the claimed id {claimed}")]
    IdMismatch {
        /// The id the sender claimed.
        claimed: crate::BlockId,
        /// The hash of the bytes actually received.
        actual: crate::BlockId,
    },
    /// A drive path breaks the path rules.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path given (cut to 200 characters).
        path: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// Chunking parameters outside what FastCDC supports.
    #[error("invalid chunking parameters: {0}")]
    InvalidChunkParams(String),
}

/// An error with its causes (`error sending request: …: Connection refused`): reqwest's and
/// rustls's own messages name only the outermost error, which seldom says why.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
