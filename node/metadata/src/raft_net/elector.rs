//! When this node stands for election: after a quiet spell, and only once a quorum has said in
//! a pre-vote that it would vote for it (Raft thesis §9.6, etcd's `PreVote`).
//!
//! openraft 0.9 stands on its own timer with no pre-vote, and the failover benchmark showed
//! what that costs:
//!
//! - **A lost round on every other failover.** The follower whose random timeout is shortest
//!   stands first, whatever its log. When the other survivor holds an entry it lacks, that one
//!   refuses — without taking up the new term, so its own candidacy in the same term is refused
//!   in turn, and the cluster waits out a second round: ~2.5 s without a leader instead of ~1 s.
//! - **A penalty that sticks.** A candidate refused for its log adds twice the election timeout
//!   to its next wait, and openraft clears that only at its next election, so after one lost
//!   round a node took ~2 s to replace any later leader.
//! - **A lagging follower deposes a live leader.** A follower receiving a long snapshot, or
//!   just restarted, hears no AppendEntries for a while and stands; it cannot win, but its term
//!   makes the leader step down, and a snapshot transfer starts over, for ever (the
//!   ten-million-file benchmark's restarted follower did this until the benchmark gave up).
//!
//! So openraft's own timer is switched off (its `elect` switch; the node still votes) and this
//! module stands instead. A voter that has heard no leader, and seen no new vote, for the lease
//! plus a random part of the election range asks the other voters, over [`KIND_PRE_VOTE`],
//! whether they would vote for it. A peer says yes only if it has not heard a leader for the
//! lease itself (openraft's voters refuse for as long) and the asker's log is at least as long
//! as its own. Only with a quorum's yes does the node stand, so the survivor with the longest
//! log wins the first round, and a node whose leader is alive never raises the term. A single
//! voter stands on openraft's own timer: it has no one to ask or disrupt.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_raft::storage::RocksLogStore;
use cairn_raft::{NodeId, TypeConfig};
use cairn_transport::{Transport, node_name};
use openraft::storage::RaftLogStorage;
use openraft::{LogId, Raft, ServerState, Vote};
use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::KIND_PRE_VOTE;

/// The timing of this node's elections, from the Raft settings.
#[derive(Clone, Copy, Debug)]
pub struct ElectionTimes {
    /// How long a voter refuses candidates after the leader's last AppendEntries (openraft's
    /// leader lease: the election range's upper end). Neither side of a pre-vote goes before it.
    pub lease: Duration,
    /// The random part added to the lease before standing, drawn anew each time: the width of
    /// the election range, so two survivors seldom ask at once.
    pub spread: Duration,
    /// How long a pre-vote call to one peer may take.
    pub call: Duration,
    /// How often the node looks at its quiet spell.
    pub tick: Duration,
}

/// A candidate's question: would you vote for me now?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreVoteRequest {
    /// The node asking.
    pub candidate: NodeId,
    /// The last entry of its log.
    pub last_log_id: Option<LogId<NodeId>>,
}

/// A peer's answer to a [`PreVoteRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PreVote {
    /// It would vote for the candidate.
    Granted,
    /// It leads, so there is no leader to replace.
    Leading,
    /// It has heard a leader within the lease.
    LeaderAlive,
    /// The candidate's log is behind its own.
    LogBehind,
}

/// This node's elections: what it has heard, its answers to pre-votes, and when it stands.
pub struct Elector {
    id: NodeId,
    raft: Raft<TypeConfig>,
    log: RocksLogStore,
    transport: Arc<Transport>,
    times: ElectionTimes,
    /// When an AppendEntries or snapshot chunk last came in; the start, before any has.
    heard_leader: Mutex<Instant>,
}

impl Elector {
    /// Takes over `raft`'s elections from now. `log` is a clone of the log store `raft` runs on,
    /// read for the log's last entry; pre-votes go out over `transport`.
    pub fn start(
        id: NodeId,
        raft: Raft<TypeConfig>,
        log: RocksLogStore,
        transport: Arc<Transport>,
        times: ElectionTimes,
    ) -> Arc<Self> {
        raft.runtime_config().elect(false);
        let elector =
            Arc::new(Self { id, raft, log, transport, times, heard_leader: Mutex::new(Instant::now()) });
        tokio::spawn(elector.clone().run());
        elector
    }

