//! `cairn status`: the profile's nodes, which of them answer and how fast, and who the token
//! belongs to. Every node is asked on its own, once, at the same time, so one dead node costs
//! at most a connect timeout and never hides the others.

use cairn_client::api::ErrorCode;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cairn_client::api::UserView;
use cairn_client::{Client, ClientConfig, ClientError};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::context::Context;
use crate::exit::{Exit, Failure};

/// One node's answer.
#[derive(Serialize)]
struct NodeState {
    url: String,
    /// It accepted the token.
    ok: bool,
    /// It answered at all (a node that refuses the token is up).
    reachable: bool,
    latency_ms: Option<u64>,
    error: Option<String>,
    #[serde(skip)]
    failure: Option<Failure>,
}

/// What `status` answers.
#[derive(Serialize)]
struct Status {
    profile: PathBuf,
    nodes: Vec<NodeState>,
    user: Option<UserView>,
}

/// Asks every node `GET /v1/me`; exits 0 when at least one answered.
pub async fn status(ctx: &Context) -> Result<(), Failure> {
    let config = ctx.client_config()?;
    let mut asks = JoinSet::new();
    for (index, url) in config.nodes.iter().enumerate() {
        let mut one = ClientConfig::new(vec![url.clone()], config.token.clone());
        one.ca_pem = config.ca_pem.clone();
        // One attempt: status reports on each node, so it must not fail over to another.
        one.retry_for = Duration::ZERO;
        asks.spawn(async move {
            let started = Instant::now();
            let answer = match Client::new(one) {
                Ok(client) => client.me().await,
                Err(e) => Err(e),
            };
            (index, started.elapsed(), answer)
        });
    }
    let mut nodes: Vec<Option<NodeState>> = config.nodes.iter().map(|_| None).collect();
    let mut user = None;
    while let Some(done) = asks.join_next().await {
        let (index, took, answer) = done.map_err(|e| {
            Failure::new(Exit::Internal, ErrorCode::Internal.as_str(), format!("a status task failed: {e}"))
        })?;
        let url = config.nodes[index].clone();
        nodes[index] = Some(match answer {
            Ok(me) => {
                user.get_or_insert(me);
                let latency_ms = Some(took.as_millis() as u64);
                NodeState { url, ok: true, reachable: true, latency_ms, error: None, failure: None }
            }
            Err(e) => {
                let reachable = matches!(e, ClientError::Api { .. });
                let latency_ms = reachable.then_some(took.as_millis() as u64);
                let failure = Failure::from(e);
                let error = Some(failure.message.clone());
                NodeState { url, ok: false, reachable, latency_ms, error, failure: Some(failure) }
            }
        });
    }
    let nodes: Vec<NodeState> = nodes.into_iter().flatten().collect();
    let status = Status { profile: ctx.profile_path()?, nodes, user };
    ctx.out.answer(&status, |w| {
        writeln!(w, "profile: {}", status.profile.display())?;
        match &status.user {
            Some(u) => writeln!(
                w,
                "user:    {} (user {}, drive {}{})",
                u.name,
                u.id,
                u.drive,
                if u.admin { ", administrator" } else { "" }
            )?,
            None => writeln!(w, "user:    unknown (no node accepted the token)")?,
        }
        for node in &status.nodes {
            let state = match (node.ok, node.reachable) {
                (true, _) => "up",
                (false, true) => "refuses",
                (false, false) => "down",
            };
            let latency = node.latency_ms.map_or_else(String::new, |ms| format!("{ms} ms"));
            let error = node.error.as_ref().map_or_else(String::new, |e| format!("  ({e})"));
            writeln!(w, "  {state:<8}{latency:>8}  {}{error}", node.url)?;
        }
        Ok(())
    });
    if status.nodes.iter().any(|n| n.ok) {
        return Ok(());
    }
    // No node answered: say why with the most telling failure — a refused token over a dead
    // node, since every node refusing the token is the answer.
    let failure = status
        .nodes
        .iter()
        .filter_map(|n| n.failure.clone())
        .min_by_key(|f| if f.exit == Exit::Unreachable { 1 } else { 0 })
        .unwrap_or_else(|| Failure::new(Exit::Unreachable, "unreachable", "the profile lists no node"));
    Err(failure.after_answer())
}
