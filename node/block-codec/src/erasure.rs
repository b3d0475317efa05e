//! Reed-Solomon erasure coding: a sealed block becomes k data + m parity shards, and any k of
//! them give the block back.
//!
//! Each shard carries a small frame so that it describes itself (the scrubber and repair can
//! rebuild a stripe from shards alone):
//!
//! ```text
//! 0 version u8 (= 1) | 1 k u8 | 2 m u8 | 3 index u8 | 4 data_len u32 LE | 8 shard bytes
//! ```

use std::fmt;
use std::str::FromStr;

use reed_solomon_erasure::galois_8::ReedSolomon;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::BlockError;

const FRAME_VERSION: u8 = 1;
/// Length of a shard's frame header.
pub const SHARD_HEADER_LEN: usize = 8;
/// Upper bound on k + m. Beyond this a stripe spans more nodes than any cairn cluster is meant
/// to have, and the Galois field GF(2^8) would cap it at 256 anyway.
pub const MAX_SHARDS: usize = 32;

/// An erasure-coding profile: k data shards and m parity shards; any m may be lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EcProfile {
    k: u8,
    m: u8,
}

impl EcProfile {
    /// A profile of `k` data and `m` parity shards.
    pub fn new(k: usize, m: usize) -> Result<Self, BlockError> {
        let invalid =
            |reason: &str| BlockError::InvalidProfile { profile: format!("{k}+{m}"), reason: reason.into() };
        if k == 0 {
            return Err(invalid("k (data shards) must be at least 1"));
        }
        if m == 0 {
            return Err(invalid(
                "m (parity shards) must be at least 1: without parity a single lost node loses data",
            ));
        }
        if k + m > MAX_SHARDS {
            return Err(invalid(&format!("k + m must be at most {MAX_SHARDS}")));
        }
        Ok(Self { k: k as u8, m: m as u8 })
    }

    /// Data shards: how many it takes to rebuild a block.
    pub fn data_shards(&self) -> usize {
        self.k as usize
    }

    /// Parity shards: how many may be lost.
    pub fn parity_shards(&self) -> usize {
        self.m as usize
    }

    /// k + m.
    pub fn total_shards(&self) -> usize {
        self.data_shards() + self.parity_shards()
    }
}

impl fmt::Display for EcProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.k, self.m)
    }
}

impl FromStr for EcProfile {
    type Err = BlockError;

    /// Parses `"k+m"`, for example `"4+2"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| BlockError::InvalidProfile { profile: s.into(), reason: reason.into() };
        let (k, m) =
            s.trim().split_once('+').ok_or_else(|| invalid("expected DATA+PARITY, for example 4+2"))?;
        let k = k.trim().parse::<usize>().map_err(|_| invalid("data shard count is not a number"))?;
        let m = m.trim().parse::<usize>().map_err(|_| invalid("parity shard count is not a number"))?;
        Self::new(k, m)
    }
}

impl Serialize for EcProfile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EcProfile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One framed shard of a block, as stored on a node.
#[derive(Clone, PartialEq, Eq)]
pub struct Shard {
    /// Position in the stripe: `0..k` are data, `k..k+m` parity.
    pub index: u8,
    /// Frame header and shard bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Shard(#{}, {} bytes)", self.index, self.bytes.len())
    }
}

/// What a shard's frame says about its stripe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardHeader {
    /// The profile the stripe was coded with.
    pub profile: EcProfile,
    /// This shard's index.
    pub index: usize,
    /// Length of the coded data (the sealed block) before padding.
    pub data_len: usize,
}

