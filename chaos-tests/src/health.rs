//! After healing: does every block get back its k+m healthy shards, on nodes that are members,
//! within a bounded time? Read from the block records in the metadata (linearizable reads
//! through an operator client), page by page — and checked against the nodes themselves: a
//! record can say "whole" while the node it names lost the shard and could not take it back,
//! so each member must hold at least as many shards as the records place on it. And rot is only
//! known once found: each member must have finished a scrub pass since it last started (rot is
//! done to stopped nodes), or rotten shards would pass for healthy ones. A block kept in
//! metadata (a small one) has no shards; its sealed bytes must be in the metadata instead.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cairn_node::ClusterClient;
use cairn_proto::{AccountId, BlockId};
use cairn_raft::NodeId;
use cairn_raft::model::blocks::{BlockRecord, is_inline};
use cairn_raft::model::{Answer, Query};

/// Blocks whose records are not whole yet, and how many blocks there are.
pub async fn unhealthy_blocks(
    operator: &ClusterClient,
    members: &BTreeSet<NodeId>,
) -> Result<(usize, Vec<String>), String> {
    // Held counts first: shards only come back between the two reads (repair), and a block
    // collected in between only lowers what the records ask for.
    let mut held = BTreeMap::new();
    let mut unscrubbed = Vec::new();
    for &node in members {
        let blocks = match operator.status_of(node).await {
            Ok(status) => status.blocks.unwrap_or_default(),
            Err(e) => return Err(format!("status of node {node}: {e}")),
        };
        held.insert(node, blocks.shards_held);
        if blocks.scrub_passes == 0 {
            unscrubbed.push(format!("node {node} has not finished a scrub pass since it started"));
        }
    }
    let mut placed: BTreeMap<NodeId, u64> = BTreeMap::new();
    let mut unhealthy = Vec::new();
    let mut inline = Vec::new();
    let total = each_block(operator, |account, block, record| {
        // A block kept in metadata has no shards: its bytes must be there instead.
        if is_inline(record) {
            inline.push((*account, *block, record.plain_len));
            return;
        }
        for node in &record.placement {
            *placed.entry(*node).or_default() += 1;
        }
        let width = usize::from(record.data_shards) + usize::from(record.parity_shards);
        let placed_on_members = record.placement.iter().all(|n| members.contains(n));
        let distinct: BTreeSet<&NodeId> = record.placement.iter().collect();
        if !record.damaged.is_empty()
            || record.placement.len() != width
            || !placed_on_members
            || distinct.len() != width
        {
            unhealthy.push(format!(
                "account {} block {block}: placement {:?}, damaged {:?}",
                account.0, record.placement, record.damaged
            ));
        }
    })
    .await?;
    for (account, block, plain_len) in inline {
        match operator.query(&Query::InlineBlock { account, block }).await {
            Ok(Answer::InlineBlock(Some(_))) => {}
            Ok(Answer::InlineBlock(None)) => unhealthy.push(format!(
                "account {} block {block} ({plain_len} bytes) is kept in metadata, but its bytes are not",
                account.0
            )),
            Ok(other) => return Err(format!("inline block query answered {other:?}")),
            Err(e) => return Err(format!("inline block query: {e}")),
        }
    }
    unhealthy.extend(unscrubbed);
    for (node, held) in held {
        let placed = placed.get(&node).copied().unwrap_or(0);
        if held < placed {
            unhealthy
                .push(format!("node {node} holds {held} shards; the block records place {placed} on it"));
        }
    }
    Ok((total, unhealthy))
}

/// The blocks whose records place a shard on `node`, and about how many bytes those shards
/// are: what a drain of `node` has to move, and what `member remove` waits to see at zero.
pub async fn blocks_on(operator: &ClusterClient, node: NodeId) -> Result<(u64, u64), String> {
    let (mut blocks, mut bytes) = (0, 0);
    each_block(operator, |_, _, record| {
        if record.placement.contains(&node) {
            blocks += 1;
            bytes += u64::from(record.plain_len) / u64::from(record.data_shards.max(1));
        }
    })
    .await?;
    Ok((blocks, bytes))
}

/// Calls `each` with every block record, page by page; returns how many there were.
async fn each_block(
    operator: &ClusterClient,
    mut each: impl FnMut(&AccountId, &BlockId, &BlockRecord),
) -> Result<usize, String> {
    let mut after = None;
    let mut total = 0;
    loop {
        let page = match operator.query(&Query::Blocks { after, limit: 1000 }).await {
            Ok(Answer::Blocks(page)) => page,
            Ok(other) => return Err(format!("blocks query answered {other:?}")),
            Err(e) => return Err(format!("blocks query: {e}")),
        };
        let Some(last) = page.last() else { return Ok(total) };
        after = Some((last.0, last.1));
        for (account, block, record) in &page {
            total += 1;
            each(account, block, record);
        }
    }
}

/// Waits up to `bound` for every block to be whole; returns how long it took, or what was
/// still missing when the time ran out.
pub async fn wait_whole(
    operator: &ClusterClient,
    members: &BTreeSet<NodeId>,
    bound: Duration,
) -> Result<(usize, Duration), String> {
    let start = Instant::now();
    loop {
        let last = unhealthy_blocks(operator, members).await;
        match &last {
            Ok((total, unhealthy)) if unhealthy.is_empty() => return Ok((*total, start.elapsed())),
            _ if start.elapsed() >= bound => {
                return Err(match last {
                    Ok((total, unhealthy)) => format!(
                        "{} of {total} blocks not whole after {bound:?}; first: {}",
                        unhealthy.len(),
                        unhealthy.first().map_or("", String::as_str)
                    ),
                    Err(e) => e,
                });
            }
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}
