//! `cairn-node upgrade status` and `upgrade finalize`: the cluster version, what each member
//! runs, and raising the version once every member runs the new release (see
//! `cairn_metadata::upgrade`).

use std::fmt::Write as _;

use cairn_metadata::messages::{KIND_UPGRADE, UpgradeCall, UpgradeReport, encode};
use cairn_raft::model::version::{CURRENT, Feature};
use cairn_raft::model::{Answer, Query};

use crate::admin::{AdminError, client_for};
use crate::cluster_client::ClusterClientError;
use crate::config::NodeConfig;

/// The cluster version and each member's release, as the configured node sees them.
pub async fn status(config: &NodeConfig) -> Result<UpgradeReport, AdminError> {
    call(config, UpgradeCall::Status).await
}

/// Raises the cluster version to the newest every member runs at; refused, naming the
/// members that hold it back, while any runs an older release.
pub async fn finalize(config: &NodeConfig) -> Result<UpgradeReport, AdminError> {
    call(config, UpgradeCall::Finalize).await
}

async fn call(config: &NodeConfig, what: UpgradeCall) -> Result<UpgradeReport, AdminError> {
    let client = client_for(config).await?;
    let result = client.call_node(config.id, KIND_UPGRADE, encode(&what)).await;
    client.shutdown().await;
    result.map_err(|e| match e {
        ClusterClientError::Service { error: cairn_metadata::ServiceError::Upgrade(why), .. } => {
            AdminError::Refused(why)
        }
        other => other.into(),
    })
}

/// Refuses `feature` with what to do while the cluster runs below its version.
pub async fn require(config: &NodeConfig, feature: Feature) -> Result<(), AdminError> {
    let client = client_for(config).await?;
    let answer = client.query(&Query::ClusterVersion).await;
    client.shutdown().await;
    match answer? {
        Answer::ClusterVersion(v) if feature.enabled_at(v) => Ok(()),
        Answer::ClusterVersion(v) => Err(AdminError::Refused(format!(
            "{feature} needs cluster version {}, and the cluster runs at {v}: a member still runs \
             the previous release, or the upgrade is not finalized (see `cairn-node upgrade status`)",
            feature.since()
        ))),
        other => Err(AdminError::Refused(format!("the cluster version was answered with {other:?}"))),
    }
}

/// The report as `upgrade status` prints it.
pub fn render(report: &UpgradeReport) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "cluster version: {} (this release runs at up to {CURRENT})", report.cluster_version);
    for (id, said) in &report.members {
        let _ = match said {
            Ok(v) => writeln!(
                out,
                "  node {id}: release {}, cluster versions {}..={}",
                v.release, v.oldest, v.newest
            ),
            Err(e) => writeln!(out, "  node {id}: unknown: {e}"),
        };
    }
    match cairn_metadata::upgrade::reachable_version(report) {
        Ok(target) if target > report.cluster_version => {
            let _ =
                writeln!(out, "every member runs version {target}: `cairn-node upgrade finalize` raises it");
        }
        Ok(_) if report.cluster_version < CURRENT => {
            let _ = writeln!(out, "a member runs an older release: upgrade it before finalizing");
        }
        Ok(_) => {}
        Err(why) => {
            let _ = writeln!(out, "cannot finalize yet: {why}");
        }
    }
    out
}
