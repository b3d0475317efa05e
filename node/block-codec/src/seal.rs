//! Sealing: XChaCha20-Poly1305 over an encoded block, under a per-account key.
//!
//! Layout of a sealed block (all integers little-endian):
//!
//! ```text
//! 0   version u8 (= 1)
//! 1   codec u8            how the payload encodes the plaintext (cairn_proto::Codec)
//! 2   reserved u16 (= 0)
//! 4   plain_len u32       plaintext length
//! 8   payload_len u32     length of the encrypted payload, without the tag
//! 12  block id [32]
//! 44  nonce [24]
//! 68  ciphertext [payload_len] ‖ Poly1305 tag [16]
//! ```
//!
//! The whole 68-byte header is associated data, so changing any byte of it, like any byte of the
//! ciphertext, makes opening fail.
//!
//! The nonce is derived, not random, so that equal blocks seal to equal bytes within an account
//! (dedup and idempotent retries see identical shards). It is a keyed blake3 of the header, which
//! holds the block id, and, for a compressed block, of the payload too: the same block id can
//! arrive with different encodings (raw from one client, zstd from another, another zstd level),
//! and reusing a nonce for two different plaintexts would break XChaCha20-Poly1305. Binding the
//! nonce to the exact bytes encrypted makes a reuse imply identical input, which reveals nothing.
//! A raw payload *is* the plaintext whose hash is the block id, so the header already binds it,
//! and hashing it again would cost a third of the sealing time for nothing.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};

use cairn_proto::{AccountId, BlockId, Codec, EncodedBlock};

use super::BlockError;

const VERSION: u8 = 1;
/// Length of the sealed header.
pub const HEADER_LEN: usize = 68;
/// Length of the authentication tag.
pub const TAG_LEN: usize = 16;
const NONCE_OFFSET: usize = 44;

/// The cluster's root secret. Every account key is derived from it; it never leaves the nodes.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Wraps 32 secret bytes (read from the node's key file).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key, for `init`.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// The key material, for writing the key file.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The sealing key of one account: `blake3::derive_key` with a context string per purpose,
    /// so the encryption key and the nonce key are independent.
    pub fn account_key(&self, account: AccountId) -> AccountKey {
        let mut material = [0u8; 40];
        material[..32].copy_from_slice(&self.0);
        material[32..].copy_from_slice(&account.0.to_le_bytes());
        let cipher_key = blake3::derive_key("cairn 2026-11 account block sealing key", &material);
        let nonce_key = blake3::derive_key("cairn 2026-11 account block nonce key", &material);
        AccountKey { cipher: XChaCha20Poly1305::new(Key::from_slice(&cipher_key)), nonce_key }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

/// One account's sealing key.
#[derive(Clone)]
pub struct AccountKey {
    cipher: XChaCha20Poly1305,
    nonce_key: [u8; 32],
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(…)")
    }
}

impl AccountKey {
    /// Encrypts `block` into a self-describing sealed block. The caller must have checked that
    /// `block` is block `id` (see [`EncodedBlock::verify`]); the nonce relies on it.
    pub fn seal(&self, id: &BlockId, block: &EncodedBlock) -> Vec<u8> {
        debug_assert!(block.verify(id).is_ok(), "sealing a block under a false id");
        let payload_len = block.payload.len();
        let mut out = Vec::with_capacity(HEADER_LEN + payload_len + TAG_LEN);
        out.push(VERSION);
        out.push(block.codec as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&block.plain_len.to_le_bytes());
        // A payload is at most zstd's bound of a 4 MiB block, far below u32::MAX.
        out.extend_from_slice(&(payload_len as u32).to_le_bytes());
        out.extend_from_slice(id.as_bytes());

        let mut nonce = blake3::Hasher::new_keyed(&self.nonce_key);
        nonce.update(&out);
        if block.codec != Codec::Raw {
            nonce.update(&block.payload);
        }
        let nonce = nonce.finalize();
        out.extend_from_slice(&nonce.as_bytes()[..24]);
        out.extend_from_slice(&block.payload);

        let (header, body) = out.split_at_mut(HEADER_LEN);
        let nonce = XNonce::from_slice(&header[NONCE_OFFSET..HEADER_LEN]);
        // Encryption fails only for messages beyond XChaCha's 256 GiB limit.
        let tag = self
            .cipher
            .encrypt_in_place_detached(nonce, header, body)
            .unwrap_or_else(|_| unreachable!("a block is far below the AEAD's size limit"));
        out.extend_from_slice(&tag);
        out
    }

    /// Authenticates and decrypts a sealed block, which must be block `expected`. Any changed
    /// byte gives [`BlockError::Tampered`]; nothing unauthenticated is ever returned.
    pub fn open(&self, expected: &BlockId, sealed: &[u8]) -> Result<EncodedBlock, BlockError> {
        let header = parse_header(sealed)?;
        if header.id != *expected {
            return Err(BlockError::WrongBlock { expected: *expected, found: header.id });
        }
        let (head, rest) = sealed.split_at(HEADER_LEN);
        let (ciphertext, tag) = rest.split_at(header.payload_len);
        let mut payload = ciphertext.to_vec();
        self.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(&head[NONCE_OFFSET..]),
                head,
                &mut payload,
                Tag::from_slice(tag),
            )
            .map_err(|_| BlockError::Tampered(header.id))?;
        Ok(EncodedBlock { codec: header.codec, plain_len: header.plain_len, payload })
    }
}

