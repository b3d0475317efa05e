//! `GroupCommit`: many threads' changes made durable by one of them, with one sync for all.
//!
//! Leader and followers: a caller queues its items, and if no commit is running it becomes the
//! leader — takes everything queued, runs the commit without the lock, posts every item's
//! outcome and wakes the others. Callers that queued while a commit ran wait for it to end; one
//! of them then leads the next commit with everything queued meanwhile. So under load each
//! commit carries all the items that arrived during the previous one, and a lone caller commits
//! alone at once, with no timer and no thread of its own.

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex};

use crate::ShardStoreError;

/// What a commit says of one item: done (`true`), skipped as no longer wanted (`false`), or
/// failed.
pub(crate) type Outcome = Result<bool, ShardStoreError>;

/// Batches items of type `T` into commits.
pub(crate) struct GroupCommit<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
}

struct State<T> {
    queue: Vec<(u64, T)>,
    leading: bool,
    next_ticket: u64,
    outcomes: HashMap<u64, Outcome>,
}

impl<T> GroupCommit<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                queue: Vec::new(),
                leading: false,
                next_ticket: 0,
                outcomes: HashMap::new(),
            }),
            finished: Condvar::new(),
        }
    }

    /// Commits `items` with others queued at the same time and returns their outcomes, in order.
    /// `commit` runs at most once, on this thread, with a batch that holds `items`; it must
    /// return one outcome per item of the batch it is given.
    pub(crate) fn commit(&self, items: Vec<T>, commit: impl FnOnce(Vec<T>) -> Vec<Outcome>) -> Vec<Outcome> {
        let mut state = self.state.lock();
        let tickets: Vec<u64> = items
            .into_iter()
            .map(|item| {
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                state.queue.push((ticket, item));
                ticket
            })
            .collect();
        let mut commit = Some(commit);
        loop {
            if tickets.iter().all(|t| state.outcomes.contains_key(t)) {
                return tickets
                    .iter()
                    .map(|t| state.outcomes.remove(t).unwrap_or_else(|| Err(lost())))
                    .collect();
            }
            // Our items are still queued (a running commit would have them otherwise, and
            // `leading` would be set): lead.
            if !state.leading
                && let Some(commit) = commit.take()
            {
                state.leading = true;
                let (batch_tickets, batch): (Vec<u64>, Vec<T>) =
                    std::mem::take(&mut state.queue).into_iter().unzip();
                drop(state);
                // Should the commit panic, the followers of this batch must still wake.
                let mut guard = LeaderGuard { group: self, tickets: batch_tickets, outcomes: None };
                guard.outcomes = Some(commit(batch));
                drop(guard);
                state = self.state.lock();
                continue;
            }
            self.finished.wait(&mut state);
        }
    }
}

fn lost() -> ShardStoreError {
    ShardStoreError::Io { context: "commit shard writes", message: "the committing thread failed".into() }
}

/// Posts a batch's outcomes when dropped, after the commit or while unwinding from its panic.
struct LeaderGuard<'a, T> {
    group: &'a GroupCommit<T>,
    tickets: Vec<u64>,
    outcomes: Option<Vec<Outcome>>,
}

impl<T> Drop for LeaderGuard<'_, T> {
    fn drop(&mut self) {
        let mut outcomes = self.outcomes.take().unwrap_or_default().into_iter();
        let mut state = self.group.state.lock();
        for ticket in self.tickets.drain(..) {
            state.outcomes.insert(ticket, outcomes.next().unwrap_or_else(|| Err(lost())));
        }
        state.leading = false;
        drop(state);
        self.group.finished.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_lone_caller_commits_its_items_at_once() {
        let group = GroupCommit::new();
        let outcomes = group.commit(vec![1, 2, 3], |batch| {
            assert_eq!(batch, vec![1, 2, 3]);
            batch.iter().map(|n| Ok(n % 2 == 1)).collect()
        });
        assert_eq!(outcomes.into_iter().map(Result::unwrap).collect::<Vec<_>>(), vec![true, false, true]);
    }

    #[test]
    fn concurrent_callers_share_commits_and_each_gets_its_own_outcome() {
        let group = Arc::new(GroupCommit::new());
        let commits = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16u64)
            .map(|t| {
                let (group, commits) = (group.clone(), commits.clone());
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        let item = t * 1000 + i;
                        let out = group.commit(vec![item], |batch| {
                            commits.fetch_add(1, Ordering::SeqCst);
                            // A commit takes a while, as an fsync does, so others queue meanwhile.
                            std::thread::yield_now();
                            batch
                                .into_iter()
                                .map(|n| if n % 7 == 0 { Err(lost()) } else { Ok(n % 2 == 0) })
                                .collect()
                        });
                        match &out[..] {
                            [Ok(even)] => assert_eq!(*even, item % 2 == 0),
                            [Err(_)] => assert_eq!(item % 7, 0),
                            other => panic!("{other:?}"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let commits = commits.load(Ordering::SeqCst);
        assert!(commits <= 16 * 200, "{commits} commits");
        assert!(group.state.lock().outcomes.is_empty(), "every outcome was collected");
    }

    #[test]
    fn a_panicking_commit_fails_its_batch_and_the_group_goes_on() {
        let group = Arc::new(GroupCommit::<u32>::new());
        let panicked = {
            let group = group.clone();
            std::thread::spawn(move || group.commit(vec![1], |_| panic!("injected"))).join()
        };
        assert!(panicked.is_err());
        let outcomes = group.commit(vec![2], |batch| batch.iter().map(|_| Ok(true)).collect());
        assert!(matches!(outcomes[..], [Ok(true)]));
    }
}
