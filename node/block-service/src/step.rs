//! Deadlines for the steps of the leader's background work (repair, rebalance). Every call a
//! step makes has a deadline of its own; this bounds the rest (waiting for block memory above
//! all), so one block can never hold up a scan, and an overrun is logged with its step.

use std::time::Duration;

use crate::messages::BlockError;

/// How long one step may take before its block is given up until the next scan.
pub const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `work`, the step `what` of `task` ("repair", "rebalance"), within [`STEP_DEADLINE`].
pub async fn step<T>(task: &str, what: &str, work: impl Future<Output = T>) -> Result<T, BlockError> {
    tokio::time::timeout(STEP_DEADLINE, work).await.map_err(|_| {
        tracing::warn!(
            task,
            step = what,
            "a step overran its deadline; the block is retried at the next scan"
        );
        BlockError::Unavailable(format!("{task} could not {what} within {STEP_DEADLINE:?}"))
    })
}
