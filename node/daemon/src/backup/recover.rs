//! `cairn-node recover --force-new-cluster`: makes a stopped survivor of a lost majority the only
//! voter of a new cluster, from its own state.
//!
//! Raft cannot commit without a majority of its voters, so when most of them are gone for good
//! nothing can be written or read linearizably, ever. This is the way out, and it costs
//! something: whatever the lost voters had committed that this node never received is gone, and
//! if a lost node was in fact alive, two clusters now diverge. Hence the flag, the warning and
//! the confirmation. The node's old log and state are not deleted but moved to
//! `<data_dir>/before-recover-<time>/`; what it had applied, and the entries it knew committed,
//! are kept (see `cairn_raft::storage::seed::recover`). A running node is refused: its stores
//! are locked.

use std::io::{BufRead, IsTerminal, Write};

use cairn_raft::storage::seed::{self, NewMember, Recovered};

use super::BackupError;
use crate::config::NodeConfig;

/// What the operator is told before anything happens.
pub fn warning(config: &NodeConfig) -> String {
    format!(
        "WARNING: recover --force-new-cluster makes node {id} the only voter of a NEW cluster, from \
         its own state.\n\
         \x20 Use it only when a majority of the voters is lost for good. Writes the lost voters had \
         committed and node {id} never received are lost.\n\
         \x20 If any old voter is in fact still alive, stop it and keep it stopped: it would go on as \
         another cluster.\n\
         \x20 The old Raft state is kept in {}/before-recover-<time>/.",
        config.data_dir.display(),
        id = config.id
    )
}

/// Asks the operator on the terminal to type the node's id; `false` unless they did.
pub fn confirm(config: &NodeConfig) -> Result<bool, BackupError> {
    if !std::io::stdin().is_terminal() {
        return Err(BackupError::Refused(
            "standard input is not a terminal: give --yes to confirm without a prompt".into(),
        ));
    }
    eprint!("type the node's id ({}) to go on: ", config.id);
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| BackupError::Refused(format!("read the confirmation: {e}")))?;
    Ok(line.trim() == config.id.to_string())
}

/// Recovers the node `config` describes; `now_ms` stamps the cluster-map changes and names the
/// folder the old state goes to.
pub async fn recover(config: &NodeConfig, now_ms: u64) -> Result<Recovered, BackupError> {
    let aside = config.data_dir.join(format!("before-recover-{}", now_ms / 1000));
    let member = NewMember { id: config.id, addr: config.node_addr(), now_ms };
    let log_dir = config.data_dir.join("raft-log");
    let state_dir = config.data_dir.join("state");
    Ok(seed::recover(&log_dir, &state_dir, &aside, &member).await?)
}
