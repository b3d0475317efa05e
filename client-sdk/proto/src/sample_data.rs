//! Reproducible test and benchmark data: random bytes and text-like bytes from a seed.
//!
//! Only built for tests and for crates that enable the `sample-data` feature (benchmarks).

/// `len` bytes that look random and are the same for the same seed (blake3 in XOF mode, which
/// fills memory at several GB/s, so large test files cost little).
pub fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    blake3::Hasher::new().update(&seed.to_le_bytes()).finalize_xof().fill(&mut out);
    out
}

/// `len` bytes of word soup with roughly the redundancy of English prose or source code
/// (zstd-3 shrinks it about threefold), the same for the same seed.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
        "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
        "more", "when", "will", "would", "who", "so", "no", "cluster", "node", "block", "shard", "version",
        "commit", "leader", "replica", "folder", "share", "upload", "download", "sync", "device", "conflict",
        "history", "storage", "network", "fn", "let", "mut", "impl", "struct", "return", "match", "self",
        "Result", "Vec", "u64", "\n", "\n\n", ",", ".", "(", ")", "{", "}", ";", "=", "->", "//", "0", "1",
        "42", "2026",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        // xorshift64*: plenty for picking words, and deterministic across platforms.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        out.extend_from_slice(WORDS[(r >> 32) as usize % WORDS.len()].as_bytes());
        out.push(b' ');
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(super::random(1000, 7), super::random(1000, 7));
        assert_ne!(super::random(1000, 7), super::random(1000, 8));
        assert_eq!(super::text(1000, 7), super::text(1000, 7));
        assert_eq!(super::text(1000, 7).len(), 1000);
    }
}
