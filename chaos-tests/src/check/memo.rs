//! The search's memory of configurations already explored: compact keys (sets of
//! linearized operations and a model state, packed into words) in a hash set with a budget.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// How much memo the search may keep, in bytes (approximate), before it gives up.
const BUDGET_BYTES: usize = 512 << 20;
/// Bookkeeping per entry beyond its words (box, hash table slot), roughly.
const ENTRY_OVERHEAD: usize = 48;

/// A set of small indices (operations linearized) that encodes itself compactly.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bits {
    words: Vec<u64>,
    /// How many leading words are all ones (kept exact by `set` and `clear`).
    full: usize,
    len: usize,
}

impl Bits {
    /// An empty set of indices below `len`.
    pub(crate) fn new(len: usize) -> Self {
        Self { words: vec![0; len.div_ceil(64)], full: 0, len }
    }

    fn word_is_full(&self, w: usize) -> bool {
        let bits_in_word = (self.len - w * 64).min(64);
        let mask = if bits_in_word == 64 { u64::MAX } else { (1u64 << bits_in_word) - 1 };
        self.words[w] == mask
    }

    /// Adds `i`.
    pub(crate) fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        while self.full < self.words.len() && self.word_is_full(self.full) {
            self.full += 1;
        }
    }

    /// Removes `i`.
    pub(crate) fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
        self.full = self.full.min(i / 64);
    }

    /// Appends a canonical encoding (leading full words as a count, trailing zero words
    /// dropped) to `key`. Operations are linearized roughly in order, so keys stay a few
    /// words long however long the history.
    pub(crate) fn encode(&self, key: &mut Vec<u64>) {
        let rest = &self.words[self.full..];
        let used = rest.iter().rposition(|w| *w != 0).map_or(0, |i| i + 1);
        key.push(self.full as u64);
        key.push(used as u64);
        key.extend_from_slice(&rest[..used]);
    }
}

/// A fast multiplicative hasher for memo keys (short slices of words). Written here because
/// the crate takes no new dependencies, and std's SipHash is several times slower on the
/// search's hot path; keys are not attacker-controlled, so DoS resistance is not needed.
#[derive(Default)]
struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for byte in chunks.remainder() {
            self.add(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }
}

/// The configurations explored so far.
#[derive(Default)]
pub(crate) struct Memo {
    seen: HashSet<Box<[u64]>, BuildHasherDefault<WordHasher>>,
    bytes: usize,
}

/// What [`Memo::insert`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Insert {
    /// The key is new (and now remembered).
    New,
    /// The key was explored before.
    Seen,
    /// The memo is over its budget.
    Full,
}

impl Memo {
    /// Remembers `key`, saying whether it is new.
    pub(crate) fn insert(&mut self, key: &[u64]) -> Insert {
        if self.seen.contains(key) {
            return Insert::Seen;
        }
        self.bytes += key.len() * 8 + ENTRY_OVERHEAD;
        if self.bytes > BUDGET_BYTES {
            return Insert::Full;
        }
        self.seen.insert(key.into());
        Insert::New
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bits_encode_canonically() {
        let mut bits = Bits::new(130);
        for i in 0..64 {
            bits.set(i);
        }
        bits.set(100);
        let mut key = Vec::new();
        bits.encode(&mut key);
        assert_eq!(key, [1, 1, 1 << 36]);
        bits.clear(3);
        key.clear();
        bits.encode(&mut key);
        assert_eq!(key, [0, 2, !(1 << 3), 1 << 36]);
    }

    #[test]
    fn memo_remembers() {
        let mut memo = Memo::default();
        assert_eq!(memo.insert(&[1, 2]), Insert::New);
        assert_eq!(memo.insert(&[1, 2]), Insert::Seen);
        assert_eq!(memo.insert(&[2, 1]), Insert::New);
    }
}
