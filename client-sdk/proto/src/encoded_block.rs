//! The wire form of a block: a small header and the (usually zstd-compressed) bytes.
//!
//! This is what a client sends for `PUT /v1/blocks/{id}` and what a node seals. Compression
//! happens once, at the edge that has the plaintext; a block that does not shrink travels raw,
//! flagged in its header, so random data costs a failed compression probe and nothing more.

use crate::{BlockId, ProtoError};

/// The largest plaintext a block may have: the maximum chunk size.
pub const MAX_BLOCK_SIZE: usize = crate::ChunkParams::DEFAULT.max_size;

/// How the payload of an [`EncodedBlock`] is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// The payload is the plaintext.
    Raw = 0,
    /// The payload is one zstd frame.
    Zstd = 1,
}

impl Codec {
    /// Parses the codec byte of a header.
    pub fn from_byte(byte: u8) -> Result<Self, ProtoError> {
        match byte {
            0 => Ok(Self::Raw),
            1 => Ok(Self::Zstd),
            other => Err(ProtoError::MalformedBlock(format!("unknown codec {other}"))),
        }
    }
}

/// A block as it travels: codec, plaintext length, payload.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedBlock {
    /// How `payload` encodes the plaintext.
    pub codec: Codec,
    /// Length of the plaintext, so decompression can allocate once and refuse bombs.
    pub plain_len: u32,
    /// The encoded bytes.
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for EncodedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedBlock")
            .field("codec", &self.codec)
            .field("plain_len", &self.plain_len)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Wire header: `version u8 | codec u8 | reserved u16 (zero) | plain_len u32 LE`.
const HEADER_LEN: usize = 8;
const WIRE_VERSION: u8 = 1;

/// zstd's default level, and cairn's: fast enough to keep up with the network on one core.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

impl EncodedBlock {
    /// Compresses `plain` with zstd at `level`, or keeps it raw if compression does not shrink it.
    pub fn compress(plain: &[u8], level: i32) -> Result<Self, ProtoError> {
        let plain_len = check_size(plain.len())?;
        match shrink(plain, level) {
            Some(z) => Ok(Self { codec: Codec::Zstd, plain_len, payload: z }),
            None => Ok(Self::raw(plain.to_vec())?),
        }
    }

    /// This block compressed with zstd at `level` if it is raw and compression shrinks it, else
    /// as it is, without copying: what a node does with a block a client sent raw.
    pub fn into_compressed(self, level: i32) -> Self {
        if self.codec != Codec::Raw {
            return self;
        }
        match shrink(&self.payload, level) {
            Some(z) => Self { codec: Codec::Zstd, plain_len: self.plain_len, payload: z },
            None => self,
        }
    }

    /// Wraps a plaintext without compressing it.
    pub fn raw(plain: Vec<u8>) -> Result<Self, ProtoError> {
        let plain_len = check_size(plain.len())?;
        Ok(Self { codec: Codec::Raw, plain_len, payload: plain })
    }

    /// Recovers the plaintext. Never allocates more than the header's `plain_len`, which is
    /// itself capped at [`MAX_BLOCK_SIZE`], so a hostile payload cannot exhaust memory.
    pub fn decompress(&self) -> Result<Vec<u8>, ProtoError> {
        let expected = self.plain_len as usize;
        check_size(expected)?;
        let plain = match self.codec {
            Codec::Raw => self.payload.clone(),
            Codec::Zstd => zstd::bulk::decompress(&self.payload, expected)
                .map_err(|e| ProtoError::MalformedBlock(format!("zstd payload: {e}")))?,
        };
        if plain.len() != expected {
            return Err(ProtoError::MalformedBlock(format!(
                "payload decodes to {} bytes, header says {expected}",
                plain.len()
            )));
        }
        Ok(plain)
    }

    /// Recovers the plaintext and checks that it is the block `id`: the one check that makes a
    /// block trustworthy, whoever sent it.
    pub fn decompress_verified(&self, id: &BlockId) -> Result<Vec<u8>, ProtoError> {
        let plain = self.decompress()?;
        let actual = BlockId::of(&plain);
        if actual != *id {
            return Err(ProtoError::IdMismatch { claimed: *id, actual });
        }
        Ok(plain)
    }

    /// Checks that this is block `id` without keeping the plaintext: what a node does with a
    /// block it received. A raw block is hashed in place, without a copy.
    pub fn verify(&self, id: &BlockId) -> Result<(), ProtoError> {
        let actual = match self.codec {
            Codec::Raw => {
                if self.payload.len() != self.plain_len as usize {
                    return Err(ProtoError::MalformedBlock(format!(
                        "raw payload of {} bytes, header says {}",
                        self.payload.len(),
                        self.plain_len
                    )));
                }
                BlockId::of(&self.payload)
            }
            Codec::Zstd => BlockId::of(&self.decompress()?),
        };
        if actual != *id {
            return Err(ProtoError::IdMismatch { claimed: *id, actual });
        }
        Ok(())
    }

