//! blake3 of an upload, computed as its bytes arrive and resumed by any node: the finish of a
//! tus upload needs the whole file's hash, and reading the file back to get it would let one
//! small request make a node read and decrypt a whole session (issue 17).
//!
//! blake3 is a tree over 1 KiB chunks, so what a hasher holds after a prefix is small: the
//! chaining values of the largest complete subtrees covering it. [`RunningHash`] keeps those
//! (stored in the session as its [`HashProgress`]) and the bytes after them — never a whole
//! chunk that might be the file's last, since the last chunk is hashed differently (as the root,
//! or as the right edge of the tree). Those at most 1 KiB are not stored in metadata, where no
//! file content may go: the next node reads them back from the session's last blocks, which the
//! receiver cuts so that they hold no more than them.
//!
//! The tree manipulations are blake3's `hazmat` ones; the tests compare every split of many
//! lengths with `blake3::hash`, as its documentation asks.

use blake3::hazmat::{HasherExt, Mode, max_subtree_len, merge_subtrees_non_root, merge_subtrees_root};
use blake3::{CHUNK_LEN, Hasher};
use cairn_raft::model::uploads::HashProgress;

const CHUNK: u64 = CHUNK_LEN as u64;

/// A stored progress that cannot be resumed: not what this module writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the upload's stored hashing progress is inconsistent: {0}")]
pub struct BadProgress(String);

/// Where the stored progress of a stream of `len` bytes ends: the last whole chunk before its
/// last byte (the bytes after it, 1 to 1024 of them, are not hashed until more come).
pub fn progress_at(len: u64) -> u64 {
    len.saturating_sub(1) / CHUNK * CHUNK
}

/// blake3 of a byte stream so far.
#[derive(Clone, Debug, Default)]
pub struct RunningHash {
    /// Bytes covered by `subtrees`: whole chunks.
    hashed: u64,
    /// Chaining values of the complete subtrees over `[0, hashed)`, largest first.
    subtrees: Vec<[u8; 32]>,
    /// The bytes after `hashed`: at most one chunk, and at least one byte once `hashed > 0`.
    tail: Vec<u8>,
}

impl RunningHash {
    /// The hash of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a stored `progress` and the bytes after it, `tail`.
    pub fn resume(progress: &HashProgress, tail: &[u8]) -> Result<Self, BadProgress> {
        let bad = |why: &str| Err(BadProgress(why.to_owned()));
        if !progress.hashed.is_multiple_of(CHUNK) {
            return bad("its length is not a whole number of chunks");
        }
        if progress.subtrees.len() != (progress.hashed / CHUNK).count_ones() as usize {
            return bad("it has the wrong number of subtrees for its length");
        }
        if tail.len() > CHUNK_LEN || (progress.hashed > 0 && tail.is_empty()) {
            return bad("the bytes after it are not between 1 and 1024");
        }
        Ok(Self { hashed: progress.hashed, subtrees: progress.subtrees.clone(), tail: tail.to_vec() })
    }

    /// Bytes seen.
    pub fn len(&self) -> u64 {
        self.hashed + self.tail.len() as u64
    }

    /// Whether no byte was seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What to store to resume later: everything but the last bytes, which are [`Self::len`]
    /// minus `progress.hashed`.
    pub fn progress(&self) -> HashProgress {
        HashProgress { hashed: self.hashed, subtrees: self.subtrees.clone() }
    }

