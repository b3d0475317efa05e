//! [`ReadRounds`]: concurrent linearizable reads share one read-index round, as etcd's do.
//!
//! A linearizable read needs a read index the leader confirmed with a quorum *after* the read
//! began: a confirmation already under way may have taken its commit index before a write the
//! reader saw acknowledged. So a reader never joins a round in flight. It waits in the queue,
//! and when the round in flight ends, the next one starts for everyone queued meanwhile. Under
//! load that is one leader round trip for a whole queue of reads instead of one each, and a
//! lone reader still pays exactly one round.
//!
//! Rounds run on a task of their own, spawned when a reader finds none running and ending when
//! the queue is empty: a reader whose request is dropped mid-round cannot stall the others.

use std::future::Future;
use std::sync::Arc;

use std::sync::Mutex;
use tokio::sync::oneshot;

use super::messages::ServiceError;

type Waiter = oneshot::Sender<Result<u64, ServiceError>>;

/// The queue of reads waiting for the next round.
#[derive(Default)]
pub(crate) struct ReadRounds {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// A round task is running: it will take whoever is waiting when its round ends.
    running: bool,
}

impl ReadRounds {
    /// A read index confirmed after this call began, from a round shared with every read queued
    /// alongside. `round` runs one confirmation; it is called by the round task, once per round.
    pub(crate) async fn index<F, Fut>(self: &Arc<Self>, round: F) -> Result<u64, ServiceError>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, ServiceError>> + Send,
    {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.waiting.push(tx);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let rounds = self.clone();
            tokio::spawn(async move { rounds.run(round).await });
        }
        rx.await.map_err(|_| ServiceError::ShuttingDown)?
    }

    /// Runs rounds until nobody waits.
    async fn run<F, Fut>(&self, round: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<u64, ServiceError>>,
    {
        loop {
            let batch = {
                let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if queue.waiting.is_empty() {
                    queue.running = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            let result = round().await;
            for waiter in batch {
                // A reader that gave up has dropped its receiver; nothing to tell it.
                let _ = waiter.send(result.clone());
            }
        }
    }

    /// Reads waiting now, for tests.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio::sync::Notify;

    use super::*;

    /// A confirmation that counts its rounds and finishes only when the test lets it.
    struct Gate {
        rounds: AtomicU64,
        release: Notify,
    }

    /// One round of a test: a boxed confirmation.
    type Round = std::pin::Pin<Box<dyn Future<Output = Result<u64, ServiceError>> + Send>>;

    fn gated() -> (Arc<Gate>, impl Fn() -> Round + Clone + Send + 'static) {
        let gate = Arc::new(Gate { rounds: AtomicU64::new(0), release: Notify::new() });
        let round = {
            let gate = gate.clone();
            move || {
                let gate = gate.clone();
                Box::pin(async move {
                    let n = gate.rounds.fetch_add(1, Ordering::SeqCst) + 1;
                    gate.release.notified().await;
                    Ok(n * 100)
                }) as Round
            }
        };
        (gate, round)
    }

    async fn until(condition: impl Fn() -> bool) {
        while !condition() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn reads_arriving_during_a_round_share_the_next_one_not_the_one_in_flight() {
        let rounds = Arc::new(ReadRounds::default());
        let (gate, round) = gated();
        let first = tokio::spawn({
            let (rounds, round) = (rounds.clone(), round.clone());
            async move { rounds.index(round).await }
        });
        until(|| gate.rounds.load(Ordering::SeqCst) == 1).await;
        // Round 1 is in flight: these three began after it and must not get its index.
        let later: Vec<_> = (0..3)
            .map(|_| {
                let (rounds, round) = (rounds.clone(), round.clone());
                tokio::spawn(async move { rounds.index(round).await })
            })
            .collect();
        until(|| rounds.waiting() == 3).await;
        gate.release.notify_one();
        assert_eq!(first.await.unwrap(), Ok(100));
        until(|| gate.rounds.load(Ordering::SeqCst) == 2).await;
        gate.release.notify_one();
        for read in later {
            assert_eq!(read.await.unwrap(), Ok(200), "the three later reads share round 2");
        }
        assert_eq!(gate.rounds.load(Ordering::SeqCst), 2);
        until(|| !rounds.queue.lock().unwrap().running).await;
    }

    #[tokio::test]
    async fn a_failed_round_fails_its_readers_and_the_next_reader_starts_afresh() {
        let rounds = Arc::new(ReadRounds::default());
        let failing = || async { Err::<u64, _>(ServiceError::NoLeader) };
        assert_eq!(rounds.index(failing).await, Err(ServiceError::NoLeader));
        until(|| !rounds.queue.lock().unwrap().running).await;
        assert_eq!(rounds.index(|| async { Ok(7) }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_reader_that_gives_up_does_not_stall_the_others() {
        let rounds = Arc::new(ReadRounds::default());
        let (gate, round) = gated();
        let abandoned = tokio::spawn({
            let (rounds, round) = (rounds.clone(), round.clone());
            async move { rounds.index(round).await }
        });
        until(|| gate.rounds.load(Ordering::SeqCst) == 1).await;
        abandoned.abort();
        let next = tokio::spawn({
            let (rounds, round) = (rounds.clone(), round.clone());
            async move { rounds.index(round).await }
        });
        until(|| rounds.waiting() == 1).await;
        gate.release.notify_one();
        until(|| gate.rounds.load(Ordering::SeqCst) == 2).await;
        gate.release.notify_one();
        assert_eq!(next.await.unwrap(), Ok(200));
    }
}
