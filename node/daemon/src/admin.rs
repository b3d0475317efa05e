//! The admin commands' work: a client built from a node's config, the cluster status table,
//! and membership changes.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use cairn_raft::NodeId;
use cairn_raft::model::{Command, Request, RequestId, Response, TokenHash, UserId};

use super::config::NodeConfig;
use super::secrets::SecretsDir;
use crate::cluster_client::{ClusterClient, ClusterClientError};
use cairn_metadata::{AdminCommand, NodeStatus};

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The node's secrets could not be loaded.
    #[error(transparent)]
    Secrets(#[from] super::secrets::SecretsError),
    /// The call failed.
    #[error(transparent)]
    Client(#[from] ClusterClientError),
    /// The metadata model refused the change.
    #[error("refused: {0}")]
    Refused(String),
}

/// A user made by [`add_user`].
pub struct CreatedUser {
    /// The new user's id.
    pub user: UserId,
    /// Their first API token (only its hash is stored).
    pub token: String,
}

/// Creates user `name` (an administrator if `admin`) with one API token labelled `label`.
pub async fn add_user(
    config: &NodeConfig,
    name: &str,
    admin: bool,
    label: &str,
) -> Result<CreatedUser, AdminError> {
    let client = client_for(config).await?;
    let result = async {
        let write = |command| Request { id: RequestId(rand::random()), time_ms: 0, command };
        let user = match client.write(write(Command::CreateUser { name: name.to_owned() })).await? {
            Response::UserCreated { user } => user,
            other => return Err(AdminError::Refused(format!("{other:?}"))),
        };
        if admin {
            client.write(write(Command::SetAdmin { user, admin: true })).await?;
        }
        let token = cairn_api::tokens::new_token();
        let add = Command::AddToken { user, token_hash: TokenHash::of(&token), label: label.to_owned() };
        match client.write(write(add)).await? {
            Response::TokenAdded => Ok(CreatedUser { user, token }),
            other => Err(AdminError::Refused(format!("{other:?}"))),
        }
    }
    .await;
    client.shutdown().await;
    result
}

/// Sets how long every user's change journal keeps changes, cluster-wide.
pub async fn set_journal_retention(config: &NodeConfig, ms: u64) -> Result<(), AdminError> {
    let client = client_for(config).await?;
    let command = Command::SetJournalRetention { ms };
    let result = match client.write(Request { id: RequestId(rand::random()), time_ms: 0, command }).await {
        Ok(Response::JournalRetentionSet { .. }) => Ok(()),
        Ok(other) => Err(AdminError::Refused(format!("{other:?}"))),
        Err(e) => Err(e.into()),
    };
    client.shutdown().await;
    result
}

/// A client that calls the node `config` describes, authenticating with that node's own
/// certificate (whoever can read a node's key administers the cluster).
pub async fn client_for(config: &NodeConfig) -> Result<ClusterClient, AdminError> {
    let identity = SecretsDir::new(&config.secrets_dir).node_identity(config.id)?;
    Ok(ClusterClient::new(&identity, vec![(config.id, config.advertised())], config.call_timeout()).await?)
}

/// One member's line in the status table: what it says of itself, or why it did not answer.
pub struct MemberReport {
    /// The member.
    pub id: NodeId,
    /// Its QUIC address.
    pub addr: String,
    /// Whether it votes.
    pub voter: bool,
    /// Its zone, as it registered itself in the cluster map (`?` until it has).
    pub zone: String,
    /// Whether it is being drained (`member drain`): it takes no new shards.
    pub draining: bool,
    /// Its own status, or the error that stood in for it.
    pub status: Result<NodeStatus, String>,
}

/// Asks the configured node for the membership, then every member for its own status.
pub async fn cluster_status(config: &NodeConfig) -> Result<(NodeStatus, Vec<MemberReport>), AdminError> {
    let local = client_for(config).await?;
    let view = local.status().await;
    let map = local.query(&cairn_raft::model::Query::ClusterMap).await;
    local.shutdown().await;
    let view = view?;
    let zones: std::collections::BTreeMap<NodeId, (String, bool)> = match map? {
        cairn_raft::model::Answer::ClusterMap(map) => {
            map.nodes.into_iter().map(|n| (n.spec.id, (n.spec.zone, n.state.is_draining()))).collect()
        }
        _ => Default::default(),
    };
    let identity = SecretsDir::new(&config.secrets_dir).node_identity(config.id)?;
    let nodes: Vec<(NodeId, SocketAddr)> =
        view.members.iter().filter_map(|(id, addr)| addr.raft_addr.parse().ok().map(|a| (*id, a))).collect();
    // A short deadline: a member that does not answer promptly is reported, not waited for.
    let all = ClusterClient::new(&identity, nodes, Duration::from_secs(3)).await?;
    let mut reports = Vec::new();
    for (id, addr) in &view.members {
        let status = all.status_of(*id).await.map_err(|e| e.to_string());
        reports.push(MemberReport {
            id: *id,
            addr: addr.raft_addr.clone(),
            voter: view.voters.contains(id),
            zone: zones.get(id).map_or_else(|| "?".to_owned(), |(zone, _)| zone.clone()),
            draining: zones.get(id).is_some_and(|(_, draining)| *draining),
            status,
        });
    }
    all.shutdown().await;
    Ok((view, reports))
}

/// The status table, as `cairn-node status` prints it.
pub fn render_status(view: &NodeStatus, reports: &[MemberReport]) -> String {
    let leader_applied = reports
        .iter()
        .filter_map(|r| r.status.as_ref().ok())
        .find(|s| s.state == "Leader")
        .and_then(|s| s.applied_index);
    let mut out = String::new();
    let learners = view.members.len() - view.voters.len();
    let leader = view.leader.map_or("none".to_owned(), |l| format!("node {l}"));
    let zones: std::collections::BTreeSet<&str> = reports.iter().map(|r| r.zone.as_str()).collect();
    let _ = writeln!(
        out,
        "cluster: {} members in {} zones ({} voters, {learners} learners); leader {leader}, term {}",
        view.members.len(),
        zones.len(),
        view.voters.len(),
        view.term
    );
    let _ = writeln!(
        out,
        "{:<5} {:<7} {:<10} {:<10} {:<22} {:>9} {:>9} {:>9} {:>7}  HEALTH",
        "NODE", "ROLE", "ZONE", "STATE", "ADDRESS", "APPLIED", "LOG", "SNAPSHOT", "UPTIME"
    );
    let index = |i: Option<u64>| i.map_or("-".to_owned(), |i| i.to_string());
    for r in reports {
        let role = if r.voter { "voter" } else { "learner" };
        match &r.status {
            Ok(s) => {
                let lag = leader_applied.zip(s.applied_index).map(|(l, a)| l.saturating_sub(a));
                let mut health = match lag {
                    Some(0) | None => "ok".to_owned(),
                    Some(lag) => format!("ok, {lag} behind"),
                };
                if r.draining {
                    health.push_str(", draining");
                }
                let _ = writeln!(
                    out,
                    "{:<5} {:<7} {:<10} {:<10} {:<22} {:>9} {:>9} {:>9} {:>6}s  {health}",
                    r.id,
                    role,
                    r.zone,
                    s.state,
                    r.addr,
                    index(s.applied_index),
                    index(s.last_log_index),
                    index(s.snapshot_index),
                    s.uptime_secs
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "{:<5} {:<7} {:<10} {:<10} {:<22} {:>9} {:>9} {:>9} {:>7}  DOWN: {e}",
                    r.id, role, r.zone, "?", r.addr, "-", "-", "-", "-"
                );
            }
        }
    }
    render_blocks(&mut out, reports);
    out
}

/// What the live cluster survives with this node's profile, as `status` prints it under the
/// table: the members' zones from the cluster map, checked as `check-config` checks configs.
/// A layout that cannot survive what its zones claim is a warning here, not a refusal: a
/// cluster passes through such layouts while it grows node by node.
pub fn render_layout(config: &NodeConfig, reports: &[MemberReport]) -> String {
    let mut zones = std::collections::BTreeMap::new();
    for r in reports {
        *zones.entry(r.zone.as_str()).or_insert(0) += 1;
    }
    match crate::layout::survives(config.id, config.storage.profile, &zones, reports.len()) {
        Ok(line) => format!("layout: {line}\n"),
        Err(why) => format!("WARNING: {why}\n"),
    }
}

/// The block layer's table: each node's shards, and the repair and scrub progress.
fn render_blocks(out: &mut String, reports: &[MemberReport]) {
    let _ = writeln!(
        out,
        "\n{:<5} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9} {:>8} {:>8}",
        "NODE",
        "SHARDS",
        "STORED",
        "WRITTEN",
        "READ",
        "REPAIRING",
        "REPAIRED",
        "SCRUBBED",
        "CORRUPT",
        "PASSES"
    );
    for r in reports {
        let Ok(Some(b)) = r.status.as_ref().map(|s| s.blocks.as_ref()) else { continue };
        let repairing = if r.status.as_ref().is_ok_and(|s| s.state == "Leader") {
            b.repair_pending.to_string()
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "{:<5} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9} {:>8} {:>8}",
            r.id,
            b.shards_held,
            human_bytes(b.shard_bytes),
            b.blocks_written,
            b.blocks_read,
            repairing,
            b.repair_blocks,
            b.scrub_shards,
            b.scrub_corrupt,
            b.scrub_passes
        );
    }
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// Applies a membership change through the configured node.
pub async fn change_membership(config: &NodeConfig, command: AdminCommand) -> Result<NodeStatus, AdminError> {
    let client = client_for(config).await?;
    let result = client.admin(&command).await;
    client.shutdown().await;
    Ok(result?)
}

/// Waits until the leader has replicated to `learner` everything it had when the wait began,
/// reporting progress through `progress` (matched index, target index).
pub async fn wait_caught_up(
    config: &NodeConfig,
    learner: NodeId,
    deadline: Duration,
    progress: impl FnMut(u64, u64),
) -> Result<(), AdminError> {
    let all = members_client(config).await?;
    let result = wait_learner_caught_up(&all, learner, deadline, progress).await;
    all.shutdown().await;
    result
}

/// A client of every member the node `config` describes knows of, as that node.
pub async fn members_client(config: &NodeConfig) -> Result<ClusterClient, AdminError> {
    let local = client_for(config).await?;
    let view = local.status().await;
    local.shutdown().await;
    let view = view?;
    let identity = SecretsDir::new(&config.secrets_dir).node_identity(config.id)?;
    let nodes =
        view.members.iter().filter_map(|(id, a)| a.raft_addr.parse().ok().map(|a| (*id, a))).collect();
    Ok(ClusterClient::new(&identity, nodes, config.call_timeout()).await?)
}

/// [`wait_caught_up`] through a client of the members: it finds the leader among them (only the
/// leader knows how far each member has got) and watches its replication to `learner`.
pub async fn wait_learner_caught_up(
    client: &ClusterClient,
    learner: NodeId,
    deadline: Duration,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), AdminError> {
    let give_up = std::time::Instant::now() + deadline;
    let mut target = None;
    loop {
        let mut leader = None;
        for (id, _) in client.nodes() {
            if let Ok(status) = client.status_of(*id).await
                && status.state == "Leader"
            {
                leader = Some(status);
                break;
            }
        }
        if let Some(leader) = leader {
            let goal = *target.get_or_insert(leader.last_log_index.unwrap_or(0));
            let matched =
                leader.replication.as_ref().and_then(|r| r.get(&learner).copied().flatten()).unwrap_or(0);
            progress(matched, goal);
            if matched >= goal {
                return Ok(());
            }
        }
        if std::time::Instant::now() > give_up {
            return Err(AdminError::Client(ClusterClientError::Unreachable(format!(
                "node {learner} did not catch up within {deadline:?}"
            ))));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
