//! [`Backoff`]: how long to pause before trying again, growing while failures go on.
//!
//! The SDK (a call that no node could answer), the sync engine (a pass or a long poll that
//! failed) and a node's metadata service (no leader yet) all retry something that may pass.
//! They share this one type so the arithmetic (doubling, the cap, jitter) is written and tested
//! once. It only computes pauses: the caller sleeps, on whatever runtime it has, and decides
//! what to retry and until when.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Each pause is twice the one before.
const FACTOR: u32 = 2;

/// Pauses between attempts: `initial` first, doubling after each one up to `max`, and back to
/// `initial` after [`reset`](Self::reset) (a success). With `initial == max` every pause is the
/// same.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// The pause [`next_delay`](Self::next_delay) gives next, before jitter.
    next: Duration,
    jitter: Option<Jitter>,
}

/// A random addition to each pause, so clients that failed together do not retry together.
#[derive(Clone, Debug)]
struct Jitter {
    max: Duration,
    /// Seeded by the caller, so a test can repeat a sequence and this crate needs no entropy.
    rng: SmallRng,
}

impl Backoff {
    /// Pauses from `initial`, doubling, up to `max`. The first pause is `initial` as given,
    /// even above `max`; the cap holds from the second on.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max, next: initial, jitter: None }
    }

    /// Adds a random amount below `max` to every pause, drawn from a generator seeded with
    /// `seed` (pass a random seed; a test passes a fixed one). The jitter comes on top of the
    /// cap: a capped pause may run up to `max` longer.
    pub fn with_jitter(mut self, max: Duration, seed: u64) -> Self {
        self.jitter = Some(Jitter { max, rng: SmallRng::seed_from_u64(seed) });
        self
    }

    /// The pause before the next attempt; each call grows the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = base.checked_mul(FACTOR).unwrap_or(Duration::MAX).min(self.max);
        match &mut self.jitter {
            Some(jitter) if !jitter.max.is_zero() => {
                let below = u64::try_from(jitter.max.as_nanos()).unwrap_or(u64::MAX);
                base.saturating_add(Duration::from_nanos(jitter.rng.random_range(0..below)))
            }
            _ => base,
        }
    }

    /// Starts again from `initial`: the thing retried worked.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn take(backoff: &mut Backoff, n: usize) -> Vec<Duration> {
        (0..n).map(|_| backoff.next_delay()).collect()
    }

    #[test]
    fn pauses_double_up_to_the_cap_and_stay_there() {
        let mut backoff = Backoff::new(ms(100), ms(2_000));
        assert_eq!(
            take(&mut backoff, 8),
            [ms(100), ms(200), ms(400), ms(800), ms(1_600), ms(2_000), ms(2_000), ms(2_000)]
        );
    }

    #[test]
    fn a_reset_starts_again_from_the_first_pause() {
        let mut backoff = Backoff::new(ms(1_000), ms(30_000));
        assert_eq!(take(&mut backoff, 3), [ms(1_000), ms(2_000), ms(4_000)]);
        backoff.reset();
        assert_eq!(take(&mut backoff, 2), [ms(1_000), ms(2_000)]);
    }

    #[test]
    fn equal_first_pause_and_cap_give_a_constant_pause() {
        let mut backoff = Backoff::new(ms(100), ms(100));
        assert_eq!(take(&mut backoff, 4), [ms(100); 4]);
    }

    #[test]
    fn a_first_pause_above_the_cap_is_kept_once() {
        let mut backoff = Backoff::new(ms(1_000), ms(300));
        assert_eq!(take(&mut backoff, 3), [ms(1_000), ms(300), ms(300)]);
    }

    #[test]
    fn growth_saturates_instead_of_overflowing() {
        let mut backoff = Backoff::new(Duration::MAX / 3, Duration::MAX);
        assert_eq!(take(&mut backoff, 4)[2..], [Duration::MAX, Duration::MAX]);
    }

    #[test]
    fn jitter_adds_less_than_its_bound_on_top_of_the_capped_pause() {
        let seed = 0x5eed;
        let mut backoff = Backoff::new(ms(100), ms(400)).with_jitter(ms(50), seed);
        let bases = [100, 200, 400, 400, 400, 400, 400, 400, 400, 400];
        let mut added = Vec::new();
        for base in bases.iter().cycle().take(200).copied() {
            if base == 100 {
                backoff.reset();
            }
            let pause = backoff.next_delay();
            assert!(pause >= ms(base) && pause < ms(base + 50), "seed {seed}: {pause:?} for {base} ms");
            added.push(pause - ms(base));
        }
        // Random, not a constant: the additions spread over the range.
        let (least, most) = (added.iter().min().unwrap(), added.iter().max().unwrap());
        assert!(*least < ms(10) && *most > ms(40), "seed {seed}: from {least:?} to {most:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_pauses() {
        let make = || Backoff::new(ms(100), ms(2_000)).with_jitter(ms(50), 7);
        assert_eq!(take(&mut make(), 10), take(&mut make(), 10));
    }

    #[test]
    fn no_jitter_bound_adds_nothing() {
        let mut backoff = Backoff::new(ms(100), ms(200)).with_jitter(Duration::ZERO, 1);
        assert_eq!(take(&mut backoff, 3), [ms(100), ms(200), ms(200)]);
    }
}