/// The readable parts of a sealed header. Reading them proves nothing; only `open` authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// How the payload encodes the plaintext.
    pub codec: Codec,
    /// Plaintext length.
    pub plain_len: u32,
    /// Encrypted payload length, without the tag.
    pub payload_len: usize,
    /// The block this is.
    pub id: BlockId,
}

/// Reads and sanity-checks the header of a sealed block.
pub fn parse_header(sealed: &[u8]) -> Result<SealedHeader, BlockError> {
    let malformed = |why: String| BlockError::MalformedSealed(why);
    let Some((head, _)) = sealed.split_first_chunk::<HEADER_LEN>() else {
        return Err(malformed(format!("{} bytes is shorter than the header", sealed.len())));
    };
    if head[0] != VERSION {
        return Err(malformed(format!("unknown sealed format version {}", head[0])));
    }
    let codec = Codec::from_byte(head[1]).map_err(|e| malformed(e.to_string()))?;
    if head[2..4] != [0, 0] {
        return Err(malformed("reserved header bytes are not zero".into()));
    }
    let plain_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let payload_len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
    let expected_len = HEADER_LEN + payload_len + TAG_LEN;
    if sealed.len() != expected_len {
        return Err(malformed(format!("{} bytes, but the header describes {expected_len}", sealed.len())));
    }
    let id = BlockId::from_slice(&head[12..44]).map_err(|e| malformed(e.to_string()))?;
    Ok(SealedHeader { codec, plain_len, payload_len, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::sample_data::{random, text};

    fn key(account: u64) -> AccountKey {
        MasterKey::from_bytes([7; 32]).account_key(AccountId(account))
    }

    fn block(plain: &[u8]) -> (BlockId, EncodedBlock) {
        (BlockId::of(plain), EncodedBlock::compress(plain, 3).unwrap())
    }

    #[test]
    fn seal_open_round_trip() {
        for plain in [text(300_000, 1), random(300_000, 2), Vec::new()] {
            let (id, enc) = block(&plain);
            let sealed = key(1).seal(&id, &enc);
            assert_eq!(sealed.len(), HEADER_LEN + enc.payload.len() + TAG_LEN);
            let opened = key(1).open(&id, &sealed).unwrap();
            assert_eq!(opened, enc);
            assert_eq!(opened.decompress_verified(&id).unwrap(), plain);
        }
    }

    #[test]
    fn no_plaintext_in_sealed_bytes() {
        let plain = b"a very recognisable secret sentence that must not be on disk".repeat(3);
        let (id, _) = block(&plain);
        let sealed = key(1).seal(&id, &EncodedBlock::raw(plain.clone()).unwrap());
        assert!(!sealed.windows(16).any(|w| plain.windows(16).any(|p| p == w)));
    }

    #[test]
    fn equal_blocks_seal_equal_within_an_account_and_differ_across() {
        let (id, enc) = block(&text(10_000, 3));
        assert_eq!(key(1).seal(&id, &enc), key(1).seal(&id, &enc));
        assert_ne!(key(1).seal(&id, &enc)[HEADER_LEN..], key(2).seal(&id, &enc)[HEADER_LEN..]);
    }

    #[test]
    fn different_encodings_of_one_block_use_different_nonces() {
        let plain = text(10_000, 4);
        let id = BlockId::of(&plain);
        let zstd = key(1).seal(&id, &EncodedBlock::compress(&plain, 3).unwrap());
        let raw = key(1).seal(&id, &EncodedBlock::raw(plain).unwrap());
        assert_ne!(zstd[NONCE_OFFSET..HEADER_LEN], raw[NONCE_OFFSET..HEADER_LEN]);
    }

    #[test]
    fn every_tampered_byte_is_refused() {
        let (id, enc) = block(&text(2_000, 5));
        let sealed = key(1).seal(&id, &enc);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(key(1).open(&id, &bad).is_err(), "flipped byte {i} was accepted");
        }
    }

    #[test]
    fn another_accounts_key_is_refused() {
        let (id, enc) = block(&text(2_000, 6));
        let err = key(2).open(&id, &key(1).seal(&id, &enc)).unwrap_err();
        assert!(matches!(err, BlockError::Tampered(_)), "{err}");
    }

    #[test]
    fn wrong_block_and_truncation_are_clear_errors() {
        let (id, enc) = block(b"one");
        let sealed = key(1).seal(&id, &enc);
        let other = BlockId::of(b"two");
        assert!(matches!(key(1).open(&other, &sealed), Err(BlockError::WrongBlock { .. })));
        let err = key(1).open(&id, &sealed[..sealed.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("header describes"), "{err}");
        assert!(key(1).open(&id, &sealed[..10]).is_err());
    }
}
