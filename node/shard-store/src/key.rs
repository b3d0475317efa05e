//! `ShardKey`: which shard of which block of which account.

use std::fmt;

use cairn_proto::{AccountId, BlockId};

/// Identifies one shard. Blocks are per account (dedup and keys are per account), so the account
/// is part of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ShardKey {
    /// Owner of the block.
    pub account: AccountId,
    /// The block.
    pub block: BlockId,
    /// Which stored copy of the block: a number the writing node chose at random and recorded
    /// in the block's metadata. A block that was deleted and uploaded again gets a new one, so a
    /// late delete of the old copy can never remove a shard of the new one.
    pub generation: u64,
    /// Position in the block's stripe.
    pub index: u8,
}

impl ShardKey {
    /// Encoded length: account (8, big-endian so keys sort by account) + block id (32) +
    /// generation (8) + index (1).
    pub const LEN: usize = 49;

    /// The storage key bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.account.0.to_be_bytes());
        out[8..40].copy_from_slice(self.block.as_bytes());
        out[40..48].copy_from_slice(&self.generation.to_be_bytes());
        out[48] = self.index;
        out
    }

    /// Parses storage key bytes; `None` if they are not a shard key.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().ok()?;
        let word = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(word)
        };
        Some(Self {
            account: AccountId(word(0)),
            block: BlockId::from_slice(&bytes[8..40]).ok()?,
            generation: word(40),
            index: bytes[48],
        })
    }
}

impl fmt::Display for ShardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{:x}#{}", self.account, self.block, self.generation, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_sort_by_account_first() {
        let a = ShardKey {
            account: AccountId(1),
            block: BlockId::from_bytes([0xff; 32]),
            generation: 9,
            index: 3,
        };
        let b = ShardKey {
            account: AccountId(256),
            block: BlockId::from_bytes([0; 32]),
            generation: 1,
            index: 0,
        };
        assert_eq!(ShardKey::from_bytes(&a.to_bytes()), Some(a));
        assert!(a.to_bytes() < b.to_bytes());
        assert_eq!(ShardKey::from_bytes(&[0; 41]), None);
    }
}
