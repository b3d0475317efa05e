//! Failure detection, and the node's own entry in the cluster map.
//!
//! Every node registers itself in the cluster map at start (its addresses, zone and capacity),
//! so placement knows its zone. The leader pings every node; one that has not answered for
//! `down_after_ms` is marked down (placement skips it and, after the repair grace, repair
//! moves its shards), and one that answers again is marked up — the leader itself included,
//! should it have been marked down before it was elected.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cairn_raft::NodeId;
use cairn_raft::model::cluster::{NodeMark, NodeRole, NodeSpec};
use cairn_raft::model::{Answer, Command, Query, Response};
use tokio::task::JoinSet;

use super::BlockService;
use super::view::ClusterView;

/// This node's entry in the cluster map, as its config declares it.
pub fn own_spec(service: &BlockService, quic_addr: String, api_addr: String, zone: String) -> NodeSpec {
    NodeSpec {
        id: service.me(),
        quic_addr,
        api_addr,
        zone,
        role: NodeRole::Voter,
        capacity_bytes: service.config().capacity_bytes.unwrap_or(0),
    }
}

/// Puts `spec` in the cluster map unless it is there already; retries until it is.
pub async fn register_self(service: BlockService, spec: NodeSpec) {
    let mut pause = Duration::from_millis(200);
    loop {
        let current = match service.meta().query(&Query::ClusterMap).await {
            Ok(Answer::ClusterMap(map)) => {
                map.nodes.into_iter().find(|n| n.spec.id == spec.id).map(|n| n.spec)
            }
            _ => None,
        };
        if current.as_ref() == Some(&spec) {
            tracing::info!(node = spec.id, zone = %spec.zone, "registered in the cluster map");
            return;
        }
        match service.propose(Command::SetNode(spec.clone())).await {
            Ok(Response::ClusterMapChanged { .. }) => continue,
            Ok(other) => tracing::warn!(?other, "the cluster map refused this node"),
            Err(e) => tracing::debug!(error = %e, "could not register in the cluster map yet"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Pings every node while this node leads, marking nodes down and up.
pub async fn run(service: BlockService) {
    let down_after = Duration::from_millis(service.config().down_after_ms);
    let every = (down_after / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    // When each node last answered (or when this node began watching it).
    let mut last_heard: HashMap<NodeId, Instant> = HashMap::new();
    loop {
        tokio::time::sleep(every).await;
        if !service.meta().is_leader() {
            last_heard.clear();
            continue;
        }
        let view = ClusterView::load(service.meta());
        // A node marked down that then became the leader is plainly up, and it never pings
        // itself: it clears its own mark, or placement and repair would shun it while it leads.
        if view.nodes.get(&service.me()).is_some_and(|n| n.state.is_down()) {
            mark(&service, service.me(), NodeMark::Up).await;
        }
        let mut pings = JoinSet::new();
        for node in view.nodes.values().filter(|n| n.id != service.me()) {
            let Some(addr) = node.addr else { continue };
            let (shards, id) = (service.shards().clone(), node.id);
            pings.spawn(async move {
                (id, shards.ping(id, addr, every.max(Duration::from_millis(500))).await.is_ok())
            });
        }
        let now = Instant::now();
        while let Some(Ok((id, answered))) = pings.join_next().await {
            let Some(node) = view.nodes.get(&id) else { continue };
            let down = node.state.is_down();
            if answered {
                last_heard.insert(id, now);
                if down {
                    mark(&service, id, NodeMark::Up).await;
                }
            } else {
                let since = *last_heard.entry(id).or_insert(now);
                if !down && now.duration_since(since) >= down_after {
                    service.counters().nodes_marked_down(1);
                    mark(&service, id, NodeMark::Down).await;
                }
            }
        }
    }
}

async fn mark(service: &BlockService, node: NodeId, mark: NodeMark) {
    tracing::warn!(node, ?mark, "node state changes");
    if let Err(e) = service.propose(Command::MarkNode { node, mark }).await {
        tracing::warn!(node, error = %e, "could not record the node's state");
    }
}
