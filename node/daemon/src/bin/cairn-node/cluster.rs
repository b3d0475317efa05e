//! The running cluster: `status`, `member`, `upgrade`, `journal-retention`.

use std::path::Path;
use std::time::Duration;

use cairn_metadata::AdminCommand;
use cairn_node::{NodeConfig, SecretsDir, admin, drain, upgrade};
use cairn_raft::NodeAddr;

use crate::args::{MemberChange, UpgradeStep};
use crate::load::{Result, load};

/// `status`: every member, its shards, the layout, rebalance progress.
pub async fn status(config: &Path) -> Result {
    let config = load(config)?;
    let (view, reports) = admin::cluster_status(&config).await?;
    print!("{}", admin::render_status(&view, &reports));
    print!("{}", admin::render_layout(&config, &reports));
    if let Ok(report) = drain::report(&config, None).await {
        print!("{}", drain::render(&report));
    }
    warn_of_expiring_certificates(&config)
}

/// How long before a certificate ends `status` starts to warn of it.
const CERT_WARNING: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Warns, after the status, of this machine's certificates that end within [`CERT_WARNING`]:
/// past that date its peers or its clients refuse it.
fn warn_of_expiring_certificates(config: &NodeConfig) -> Result {
    let now = std::time::SystemTime::now();
    for (path, not_after) in SecretsDir::new(&config.secrets_dir).expiring(now + CERT_WARNING)? {
        let days = not_after.duration_since(now).map_or(0, |left| left.as_secs() / 86_400);
        let when = format!("{} ends in {days} days ({})", path.display(), httpdate::fmt_http_date(not_after));
        if path.file_name().is_some_and(|name| name == "ca.crt") {
            println!(
                "warning: the cluster CA {when}: after it, nodes and clients trust no certificate of it"
            );
        } else {
            println!(
                "warning: {when}: renew it with `cairn-node renew-cert -c <the node's config>` on its \
                 machine, then restart that node"
            );
        }
    }
    Ok(())
}

/// `member`: add, promote, drain or remove a node.
pub async fn member(change: MemberChange) -> Result {
    match change {
        MemberChange::Add { config, id, addr, api, voter } => {
            let config = load(&config)?;
            let node = NodeAddr { raft_addr: addr.to_string(), api_addr: api.to_string() };
            admin::change_membership(&config, AdminCommand::AddLearner { id, addr: node }).await?;
            println!("node {id} added as a learner; waiting for it to catch up");
            let mut last = None;
            admin::wait_caught_up(&config, id, Duration::from_secs(600), |matched, goal| {
                if last != Some(matched) {
                    println!("  node {id}: {matched} of {goal} entries");
                    last = Some(matched);
                }
            })
            .await?;
            if voter {
                admin::change_membership(&config, AdminCommand::Promote { id }).await?;
                println!("node {id} is a voter");
            }
            Ok(())
        }
        MemberChange::Promote { config, id } => {
            admin::change_membership(&load(&config)?, AdminCommand::Promote { id }).await?;
            println!("node {id} is a voter");
            Ok(())
        }
        MemberChange::Drain { config, id, wait, cancel } => {
            let config = load(&config)?;
            drain::mark(&config, id, cancel).await?;
            if cancel {
                println!("node {id} takes shards again");
                return Ok(());
            }
            println!(
                "node {id} is draining: its shards move to other nodes at up to {}/s (storage.rebalance_bytes_per_sec)",
                admin::human_bytes(config.storage.rebalance_bytes_per_sec)
            );
            if !wait {
                println!(
                    "follow it with `cairn-node status`; `member drain --id {id} --wait` waits for the end"
                );
                return Ok(());
            }
            let mut last = None;
            drain::wait_drained(&config, id, Duration::from_secs(600), |report| {
                let left = report.holding.map(|h| h.blocks);
                if left != last {
                    println!("  node {id}: {} blocks still have a shard there", left.unwrap_or(0));
                    last = left;
                }
            })
            .await?;
            println!("node {id} is drained: remove it with `cairn-node member remove --id {id}`");
            Ok(())
        }
        MemberChange::Remove { config, id, force } => {
            let config = load(&config)?;
            let parity = config.storage.profile.total_shards() - config.storage.profile.data_shards();
            match drain::check_removable(&config, id, parity).await {
                Ok(()) => {}
                Err(why) if force => eprintln!("warning: {why}"),
                Err(why) => return Err(why.into()),
            }
            admin::change_membership(&config, AdminCommand::Remove { id }).await?;
            println!("node {id} removed");
            Ok(())
        }
    }
}

/// `upgrade`: the cluster version, and raising it.
pub async fn upgrade(step: UpgradeStep) -> Result {
    match step {
        UpgradeStep::Status { config } => {
            print!("{}", upgrade::render(&upgrade::status(&load(&config)?).await?));
        }
        UpgradeStep::Finalize { config } => {
            let report = upgrade::finalize(&load(&config)?).await?;
            println!("the cluster runs at version {}", report.cluster_version);
        }
    }
    Ok(())
}

/// `journal-retention`: how long the change journal keeps entries.
pub async fn journal_retention(config: &Path, days: Option<u64>, ms: Option<u64>) -> Result {
    let ms = match (days, ms) {
        (Some(days), _) => days.checked_mul(24 * 60 * 60 * 1000).ok_or("--days is too large")?,
        (None, Some(ms)) => ms,
        (None, None) => return Err("give --days or --ms".into()),
    };
    admin::set_journal_retention(&load(config)?, ms).await?;
    println!("journal retention: {ms} ms ({:.2} days)", ms as f64 / 86_400_000.0);
    Ok(())
}
