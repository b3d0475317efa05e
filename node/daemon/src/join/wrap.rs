//! The master key, wrapped for one join request only.
//!
//! The join channel is TLS pinned to the cluster CA already; the master key (the key to every
//! block) is sealed once more, to a key only the requesting process holds: the joining machine
//! sends a fresh X25519 public key, the signer answers with its own fresh one and the master
//! key sealed with ChaCha20-Poly1305 under HKDF-SHA256 of the shared secret. Neither private
//! key outlives the request, so a recorded exchange (or a log of the answer) does not yield the
//! key later, whatever leaks afterwards.

use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::hkdf;
use ring::rand::SystemRandom;

/// What ties the derived key to this use; a different purpose derives a different key.
const CONTEXT: &[u8] = b"cairn 2026-12 join master key wrap";

/// The joining side's half: a private key kept in memory until the answer comes.
pub struct Unwrapper {
    private: EphemeralPrivateKey,
    public: Vec<u8>,
}

impl std::fmt::Debug for Unwrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unwrapper").finish_non_exhaustive()
    }
}

/// The master key as the signer sends it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WrappedKey {
    /// The signer's X25519 public key, hex.
    pub key_share: String,
    /// The sealed master key (ciphertext and tag), hex.
    pub sealed: String,
}

impl Unwrapper {
    /// A fresh key pair.
    pub fn new() -> Result<Self, String> {
        let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new())
            .map_err(|_| "generate an X25519 key")?;
        let public =
            private.compute_public_key().map_err(|_| "compute an X25519 public key")?.as_ref().to_vec();
        Ok(Self { private, public })
    }

    /// The public key to send, hex.
    pub fn key_share(&self) -> String {
        hex::encode(&self.public)
    }

    /// Opens the master key the signer sealed for this key pair.
    pub fn unwrap(self, wrapped: &WrappedKey) -> Result<[u8; 32], String> {
        let theirs = hex::decode(&wrapped.key_share).map_err(|_| "the signer's key share is not hex")?;
        let mut sealed = hex::decode(&wrapped.sealed).map_err(|_| "the sealed master key is not hex")?;
        let key =
            agreement::agree_ephemeral(self.private, &UnparsedPublicKey::new(&X25519, &theirs), |shared| {
                sealing_key(shared, &self.public, &theirs)
            })
            .map_err(|_| "the signer's key share is not an X25519 public key")??;
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut sealed)
            .map_err(|_| "the master key does not open: it was not sealed for this request")?;
        plain.try_into().map_err(|_| "the master key is not 32 bytes".to_owned())
    }
}

/// Seals `master` for the holder of the X25519 public key `key_share` (hex).
pub fn wrap(master: &[u8; 32], key_share: &str) -> Result<WrappedKey, String> {
    let theirs = hex::decode(key_share).map_err(|_| "key_share is not hex")?;
    let private =
        EphemeralPrivateKey::generate(&X25519, &SystemRandom::new()).map_err(|_| "generate an X25519 key")?;
    let ours = private.compute_public_key().map_err(|_| "compute an X25519 public key")?.as_ref().to_vec();
    let key = agreement::agree_ephemeral(private, &UnparsedPublicKey::new(&X25519, &theirs), |shared| {
        sealing_key(shared, &theirs, &ours)
    })
    .map_err(|_| "key_share is not an X25519 public key")??;
    let mut sealed = master.to_vec();
    // A zero nonce is safe: the key is derived from two fresh key pairs and seals one message.
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut sealed)
        .map_err(|_| "seal the master key")?;
    Ok(WrappedKey { key_share: hex::encode(ours), sealed: hex::encode(sealed) })
}

/// The ChaCha20-Poly1305 key both sides derive: HKDF-SHA256 over the shared secret, salted
/// with the purpose, bound to both public keys (joiner's first).
fn sealing_key(shared: &[u8], joiner: &[u8], signer: &[u8]) -> Result<LessSafeKey, String> {
    let info = [joiner, signer];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, CONTEXT).extract(shared);
    let okm = prk.expand(&info, &CHACHA20_POLY1305).map_err(|_| "derive the wrapping key")?;
    let mut bytes = [0u8; 32];
    okm.fill(&mut bytes).map_err(|_| "derive the wrapping key")?;
    let key = UnboundKey::new(&aead::CHACHA20_POLY1305, &bytes).map_err(|_| "use the wrapping key")?;
    Ok(LessSafeKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_key_opens_only_for_the_request_it_was_sealed_for() {
        let master = [42u8; 32];
        let joiner = Unwrapper::new().unwrap();
        let wrapped = wrap(&master, &joiner.key_share()).unwrap();
        assert!(!wrapped.sealed.contains(&hex::encode(master)));
        assert_eq!(joiner.unwrap(&wrapped).unwrap(), master);

        let other = Unwrapper::new().unwrap();
        assert!(other.unwrap(&wrapped).unwrap_err().contains("not sealed for this request"));
        let mut tampered = wrap(&master, &Unwrapper::new().unwrap().key_share()).unwrap();
        tampered.sealed.replace_range(0..2, "00");
        assert!(Unwrapper::new().unwrap().unwrap(&tampered).is_err());
        assert!(wrap(&master, "zz").is_err());
    }
}