    /// Serialises header and payload into one buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.push(WIRE_VERSION);
        out.push(self.codec as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.plain_len.to_le_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Parses the output of [`to_bytes`](Self::to_bytes), refusing anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        let (header, payload) = bytes.split_first_chunk::<HEADER_LEN>().ok_or_else(|| {
            ProtoError::MalformedBlock(format!("{} bytes is shorter than the header", bytes.len()))
        })?;
        if header[0] != WIRE_VERSION {
            return Err(ProtoError::MalformedBlock(format!("unknown block format version {}", header[0])));
        }
        let codec = Codec::from_byte(header[1])?;
        if header[2..4] != [0, 0] {
            return Err(ProtoError::MalformedBlock("reserved header bytes are not zero".into()));
        }
        let plain_len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        check_size(plain_len as usize)?;
        if codec == Codec::Raw && payload.len() != plain_len as usize {
            return Err(ProtoError::MalformedBlock(format!(
                "raw payload of {} bytes, header says {plain_len}",
                payload.len()
            )));
        }
        // zstd never needs more than a few hundred bytes beyond the input for incompressible data;
        // anything bigger is not a block this codec produced.
        if payload.len() > zstd::zstd_safe::compress_bound(MAX_BLOCK_SIZE) {
            return Err(ProtoError::BlockTooLarge {
                size: payload.len() as u64,
                limit: MAX_BLOCK_SIZE as u64,
            });
        }
        Ok(Self { codec, plain_len, payload: payload.to_vec() })
    }
}

/// Blocks at least this long are probed before zstd runs over all of them.
const PROBE_FROM: usize = 128 << 10;
/// The probe: this many samples of this many bytes, spread evenly over the block.
const PROBE_SAMPLES: usize = 8;
const PROBE_SAMPLE_LEN: usize = 4 << 10;

/// `plain` compressed with zstd at `level`, or `None` when that would not make it smaller.
///
/// Most large files of a drive (photos, video, archives) are already compressed, and zstd still
/// reads every byte of them before giving up. So a large block is probed first, as btrfs and
/// ZFS do: samples from across it compressed at level 1, and when they do not shrink by 3 %,
/// neither would the whole, and the block stays raw. A block whose compressible part the
/// samples miss is stored raw too: it costs some space, never correctness.
fn shrink(plain: &[u8], level: i32) -> Option<Vec<u8>> {
    if plain.len() >= PROBE_FROM {
        let stride = plain.len() / PROBE_SAMPLES;
        let mut sample = Vec::with_capacity(PROBE_SAMPLES * PROBE_SAMPLE_LEN);
        for i in 0..PROBE_SAMPLES {
            sample.extend_from_slice(&plain[i * stride..][..PROBE_SAMPLE_LEN]);
        }
        match zstd::bulk::compress(&sample, 1) {
            Ok(z) if z.len() * 100 < sample.len() * 97 => {}
            _ => return None,
        }
    }
    // A compressed frame that is not smaller than the input is worth nothing; a failure to
    // compress (which zstd reports only for invalid levels) is treated the same way.
    zstd::bulk::compress(plain, level).ok().filter(|z| z.len() < plain.len())
}

