//! Shard calls: this node's own store (on the blocking pool) or a peer's over QUIC, behind one
//! interface, and the serving side that answers peers' calls from the local store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_raft::NodeId;

use super::messages::{
    self, KIND_PING, KIND_SHARD_DELETE, KIND_SHARD_GET, KIND_SHARD_PUT, ShardCallError, ShardUsage,
};
use cairn_shard_store::{ShardKey, ShardStore};
use cairn_transport::node_name;
use cairn_transport::{Response, Transport};

/// Why a shard call to a node failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardFailure {
    /// The node answered with an error.
    #[error("node {node}: {error}")]
    Refused {
        /// Which node.
        node: NodeId,
        /// What it said.
        error: ShardCallError,
    },
    /// The node could not be reached in time.
    #[error("node {node} unreachable: {reason}")]
    Unreachable {
        /// Which node.
        node: NodeId,
        /// Why.
        reason: String,
    },
}

impl ShardFailure {
    /// Whether the shard itself is bad (corrupt on the node's disk): repair must rebuild it.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Refused { error: ShardCallError::Corrupt(_), .. })
    }

    /// Whether the node refused because it is full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Refused { error: ShardCallError::Full(_), .. })
    }
}

/// Reaches any node's shard store: this node's directly, others' over the transport.
#[derive(Clone)]
pub struct ShardClient {
    me: NodeId,
    store: Arc<dyn ShardStore>,
    transport: Arc<Transport>,
    deadline: Duration,
}

impl std::fmt::Debug for ShardClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardClient").field("me", &self.me).finish_non_exhaustive()
    }
}

impl ShardClient {
    /// A client for node `me`, whose own shards are in `store`; each remote call gives up after
    /// `deadline`.
    pub fn new(
        me: NodeId,
        store: Arc<dyn ShardStore>,
        transport: Arc<Transport>,
        deadline: Duration,
    ) -> Self {
        Self { me, store, transport, deadline }
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's own store.
    pub fn store(&self) -> &Arc<dyn ShardStore> {
        &self.store
    }

    /// Stores `shard` under `key` on `node`; returns once it is durable there.
    pub async fn put(
        &self,
        node: NodeId,
        addr: Option<SocketAddr>,
        key: ShardKey,
        shard: Bytes,
    ) -> Result<(), ShardFailure> {
        if node == self.me {
            let refused = |error| ShardFailure::Refused { node, error };
            return self.local(move |store| store.put(&key, &shard)).await.map_err(refused);
        }
        let reply = self.remote(node, addr, KIND_SHARD_PUT, messages::encode(&key, &shard)).await?;
        let (result, _) = self.answer::<Result<(), ShardCallError>>(node, &reply)?;
        result.map_err(|error| ShardFailure::Refused { node, error })
    }

    /// Reads shard `key` from `node`, checksum verified; `Ok(None)` if the node has none.
    pub async fn get(
        &self,
        node: NodeId,
        addr: Option<SocketAddr>,
        key: ShardKey,
    ) -> Result<Option<Bytes>, ShardFailure> {
        if node == self.me {
            let refused = |error| ShardFailure::Refused { node, error };
            let found = self.local(move |store| store.get(&key)).await.map_err(refused)?;
            return Ok(found.map(Bytes::from));
        }
        let reply = self.remote(node, addr, KIND_SHARD_GET, messages::encode(&key, &[])).await?;
        let (result, body) = self.answer::<Result<bool, ShardCallError>>(node, &reply)?;
        match result {
            Ok(true) => Ok(Some(body)),
            Ok(false) => Ok(None),
            Err(error) => Err(ShardFailure::Refused { node, error }),
        }
    }

    /// Deletes shard `key` on `node`; `Ok(false)` if it had none.
    pub async fn delete(
        &self,
        node: NodeId,
        addr: Option<SocketAddr>,
        key: ShardKey,
    ) -> Result<bool, ShardFailure> {
        if node == self.me {
            let refused = |error| ShardFailure::Refused { node, error };
            return self.local(move |store| store.delete(&key)).await.map_err(refused);
        }
        let reply = self.remote(node, addr, KIND_SHARD_DELETE, messages::encode(&key, &[])).await?;
        let (result, _) = self.answer::<Result<bool, ShardCallError>>(node, &reply)?;
        result.map_err(|error| ShardFailure::Refused { node, error })
    }

    /// Asks `node` how full it is, within `deadline`: the failure detector's ping.
    pub async fn ping(
        &self,
        node: NodeId,
        addr: SocketAddr,
        deadline: Duration,
    ) -> Result<ShardUsage, ShardFailure> {
        let unreachable = |reason: String| ShardFailure::Unreachable { node, reason };
        let (_, reply) = self
            .transport
            .request(addr, &node_name(node), KIND_PING, messages::encode(&(), &[]), deadline)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (result, _) = self.answer::<Result<ShardUsage, ShardCallError>>(node, &Bytes::from(reply))?;
        result.map_err(|error| ShardFailure::Refused { node, error })
    }

    async fn local<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn ShardStore) -> Result<T, cairn_shard_store::ShardStoreError> + Send + 'static,
    ) -> Result<T, ShardCallError> {
        run_on_store(&self.store, call).await
    }

    async fn remote(
        &self,
        node: NodeId,
        addr: Option<SocketAddr>,
        kind: u8,
        header: Bytes,
    ) -> Result<Bytes, ShardFailure> {
        let unreachable = |reason: String| ShardFailure::Unreachable { node, reason };
        let addr = addr.ok_or_else(|| unreachable("no known address".into()))?;
        let (_, reply) = self
            .transport
            .request(addr, &node_name(node), kind, header, self.deadline)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Bytes::from(reply))
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        node: NodeId,
        reply: &Bytes,
    ) -> Result<(T, Bytes), ShardFailure> {
        messages::decode::<T>(reply).map_err(|reason| ShardFailure::Unreachable { node, reason })
    }
}

