//! [`ClusterClient`]: calls the metadata service of a cluster over QUIC, as the admin commands,
//! the tests and the load generator do.
//!
//! It knows some nodes by id and address and sends each call to one of them, moving on to the
//! next when a node cannot be reached or answers with an error that may pass elsewhere. Writes
//! are safe to resend: each request carries its id.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cairn_proto::{AccountId, BlockId};
use cairn_raft::NodeId;
use cairn_raft::model::{Answer, Query, Request, Response};
use serde::de::DeserializeOwned;

use cairn_block_service::messages::{
    self as blocks, BlockError, BlockGet, BlockPut, BlockStored, KIND_BLOCK_GET, KIND_BLOCK_PUT,
    KIND_REBALANCE, KIND_SHARD_GET, RebalanceAsk, RebalanceReport, ShardCallError,
};
use cairn_metadata::messages::{
    AdminCommand, KIND_ADMIN, KIND_PROPOSE, KIND_QUERY, KIND_STATUS, NodeStatus, ServiceError, decode, encode,
};
use cairn_shard_store::ShardKey;
use cairn_transport::node_name;
use cairn_transport::{NodeIdentity, Transport, TransportError, TransportSettings};

/// A block-layer answer: its `Result<T, E>` header and its body, or why it did not decode.
type FramedAnswer<T, E> = Result<(Result<T, E>, Bytes), String>;

