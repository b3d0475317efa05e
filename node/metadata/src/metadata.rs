//! [`MetaService`]: a node's side of the metadata service.
//!
//! Writes go to the leader: proposed locally when this node leads, otherwise forwarded once to
//! the node it believes leads, which proposes only if it really does. Either way a failure that
//! may pass (no leader yet, a leader that just died) is retried until the call's deadline; this
//! is safe because every request carries its id and a retried request is answered, not
//! re-applied.
//!
//! Reads are linearizable on every node: the leader confirms with a quorum that it still leads
//! and names the log index the read must see (the read index); a follower asks the leader for
//! it, waits until its own state machine has applied that far, and answers from its own state.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_proto::{Backoff, Clock};
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response, answer};
use cairn_raft::storage::StateReader;
use cairn_raft::{NodeAddr, NodeId, Proposal, TypeConfig};
use openraft::error::{CheckIsLeaderError, ClientWriteError, ForwardToLeader, RaftError};
use openraft::metrics::RaftDataMetrics;
use openraft::{ChangeMembers, Raft, RaftMetrics, ServerState};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::messages::{
    AdminCommand, BACKUP_CHUNK_MAX, BackupTaken, KIND_ADMIN_FORWARDED, KIND_PROPOSE_FORWARDED,
    KIND_READ_INDEX, NodeStatus, ServiceError, decode, encode,
};
use super::read_rounds::ReadRounds;
use cairn_transport::Transport;
use cairn_transport::node_name;

/// How long to wait before asking again when no leader is known: about one election's worth
/// of heartbeats, so a retry usually finds the new leader.
const NO_LEADER_BACKOFF: Duration = Duration::from_millis(100);

/// The metadata service of one node. Cheap to clone.
#[derive(Clone)]
pub struct MetaService {
    id: NodeId,
    raft: Raft<TypeConfig>,
    state: StateReader,
    transport: Arc<Transport>,
    started: Instant,
    /// How long one call may take, retries included.
    deadline: Duration,
    /// The node's time of day, stamped on the requests this service proposes itself.
    clock: Clock,
    /// Read barriers of this node's callers, sharing rounds through the leader.
    barriers: Arc<ReadRounds>,
    /// Read-index confirmations while this node leads, for its own barriers and its followers'.
    confirmations: Arc<ReadRounds>,
}

impl std::fmt::Debug for MetaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaService").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Where a call that may be forwarded should go.
enum Route {
    /// This node leads: do it here.
    Here,
    /// Send it to this node.
    There(NodeId, NodeAddr),
    /// Nobody is known to lead; wait and look again.
    Nowhere,
}

