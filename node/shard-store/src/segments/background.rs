//! The background compaction thread's signals: woken by a commit that leaves a segment worth
//! compacting, and stopped with the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Wake-ups and the stop flag of the compaction thread.
pub(super) struct Background {
    woken: Mutex<bool>,
    wake: Condvar,
    stopping: AtomicBool,
}

impl Background {
    pub(super) fn new() -> Self {
        // Woken from the start: open may have found segments worth compacting.
        Self { woken: Mutex::new(true), wake: Condvar::new(), stopping: AtomicBool::new(false) }
    }

    /// Has the thread look for segments to compact.
    pub(super) fn wake(&self) {
        *self.woken.lock() = true;
        self.wake.notify_one();
    }

    /// Has the thread stop.
    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _woken = self.woken.lock();
        self.wake.notify_all();
    }

    /// Waits until woken, or at most `period`; true when the thread should stop instead.
    pub(super) fn wait(&self, period: Duration) -> bool {
        let mut woken = self.woken.lock();
        if !*woken && !self.stopping() {
            self.wake.wait_for(&mut woken, period);
        }
        *woken = false;
        self.stopping()
    }

    /// Whether the thread was asked to stop: a long compaction checks it between segments.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