    /// Adds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.tail.len() == CHUNK_LEN {
                // A whole chunk with more after it: not the last, so it can be hashed.
                let chunk = std::mem::take(&mut self.tail);
                self.push(&chunk);
            } else if !self.tail.is_empty() || data.len() <= CHUNK_LEN {
                let take = (CHUNK_LEN - self.tail.len()).min(data.len());
                self.tail.extend_from_slice(&data[..take]);
                data = &data[take..];
            } else {
                // The largest subtree that starts here and leaves at least one byte after it,
                // hashed in one go (where blake3's SIMD pays off).
                let whole = (data.len() as u64 - 1) / CHUNK;
                let mut chunks = 1u64 << whole.ilog2();
                if let Some(max) = max_subtree_len(self.hashed) {
                    chunks = chunks.min(max / CHUNK);
                }
                let (subtree, rest) = data.split_at((chunks * CHUNK) as usize);
                self.push(subtree);
                data = rest;
            }
        }
    }

    /// Hashes `subtree`, a complete subtree starting at `hashed` with bytes after it, and merges
    /// it into the subtrees: equal neighbours become their parent, one per bit of the count.
    fn push(&mut self, subtree: &[u8]) {
        let cv = Hasher::new().set_input_offset(self.hashed).update(subtree).finalize_non_root();
        self.subtrees.push(cv);
        self.hashed += subtree.len() as u64;
        while self.subtrees.len() > (self.hashed / CHUNK).count_ones() as usize {
            let (Some(right), Some(left)) = (self.subtrees.pop(), self.subtrees.pop()) else { break };
            self.subtrees.push(merge_subtrees_non_root(&left, &right, Mode::Hash));
        }
    }

    /// blake3 of everything seen.
    pub fn finalize(&self) -> [u8; 32] {
        let Some((first, rest)) = self.subtrees.split_first() else {
            // At most one chunk: it is the root.
            return *blake3::hash(&self.tail).as_bytes();
        };
        // The tree of the whole: each subtree is the left child of the node whose right child
        // holds everything after it, down to the last chunk.
        let mut right = Hasher::new().set_input_offset(self.hashed).update(&self.tail).finalize_non_root();
        for left in rest.iter().rev() {
            right = merge_subtrees_non_root(left, &right, Mode::Hash);
        }
        *merge_subtrees_root(first, &right, Mode::Hash).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    /// Feeds `all` in pieces of `piece` bytes, resuming from the stored progress after each.
    fn in_pieces(all: &[u8], piece: usize) -> [u8; 32] {
        let mut hash = RunningHash::new();
        for part in all.chunks(piece) {
            hash.update(part);
            let progress = hash.progress();
            assert_eq!(progress.hashed, progress_at(hash.len()));
            let tail = &all[progress.hashed as usize..hash.len() as usize];
            hash = RunningHash::resume(&progress, tail).unwrap();
        }
        assert_eq!(hash.len(), all.len() as u64);
        hash.finalize()
    }

    #[test]
    fn every_split_gives_blake3_of_the_whole() {
        let lengths =
            [0, 1, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 4096, 4097, 5000, 8192, 65_536, 100_003];
        let pieces = [1, 7, 1000, 1024, 1025, 3000, 4096, 65_537, 1 << 20];
        for len in lengths {
            let all = data(len);
            let expected = *blake3::hash(&all).as_bytes();
            for piece in pieces {
                if len / piece > 20_000 {
                    continue; // tiny pieces of a large input: covered by smaller inputs
                }
                assert_eq!(in_pieces(&all, piece), expected, "{len} bytes in pieces of {piece}");
            }
        }
    }

    #[test]
    fn large_inputs_in_uneven_pieces() {
        let all = data((9 << 20) + 12_345);
        let expected = *blake3::hash(&all).as_bytes();
        for piece in [(1 << 20) + 1, 3 << 20, 4_000_000] {
            assert_eq!(in_pieces(&all, piece), expected, "pieces of {piece}");
        }
        let mut whole = RunningHash::new();
        whole.update(&all);
        assert_eq!(whole.finalize(), expected);
        assert!(whole.len() - whole.progress().hashed <= CHUNK && whole.progress().subtrees.len() <= 64);
    }

    #[test]
    fn inconsistent_progress_is_refused() {
        let odd = HashProgress { hashed: 1000, subtrees: vec![[0; 32]] };
        assert!(RunningHash::resume(&odd, b"x").is_err());
        let missing = HashProgress { hashed: 3 * CHUNK, subtrees: vec![[0; 32]] };
        assert!(RunningHash::resume(&missing, b"x").is_err());
        let one = HashProgress { hashed: CHUNK, subtrees: vec![[0; 32]] };
        assert!(RunningHash::resume(&one, b"").is_err());
        assert!(RunningHash::resume(&one, &[0; CHUNK_LEN + 1]).is_err());
        assert!(RunningHash::resume(&one, b"x").is_ok());
        assert!(RunningHash::resume(&HashProgress::default(), b"").is_ok());
    }
}
