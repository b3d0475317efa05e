//! `cairn-proto`: the public contract between cairn clients and nodes.
//!
//! Everything a client and a node must agree on byte for byte lives here: block ids, the
//! content-defined chunking parameters, and the wire encoding of a (compressed) block. Both sides
//! also take their time of day from one [`Clock`] and their retry pauses from one [`Backoff`].
//! The crate opens no files or sockets and starts no runtime; it only reads from readers it is
//! handed (and, for [`Clock::system`], the wall clock).

pub mod api;
pub mod backoff;
pub mod block_id;
pub mod chunking;
pub mod clock;
pub mod drive_name;
pub mod drive_path;
pub mod encoded_block;
pub mod error;
#[cfg(feature = "golden")]
pub mod golden;
pub mod ids;
#[cfg(any(test, feature = "sample-data"))]
pub mod sample_data;

pub use backoff::Backoff;
pub use block_id::{BlockId, InvalidBlockId};
#[cfg(feature = "tokio")]
pub use chunking::AsyncStreamChunker;
pub use chunking::{Chunk, ChunkParams, StreamChunker};
pub use clock::Clock;
pub use drive_name::{NameProblem, name_problem, printable};
pub use drive_path::DrivePath;
pub use encoded_block::{Codec, EncodedBlock, MAX_BLOCK_SIZE};
pub use error::ProtoError;
pub use ids::AccountId;
