//! A shard record in a segment file: the shard's bytes, then a footer that describes them.
//!
//! ```text
//! data [len] | blake3(key ‖ data) [32] | key [49] | len u32 LE | version u8 | magic "cshd"
//! ```
//!
//! The description follows the data so that a read is one `pread` of the whole record into a
//! buffer that, once verified, is cut to the data and returned: no second read of a header, no
//! copy. Magic and version come last so that anyone reading back from a record's end meets them
//! first. The checksum is the one the RocksDB layout keeps, over the key and the data, so a
//! record copied under another key (or to another place of the index) does not verify.

use crate::ShardKey;
use crate::rocks::checksum;

/// Identifies a record's footer.
pub(crate) const MAGIC: [u8; 4] = *b"cshd";
/// The footer's layout; a new layout gets a new version, and this one stays readable.
pub(crate) const VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 32;
/// Bytes a record adds to its shard.
pub const FOOTER_LEN: usize = CHECKSUM_LEN + ShardKey::LEN + 4 + 1 + MAGIC.len();

/// The footer of the record of `data` under `key`. Hashes `data`: callers run it on their own
/// thread, before they take any lock.
pub(crate) fn footer(key: &[u8; ShardKey::LEN], data: &[u8]) -> Result<[u8; FOOTER_LEN], usize> {
    let len = u32::try_from(data.len()).map_err(|_| data.len())?;
    let mut out = [0u8; FOOTER_LEN];
    out[..CHECKSUM_LEN].copy_from_slice(checksum(key, data).as_bytes());
    let rest = &mut out[CHECKSUM_LEN..];
    rest[..ShardKey::LEN].copy_from_slice(key);
    rest[ShardKey::LEN..ShardKey::LEN + 4].copy_from_slice(&len.to_le_bytes());
    rest[ShardKey::LEN + 4] = VERSION;
    rest[ShardKey::LEN + 5..].copy_from_slice(&MAGIC);
    Ok(out)
}

/// Length of the record of a shard of `data_len` bytes, if a record can be that long (its
/// length is a `u32` in the index).
pub(crate) fn record_len(data_len: usize) -> Option<u32> {
    u32::try_from(data_len.checked_add(FOOTER_LEN)?).ok()
}

/// Verifies a whole record read for `key` and returns the length of its data: the record's
/// first bytes. An error says what did not match.
pub(crate) fn verify(key: &ShardKey, record: &[u8]) -> Result<usize, String> {
    let Some(data_len) = record.len().checked_sub(FOOTER_LEN) else {
        return Err(format!("record of {} bytes is shorter than its footer", record.len()));
    };
    let (data, footer) = record.split_at(data_len);
    let (stored_sum, rest) = footer.split_at(CHECKSUM_LEN);
    let (stored_key, rest) = rest.split_at(ShardKey::LEN);
    let (len, rest) = rest.split_at(4);
    let (version, magic) = rest.split_at(1);
    if magic != MAGIC {
        return Err(format!("no record ends here (magic {})", hex::encode(magic)));
    }
    if version[0] != VERSION {
        return Err(format!("unknown record version {}", version[0]));
    }
    let key_bytes = key.to_bytes();
    if stored_key != key_bytes {
        return Err(format!("the record is of another shard ({})", hex::encode(stored_key)));
    }
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    if u64::from(len) != data_len as u64 {
        return Err(format!("the record says {len} bytes of data, the index {data_len}"));
    }
    let actual = checksum(&key_bytes, data);
    if actual.as_bytes() != stored_sum {
        return Err(format!(
            "checksum {} does not match stored {}",
            actual.to_hex(),
            hex::encode(stored_sum)
        ));
    }
    Ok(data_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{AccountId, BlockId};
    use proptest::prelude::*;

    fn key(n: u8) -> ShardKey {
        ShardKey { account: AccountId(5), block: BlockId::of(&[n]), generation: 2, index: n }
    }

    fn record(key: &ShardKey, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        out.extend_from_slice(&footer(&key.to_bytes(), data).unwrap());
        out
    }

    #[test]
    fn a_record_verifies_and_gives_its_data_length() {
        let rec = record(&key(1), b"some shard bytes");
        assert_eq!(verify(&key(1), &rec), Ok(16));
        assert_eq!(record_len(16), Some(rec.len() as u32));
        assert_eq!(verify(&key(1), &record(&key(1), b"")), Ok(0));
    }

    #[test]
    fn a_record_of_another_key_or_truncated_does_not_verify() {
        let rec = record(&key(1), b"some shard bytes");
        assert!(verify(&key(2), &rec).unwrap_err().contains("another shard"));
        assert!(verify(&key(1), &rec[1..]).is_err());
        assert!(verify(&key(1), &rec[..FOOTER_LEN - 1]).unwrap_err().contains("shorter"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any one flipped bit, in the data or anywhere in the footer, fails verification.
        #[test]
        fn any_flipped_bit_fails(data in prop::collection::vec(any::<u8>(), 0..300), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut rec = record(&key(3), &data);
            let at = at.index(rec.len());
            rec[at] ^= 1 << bit;
            prop_assert!(verify(&key(3), &rec).is_err());
        }
    }
}
