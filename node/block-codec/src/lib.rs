//! The per-block data path on a node: seal, erasure-code, and the pipeline that joins them.

pub mod erasure;
pub mod error;
pub mod pipeline;
pub mod seal;

pub use erasure::{EcProfile, ErasureCoder, Shard};
pub use error::BlockError;
pub use pipeline::BlockPipeline;
pub use seal::{AccountKey, MasterKey};