impl ShardHeader {
    /// Reads a shard's frame header.
    pub fn parse(bytes: &[u8]) -> Result<Self, BlockError> {
        let bad = |index: usize, reason: String| BlockError::MalformedShard { index, reason };
        let Some((head, body)) = bytes.split_first_chunk::<SHARD_HEADER_LEN>() else {
            return Err(bad(0, format!("{} bytes is shorter than the frame header", bytes.len())));
        };
        let index = head[3] as usize;
        if head[0] != FRAME_VERSION {
            return Err(bad(index, format!("unknown shard frame version {}", head[0])));
        }
        let profile =
            EcProfile::new(head[1] as usize, head[2] as usize).map_err(|e| bad(index, e.to_string()))?;
        if index >= profile.total_shards() {
            return Err(bad(index, format!("index out of range for profile {profile}")));
        }
        let data_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if body.len() != shard_len(data_len, profile.data_shards()) {
            return Err(bad(
                index,
                format!(
                    "{} shard bytes, stripe of {data_len} needs {}",
                    body.len(),
                    shard_len(data_len, profile.data_shards())
                ),
            ));
        }
        Ok(Self { profile, index, data_len })
    }
}

/// Bytes per shard for `data_len` bytes over `k` data shards (never 0: the codec needs a byte).
fn shard_len(data_len: usize, k: usize) -> usize {
    data_len.div_ceil(k).max(1)
}

/// One slot per shard index, filled with the shard bytes (without frame) when present.
type Slots = Vec<Option<Vec<u8>>>;

/// The same, borrowing the caller's shards instead of copying them.
type Present<'a> = Vec<Option<&'a [u8]>>;

/// Encodes and decodes stripes for one profile. Cheap to share: the coding matrix is built once.
pub struct ErasureCoder {
    profile: EcProfile,
    rs: ReedSolomon,
}

impl fmt::Debug for ErasureCoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErasureCoder({})", self.profile)
    }
}

impl ErasureCoder {
    /// A coder for `profile`.
    pub fn new(profile: EcProfile) -> Self {
        // EcProfile's invariants (1 <= k, 1 <= m, k + m <= 32) are all that ReedSolomon::new checks.
        let rs = ReedSolomon::new(profile.data_shards(), profile.parity_shards())
            .unwrap_or_else(|e| unreachable!("validated profile {profile} rejected: {e}"));
        Self { profile, rs }
    }

    /// The profile this coder uses.
    pub fn profile(&self) -> EcProfile {
        self.profile
    }

