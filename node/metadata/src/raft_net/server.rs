//! The receiving side: incoming Raft RPCs, decoded and handed to the local Raft.

use std::sync::Arc;

use cairn_raft::TypeConfig;
use openraft::Raft;
use openraft::raft::InstallSnapshotRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ElectionGate, KIND_APPEND, KIND_SNAPSHOT, KIND_UNDECODABLE, KIND_VOTE};
use cairn_transport::{Handler, Request, Response};

/// A transport handler that answers Raft RPCs with `raft`, telling `gate` what the leader sends.
pub fn handler(raft: Raft<TypeConfig>, gate: Arc<ElectionGate>) -> impl Handler {
    move |request: Request| {
        let (raft, gate) = (raft.clone(), gate.clone());
        async move {
            let kind = request.kind;
            match kind {
                KIND_APPEND => match decode(&request) {
                    Ok(rpc) => {
                        gate.heard_leader();
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
                        gate.snapshot_chunk(false);
                        let last = rpc.done;
                        let answer = raft.install_snapshot(rpc).await;
                        if last {
                            gate.snapshot_chunk(true);
                        }
                        reply(kind, &answer)
                    }
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
