//! The whole per-block path on a node: verify → seal → erasure-code, and back.
//!
//! Chunking and compression happen at the client (see `cairn_proto`); a node receives an
//! [`EncodedBlock`], never trusts the id it came with, and turns it into shards. Reading reverses
//! every step and checks the id again at the end, so wrong bytes are never handed out.

use cairn_proto::{AccountId, BlockId, EncodedBlock};

use super::{BlockError, EcProfile, ErasureCoder, MasterKey, Shard};

/// Seals and erasure-codes blocks for one EC profile under the cluster's master key.
#[derive(Debug)]
pub struct BlockPipeline {
    master: MasterKey,
    coder: ErasureCoder,
}

impl BlockPipeline {
    /// A pipeline for `profile`.
    pub fn new(master: MasterKey, profile: EcProfile) -> Self {
        Self { master, coder: ErasureCoder::new(profile) }
    }

    /// The profile blocks are coded with.
    pub fn profile(&self) -> EcProfile {
        self.coder.profile()
    }

    /// The erasure coder, for repair's rebuilding of single shards.
    pub fn coder(&self) -> &ErasureCoder {
        &self.coder
    }

    /// Turns a client's block into k+m shards, after checking that it really is block `id`.
    pub fn encode(
        &self,
        account: AccountId,
        id: &BlockId,
        block: &EncodedBlock,
    ) -> Result<Vec<Shard>, BlockError> {
        // Decompressing costs a fraction of compressing; it is the price of never storing a
        // block under a name its bytes do not have.
        block.verify(id)?;
        Ok(self.encode_trusted(account, id, block))
    }

    /// Compresses a plaintext (zstd at `level`, raw if it does not shrink) and encodes it; for
    /// blocks made on the node itself, such as resumable-upload data.
    pub fn encode_plain(
        &self,
        account: AccountId,
        plain: &[u8],
        level: i32,
    ) -> Result<(BlockId, Vec<Shard>), BlockError> {
        let id = BlockId::of(plain);
        let block = EncodedBlock::compress(plain, level)?;
        Ok((id, self.encode_trusted(account, &id, &block)))
    }

    /// Encodes a block whose id the caller has already checked against its bytes.
    pub fn encode_trusted(&self, account: AccountId, id: &BlockId, block: &EncodedBlock) -> Vec<Shard> {
        let sealed = self.master.account_key(account).seal(id, block);
        self.coder.encode(&sealed)
    }

    /// Seals a block whose id the caller has already checked, to be kept whole (in the metadata
    /// state) rather than erasure-coded.
    pub fn seal_trusted(&self, account: AccountId, id: &BlockId, block: &EncodedBlock) -> Vec<u8> {
        self.master.account_key(account).seal(id, block)
    }

    /// Opens block `id` kept whole, sealed by [`Self::seal_trusted`], and returns its verified
    /// plaintext.
    pub fn open_whole(&self, account: AccountId, id: &BlockId, sealed: &[u8]) -> Result<Vec<u8>, BlockError> {
        let block = self.master.account_key(account).open(id, sealed)?;
        Ok(block.decompress_verified(id)?)
    }

    /// Rebuilds block `id` from any k of its shards and returns its verified plaintext.
    pub fn decode<'a>(
        &self,
        account: AccountId,
        id: &BlockId,
        shards: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<u8>, BlockError> {
        let sealed = self.coder.decode(shards)?;
        let block = self.master.account_key(account).open(id, &sealed)?;
        Ok(block.decompress_verified(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::sample_data::{random, text};
    use cairn_proto::{ProtoError, StreamChunker};

    fn pipeline(profile: &str) -> BlockPipeline {
        BlockPipeline::new(MasterKey::from_bytes([42; 32]), profile.parse().unwrap())
    }

    #[test]
    fn file_round_trips_through_every_stage() {
        let p = pipeline("4+2");
        let mut file = text(3 << 20, 1);
        file.extend_from_slice(&random(3 << 20, 2));
        let mut rebuilt = Vec::new();
        for chunk in StreamChunker::new(&file[..]) {
            let chunk = chunk.unwrap();
            let wire = EncodedBlock::compress(&chunk.data, 3).unwrap().to_bytes();
            let block = EncodedBlock::from_bytes(&wire).unwrap();
            let shards = p.encode(AccountId(9), &chunk.id, &block).unwrap();
            // Lose the first two shards: data shards, so the parity has to work.
            let plain =
                p.decode(AccountId(9), &chunk.id, shards[2..].iter().map(|s| s.bytes.as_slice())).unwrap();
            rebuilt.extend_from_slice(&plain);
        }
        assert_eq!(rebuilt, file);
    }

    #[test]
    fn a_block_kept_whole_opens_only_for_its_account_and_id() {
        let p = pipeline("2+1");
        let plain = text(20_000, 4);
        let id = BlockId::of(&plain);
        let block = EncodedBlock::compress(&plain, 3).unwrap();
        let sealed = p.seal_trusted(AccountId(1), &id, &block);
        assert_eq!(p.open_whole(AccountId(1), &id, &sealed).unwrap(), plain);
        assert!(p.open_whole(AccountId(2), &id, &sealed).is_err(), "another account's key");
        let mut flipped = sealed.clone();
        flipped[sealed.len() / 2] ^= 1;
        assert!(matches!(p.open_whole(AccountId(1), &id, &flipped), Err(BlockError::Tampered(_))));
    }

    #[test]
    fn a_block_under_a_false_id_is_refused() {
        let p = pipeline("2+1");
        let block = EncodedBlock::compress(b"real bytes", 3).unwrap();
        let err = p.encode(AccountId(1), &BlockId::of(b"other bytes"), &block).unwrap_err();
        assert!(matches!(err, BlockError::Proto(ProtoError::IdMismatch { .. })), "{err}");
    }

    #[test]
    fn a_corrupted_shard_never_yields_wrong_bytes() {
        let p = pipeline("2+1");
        let (id, shards) = p.encode_plain(AccountId(1), &text(100_000, 3), 3).unwrap();
        let mut bad = shards[0].bytes.clone();
        bad[100] ^= 0x10;
        let err = p.decode(AccountId(1), &id, [bad.as_slice(), shards[1].bytes.as_slice()]).unwrap_err();
        assert!(matches!(err, BlockError::Tampered(_)), "{err}");
    }

    #[test]
    fn another_account_cannot_read_the_block() {
        let p = pipeline("2+1");
        let (id, shards) = p.encode_plain(AccountId(1), b"private", 3).unwrap();
        let err = p.decode(AccountId(2), &id, shards.iter().map(|s| s.bytes.as_slice())).unwrap_err();
        assert!(matches!(err, BlockError::Tampered(_)), "{err}");
    }
}