    /// Splits `data` into k data shards (zero-padded) and computes m parity shards.
    pub fn encode(&self, data: &[u8]) -> Vec<Shard> {
        let (k, n) = (self.profile.data_shards(), self.profile.total_shards());
        let len = shard_len(data.len(), k);
        let mut framed: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut bytes = vec![0u8; SHARD_HEADER_LEN + len];
                self.write_header(&mut bytes, i, data.len());
                bytes
            })
            .collect();
        for (shard, piece) in framed.iter_mut().zip(data.chunks(len)) {
            shard[SHARD_HEADER_LEN..SHARD_HEADER_LEN + piece.len()].copy_from_slice(piece);
        }
        let (data_shards, parity_shards) = framed.split_at_mut(k);
        let data_refs: Vec<&[u8]> = data_shards.iter().map(|s| &s[SHARD_HEADER_LEN..]).collect();
        let mut parity_refs: Vec<&mut [u8]> =
            parity_shards.iter_mut().map(|s| &mut s[SHARD_HEADER_LEN..]).collect();
        self.rs
            .encode_sep(&data_refs, &mut parity_refs)
            .unwrap_or_else(|e| unreachable!("shards built to the codec's shape were refused: {e}"));
        framed.into_iter().enumerate().map(|(i, bytes)| Shard { index: i as u8, bytes }).collect()
    }

    /// Rebuilds the coded data from any k consistent shards. Shards from another stripe shape,
    /// duplicates and malformed frames are skipped; fewer than k usable shards is an error.
    pub fn decode<'a>(&self, shards: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, BlockError> {
        let (data_len, slots) = self.collect(shards)?;
        let k = self.profile.data_shards();
        let mut out = Vec::with_capacity(data_len);
        let mut append = |shard: &[u8]| {
            let take = (data_len - out.len()).min(shard.len());
            out.extend_from_slice(&shard[..take]);
        };
        // The common case, every data shard at hand, is a concatenation: no copies, no algebra.
        if slots[..k].iter().all(Option::is_some) {
            slots[..k].iter().flatten().for_each(|s| append(s));
        } else {
            let mut owned = self.owned_k(&slots);
            self.rs.reconstruct_data(&mut owned).map_err(|e| self.not_enough(&slots, e))?;
            // reconstruct_data fills every data slot or fails, so each is Some here.
            owned[..k].iter().flatten().for_each(|s| append(s));
        }
        Ok(out)
    }

    /// Rebuilds the shards at `wanted` indexes from any k consistent shards: what repair sends to
    /// the nodes that replace lost ones.
    pub fn rebuild<'a>(
        &self,
        shards: impl IntoIterator<Item = &'a [u8]>,
        wanted: &[usize],
    ) -> Result<Vec<Shard>, BlockError> {
        let (data_len, slots) = self.collect(shards)?;
        if let Some(&bad) = wanted.iter().find(|&&i| i >= self.profile.total_shards()) {
            return Err(BlockError::MalformedShard {
                index: bad,
                reason: format!("no such shard in profile {}", self.profile),
            });
        }
        let mut owned = self.owned_k(&slots);
        if wanted.iter().any(|&i| owned[i].is_none()) {
            self.rs.reconstruct(&mut owned).map_err(|e| self.not_enough(&slots, e))?;
        }
        Ok(wanted
            .iter()
            .map(|&i| {
                let body = owned[i].as_deref().or(slots[i]).unwrap_or_default();
                let mut bytes = vec![0u8; SHARD_HEADER_LEN];
                self.write_header(&mut bytes, i, data_len);
                bytes.extend_from_slice(body);
                Shard { index: i as u8, bytes }
            })
            .collect())
    }

    /// Sorts usable shards into their slots, checking that they all belong to one stripe of this
    /// profile. The first shard decides the stripe's length; disagreeing shards are skipped.
    fn collect<'a>(
        &self,
        shards: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(usize, Present<'a>), BlockError> {
        let mut slots = vec![None; self.profile.total_shards()];
        let mut data_len = None;
        for bytes in shards {
            let Ok(header) = ShardHeader::parse(bytes) else { continue };
            if header.profile != self.profile || *data_len.get_or_insert(header.data_len) != header.data_len {
                continue;
            }
            slots[header.index].get_or_insert(&bytes[SHARD_HEADER_LEN..]);
        }
        let available = slots.iter().flatten().count();
        let needed = self.profile.data_shards();
        match data_len {
            Some(len) if available >= needed => Ok((len, slots)),
            _ => Err(BlockError::NotEnoughShards { available, needed }),
        }
    }

    /// Owned copies of the first k present shards, the rest empty: all the codec needs, and the
    /// fewest bytes to copy.
    fn owned_k(&self, slots: &[Option<&[u8]>]) -> Slots {
        let mut kept = 0;
        slots
            .iter()
            .map(|slot| {
                let shard = slot.filter(|_| kept < self.profile.data_shards())?;
                kept += 1;
                Some(shard.to_vec())
            })
            .collect()
    }

    fn not_enough(&self, slots: &[Option<&[u8]>], _: reed_solomon_erasure::Error) -> BlockError {
        BlockError::NotEnoughShards {
            available: slots.iter().flatten().count(),
            needed: self.profile.data_shards(),
        }
    }

    fn write_header(&self, bytes: &mut [u8], index: usize, data_len: usize) {
        bytes[0] = FRAME_VERSION;
        bytes[1] = self.profile.k;
        bytes[2] = self.profile.m;
        bytes[3] = index as u8;
        // Sealed blocks are a few MiB at most.
        bytes[4..8].copy_from_slice(&(data_len as u32).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::sample_data::random;

    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n)
            .filter(|mask| mask.count_ones() as usize == k)
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
            .collect()
    }

    #[test]
    fn profiles_parse_and_print() {
        for s in ["2+1", "4+2", "8+3", " 3 + 2 "] {
            let p: EcProfile = s.parse().unwrap();
            assert_eq!(p.to_string(), s.replace(' ', ""));
        }
        let p: EcProfile = "8+3".parse().unwrap();
        assert_eq!((p.data_shards(), p.parity_shards(), p.total_shards()), (8, 3, 11));
    }

    #[test]
    fn bad_profiles_are_clear_errors() {
        for (s, why) in [
            ("4", "expected DATA+PARITY"),
            ("x+2", "not a number"),
            ("4+y", "not a number"),
            ("0+2", "at least 1"),
            ("4+0", "parity"),
            ("30+3", "at most 32"),
            ("-1+2", "not a number"),
        ] {
            let err = s.parse::<EcProfile>().unwrap_err().to_string();
            assert!(err.contains(why), "{s}: {err}");
        }
    }

    #[test]
    fn every_k_subset_decodes_for_2_1_and_4_2() {
        for (profile, len) in [("2+1", 1_000_001), ("4+2", 777_777), ("4+2", 3), ("2+1", 0)] {
            let coder = ErasureCoder::new(profile.parse().unwrap());
            let data = random(len, len as u64);
            let shards = coder.encode(&data);
            let (k, n) = (coder.profile().data_shards(), coder.profile().total_shards());
            assert_eq!(shards.len(), n);
            for subset in subsets(n, k) {
                let picked = subset.iter().map(|&i| shards[i].bytes.as_slice());
                assert_eq!(coder.decode(picked).unwrap(), data, "{profile} from {subset:?}");
            }
        }
    }

    #[test]
    fn fewer_than_k_shards_is_a_clear_error() {
        let coder = ErasureCoder::new("4+2".parse().unwrap());
        let shards = coder.encode(&random(10_000, 1));
        let err = coder.decode(shards[..3].iter().map(|s| s.bytes.as_slice())).unwrap_err();
        assert!(matches!(err, BlockError::NotEnoughShards { available: 3, needed: 4 }), "{err}");
        // Duplicates of one shard do not count twice.
        let same = std::iter::repeat_n(shards[0].bytes.as_slice(), 6);
        assert!(matches!(coder.decode(same), Err(BlockError::NotEnoughShards { available: 1, .. })));
    }

    #[test]
    fn foreign_and_malformed_shards_are_skipped() {
        let coder = ErasureCoder::new("2+1".parse().unwrap());
        let data = random(5_000, 2);
        let shards = coder.encode(&data);
        let other = ErasureCoder::new("4+2".parse().unwrap()).encode(&data);
        let truncated = &shards[0].bytes[..100];
        let input =
            [truncated, other[0].bytes.as_slice(), shards[1].bytes.as_slice(), shards[2].bytes.as_slice()];
        assert_eq!(coder.decode(input).unwrap(), data);
    }

    #[test]
    fn rebuild_recreates_lost_shards_exactly() {
        let coder = ErasureCoder::new("4+2".parse().unwrap());
        let shards = coder.encode(&random(123_457, 3));
        let survivors = [1, 3, 4, 5].map(|i| shards[i].bytes.as_slice());
        let rebuilt = coder.rebuild(survivors, &[0, 2]).unwrap();
        assert_eq!(rebuilt, vec![shards[0].clone(), shards[2].clone()]);
        assert!(coder.rebuild(survivors, &[9]).is_err());
    }

    #[test]
    fn frame_header_is_checked() {
        let coder = ErasureCoder::new("2+1".parse().unwrap());
        let shard = coder.encode(&random(100, 4)).remove(0);
        let header = ShardHeader::parse(&shard.bytes).unwrap();
        assert_eq!((header.index, header.data_len), (0, 100));
        let mut bad = shard.bytes.clone();
        bad[3] = 7;
        assert!(ShardHeader::parse(&bad).unwrap_err().to_string().contains("out of range"));
        let mut bad = shard.bytes.clone();
        bad.pop();
        assert!(ShardHeader::parse(&bad).is_err());
    }
}
