//! [`Batcher`]: packs concurrent writes into one Raft entry.
//!
//! openraft 0.9 appends (and so fsyncs) each proposal on its own, one after the other; a node
//! proposing every client request separately would commit at most one request per fsync. The
//! batcher keeps a few proposals in flight and gathers whatever arrives while they are busy
//! into the next one, so under load one fsync and one replication round serve many requests,
//! and under no load a request goes out at once, alone. (Group commit, as in etcd's and every
//! database's log.)

use std::sync::Arc;

use cairn_raft::model::{Request, Response};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::messages::ServiceError;
use super::metadata::MetaService;

/// How many requests one entry carries at most. Entries stay well under the transport's frame
/// limit even for commits with long block lists, and one slow entry holds up few callers.
pub const MAX_BATCH: usize = 512;

/// How many proposals may be in flight at once: enough to overlap one entry's replication with
/// the next one's append.
pub const IN_FLIGHT: usize = 4;

type Reply = oneshot::Sender<Result<Vec<Response>, ServiceError>>;

/// A handle to the node's batcher task. Cheap to clone; the task ends when the last handle is
/// dropped.
#[derive(Clone, Debug)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<(Vec<Request>, Reply)>,
}

impl Batcher {
    /// Starts the batcher task, proposing through `service`. Must be called within a runtime.
    pub fn start(service: MetaService) -> Self {
        let (queue, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(service, incoming));
        Self { queue }
    }

    /// Proposes `requests` in some entry and returns their responses, in order. Each request is
    /// stamped with this node's clock: the time the model records is the cluster's, not a
    /// client's.
    pub async fn propose(&self, mut requests: Vec<Request>) -> Result<Vec<Response>, ServiceError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        for request in &mut requests {
            request.time_ms = now;
        }
        let (reply, answer) = oneshot::channel();
        self.queue.send((requests, reply)).map_err(|_| ServiceError::ShuttingDown)?;
        answer.await.map_err(|_| ServiceError::ShuttingDown)?
    }
}

fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

async fn run(service: MetaService, mut incoming: mpsc::UnboundedReceiver<(Vec<Request>, Reply)>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = incoming.recv().await {
        // Wait for a free slot first: whatever queues up meanwhile joins this entry.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut callers = vec![first];
        let mut size = callers[0].0.len();
        while size < MAX_BATCH {
            match incoming.try_recv() {
                Ok(next) => {
                    size += next.0.len();
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
async fn propose_for(service: &MetaService, callers: Vec<(Vec<Request>, Reply)>) {
    let (requests, replies): (Vec<Vec<Request>>, Vec<Reply>) = callers.into_iter().unzip();
    let counts: Vec<usize> = requests.iter().map(Vec::len).collect();
    let all: Vec<Request> = requests.into_iter().flatten().collect();
    match service.propose(all).await {
        Ok(responses) if responses.len() == counts.iter().sum::<usize>() => {
            let mut responses = responses.into_iter();
            for (count, reply) in counts.into_iter().zip(replies) {
                // A caller that stopped waiting is no error: its requests are applied anyway.
                let _ = reply.send(Ok(responses.by_ref().take(count).collect()));
            }
        }
        Ok(responses) => {
            let error = ServiceError::Internal(format!(
                "the leader answered {} responses for {} requests",
                responses.len(),
                counts.iter().sum::<usize>()
            ));
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
