//! `GET /metrics`: the node's counters in Prometheus' text format.
//!
//! Raft (term, indexes, leadership), the shard store (shards and bytes held) and the block
//! layer's work (writes, reads, repair backlog and progress, scrub progress, GC), and the
//! API's connections and watches (open, refused, timed out).

use std::fmt::Write as _;

use cairn_block_service::BlockService;
use cairn_metadata::MetaService;

/// Renders every metric of this node.
pub async fn render(meta: &MetaService, blocks: &BlockService) -> String {
    let status = meta.status();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    gauge("cairn_raft_term", "The current Raft term.", "gauge", status.term);
    gauge("cairn_raft_is_leader", "1 if this node leads.", "gauge", u64::from(status.state == "Leader"));
    gauge(
        "cairn_raft_last_log_index",
        "The last index in this node's log.",
        "gauge",
        status.last_log_index.unwrap_or(0),
    );
    gauge(
        "cairn_raft_applied_index",
        "The last index applied to the metadata.",
        "gauge",
        status.applied_index.unwrap_or(0),
    );
    gauge("cairn_raft_voters", "Voters in the Raft group.", "gauge", status.voters.len() as u64);
    gauge("cairn_uptime_seconds", "Seconds since the node started.", "counter", status.uptime_secs);
    gauge(
        "cairn_link_password_checks_total",
        "Link passwords checked with argon2 (attempts refused by the rate limit run none).",
        "counter",
        crate::links::password_checks(),
    );
    gauge(
        "cairn_password_checks_total",
        "Passwords checked with argon2 on this node's pool (attempts refused by a rate limit run none).",
        "counter",
        crate::password::pool::checks(),
    );
    for (name, help, value) in
        crate::server::stats::prometheus().into_iter().chain(crate::watch_limit::prometheus())
    {
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        gauge(name, help, kind, value);
    }
    for (name, help, value) in blocks.stats().await.prometheus() {
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        gauge(name, help, kind, value);
    }
    gauge("cairn_block_bytes_read_total", "Plaintext bytes of blocks read.", "counter", blocks.bytes_read());
    gauge(
        "cairn_blocks_written_inline_total",
        "Small blocks stored whole in metadata instead of shards.",
        "counter",
        blocks.inline_blocks_written(),
    );
    let progress = blocks.rebalance_progress();
    rebalance(&mut out, &progress.report(), progress.awaiting_repair());
    out
}

/// The leader's rebalance: what is left (in all, and off each node) and what moved.
fn rebalance(out: &mut String, report: &cairn_block_service::RebalanceReport, awaiting_repair: u64) {
    for (name, help, kind, value) in [
        ("cairn_rebalance_shards_left", "Shards the leader still has to move.", "gauge", report.shards_left),
        (
            "cairn_rebalance_bytes_left",
            "About how many bytes of shards the leader still has to move.",
            "gauge",
            report.bytes_left,
        ),
        (
            "cairn_rebalance_blocks_stuck",
            "Blocks that should leave a draining node but have nowhere to go.",
            "gauge",
            report.blocks_stuck,
        ),
        (
            "cairn_rebalance_blocks_awaiting_repair",
            "Blocks that cannot move until repair rebuilds a damaged shard or one on a down or gone node.",
            "gauge",
            awaiting_repair,
        ),
        (
            "cairn_rebalance_shards_moved_total",
            "Shards moved since this node began to lead.",
            "counter",
            report.moved_shards,
        ),
        (
            "cairn_rebalance_bytes_moved_total",
            "Bytes of shards moved since this node began to lead.",
            "counter",
            report.moved_bytes,
        ),
        ("cairn_rebalance_failures_total", "Block moves that failed (retried).", "counter", report.failures),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    let name = "cairn_rebalance_node_shards_left";
    let _ = writeln!(
        out,
        "# HELP {name} Shards the leader still has to move off each node.\n# TYPE {name} gauge"
    );
    for left in &report.leaving {
        let _ = writeln!(out, "{name}{{node=\"{}\"}} {}", left.node, left.shards);
    }
}
