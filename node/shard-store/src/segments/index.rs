//! Where each shard's record lies: the segment store's two column families in RocksDB.
//!
//! - `locations`: shard key → [`Location`] (segment u64 LE, offset u64 LE, record length u32 LE).
//!   `get` reads it to find the record.
//! - `segment_records`: segment u64 BE ‖ offset u64 BE → shard key ‖ record length u32 LE. The
//!   same entries, ordered by place: compaction lists a segment's live records with one range
//!   scan, and open finds where the last acknowledged record of a segment ends with one seek.
//!
//! Both are written in the batch that writes the `index` family (key → stored length, which
//! listing and accounting read for either layout), so the three never disagree after a crash.

use rocksdb::{DB, Direction, IteratorMode};

use crate::rocks::{cf, io};
use crate::{ShardKey, ShardStoreError};

/// Shard key → location.
pub(crate) const LOCATIONS_CF: &str = "locations";
/// (segment, offset) → shard key and length.
pub(crate) const SEGMENT_RECORDS_CF: &str = "segment_records";

/// Where a record lies: which segment, at which offset, how long (footer included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) segment: u64,
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

/// Encoded length of a [`Location`].
const LOCATION_LEN: usize = 20;
/// Encoded length of a `segment_records` key.
const PLACE_LEN: usize = 16;

impl Location {
    /// The `locations` value.
    pub(crate) fn encode(&self) -> [u8; LOCATION_LEN] {
        let mut out = [0u8; LOCATION_LEN];
        out[..8].copy_from_slice(&self.segment.to_le_bytes());
        out[8..16].copy_from_slice(&self.offset.to_le_bytes());
        out[16..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Parses a `locations` value.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, ShardStoreError> {
        let bytes: &[u8; LOCATION_LEN] = bytes.try_into().map_err(|_| ShardStoreError::Io {
            context: "read shard location",
            message: format!("location of {} bytes, expected {LOCATION_LEN}", bytes.len()),
        })?;
        let (segment, rest) = bytes.split_at(8);
        let (offset, len) = rest.split_at(8);
        Ok(Self {
            segment: u64::from_le_bytes(segment.try_into().unwrap_or_default()),
            offset: u64::from_le_bytes(offset.try_into().unwrap_or_default()),
            len: u32::from_le_bytes(len.try_into().unwrap_or_default()),
        })
    }

    /// The `segment_records` key: big-endian, so entries sort by segment, then offset.
    pub(crate) fn place(&self) -> [u8; PLACE_LEN] {
        place(self.segment, self.offset)
    }

    /// The `segment_records` value for the record of `key` here.
    pub(crate) fn record_entry(&self, key: &[u8; ShardKey::LEN]) -> [u8; ShardKey::LEN + 4] {
        let mut out = [0u8; ShardKey::LEN + 4];
        out[..ShardKey::LEN].copy_from_slice(key);
        out[ShardKey::LEN..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// The offset just past the record.
    pub(crate) fn end(&self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

fn place(segment: u64, offset: u64) -> [u8; PLACE_LEN] {
    let mut out = [0u8; PLACE_LEN];
    out[..8].copy_from_slice(&segment.to_be_bytes());
    out[8..].copy_from_slice(&offset.to_be_bytes());
    out
}

/// Parses one `segment_records` entry.
pub(crate) fn decode_record_entry(
    place: &[u8],
    value: &[u8],
) -> Result<(Location, [u8; ShardKey::LEN]), ShardStoreError> {
    let malformed = || ShardStoreError::Io {
        context: "read segment records",
        message: format!("malformed entry of {} and {} bytes", place.len(), value.len()),
    };
    let place: &[u8; PLACE_LEN] = place.try_into().map_err(|_| malformed())?;
    let value: &[u8; ShardKey::LEN + 4] = value.try_into().map_err(|_| malformed())?;
    let (segment, offset) = place.split_at(8);
    let (key, len) = value.split_at(ShardKey::LEN);
    let location = Location {
        segment: u64::from_be_bytes(segment.try_into().map_err(|_| malformed())?),
        offset: u64::from_be_bytes(offset.try_into().map_err(|_| malformed())?),
        len: u32::from_le_bytes(len.try_into().map_err(|_| malformed())?),
    };
    Ok((location, key.try_into().map_err(|_| malformed())?))
}

/// Where the record of `key` lies, if it is in a segment.
pub(crate) fn location(db: &DB, key: &[u8]) -> Result<Option<Location>, ShardStoreError> {
    match db.get_pinned_cf(cf(db, LOCATIONS_CF)?, key).map_err(io("read shard location"))? {
        Some(value) => Location::decode(&value).map(Some),
        None => Ok(None),
    }
}

/// The live records of `segment`, in offset order: one range scan of `segment_records`.
pub(crate) fn records_in(
    db: &DB,
    segment: u64,
) -> Result<Vec<(Location, [u8; ShardKey::LEN])>, ShardStoreError> {
    let start = place(segment, 0);
    let mut out = Vec::new();
    for item in db.iterator_cf(cf(db, SEGMENT_RECORDS_CF)?, IteratorMode::From(&start, Direction::Forward)) {
        let (k, v) = item.map_err(io("scan segment records"))?;
        let (location, key) = decode_record_entry(&k, &v)?;
        if location.segment != segment {
            break;
        }
        out.push((location, key));
    }
    Ok(out)
}

/// Live bytes and the end of the last live record of every segment the index points into:
/// one scan of `segment_records`, at open.
pub(crate) fn segment_extents(
    db: &DB,
) -> Result<std::collections::BTreeMap<u64, (u64, u64)>, ShardStoreError> {
    let mut out = std::collections::BTreeMap::<u64, (u64, u64)>::new();
    for item in db.iterator_cf(cf(db, SEGMENT_RECORDS_CF)?, IteratorMode::Start) {
        let (k, v) = item.map_err(io("scan segment records"))?;
        let (location, _) = decode_record_entry(&k, &v)?;
        let (live, end) = out.entry(location.segment).or_default();
        *live += u64::from(location.len);
        *end = (*end).max(location.end());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip_and_places_sort_by_segment_then_offset() {
        let at = Location { segment: 3, offset: 1 << 33, len: 700_000 };
        assert_eq!(Location::decode(&at.encode()).unwrap(), at);
        let key = [7u8; ShardKey::LEN];
        assert_eq!(decode_record_entry(&at.place(), &at.record_entry(&key)).unwrap(), (at, key));
        assert!(place(3, u64::MAX) < place(4, 0));
        assert!(place(3, 255) < place(3, 256));
        assert!(Location::decode(&[0; 19]).is_err());
    }
}
