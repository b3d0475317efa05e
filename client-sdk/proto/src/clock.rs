//! [`Clock`]: the one way code reads the time of day, so a test can fix it.
//!
//! Nodes, the SDK and the command line all deal in "now" as milliseconds since the Unix epoch:
//! a version's modification time, a link's or an upload's expiry, the time a node stamps on
//! each Raft request (which is how time reaches the model, whose `apply` reads no clock). Code
//! that reads the wall clock in place cannot be tested at a chosen time; code handed a `Clock`
//! can, by giving it [`Clock::fixed`] and moving that by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time in milliseconds since the Unix epoch. Cheap to clone; clones
/// of a fixed clock share its time, so a test that moves one moves what it handed out.
///
/// The default is the system clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None` for the system clock; the fixed time otherwise.
    fixed: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The machine's wall clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that reads `ms` until [`set`](Self::set) or [`advance`](Self::advance) moves it:
    /// for tests.
    pub fn fixed(ms: u64) -> Self {
        Self { fixed: Some(Arc::new(AtomicU64::new(ms))) }
    }

    /// Now, in milliseconds since the Unix epoch. The system clock reads 0 if it is set before
    /// 1970 rather than failing: a wrong clock is the operator's to fix, not a reason to stop.
    pub fn now_ms(&self) -> u64 {
        match &self.fixed {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => ms_since_epoch(SystemTime::now()),
        }
    }

    /// Sets a fixed clock (and every clone of it) to `ms`. The system clock is not moved.
    pub fn set(&self, ms: u64) {
        if let Some(fixed) = &self.fixed {
            fixed.store(ms, Ordering::SeqCst);
        }
    }

    /// Moves a fixed clock (and every clone of it) forward by `by`, stopping at `u64::MAX`.
    /// The system clock is not moved.
    pub fn advance(&self, by: Duration) {
        if let Some(fixed) = &self.fixed {
            let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            // The closure always returns `Some`, so the update cannot fail.
            let _ = fixed.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| Some(ms.saturating_add(by)));
        }
    }
}

/// `time` in whole milliseconds since the Unix epoch: 0 before it, `u64::MAX` past what fits.
fn ms_since_epoch(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_wall_clock() {
        let before = ms_since_epoch(SystemTime::now());
        let read = Clock::system().now_ms();
        let after = ms_since_epoch(SystemTime::now());
        assert!(before <= read && read <= after, "{before} <= {read} <= {after}");
        // 2020-09-13: a clock that reads seconds, or nothing, is caught.
        assert!(read > 1_600_000_000_000);
    }

    #[test]
    fn the_default_clock_is_the_system_clock() {
        let clock = Clock::default();
        assert!(clock.now_ms() > 1_600_000_000_000);
        // Not moved by hand: only a fixed clock is.
        clock.set(5);
        clock.advance(Duration::from_secs(10 * 365 * 86_400));
        let in_ten_years = ms_since_epoch(SystemTime::now()) + 9 * 365 * 86_400_000;
        assert!(clock.now_ms() > 1_600_000_000_000 && clock.now_ms() < in_ten_years);
    }

    #[test]
    fn times_before_the_epoch_read_zero() {
        assert_eq!(ms_since_epoch(UNIX_EPOCH - Duration::from_secs(3_600)), 0);
        assert_eq!(ms_since_epoch(UNIX_EPOCH), 0);
        assert_eq!(ms_since_epoch(UNIX_EPOCH + Duration::from_micros(2_999)), 2);
    }

    #[test]
    fn a_fixed_clock_stands_still_until_moved_and_its_clones_move_with_it() {
        let clock = Clock::fixed(1_000);
        let handed_out = clock.clone();
        assert_eq!(handed_out.now_ms(), 1_000);
        assert_eq!(handed_out.now_ms(), 1_000);

        clock.advance(Duration::from_millis(250));
        assert_eq!(handed_out.now_ms(), 1_250);

        handed_out.set(40);
        assert_eq!(clock.now_ms(), 40);

        // Two separate fixed clocks do not share a time.
        let other = Clock::fixed(7);
        clock.advance(Duration::from_secs(1));
        assert_eq!(other.now_ms(), 7);
        assert_eq!(clock.now_ms(), 1_040);
    }

    #[test]
    fn advancing_stops_at_the_largest_time() {
        let clock = Clock::fixed(u64::MAX - 10);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now_ms(), u64::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_ms(), u64::MAX);
    }
}