    /// An AppendEntries or a snapshot chunk came in: a leader is alive and reaches this node.
    pub fn heard_leader(&self) {
        *self.heard_leader.lock() = Instant::now();
    }

    /// This node's answer to `request`.
    pub async fn answer(&self, request: &PreVoteRequest) -> PreVote {
        let leading = self.raft.metrics().borrow().state == ServerState::Leader;
        let quiet = self.heard_leader.lock().elapsed();
        let answer = match self.last_log_id().await {
            Ok(own) => judge(leading, quiet, self.times.lease, request.last_log_id.as_ref(), own.as_ref()),
            // A node that cannot read its own log has no say.
            Err(_) => PreVote::LogBehind,
        };
        tracing::debug!(candidate = request.candidate, ?answer, "pre-vote");
        answer
    }

    async fn last_log_id(&self) -> Result<Option<LogId<NodeId>>, openraft::StorageError<NodeId>> {
        Ok(self.log.clone().get_log_state().await?.last_log_id)
    }

    async fn run(self: Arc<Self>) {
        let mut alone = false;
        // The quiet spell starts at the last sign of a leader or election: an AppendEntries, a
        // vote that changed (this node voted, or stood), or this node's last try.
        let mut quiet_since = Instant::now();
        let mut last_vote: Option<Vote<NodeId>> = None;
        let mut wait = self.wait();
        loop {
            // What this tick needs, without copying the whole metrics: the membership is shared.
            let (vote, state, membership) = {
                let metrics = self.raft.metrics();
                let m = metrics.borrow();
                if m.running_state.is_err() {
                    return;
                }
                (m.vote, m.state, m.membership_config.clone())
            };
            let membership = membership.membership();
            let now_alone = membership.voter_ids().count() <= 1;
            if now_alone != alone {
                // openraft's own timer for a single voter, which elects at once.
                self.raft.runtime_config().elect(now_alone);
                alone = now_alone;
            }
            if last_vote.as_ref() != Some(&vote) {
                last_vote = Some(vote);
                quiet_since = Instant::now();
            }
            let heard = *self.heard_leader.lock();
            quiet_since = quiet_since.max(heard);
            let voter = membership.voter_ids().any(|id| id == self.id);
            let due = voter && !alone && state != ServerState::Leader && quiet_since.elapsed() >= wait;
            if due {
                if self.pre_vote(membership).await && self.still_quiet(heard, &vote) {
                    tracing::info!(term = vote.leader_id().term, "pre-vote granted by a quorum: standing");
                    if self.raft.trigger().elect().await.is_err() {
                        return;
                    }
                }
                quiet_since = Instant::now();
                wait = self.wait();
            }
            tokio::time::sleep(self.times.tick).await;
        }
    }

    /// The quiet spell before the next try: the lease and a fresh random part of the spread.
    fn wait(&self) -> Duration {
        let spread = self.times.spread.as_millis() as u64;
        self.times.lease + Duration::from_millis(rand::rng().random_range(0..=spread))
    }

    /// Nothing happened while the pre-vote was out: no leader was heard and no vote changed (a
    /// node that granted another's vote meanwhile would otherwise depose it).
    fn still_quiet(&self, heard: Instant, vote: &Vote<NodeId>) -> bool {
        *self.heard_leader.lock() == heard && &self.raft.metrics().borrow().vote == vote
    }

