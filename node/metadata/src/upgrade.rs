//! Rolling upgrades on a node: what release it runs, what every member runs, and raising the
//! cluster version once every member runs the new one.
//!
//! A release runs at cluster versions [`OLDEST`]`..=`[`CURRENT`]. While any member runs the
//! previous release the cluster stays at the old version and the new release's features wait
//! (see `cairn_raft::model::version`). Once every member says it runs at the new version, the
//! leader proposes it: by itself when `auto_finalize` is on, or when an operator runs
//! `cairn-node upgrade finalize` (CockroachDB's `preserve_downgrade_option` is the same choice:
//! until the version is raised, the previous release can still be put back).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use cairn_raft::model::version::{CURRENT, OLDEST};
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response};
use cairn_raft::{NodeAddr, NodeId};
use cairn_transport::node_name;

use super::MetaService;
use super::messages::{KIND_UPGRADE, NodeVersion, ServiceError, UpgradeCall, UpgradeReport, decode, encode};

/// Set (to a cluster version) only by tests, to make a node say it runs at no newer version
/// than that, as a node of the previous release would: the one way to hold a cluster back
/// without building the previous release.
pub const NEWEST_OVERRIDE_VAR: &str = "CAIRN_TEST_NEWEST_CLUSTER_VERSION";

/// How long one member may take to say what it runs.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the leader looks whether it can raise the cluster version by itself.
const AUTO_EVERY: Duration = Duration::from_secs(2);

/// The release this node runs.
pub fn this_release() -> NodeVersion {
    let newest = std::env::var(NEWEST_OVERRIDE_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(CURRENT, |v: u32| v.clamp(OLDEST, CURRENT));
    NodeVersion { release: env!("CARGO_PKG_VERSION").to_owned(), oldest: OLDEST, newest }
}

/// The cluster version every member runs at: the lowest of their newest, or which members did
/// not say what they run.
pub fn reachable_version(report: &UpgradeReport) -> Result<u32, String> {
    let mut behind = Vec::new();
    let mut target = CURRENT;
    for (id, said) in &report.members {
        match said {
            Ok(v) => target = target.min(v.newest),
            Err(e) => behind.push(format!("node {id} did not say what it runs ({e})")),
        }
    }
    if !behind.is_empty() {
        return Err(behind.join("; "));
    }
    Ok(target)
}

impl MetaService {
    /// The cluster version in force (a linearizable read) and what every member runs.
    pub async fn upgrade_status(&self) -> Result<UpgradeReport, ServiceError> {
        let cluster_version = match self.query(&Query::ClusterVersion).await? {
            Answer::ClusterVersion(v) => v,
            other => return Err(ServiceError::Internal(format!("cluster version answered {other:?}"))),
        };
        // All at once: a member that does not answer costs one timeout, not one each.
        let mut asks = tokio::task::JoinSet::new();
        for (id, addr) in self.members() {
            let service = self.clone();
            asks.spawn(async move {
                let said = if id == service.id() {
                    Ok(this_release())
                } else {
                    service.ask_release(id, &addr).await
                };
                (id, said)
            });
        }
        let mut members = BTreeMap::new();
        while let Some(asked) = asks.join_next().await {
            let (id, said) = asked.map_err(|e| ServiceError::Internal(format!("asking a member: {e}")))?;
            members.insert(id, said);
        }
        Ok(UpgradeReport { cluster_version, members })
    }

    /// What member `id` runs, asked over the transport.
    async fn ask_release(&self, id: NodeId, addr: &NodeAddr) -> Result<NodeVersion, String> {
        let peer: SocketAddr = addr.raft_addr.parse().map_err(|e| format!("bad address {addr}: {e}"))?;
        let payload = Bytes::from(encode(&UpgradeCall::Version));
        let (kind, reply) = self
            .transport()
            .request(peer, &node_name(id), KIND_UPGRADE, payload, ASK_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if kind != KIND_UPGRADE {
            // The previous release knows no such call: it answers that the kind is unknown.
            return Err(format!(
                "it does not know the call, so it runs a release older than {} (said: {})",
                env!("CARGO_PKG_VERSION"),
                String::from_utf8_lossy(&reply)
            ));
        }
        decode::<Result<NodeVersion, ServiceError>>(&reply)
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Raises the cluster version as far as every member runs, on the leader (forwarded there
    /// from a follower). A cluster already there is left as it is.
    pub async fn finalize_upgrade(&self) -> Result<UpgradeReport, ServiceError> {
        let payload = Bytes::from(encode(&UpgradeCall::FinalizeForwarded));
        self.with_leader(KIND_UPGRADE, payload, || self.finalize_upgrade_here()).await
    }

    /// [`MetaService::finalize_upgrade`] on this node, which must lead.
    pub async fn finalize_upgrade_here(&self) -> Result<UpgradeReport, ServiceError> {
        if !self.is_leader() {
            let leader = self.raft().metrics().borrow().current_leader;
            return Err(ServiceError::NotLeader { node: self.id(), leader });
        }
        let mut report = self.upgrade_status().await?;
        let target = reachable_version(&report).map_err(ServiceError::Upgrade)?;
        if target <= report.cluster_version {
            if report.cluster_version >= CURRENT {
                return Ok(report);
            }
            let behind: Vec<String> = report
                .members
                .iter()
                .filter_map(|(id, v)| v.as_ref().ok().filter(|v| v.newest < CURRENT).map(|v| (id, v)))
                .map(|(id, v)| {
                    format!("node {id} runs release {} (cluster version {} at most)", v.release, v.newest)
                })
                .collect();
            return Err(ServiceError::Upgrade(format!(
                "the cluster stays at version {}: {}; upgrade it first",
                report.cluster_version,
                behind.join(", ")
            )));
        }
        let request = Request {
            id: RequestId(rand::random()),
            time_ms: 0,
            command: Command::SetClusterVersion { version: target },
        };
        match self.propose_here(vec![request]).await?.pop() {
            Some(Response::ClusterVersionSet { version }) => {
                tracing::info!(from = report.cluster_version, to = version, "cluster version raised");
                report.cluster_version = version;
                Ok(report)
            }
            other => Err(ServiceError::Upgrade(format!("the cluster version was not raised: {other:?}"))),
        }
    }
}

/// Watches the cluster version on every node: says loudly when the cluster runs at a version
/// this release does not (it was raised by newer members; this node must be upgraded), and with
/// `auto_finalize`, while this node leads, raises it as soon as every member runs the new one.
pub async fn watch(service: MetaService, auto_finalize: bool) {
    let mut warned = false;
    loop {
        tokio::time::sleep(AUTO_EVERY).await;
        let Ok(Answer::ClusterVersion(version)) = service.local(&Query::ClusterVersion) else { continue };
        let ours = this_release();
        if version > ours.newest && !warned {
            tracing::error!(
                cluster_version = version,
                release = ours.release,
                "the cluster runs at version {version}, newer than this release runs at ({}): upgrade this node",
                ours.newest
            );
            warned = true;
        }
        if !auto_finalize || !service.is_leader() || version >= CURRENT {
            continue;
        }
        if let Err(e) = service.finalize_upgrade_here().await {
            tracing::debug!(error = %e, "the cluster version stays for now");
        }
    }
}
