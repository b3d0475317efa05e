//! [`Batcher`]: packs concurrent writes into one Raft entry.
//!
//! openraft 0.9 appends (and so fsyncs) each proposal on its own, one after the other; a node
//! proposing every client request separately would commit at most one request per fsync. The
//! batcher keeps a few proposals in flight and gathers whatever arrives while they are busy
//! into the next one, so under load one fsync and one replication round serve many requests,
//! and under no load a request goes out at once, alone. (Group commit, as in etcd's and every
//! database's log.)
//!
//! Followers batch too, and forward each batch to the leader, where it joins the leader's own
//! batcher: all writes of the cluster then meet in one queue, and the leader's Raft holds at
//! most [`IN_FLIGHT`] entries at a time, however many nodes and clients write.

use std::sync::Arc;

use cairn_proto::Clock;
use cairn_raft::model::{Command, Request, RequestId, Response};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::messages::ServiceError;
use super::metadata::MetaService;

/// How many requests one entry carries at most. Entries stay well under the transport's frame
/// limit even for commits with long block lists, and one slow entry holds up few callers.
pub const MAX_BATCH: usize = 512;

/// How many proposals may be in flight at once: enough to overlap one entry's replication with
/// the next one's append.
pub const IN_FLIGHT: usize = 2;

type Reply = oneshot::Sender<Result<Vec<Response>, ServiceError>>;

/// Requests waiting for an entry, and where to send the answer.
struct Caller {
    requests: Vec<Request>,
    /// Forwarded by a follower: propose here or refuse, never forward again, so a stale idea of
    /// who leads cannot send requests round in circles.
    forwarded: bool,
    reply: Reply,
}

/// A handle to the node's batcher task. Cheap to clone; the task ends when the last handle is
/// dropped.
#[derive(Clone, Debug)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Caller>,
    /// The node's clock, stamped on every request it proposes.
    clock: Clock,
}

impl Batcher {
    /// Starts the batcher task, proposing through `service` and stamping requests with `clock`.
    /// Must be called within a runtime.
    pub fn start(service: MetaService, clock: Clock) -> Self {
        let (queue, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(service, incoming));
        Self { queue, clock }
    }

    /// Proposes `requests` in some entry and returns their responses, in order. Each request is
    /// stamped with this node's clock: the time the model records is the cluster's, not a
    /// client's.
    pub async fn propose(&self, mut requests: Vec<Request>) -> Result<Vec<Response>, ServiceError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now_ms();
        for request in &mut requests {
            request.time_ms = now;
        }
        self.enqueue(requests, false).await
    }

    /// Proposes one command under request id `id` and returns its response: a repeated id gets
    /// the first proposal's response back (within the model's retention).
    pub async fn propose_one(&self, id: RequestId, command: Command) -> Result<Response, ServiceError> {
        let mut responses = self.propose(vec![Request { id, time_ms: 0, command }]).await?;
        // One response per request is the batcher's contract; an empty answer is a broken one.
        responses.pop().ok_or_else(|| ServiceError::Undecodable("no response to a proposal".into()))
    }

    /// Proposes requests a follower forwarded (already stamped) if this node leads, and
    /// refuses them with [`ServiceError::NotLeader`] otherwise.
    pub async fn propose_forwarded(&self, requests: Vec<Request>) -> Result<Vec<Response>, ServiceError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        self.enqueue(requests, true).await
    }

    async fn enqueue(&self, requests: Vec<Request>, forwarded: bool) -> Result<Vec<Response>, ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Caller { requests, forwarded, reply }).map_err(|_| ServiceError::ShuttingDown)?;
        answer.await.map_err(|_| ServiceError::ShuttingDown)?
    }
}

async fn run(service: MetaService, mut incoming: mpsc::UnboundedReceiver<Caller>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = incoming.recv().await {
        // Wait for a free slot first: whatever queues up meanwhile joins this entry.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut callers = vec![first];
        let mut size = callers[0].requests.len();
        while size < MAX_BATCH {
            match incoming.try_recv() {
                Ok(next) => {
                    size += next.requests.len();
                    callers.push(next);
                }
                Err(_) => break,
            }
        }
        let service = service.clone();
        tokio::spawn(async move {
            let _slot = slot;
            propose_for(&service, callers).await;
        });
    }
}

/// Proposes the callers' requests as one entry and hands each caller its share of the answer.
async fn propose_for(service: &MetaService, callers: Vec<Caller>) {
    if callers.iter().all(|c| !c.forwarded) {
        // Only this node's own callers: propose here if leading, else forward the batch.
        let result = service.propose(all_requests(&callers)).await;
        return answer(callers, result);
    }
    let result = service.propose_here(all_requests(&callers)).await;
    match result {
        Err(e) if e.is_retryable() => {
            // Not (or no longer) the leader: the forwarded callers hear so and their nodes
            // retry with the real leader; this node's own callers are forwarded from here.
            let (forwarded, own): (Vec<Caller>, Vec<Caller>) = callers.into_iter().partition(|c| c.forwarded);
            answer(forwarded, Err(e));
            if !own.is_empty() {
                let result = service.propose(all_requests(&own)).await;
                answer(own, result);
            }
        }
        result => answer(callers, result),
    }
}

fn all_requests(callers: &[Caller]) -> Vec<Request> {
    callers.iter().flat_map(|c| c.requests.iter().cloned()).collect()
}

/// Splits one entry's responses among its callers, in order.
fn answer(callers: Vec<Caller>, result: Result<Vec<Response>, ServiceError>) {
    let expected: usize = callers.iter().map(|c| c.requests.len()).sum();
    let result = match result {
        Ok(responses) if responses.len() != expected => Err(ServiceError::Internal(format!(
            "the leader answered {} responses for {expected} requests",
            responses.len()
        ))),
        other => other,
    };
    match result {
        Ok(responses) => {
            let mut responses = responses.into_iter();
            for caller in callers {
                let share = responses.by_ref().take(caller.requests.len()).collect();
                // A caller that stopped waiting is no error: its requests are applied anyway.
                let _ = caller.reply.send(Ok(share));
            }
        }
        Err(e) => {
            for caller in callers {
                let _ = caller.reply.send(Err(e.clone()));
            }
        }
    }
}