/// Runs a store call on the blocking pool: RocksDB calls block, and a synced put waits for the
/// disk.
pub async fn run_on_store<T: Send + 'static>(
    store: &Arc<dyn ShardStore>,
    call: impl FnOnce(&dyn ShardStore) -> Result<T, cairn_shard_store::ShardStoreError> + Send + 'static,
) -> Result<T, ShardCallError> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || call(store.as_ref())).await {
        Ok(result) => result.map_err(ShardCallError::from),
        Err(e) => Err(ShardCallError::Store(format!("store task failed: {e}"))),
    }
}

/// Answers a peer's shard call from this node's `store`.
pub async fn serve(store: &Arc<dyn ShardStore>, kind: u8, payload: Bytes) -> Response {
    if kind == KIND_PING {
        let usage = run_on_store(store, |s| s.usage()).await.map(ShardUsage::from);
        return reply(kind, &usage, &[]);
    }
    let (key, body) = match messages::decode::<ShardKey>(&payload) {
        Ok(decoded) => decoded,
        Err(why) => return reply(kind, &Err::<(), _>(ShardCallError::Refused(why)), &[]),
    };
    match kind {
        KIND_SHARD_PUT => reply(kind, &run_on_store(store, move |s| s.put(&key, &body)).await, &[]),
        KIND_SHARD_GET => match run_on_store(store, move |s| s.get(&key)).await {
            Ok(Some(shard)) => reply(kind, &Ok::<_, ShardCallError>(true), &shard),
            Ok(None) => reply(kind, &Ok::<_, ShardCallError>(false), &[]),
            Err(e) => reply(kind, &Err::<bool, _>(e), &[]),
        },
        KIND_SHARD_DELETE => reply(kind, &run_on_store(store, move |s| s.delete(&key)).await, &[]),
        other => {
            reply(kind, &Err::<(), _>(ShardCallError::Refused(format!("unknown shard call {other}"))), &[])
        }
    }
}

fn reply<H: serde::Serialize>(kind: u8, header: &H, body: &[u8]) -> Response {
    Response::new(kind, messages::encode(header, body))
}