    /// Asks every other voter at once; whether a quorum of each configuration, this node
    /// included, would vote for it.
    async fn pre_vote(&self, membership: &openraft::Membership<NodeId, cairn_raft::NodeAddr>) -> bool {
        let voters = membership.get_joint_config();
        let last_log_id = match self.last_log_id().await {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!(error = %e, "pre-vote: cannot read the log's last entry");
                return false;
            }
        };
        let request = PreVoteRequest { candidate: self.id, last_log_id };
        let Ok(payload) = postcard::to_stdvec(&request).map(Bytes::from) else { return false };
        let mut asks = tokio::task::JoinSet::new();
        for peer in membership.voter_ids().filter(|&id| id != self.id) {
            let Some(addr) = membership.get_node(&peer).and_then(|n| n.raft_addr.parse::<SocketAddr>().ok())
            else {
                continue;
            };
            let (transport, payload, call) = (self.transport.clone(), payload.clone(), self.times.call);
            asks.spawn(async move {
                let answer =
                    match transport.request(addr, &node_name(peer), KIND_PRE_VOTE, payload, call).await {
                        Ok((KIND_PRE_VOTE, bytes)) => postcard::from_bytes::<PreVote>(&bytes).ok(),
                        // A peer that is down, or too old to know pre-votes: no yes.
                        Ok(_) | Err(_) => None,
                    };
                (peer, answer)
            });
        }
        // Done at the first quorum: a dead peer's call would otherwise hold the election for
        // the whole call timeout.
        let mut granted = BTreeSet::from([self.id]);
        let mut answers = Vec::new();
        while !has_quorum(voters, &granted) {
            let Some(joined) = asks.join_next().await else { break };
            let Ok((peer, answer)) = joined else { continue };
            if answer == Some(PreVote::Granted) {
                granted.insert(peer);
            }
            answers.push((peer, answer));
        }
        let won = has_quorum(voters, &granted);
        tracing::debug!(?answers, won, "pre-vote answers");
        won
    }
}

/// A voter's answer to a pre-vote: whether it `leads`, how long it has been `quiet` (no
/// AppendEntries), and the candidate's log against its `own`.
fn judge(
    leads: bool,
    quiet: Duration,
    lease: Duration,
    candidate: Option<&LogId<NodeId>>,
    own: Option<&LogId<NodeId>>,
) -> PreVote {
    if leads {
        PreVote::Leading
    } else if quiet < lease {
        PreVote::LeaderAlive
    } else if candidate < own {
        PreVote::LogBehind
    } else {
        PreVote::Granted
    }
}

/// Whether `granted` holds a majority of every configuration in `voters` (two while the
/// membership changes, one otherwise).
fn has_quorum(voters: &[BTreeSet<NodeId>], granted: &BTreeSet<NodeId>) -> bool {
    voters.iter().all(|config| config.intersection(granted).count() * 2 > config.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    const LEASE: Duration = Duration::from_millis(500);

    fn log(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn quiet(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_leader_and_a_follower_that_hears_one_refuse() {
        let (theirs, own) = (Some(log(3, 90)), Some(log(3, 80)));
        assert_eq!(judge(true, quiet(900), LEASE, theirs.as_ref(), own.as_ref()), PreVote::Leading);
        assert_eq!(judge(false, quiet(499), LEASE, theirs.as_ref(), own.as_ref()), PreVote::LeaderAlive);
        assert_eq!(judge(false, quiet(500), LEASE, theirs.as_ref(), own.as_ref()), PreVote::Granted);
    }

    #[test]
    fn the_longer_log_wins_by_term_first_then_index() {
        let judge_logs = |theirs: Option<LogId<NodeId>>, own: Option<LogId<NodeId>>| {
            judge(false, quiet(600), LEASE, theirs.as_ref(), own.as_ref())
        };
        assert_eq!(judge_logs(Some(log(3, 79)), Some(log(3, 80))), PreVote::LogBehind);
        assert_eq!(judge_logs(Some(log(3, 80)), Some(log(3, 80))), PreVote::Granted);
        assert_eq!(judge_logs(Some(log(4, 10)), Some(log(3, 80))), PreVote::Granted);
        assert_eq!(judge_logs(Some(log(2, 500)), Some(log(3, 80))), PreVote::LogBehind);
        assert_eq!(judge_logs(None, Some(log(1, 1))), PreVote::LogBehind);
        assert_eq!(judge_logs(None, None), PreVote::Granted);
    }

    #[test]
    fn a_quorum_of_every_configuration() {
        let config = |ids: &[NodeId]| ids.iter().copied().collect::<BTreeSet<NodeId>>();
        let three = vec![config(&[1, 2, 3])];
        assert!(!has_quorum(&three, &config(&[1])));
        assert!(has_quorum(&three, &config(&[1, 3])));
        let four = vec![config(&[1, 2, 3, 4])];
        assert!(!has_quorum(&four, &config(&[1, 2])), "half is not a majority");
        // While 3 is swapped for 4, both the old and the new set need a majority.
        let joint = vec![config(&[1, 2, 3]), config(&[1, 2, 4])];
        assert!(has_quorum(&joint, &config(&[1, 2])));
        assert!(!has_quorum(&joint, &config(&[1, 3])));
    }
}
