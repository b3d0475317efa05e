//! The calling side: openraft's `RaftNetworkFactory` and `RaftNetwork` over [`Transport`].

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cairn_raft::{NodeAddr, NodeId, TypeConfig};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork as OpenraftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{KIND_APPEND, KIND_SNAPSHOT, KIND_UNDECODABLE, KIND_VOTE};
use cairn_transport::Transport;
use cairn_transport::node_name;

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, NodeAddr, RaftError<NodeId, E>>>;

/// Makes a [`PeerLink`] per peer; cheap, since the transport keeps the connections.
#[derive(Clone, Debug)]
pub struct RaftNetwork {
    transport: Arc<Transport>,
}

impl RaftNetwork {
    /// Raft RPCs over `transport`.
    pub fn new(transport: Arc<Transport>) -> Self {
        Self { transport }
    }
}

impl RaftNetworkFactory<TypeConfig> for RaftNetwork {
    type Network = PeerLink;

    async fn new_client(&mut self, target: NodeId, node: &NodeAddr) -> PeerLink {
        PeerLink { transport: self.transport.clone(), target, addr: node.raft_addr.clone() }
    }
}

/// Raft RPCs to one peer.
#[derive(Debug)]
pub struct PeerLink {
    transport: Arc<Transport>,
    target: NodeId,
    addr: String,
}

impl PeerLink {
    async fn call<Req: Serialize, Resp: DeserializeOwned, E>(
        &self,
        kind: u8,
        request: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        E: std::error::Error + DeserializeOwned,
    {
        let addr: SocketAddr = self
            .addr
            .parse()
            .map_err(|e: std::net::AddrParseError| RPCError::Unreachable(Unreachable::new(&e)))?;
        let payload = postcard::to_stdvec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let reply = self
            .transport
            .request(addr, &node_name(self.target), kind, Bytes::from(payload), option.hard_ttl())
            .await;
        let (reply_kind, bytes) = match reply {
            Ok(reply) => reply,
            // openraft backs off from an unreachable peer instead of hammering it.
            Err(e) if e.is_retryable() => return Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e) => return Err(RPCError::Network(NetworkError::new(&e))),
        };
        if reply_kind == KIND_UNDECODABLE {
            let message = String::from_utf8_lossy(&bytes).into_owned();
            return Err(RPCError::Network(NetworkError::new(&std::io::Error::other(message))));
        }
        let result: Result<Resp, RaftError<NodeId, E>> =
            postcard::from_bytes(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl OpenraftNetwork<TypeConfig> for PeerLink {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        self.call(KIND_APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(KIND_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> RpcResult<VoteResponse<NodeId>> {
        self.call(KIND_VOTE, &rpc, &option).await
    }
}
