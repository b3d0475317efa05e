//! The receiving side: incoming Raft RPCs, decoded and handed to the local Raft.

use std::sync::Arc;

use cairn_raft::TypeConfig;
use openraft::Raft;
use openraft::raft::InstallSnapshotRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    Elector, KIND_APPEND, KIND_PRE_VOTE, KIND_SNAPSHOT, KIND_UNDECODABLE, KIND_VOTE, PreVoteRequest,
};
use cairn_transport::{Handler, Request, Response};

/// A transport handler that answers Raft RPCs with `raft`, and pre-votes with `elector`, which
/// it tells when a leader is heard.
pub fn handler(raft: Raft<TypeConfig>, elector: Arc<Elector>) -> impl Handler {
    move |request: Request| {
        let (raft, elector) = (raft.clone(), elector.clone());
        async move {
            let kind = request.kind;
            match kind {
                KIND_APPEND => match decode(&request) {
                    Ok(rpc) => {
                        elector.heard_leader();
                        reply(kind, &raft.append_entries(rpc).await)
                    }
                    Err(refusal) => refusal,
                },
                KIND_VOTE => match decode(&request) {
                    Ok(rpc) => reply(kind, &raft.vote(rpc).await),
                    Err(refusal) => refusal,
                },
                KIND_SNAPSHOT => match decode::<InstallSnapshotRequest<TypeConfig>>(&request) {
                    Ok(rpc) => {
                        elector.heard_leader();
                        let answer = raft.install_snapshot(rpc).await;
                        // Writing a chunk may take long: the leader was alive until it was in.
                        elector.heard_leader();
                        reply(kind, &answer)
                    }
                    Err(refusal) => refusal,
                },
                KIND_PRE_VOTE => match decode::<PreVoteRequest>(&request) {
                    Ok(rpc) => reply(kind, &elector.answer(&rpc).await),
                    Err(refusal) => refusal,
                },
                other => {
                    Response::new(KIND_UNDECODABLE, format!("unknown Raft RPC kind {other}").into_bytes())
                }
            }
        }
    }
}

fn decode<T: DeserializeOwned>(request: &Request) -> Result<T, Response> {
    postcard::from_bytes(&request.payload).map_err(|e| {
        tracing::warn!(peer = %request.peer, kind = request.kind, error = %e, "undecodable Raft RPC");
        Response::new(KIND_UNDECODABLE, format!("undecodable Raft RPC: {e}").into_bytes())
    })
}

fn reply<T: Serialize>(kind: u8, result: &T) -> Response {
    match postcard::to_stdvec(result) {
        Ok(bytes) => Response::new(kind, bytes),
        Err(e) => Response::new(KIND_UNDECODABLE, format!("encode Raft reply: {e}").into_bytes()),
    }
}
