//! `cairn-client`: the Rust SDK of a cairn drive.
//!
//! A [`Client`] is given several node addresses and a bearer token. It speaks the `/v1` HTTP API
//! with the wire types of [`cairn_proto::api`], and:
//!
//! - fails over between nodes and retries what failed for a reason that may pass (a node
//!   down, a leader election, a timeout), with the same `Idempotency-Key` on every attempt of a
//!   write, so a retried write happens once ([`nodes`]);
//! - uploads a file or stream by sending only the blocks the cluster lacks — delta sync and
//!   dedup — in parallel and within a fixed memory budget ([`upload`]), and many small files
//!   in one request ([`batch`]);
//! - downloads block by block from any node, checks every block against its id and the whole
//!   file against its hash, and writes through a temporary file renamed into place
//!   ([`download`]);
//! - counts what it sends and receives ([`Counters`]), so callers and tests can see what a
//!   transfer cost;
//! - follows the caller's change journal from a cursor, with long polls that fail over
//!   between nodes like any call ([`changes`]);
//! - writes to local folders only through a wall that keeps every change inside them
//!   ([`disk`]);
//! - keeps a local folder and a drive folder in step on many devices at once, with conflicted
//!   copies instead of lost edits ([`sync`]).

pub mod account;
pub mod batch;
pub mod changes;
pub mod config;
pub mod counters;
pub mod disk;
pub mod download;
pub mod drive;
pub mod error;
pub mod nodes;
mod session;
pub mod sharing;
pub mod sync;
pub mod upload;

pub use cairn_proto::api;
pub use config::ClientConfig;
pub use counters::{Counters, CountersSnapshot};
pub use download::Downloaded;
pub use error::ClientError;
pub use upload::{CommitOn, UploadReport};

use std::sync::Arc;

use nodes::Nodes;

/// A client of one cairn cluster, cheap to clone (clones share connections and counters).
#[derive(Clone)]
pub struct Client {
    nodes: Arc<Nodes>,
    config: Arc<ClientConfig>,
}

impl Client {
    /// A client for the cluster `config` describes.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let nodes = Nodes::new(&config)?;
        Ok(Self { nodes: Arc::new(nodes), config: Arc::new(config) })
    }

    /// What this client has sent and received so far.
    pub fn counters(&self) -> &Counters {
        self.nodes.counters()
    }

    /// The node the client talks to now (it moves on when a node fails).
    pub fn current_node(&self) -> reqwest::Url {
        self.nodes.current()
    }

    /// Its configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}