/// Why a call through the client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterClientError {
    /// The client's own endpoint could not be set up.
    #[error("client transport: {0}")]
    Transport(#[from] TransportError),
    /// The node answered with an error.
    #[error("node {node}: {error}")]
    Service {
        /// Which node.
        node: NodeId,
        /// What it said.
        error: ServiceError,
    },
    /// The node answered a block call with an error.
    #[error("node {node}: {error}")]
    Block {
        /// Which node.
        node: NodeId,
        /// What it said.
        error: BlockError,
    },
    /// No node could be reached (the message names the last one tried and why).
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// A client of the cluster's metadata service.
#[derive(Debug)]
pub struct ClusterClient {
    transport: Transport,
    nodes: Vec<(NodeId, SocketAddr)>,
    /// The node to try first: the one that answered last.
    preferred: AtomicUsize,
    deadline: Duration,
}

impl ClusterClient {
    /// A client authenticating with `identity` (a certificate from the cluster CA), calling
    /// `nodes`; each call to one node gives up after `deadline`.
    pub async fn new(
        identity: &NodeIdentity,
        nodes: Vec<(NodeId, SocketAddr)>,
        deadline: Duration,
    ) -> Result<Self, ClusterClientError> {
        let local = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let transport = Transport::bind(local, identity, TransportSettings::default()).await?;
        Ok(Self { transport, nodes, preferred: AtomicUsize::new(0), deadline })
    }

    /// The nodes this client calls.
    pub fn nodes(&self) -> &[(NodeId, SocketAddr)] {
        &self.nodes
    }

    /// Proposes `requests` through any node; one response per request.
    pub async fn propose(&self, requests: &[Request]) -> Result<Vec<Response>, ClusterClientError> {
        self.call_any(KIND_PROPOSE, encode(&requests)).await
    }

    /// Proposes one request through any node.
    pub async fn write(&self, request: Request) -> Result<Response, ClusterClientError> {
        let mut responses = self.propose(std::slice::from_ref(&request)).await?;
        responses.pop().ok_or_else(|| ClusterClientError::Unreachable("empty answer to a write".into()))
    }

    /// Proposes `requests` through node `node` only.
    pub async fn propose_via(
        &self,
        node: NodeId,
        requests: &[Request],
    ) -> Result<Vec<Response>, ClusterClientError> {
        self.call_one(self.index_of(node)?, KIND_PROPOSE, encode(&requests)).await
    }

    /// Answers `query` linearizably through any node.
    pub async fn query(&self, query: &Query) -> Result<Answer, ClusterClientError> {
        self.call_any(KIND_QUERY, encode(query)).await
    }

    /// Answers `query` linearizably through node `node` only.
    pub async fn query_via(&self, node: NodeId, query: &Query) -> Result<Answer, ClusterClientError> {
        self.call_one(self.index_of(node)?, KIND_QUERY, encode(query)).await
    }

    /// Node `node`'s own status.
    pub async fn status_of(&self, node: NodeId) -> Result<NodeStatus, ClusterClientError> {
        self.call_one(self.index_of(node)?, KIND_STATUS, encode(&())).await
    }

    /// The status of whichever node answers first.
    pub async fn status(&self) -> Result<NodeStatus, ClusterClientError> {
        self.call_any(KIND_STATUS, encode(&())).await
    }

    /// Applies a membership change through any node (it reaches the leader).
    pub async fn admin(&self, command: &AdminCommand) -> Result<NodeStatus, ClusterClientError> {
        self.call_any(KIND_ADMIN, encode(command)).await
    }

    /// Stores a block (the client's `EncodedBlock` bytes) through any node, moving on to the
    /// next node when one is unreachable or answers with a retryable error.
    pub async fn put_block(
        &self,
        account: AccountId,
        id: BlockId,
        wire: &[u8],
    ) -> Result<BlockStored, ClusterClientError> {
        let message = blocks::encode(&BlockPut { account, id }, wire);
        let (stored, _) = self.call_blocks_any(KIND_BLOCK_PUT, message).await?;
        Ok(stored)
    }

    /// Stores a block through node `node` only.
    pub async fn put_block_via(
        &self,
        node: NodeId,
        account: AccountId,
        id: BlockId,
        wire: &[u8],
    ) -> Result<BlockStored, ClusterClientError> {
        let message = blocks::encode(&BlockPut { account, id }, wire);
        let (stored, _) = self.call_blocks_one(self.index_of(node)?, KIND_BLOCK_PUT, message).await?;
        Ok(stored)
    }

    /// Reads a block's verified plaintext through any node.
    pub async fn get_block(&self, account: AccountId, id: BlockId) -> Result<Bytes, ClusterClientError> {
        let message = blocks::encode(&BlockGet { account, id }, &[]);
        let (_len, plain): (u32, Bytes) = self.call_blocks_any(KIND_BLOCK_GET, message).await?;
        Ok(plain)
    }

    /// Reads a block's verified plaintext through node `node` only.
    pub async fn get_block_via(
        &self,
        node: NodeId,
        account: AccountId,
        id: BlockId,
    ) -> Result<Bytes, ClusterClientError> {
        let message = blocks::encode(&BlockGet { account, id }, &[]);
        let (_len, plain): (u32, Bytes) =
            self.call_blocks_one(self.index_of(node)?, KIND_BLOCK_GET, message).await?;
        Ok(plain)
    }

    /// Whether node `node` holds shard `key`, intact (a node-to-node call: needs a node's
    /// certificate). For checks from outside, such as the drain test's.
    pub async fn shard_held(&self, node: NodeId, key: ShardKey) -> Result<bool, ClusterClientError> {
        let message = blocks::encode(&key, &[]);
        let (held, _): (bool, Bytes) =
            self.call_shard_one(self.index_of(node)?, KIND_SHARD_GET, message).await?;
        Ok(held)
    }

    /// Node `node`'s view of the rebalance (the leader's is the one that moves shards), with
    /// a fresh count of the blocks on a node if `ask` says so.
    pub async fn rebalance_of(
        &self,
        node: NodeId,
        ask: RebalanceAsk,
    ) -> Result<RebalanceReport, ClusterClientError> {
        let message = blocks::encode(&ask, &[]);
        let (report, _) = self.call_blocks_one(self.index_of(node)?, KIND_REBALANCE, message).await?;
        Ok(report)
    }

    /// Calls node `node` alone with a request of `kind` whose answer is a
    /// `Result<T, ServiceError>` (a call beyond the metadata service's, such as renewal).
    pub async fn call_node<T: DeserializeOwned>(
        &self,
        node: NodeId,
        kind: u8,
        payload: Vec<u8>,
    ) -> Result<T, ClusterClientError> {
        self.call_one(self.index_of(node)?, kind, payload).await
    }

    /// Closes the client's connections.
    pub async fn shutdown(&self) {
        self.transport.shutdown().await;
    }

    fn index_of(&self, node: NodeId) -> Result<usize, ClusterClientError> {
        self.nodes.iter().position(|(id, _)| *id == node).ok_or_else(|| {
            ClusterClientError::Unreachable(format!("node {node} is not one this client knows"))
        })
    }

    /// Calls the preferred node, then each other one in turn, until one gives a final answer.
    async fn call_any<T: DeserializeOwned>(
        &self,
        kind: u8,
        payload: Vec<u8>,
    ) -> Result<T, ClusterClientError> {
        let payload = Bytes::from(payload);
        let first = self.preferred.load(Ordering::Relaxed);
        let mut errors = Vec::new();
        for step in 0..self.nodes.len() {
            let index = (first + step) % self.nodes.len();
            match self.call_one(index, kind, payload.clone()).await {
                Ok(answer) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(ClusterClientError::Service { error, node }) if !error.is_retryable() => {
                    return Err(ClusterClientError::Service { node, error });
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(ClusterClientError::Unreachable(format!("no node answered: {}", errors.join("; "))))
    }

    async fn call_blocks_any<T: DeserializeOwned>(
        &self,
        kind: u8,
        message: Bytes,
    ) -> Result<(T, Bytes), ClusterClientError> {
        let first = self.preferred.load(Ordering::Relaxed);
        let mut errors = Vec::new();
        // When nodes answered but none could serve the call, their verdict is the answer.
        let mut verdict = None;
        for step in 0..self.nodes.len() {
            let index = (first + step) % self.nodes.len();
            match self.call_blocks_one(index, kind, message.clone()).await {
                Ok(answer) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(ClusterClientError::Block { error, node }) if !error.is_retryable() => {
                    return Err(ClusterClientError::Block { node, error });
                }
                Err(e @ ClusterClientError::Block { .. }) => verdict = Some(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(verdict.unwrap_or_else(|| {
            ClusterClientError::Unreachable(format!("no node answered: {}", errors.join("; ")))
        }))
    }

    async fn call_blocks_one<T: DeserializeOwned>(
        &self,
        index: usize,
        kind: u8,
        message: Bytes,
    ) -> Result<(T, Bytes), ClusterClientError> {
        let (node, answer) = self.call_framed::<T, BlockError>(index, kind, message).await?;
        let (result, body) =
            answer.map_err(|why| ClusterClientError::Block { node, error: BlockError::Refused(why) })?;
        result.map(|header| (header, body)).map_err(|error| ClusterClientError::Block { node, error })
    }

    async fn call_shard_one<T: DeserializeOwned>(
        &self,
        index: usize,
        kind: u8,
        message: Bytes,
    ) -> Result<(T, Bytes), ClusterClientError> {
        let (node, answer) = self.call_framed::<T, ShardCallError>(index, kind, message).await?;
        let unreachable = |why: String| ClusterClientError::Unreachable(format!("node {node}: {why}"));
        let (result, body) = answer.map_err(unreachable)?;
        result
            .map(|header| (header, body))
            .map_err(|error| unreachable(format!("shard call refused: {error}")))
    }

    /// Sends a block-layer message (a framed header and body) to the node at `index`, and
    /// splits its answer into a `Result<T, E>` header and a body — or says why it could not.
    async fn call_framed<T: DeserializeOwned, E: DeserializeOwned>(
        &self,
        index: usize,
        kind: u8,
        message: Bytes,
    ) -> Result<(NodeId, FramedAnswer<T, E>), ClusterClientError> {
        let (node, addr) = self.nodes[index];
        let reply = self.transport.request(addr, &node_name(node), kind, message, self.deadline).await;
        let (_, bytes) = reply.map_err(|e| ClusterClientError::Unreachable(format!("node {node}: {e}")))?;
        Ok((node, blocks::decode::<Result<T, E>>(&Bytes::from(bytes))))
    }

    async fn call_one<T: DeserializeOwned>(
        &self,
        index: usize,
        kind: u8,
        payload: impl Into<Bytes>,
    ) -> Result<T, ClusterClientError> {
        let (node, addr) = self.nodes[index];
        let reply = self.transport.request(addr, &node_name(node), kind, payload.into(), self.deadline).await;
        let (_, bytes) = reply.map_err(|e| ClusterClientError::Unreachable(format!("node {node}: {e}")))?;
        let result: Result<T, ServiceError> =
            decode(&bytes).map_err(|error| ClusterClientError::Service { node, error })?;
        result.map_err(|error| ClusterClientError::Service { node, error })
    }
}
