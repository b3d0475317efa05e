//! The workloads: clients that work the cluster through the SDK while the nemesis strikes, and
//! record every operation in the history.
//!
//! - [`metadata`]: conditional commits, reads, deletes, renames and journal reads on a few paths;
//! - [`data`]: uploads and downloads of files of mixed sizes, the large ones in resumable sessions;
//! - [`sync`]: two sync engines on two folders while editors change the same tree.
//!
//! How an operation is recorded decides what the checkers may conclude, so it is strict: `ok`
//! only with the cluster's answer in hand; `fail` only for a write the cluster refused before it
//! could take effect (a 4xx other than a conflict, which is an answer); anything else — a
//! timeout, a dropped connection, a 5xx, retries running out — is `unknown`.

pub mod data;
pub mod metadata;
pub mod sync;

use cairn_client::api::ErrorCode;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use cairn_client::{Client, ClientError};

use crate::cluster::ChaosCluster;
use crate::history::{Op, Outcome, Process, Recorder};

/// The longest one operation may take before it is recorded as unknown (the SDK's own retries
/// give up sooner; this catches a hang).
pub const OP_DEADLINE: Duration = Duration::from_secs(45);

/// One user's client, renewed when the membership changes (so it knows the new nodes).
pub struct UserClient {
    token: String,
    client: RwLock<Client>,
    renewed: tokio::sync::watch::Sender<u64>,
}

impl UserClient {
    /// A client of `cluster` for the user with `token`.
    pub fn new(cluster: &ChaosCluster, token: &str) -> Arc<Self> {
        let renewed = tokio::sync::watch::Sender::new(0);
        Arc::new(Self { token: token.to_owned(), client: RwLock::new(cluster.client(token)), renewed })
    }

    /// The client to use now.
    pub fn get(&self) -> Client {
        self.client.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Points the client at the cluster's members now.
    pub fn renew(&self, cluster: &ChaosCluster) {
        *self.client.write().unwrap_or_else(PoisonError::into_inner) = cluster.client(&self.token);
        self.renewed.send_modify(|n| *n += 1);
    }

    /// Wakes on every renewal, for holders of a long-lived client (a sync engine) to restart.
    pub fn renewals(&self) -> tokio::sync::watch::Receiver<u64> {
        self.renewed.subscribe()
    }
}

/// Runs `call` as operation `op` of `process`, recording its invocation and its completion.
/// `call` turns the cluster's definite answers (a conflict, a refusal) into outcomes itself;
/// an error it returns is recorded by [`is_definite_refusal`], and a read's error as `fail`
/// (a read changes nothing either way). Returns the outcome when there was one.
pub async fn perform<F>(recorder: &Recorder, process: Process, op: Op, call: F) -> Option<Outcome>
where
    F: Future<Output = Result<Outcome, ClientError>>,
{
    recorder.invoke(process, &op);
    let changes_state = !matches!(op, Op::Read { .. } | Op::Journal { .. } | Op::Download { .. });
    match tokio::time::timeout(OP_DEADLINE, call).await {
        Ok(Ok(outcome)) => {
            recorder.ok(process, &op, outcome.clone());
            Some(outcome)
        }
        Ok(Err(e)) if !changes_state || is_definite_refusal(&e) => {
            recorder.fail(process, &op, e.to_string());
            None
        }
        Ok(Err(e)) => {
            recorder.unknown(process, &op, e.to_string());
            None
        }
        Err(_) => {
            recorder.unknown(process, &op, format!("no answer within {OP_DEADLINE:?}"));
            None
        }
    }
}

/// Whether the cluster refused a write before it could take effect: a client-side error (4xx)
/// other than a timeout or throttling. 5xx, transport failures and retries running out may
/// hide a write that happened.
pub fn is_definite_refusal(e: &ClientError) -> bool {
    match e {
        ClientError::Api { status, .. } => status.is_client_error() && ![408, 429].contains(&status.as_u16()),
        ClientError::Invalid(_) | ClientError::Config(_) => true,
        _ => false,
    }
}

/// The head a commit's `conflict` error reports (`Some(None)`: no file there).
pub fn conflict_head(e: &ClientError) -> Option<Option<u64>> {
    match e {
        ClientError::Api { code: ErrorCode::Conflict, head, .. } => *head,
        _ => None,
    }
}