impl MetaService {
    /// The service of node `id`, running `raft`, reading `state`, reaching peers through
    /// `transport`; each call gives up after `deadline`. Requests it proposes itself are stamped
    /// with `clock`.
    pub fn new(
        id: NodeId,
        raft: Raft<TypeConfig>,
        state: StateReader,
        transport: Arc<Transport>,
        deadline: Duration,
        clock: Clock,
    ) -> Self {
        Self {
            id,
            raft,
            state,
            transport,
            started: Instant::now(),
            deadline,
            clock,
            barriers: Arc::default(),
            confirmations: Arc::default(),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The local Raft.
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// Proposes `requests` as one log entry on the leader and returns one response per request.
    pub async fn propose(&self, requests: Vec<Request>) -> Result<Vec<Response>, ServiceError> {
        let payload = Bytes::from(encode(&requests));
        self.with_leader(KIND_PROPOSE_FORWARDED, payload, || self.propose_here(requests.clone())).await
    }

    /// Proposes `requests` only if this node leads; never forwards.
    ///
    /// It waits no longer than the call's deadline: a Raft core that answers late, or never
    /// (openraft before 0.10 could drop a write's responder unanswered), must not hold the caller,
    /// or the batcher slot it occupies, for good. A write that timed out may still commit; its
    /// request ids make a retry safe.
    pub async fn propose_here(&self, requests: Vec<Request>) -> Result<Vec<Response>, ServiceError> {
        let written = tokio::time::timeout(self.deadline, self.raft.client_write(Proposal(requests))).await;
        let Ok(written) = written else { return Err(ServiceError::Timeout(millis(self.deadline))) };
        match written {
            Ok(written) => Ok(written.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => Err(self.not_leader(&to)),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(ServiceError::Internal(e.to_string()))
            }
            Err(RaftError::Fatal(e)) => Err(fatal(e)),
        }
    }

    /// Applies a membership change on the leader and returns the leader's status after it.
    pub async fn admin(&self, command: AdminCommand) -> Result<NodeStatus, ServiceError> {
        let payload = Bytes::from(encode(&command));
        self.with_leader(KIND_ADMIN_FORWARDED, payload, || self.admin_here(command.clone())).await
    }

    /// Applies a membership change only if this node leads; never forwards.
    pub async fn admin_here(&self, command: AdminCommand) -> Result<NodeStatus, ServiceError> {
        let result = match command {
            AdminCommand::AddLearner { id, addr } => {
                if self.raft.metrics().borrow().membership_config.membership().get_node(&id).is_some() {
                    return Err(ServiceError::Membership(format!("node {id} is already a member")));
                }
                // Not blocking: catching up may take longer than a call may; the admin command
                // watches the learner's progress in the leader's status instead.
                self.raft.add_learner(id, addr, false).await
            }
            AdminCommand::Promote { id } => {
                self.raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true).await
            }
            AdminCommand::Remove { id } => {
                let voters: BTreeSet<NodeId> =
                    self.raft.metrics().borrow().membership_config.membership().voter_ids().collect();
                let change = if voters.contains(&id) {
                    if voters.len() == 1 {
                        return Err(ServiceError::Membership(format!("node {id} is the last voter")));
                    }
                    ChangeMembers::RemoveVoters(BTreeSet::from([id]))
                } else {
                    ChangeMembers::RemoveNodes(BTreeSet::from([id]))
                };
                let result = self.raft.change_membership(change, false).await;
                if result.is_ok() {
                    self.forget_node(id).await;
                }
                result
            }
        };
        match result {
            Ok(_) => Ok(self.status()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => Err(self.not_leader(&to)),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(ServiceError::Membership(e.to_string()))
            }
            Err(RaftError::Fatal(e)) => Err(fatal(e)),
        }
    }

    /// Removes a node that left the group from the cluster map, so the block layer counts its
    /// shards as lost at once (an operator removed it) rather than after the repair grace.
    async fn forget_node(&self, id: NodeId) {
        let request = Request {
            id: RequestId(rand::random()),
            time_ms: self.clock.now_ms(),
            command: Command::RemoveNode { node: id },
        };
        match self.propose_here(vec![request]).await {
            Ok(responses) if matches!(responses.first(), Some(Response::ClusterMapChanged { .. })) => {
                tracing::info!(node = id, "removed from the cluster map");
            }
            Ok(_) => {} // It was never in the map.
            Err(e) => tracing::warn!(node = id, error = %e, "could not remove the node from the cluster map"),
        }
    }

    /// The log index a linearizable read must wait for, if this node leads (confirmed with a
    /// quorum of voters). Concurrent calls share confirmation rounds ([`ReadRounds`]).
    pub async fn read_index_here(&self) -> Result<u64, ServiceError> {
        let service = self.clone();
        self.confirmations
            .index(move || {
                let service = service.clone();
                async move { service.confirm_read_index().await }
            })
            .await
    }

    /// One confirmation round of the read index with a quorum of voters.
    async fn confirm_read_index(&self) -> Result<u64, ServiceError> {
        match self.raft.get_read_log_id().await {
            Ok((read_log_id, _applied)) => Ok(read_log_id.map_or(0, |id| id.index)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(to))) => Err(self.not_leader(&to)),
            Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(e))) => {
                Err(ServiceError::Unreachable(e.to_string()))
            }
            Err(RaftError::Fatal(e)) => Err(fatal(e)),
        }
    }

    /// Waits until this node's state reflects every write acknowledged before the call began.
    /// Concurrent barriers on this node share one read index from the leader ([`ReadRounds`]).
    pub async fn read_barrier(&self) -> Result<(), ServiceError> {
        let started = Instant::now();
        let service = self.clone();
        let index = self
            .barriers
            .index(move || {
                let service = service.clone();
                async move {
                    service.with_leader(KIND_READ_INDEX, Bytes::new(), || service.read_index_here()).await
                }
            })
            .await?;
        let left = self.deadline.saturating_sub(started.elapsed());
        self.raft.wait(Some(left)).applied_index_at_least(Some(index), "read barrier").await.map_err(
            |e| match e {
                openraft::metrics::WaitError::Timeout(..) => ServiceError::Timeout(millis(self.deadline)),
                openraft::metrics::WaitError::ShuttingDown => ServiceError::ShuttingDown,
            },
        )?;
        Ok(())
    }

    /// Takes a metadata backup at a linearizable point: after the read barrier, so the copy holds
    /// every write acknowledged before the call, a checkpoint of this node's state is packed for
    /// the caller to fetch with [`MetaService::read_backup`]. Any node may take one; the leader
    /// is only asked for the read index.
    pub async fn take_backup(&self) -> Result<BackupTaken, ServiceError> {
        self.read_barrier().await?;
        let state = self.state.clone();
        let name = format!("{:032x}", rand::random::<u128>());
        let packed = {
            let name = name.clone();
            tokio::task::spawn_blocking(move || state.pack_backup(&name))
                .await
                .map_err(|e| ServiceError::Internal(format!("backup task failed: {e}")))?
                .map_err(|e| ServiceError::Internal(format!("backup: {e}")))?
        };
        tracing::info!(
            node = self.id,
            index = packed.last_applied.index,
            bytes = packed.len,
            "metadata backup taken"
        );
        Ok(BackupTaken {
            name,
            node: self.id,
            index: packed.last_applied.index,
            term: packed.last_applied.leader_id.term,
            len: packed.len,
            blake3: packed.blake3,
        })
    }

    /// Up to `len` bytes (capped at [`BACKUP_CHUNK_MAX`]) of backup `name` from `offset`.
    pub async fn read_backup(&self, name: String, offset: u64, len: u32) -> Result<Vec<u8>, ServiceError> {
        let state = self.state.clone();
        let len = len.min(BACKUP_CHUNK_MAX) as usize;
        tokio::task::spawn_blocking(move || state.read_backup(&name, offset, len))
            .await
            .map_err(|e| ServiceError::Internal(format!("backup task failed: {e}")))?
            .map_err(|e| ServiceError::Internal(format!("backup: {e}")))
    }

    /// Removes backup `name` from this node: the caller has fetched it.
    pub async fn finish_backup(&self, name: String) -> Result<(), ServiceError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.remove_backup(&name))
            .await
            .map_err(|e| ServiceError::Internal(format!("backup task failed: {e}")))?
            .map_err(|e| ServiceError::Internal(format!("backup: {e}")))
    }

    /// Answers `query` linearizably: after the read barrier, from this node's state.
    pub async fn query(&self, query: &Query) -> Result<Answer, ServiceError> {
        self.read_barrier().await?;
        answer(&self.state.view(), query).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Answers `query` from this node's state as it is, without a read barrier: for the node's
    /// own workers, which act on what they see and confirm through conditional commands.
    pub fn local(&self, query: &Query) -> Result<Answer, ServiceError> {
        answer(&self.state.view(), query).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// A watch of the log index this node's state machine has applied, for readers that wait
    /// for the state to change (long polls) without asking Raft again.
    pub fn applied_watch(&self) -> AppliedWatch {
        AppliedWatch(self.raft.data_metrics())
    }

    /// Whether this node currently leads.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.id)
    }

    /// Every member of the Raft group and its addresses, as this node knows them.
    pub fn members(&self) -> BTreeMap<NodeId, NodeAddr> {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .nodes()
            .map(|(id, addr)| (*id, addr.clone()))
            .collect()
    }

    /// The transport to the other nodes.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// This node's status, from its Raft metrics.
    pub fn status(&self) -> NodeStatus {
        status_from(&self.raft.metrics().borrow(), self.started.elapsed())
    }

    fn not_leader(&self, to: &ForwardToLeader<NodeId, NodeAddr>) -> ServiceError {
        match to.leader_id {
            Some(leader) => ServiceError::NotLeader { node: self.id, leader: Some(leader) },
            None => ServiceError::NoLeader,
        }
    }

    fn route(&self) -> Route {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        match metrics.current_leader {
            Some(leader) if leader == self.id => Route::Here,
            Some(leader) => match metrics.membership_config.membership().get_node(&leader) {
                Some(addr) => Route::There(leader, addr.clone()),
                None => Route::Nowhere,
            },
            None => Route::Nowhere,
        }
    }

    /// Runs `here` if this node leads, or sends `kind`/`payload` to the leader, retrying what
    /// may pass until the deadline.
    pub(crate) async fn with_leader<T, F, Fut>(
        &self,
        kind: u8,
        payload: Bytes,
        here: F,
    ) -> Result<T, ServiceError>
    where
        T: Serialize + DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let give_up = Instant::now() + self.deadline;
        // A constant pause: it ends early anyway once a leader is known.
        let mut backoff = Backoff::new(NO_LEADER_BACKOFF, NO_LEADER_BACKOFF);
        loop {
            let result = match self.route() {
                Route::Here => here().await,
                Route::There(leader, addr) => {
                    // A leader killed mid-call leaves its connection silent until QUIC's idle
                    // timeout; once Raft elects another, ask that one instead of waiting. The
                    // request ids are the same, so a call the old leader did apply is answered
                    // from the dedupe records rather than applied twice.
                    let left = give_up.saturating_duration_since(Instant::now());
                    let waiter = self.raft.wait(Some(left));
                    let replaced = waiter.metrics(|m| m.current_leader != Some(leader), "a new leader");
                    tokio::select! {
                        result = self.forward(leader, &addr, kind, payload.clone(), give_up) => result,
                        Ok(_) = replaced => Err(ServiceError::Unreachable(format!("leader {leader} was replaced"))),
                    }
                }
                Route::Nowhere => Err(ServiceError::NoLeader),
            };
            match result {
                Err(e) if e.is_retryable() && Instant::now() < give_up => {
                    tracing::debug!(node = self.id, error = %e, "leader call failed; retrying");
                    if matches!(e, ServiceError::NoLeader | ServiceError::NotLeader { .. }) {
                        // Wait for news of a leader rather than asking the same question again.
                        let wait =
                            backoff.next_delay().min(give_up.saturating_duration_since(Instant::now()));
                        let _ = self
                            .raft
                            .wait(Some(wait))
                            .metrics(|m| m.current_leader.is_some(), "a leader")
                            .await;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                Err(e) if e.is_retryable() => {
                    return Err(match e {
                        ServiceError::NoLeader | ServiceError::NotLeader { .. } => e,
                        _ => ServiceError::Timeout(millis(self.deadline)),
                    });
                }
                other => return other,
            }
        }
    }

    async fn forward<T: DeserializeOwned>(
        &self,
        leader: NodeId,
        addr: &NodeAddr,
        kind: u8,
        payload: Bytes,
        give_up: Instant,
    ) -> Result<T, ServiceError> {
        let peer: SocketAddr = addr
            .raft_addr
            .parse()
            .map_err(|e| ServiceError::Internal(format!("leader {leader} has a bad address {addr}: {e}")))?;
        let left = give_up.saturating_duration_since(Instant::now());
        let (_, reply) = self
            .transport
            .request(peer, &node_name(leader), kind, payload, left)
            .await
            .map_err(|e| ServiceError::Unreachable(e.to_string()))?;
        decode::<Result<T, ServiceError>>(&reply)?
    }
}

/// The applied log index of a node, watched: see [`MetaService::applied_watch`]. Once the
/// index reads N, the node's state holds every entry up to N.
pub struct AppliedWatch(tokio::sync::watch::Receiver<RaftDataMetrics<NodeId>>);

impl AppliedWatch {
    /// The applied index now (0: nothing applied).
    pub fn current(&mut self) -> u64 {
        applied_index(&self.0.borrow_and_update())
    }

    /// Waits until the applied index passes `index`, and returns it; `None` if the node is
    /// shutting down. A caller that read the state after seeing `index` misses no entry.
    pub async fn beyond(&mut self, index: u64) -> Option<u64> {
        self.0.wait_for(|m| applied_index(m) > index).await.ok().map(|m| applied_index(&m))
    }
}

fn applied_index(m: &RaftDataMetrics<NodeId>) -> u64 {
    m.last_applied.map_or(0, |l| l.index)
}

fn fatal(e: openraft::error::Fatal<NodeId>) -> ServiceError {
    match e {
        openraft::error::Fatal::Stopped => ServiceError::ShuttingDown,
        other => ServiceError::Internal(other.to_string()),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A [`NodeStatus`] from Raft metrics.
pub fn status_from(m: &RaftMetrics<NodeId, NodeAddr>, uptime: Duration) -> NodeStatus {
    let membership = m.membership_config.membership();
    let state = match m.state {
        ServerState::Leader => "Leader",
        ServerState::Follower => "Follower",
        ServerState::Candidate => "Candidate",
        ServerState::Learner => "Learner",
        ServerState::Shutdown => "Shutdown",
    };
    NodeStatus {
        id: m.id,
        state: state.to_owned(),
        term: m.current_term,
        leader: m.current_leader,
        last_log_index: m.last_log_index,
        applied_index: m.last_applied.map(|l| l.index),
        snapshot_index: m.snapshot.map(|l| l.index),
        purged_index: m.purged.map(|l| l.index),
        voters: membership.voter_ids().collect(),
        members: membership.nodes().map(|(id, addr)| (*id, addr.clone())).collect::<BTreeMap<_, _>>(),
        replication: m
            .replication
            .as_ref()
            .map(|r| r.iter().map(|(id, log)| (*id, log.map(|l| l.index))).collect()),
        millis_since_quorum_ack: m.millis_since_quorum_ack,
        uptime_secs: uptime.as_secs(),
        blocks: None,
    }
}
