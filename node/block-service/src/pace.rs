//! A byte-rate limit shared by concurrent tasks: each reserves the time its bytes take at the
//! rate and waits for its turn, so together they never go faster than the rate, and a task
//! that waited long does not earn a burst.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Paces work to `bytes_per_sec`.
#[derive(Debug)]
pub struct Pace {
    bytes_per_sec: u64,
    /// When the next reservation may start.
    next: Mutex<Instant>,
}

impl Pace {
    /// A pace of `bytes_per_sec` (at least one).
    pub fn new(bytes_per_sec: u64) -> Self {
        Self { bytes_per_sec: bytes_per_sec.max(1), next: Mutex::new(Instant::now()) }
    }

    /// Waits until `bytes` more fit in the rate.
    pub async fn spend(&self, bytes: u64) {
        let start = {
            let mut next = self.next.lock();
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spending_waits_for_the_bytes_before_it_at_the_rate() {
        let pace = Pace::new(1_000);
        let begun = Instant::now();
        // The first reservation starts at once; each later one after the bytes before it.
        pace.spend(500).await;
        assert_eq!(begun.elapsed(), Duration::ZERO);
        pace.spend(2_000).await;
        assert_eq!(begun.elapsed(), Duration::from_millis(500));
        pace.spend(1).await;
        assert_eq!(begun.elapsed(), Duration::from_millis(2_500));
    }
}