fn check_size(len: usize) -> Result<u32, ProtoError> {
    if len > MAX_BLOCK_SIZE {
        return Err(ProtoError::BlockTooLarge { size: len as u64, limit: MAX_BLOCK_SIZE as u64 });
    }
    // MAX_BLOCK_SIZE is far below u32::MAX, so this cannot fail after the check above.
    u32::try_from(len)
        .map_err(|_| ProtoError::BlockTooLarge { size: len as u64, limit: MAX_BLOCK_SIZE as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_data::{random, text};

    #[test]
    fn compressible_block_is_zstd_and_round_trips() {
        let plain = text(1 << 20, 1);
        let block = EncodedBlock::compress(&plain, DEFAULT_ZSTD_LEVEL).unwrap();
        assert_eq!(block.codec, Codec::Zstd);
        assert!(block.payload.len() < plain.len() / 2, "ratio too poor: {}", block.payload.len());
        let parsed = EncodedBlock::from_bytes(&block.to_bytes()).unwrap();
        assert_eq!(parsed, block);
        assert_eq!(parsed.decompress_verified(&BlockId::of(&plain)).unwrap(), plain);
    }

    #[test]
    fn incompressible_block_is_stored_raw() {
        let plain = random(1 << 20, 2);
        let block = EncodedBlock::compress(&plain, DEFAULT_ZSTD_LEVEL).unwrap();
        assert_eq!(block.codec, Codec::Raw);
        assert_eq!(block.payload, plain);
        assert_eq!(block.decompress().unwrap(), plain);
    }

    #[test]
    fn the_probe_skips_random_data_but_not_a_block_that_is_partly_text() {
        let random_block = EncodedBlock::raw(random(1 << 20, 5)).unwrap();
        assert_eq!(random_block.clone().into_compressed(DEFAULT_ZSTD_LEVEL), random_block);
        // Half random, half text: the samples from the text half say it is worth compressing.
        let mut mixed = random(512 << 10, 6);
        mixed.extend_from_slice(&text(512 << 10, 6));
        let block = EncodedBlock::raw(mixed.clone()).unwrap().into_compressed(DEFAULT_ZSTD_LEVEL);
        assert_eq!(block.codec, Codec::Zstd);
        assert!(block.payload.len() < mixed.len() * 3 / 4, "{} bytes", block.payload.len());
        assert_eq!(block.decompress_verified(&BlockId::of(&mixed)).unwrap(), mixed);
        // The samples alone decide: text with random bytes exactly where they are taken stays
        // raw (zstd over the whole would have shrunk it).
        let mut masked = text(1 << 20, 8);
        let stride = masked.len() / PROBE_SAMPLES;
        for i in 0..PROBE_SAMPLES {
            masked[i * stride..][..PROBE_SAMPLE_LEN].copy_from_slice(&random(PROBE_SAMPLE_LEN, i as u64));
        }
        assert!(zstd::bulk::compress(&masked, 3).unwrap().len() < masked.len() / 2);
        assert_eq!(EncodedBlock::compress(&masked, 3).unwrap().codec, Codec::Raw);
        // Under the probe's size, zstd judges the whole block.
        let small = text(64 << 10, 7);
        assert_eq!(EncodedBlock::raw(small.clone()).unwrap().into_compressed(3).codec, Codec::Zstd);
        assert_eq!(EncodedBlock::compress(&small, 3).unwrap().codec, Codec::Zstd);
    }

    #[test]
    fn empty_block_round_trips() {
        let block = EncodedBlock::compress(&[], 3).unwrap();
        let parsed = EncodedBlock::from_bytes(&block.to_bytes()).unwrap();
        assert_eq!(parsed.decompress_verified(&BlockId::of(&[])).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn oversized_block_is_refused() {
        let err = EncodedBlock::raw(vec![0; MAX_BLOCK_SIZE + 1]).unwrap_err();
        assert!(matches!(err, ProtoError::BlockTooLarge { .. }), "{err}");
    }

    #[test]
    fn wrong_id_is_refused() {
        let block = EncodedBlock::compress(b"abc", 3).unwrap();
        let err = block.decompress_verified(&BlockId::of(b"abd")).unwrap_err();
        assert!(err.to_string().contains("not to the claimed id"), "{err}");
        for block in
            [EncodedBlock::raw(b"abc".to_vec()).unwrap(), EncodedBlock::compress(&text(9000, 1), 3).unwrap()]
        {
            assert!(matches!(block.verify(&BlockId::of(b"abd")), Err(ProtoError::IdMismatch { .. })));
        }
        EncodedBlock::raw(b"abc".to_vec()).unwrap().verify(&BlockId::of(b"abc")).unwrap();
        let text = text(9000, 1);
        EncodedBlock::compress(&text, 3).unwrap().verify(&BlockId::of(&text)).unwrap();
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = EncodedBlock::compress(&text(4096, 3), 3).unwrap().to_bytes();
        assert!(EncodedBlock::from_bytes(&good[..5]).is_err());
        let mut bad = good.clone();
        bad[0] = 9;
        assert!(EncodedBlock::from_bytes(&bad).unwrap_err().to_string().contains("version"));
        let mut bad = good.clone();
        bad[1] = 7;
        assert!(EncodedBlock::from_bytes(&bad).unwrap_err().to_string().contains("codec"));
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(EncodedBlock::from_bytes(&bad), Err(ProtoError::BlockTooLarge { .. })));
    }

    #[test]
    fn lying_plain_len_is_caught_on_decompress() {
        let mut block = EncodedBlock::compress(&text(100_000, 4), 3).unwrap();
        block.plain_len = 50_000;
        assert!(block.decompress().is_err());
        block.plain_len = 200_000;
        assert!(block.decompress().unwrap_err().to_string().contains("header says"));
    }

    #[test]
    fn corrupted_zstd_payload_is_an_error_not_a_panic() {
        let mut block = EncodedBlock::compress(&text(100_000, 5), 3).unwrap();
        let mid = block.payload.len() / 2;
        block.payload[mid] ^= 0xff;
        block.payload.truncate(mid + 10);
        assert!(block.decompress().is_err());
    }
}
