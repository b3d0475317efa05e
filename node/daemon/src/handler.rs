//! The transport handler of a running node: Raft RPCs to the local Raft, service calls to the
//! [`MetaService`] and its [`Batcher`], block and shard calls to the [`BlockService`].
//!
//! Every caller holds a certificate from the cluster CA (the transport refused the rest). Raft
//! RPCs and read-index calls are node business and are answered only for callers whose
//! certificate names a node; writes, reads, status, membership changes and metadata backups are
//! answered for any cluster certificate (a node's own, or an operator's). A node renews its own
//! certificates through a member holding the CA key ([`renew`]).

use bytes::Bytes;
use cairn_raft::model::Query;
use serde::Serialize;

use cairn_block_service::{BlockService, is_block_kind};
use cairn_metadata::Batcher;
use cairn_metadata::MetaService;
use cairn_metadata::messages::{
    AdminCommand, BackupCall, KIND_ADMIN, KIND_ADMIN_FORWARDED, KIND_BACKUP, KIND_PROPOSE,
    KIND_PROPOSE_FORWARDED, KIND_QUERY, KIND_READ_INDEX, KIND_STATUS, KIND_UPGRADE, NodeStatus,
    ProposePayload, ServiceError, UpgradeCall, decode, encode,
};
use cairn_metadata::raft_net::{
    self, KIND_APPEND, KIND_PRE_VOTE, KIND_SNAPSHOT, KIND_UNDECODABLE, KIND_VOTE,
};
use cairn_metadata::upgrade::this_release;
use cairn_transport::{Handler, Request, Response, is_cluster_node};

use crate::join::renew::{self, KIND_RENEW};

/// The handler a node serves its transport with.
pub fn handler(
    service: MetaService,
    batcher: Batcher,
    blocks: BlockService,
    elector: std::sync::Arc<raft_net::Elector>,
    secrets_dir: std::path::PathBuf,
) -> impl Handler {
    let raft = raft_net::handler(service.raft().clone(), elector);
    let secrets_dir = std::sync::Arc::new(secrets_dir);
    move |request: Request| {
        let secrets_dir = secrets_dir.clone();
        let service = service.clone();
        let batcher = batcher.clone();
        let blocks = blocks.clone();
        let raft_rpc = matches!(request.kind, KIND_APPEND | KIND_VOTE | KIND_SNAPSHOT | KIND_PRE_VOTE);
        let raft_reply = (raft_rpc && is_cluster_node(&request.peer)).then(|| raft.handle(request.clone()));
        async move {
            if let Some(reply) = raft_reply {
                return reply.await;
            }
            if is_block_kind(request.kind) {
                let from_node = is_cluster_node(&request.peer);
                return blocks.handle(request, from_node).await;
            }
            let kind = request.kind;
            let payload = request.payload;
            let forbidden =
                |what: &str| ServiceError::Forbidden { peer: request.peer.clone(), what: what.to_owned() };
            let node_only =
                raft_rpc || matches!(kind, KIND_READ_INDEX | KIND_PROPOSE_FORWARDED | KIND_ADMIN_FORWARDED);
            if node_only && !is_cluster_node(&request.peer) {
                return reply(kind, &Err::<(), _>(forbidden("node-to-node calls")));
            }
            match kind {
                KIND_RENEW => renew::answer(&secrets_dir, &request.peer, &payload),
                KIND_PROPOSE => match decode::<ProposePayload>(&payload) {
                    Ok(requests) => reply(kind, &batcher.propose(requests).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_PROPOSE_FORWARDED => match decode::<ProposePayload>(&payload) {
                    Ok(requests) => reply(kind, &batcher.propose_forwarded(requests).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_READ_INDEX => reply(kind, &service.read_index_here().await),
                KIND_QUERY => match decode::<Query>(&payload) {
                    Ok(query) => reply(kind, &service.query(&query).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_STATUS => {
                    let status = NodeStatus { blocks: Some(blocks.stats().await), ..service.status() };
                    reply(kind, &Ok::<_, ServiceError>(status))
                }
                KIND_ADMIN => match decode::<AdminCommand>(&payload) {
                    Ok(command) => reply(kind, &service.admin(command).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_BACKUP => match decode::<BackupCall>(&payload) {
                    Ok(BackupCall::Take) => reply(kind, &service.take_backup().await),
                    Ok(BackupCall::Read { name, offset, len }) => {
                        reply(kind, &service.read_backup(name, offset, len).await)
                    }
                    Ok(BackupCall::Done { name }) => reply(kind, &service.finish_backup(name).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_UPGRADE => match decode::<UpgradeCall>(&payload) {
                    Ok(UpgradeCall::Version) => reply(kind, &Ok::<_, ServiceError>(this_release())),
                    Ok(UpgradeCall::Status) => reply(kind, &service.upgrade_status().await),
                    Ok(UpgradeCall::Finalize) => reply(kind, &service.finalize_upgrade().await),
                    Ok(UpgradeCall::FinalizeForwarded) if is_cluster_node(&request.peer) => {
                        reply(kind, &service.finalize_upgrade_here().await)
                    }
                    Ok(UpgradeCall::FinalizeForwarded) => {
                        reply(kind, &Err::<(), _>(forbidden("node-to-node calls")))
                    }
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                KIND_ADMIN_FORWARDED => match decode::<AdminCommand>(&payload) {
                    Ok(command) => reply(kind, &service.admin_here(command).await),
                    Err(e) => reply(kind, &Err::<(), _>(e)),
                },
                other => {
                    Response::new(KIND_UNDECODABLE, format!("unknown request kind {other}").into_bytes())
                }
            }
        }
    }
}

fn reply<T: Serialize>(kind: u8, result: &Result<T, ServiceError>) -> Response {
    Response::new(kind, Bytes::from(encode(result)))
}
