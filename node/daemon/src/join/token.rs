//! A join token as the operator copies it: `cairn-join1.<CA fingerprint>.<secret>`.
//!
//! The fingerprint (SHA-256 of the cluster CA certificate, 64 hex digits) lets the new machine
//! pin the cluster before it trusts anything the peer says, as k3s's `K10<hash>::` tokens do;
//! the secret (32 random bytes, 64 hex digits) is what the cluster checks, by its hash.

use cairn_raft::model::TokenHash;

/// What every join token starts with: the kind and version of its format.
const PREFIX: &str = "cairn-join1.";

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The SHA-256 of the cluster CA certificate's DER.
    pub ca_fingerprint: [u8; 32],
    secret: String,
}

impl std::fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("JoinToken").field("ca_fingerprint", &hex::encode(self.ca_fingerprint)).finish()
    }
}

impl JoinToken {
    /// A fresh token for the cluster whose CA has `ca_fingerprint`.
    pub fn generate(ca_fingerprint: [u8; 32]) -> Self {
        Self { ca_fingerprint, secret: hex::encode(rand::random::<[u8; 32]>()) }
    }

    /// Reads a token as [`JoinToken::to_text`] wrote it (surrounding blanks ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = "not a cairn join token: it looks like `cairn-join1.<64 hex digits>.<64 hex digits>`, \
                         as `cairn-node join-token` prints it";
        let rest = text.trim().strip_prefix(PREFIX).ok_or(malformed)?;
        let (fingerprint, secret) = rest.split_once('.').ok_or(malformed)?;
        let is_hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_hex64(fingerprint) || !is_hex64(secret) {
            return Err(malformed.to_owned());
        }
        let mut ca_fingerprint = [0u8; 32];
        hex::decode_to_slice(fingerprint, &mut ca_fingerprint).map_err(|_| malformed)?;
        Ok(Self { ca_fingerprint, secret: secret.to_ascii_lowercase() })
    }

    /// The token as the operator copies it.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}.{}", hex::encode(self.ca_fingerprint), self.secret)
    }

    /// The secret part, as the joining machine presents it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// What the cluster stores and checks: the hash of the secret.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.secret)
    }
}

/// The hash of a presented secret, as [`JoinToken::hash`] computes it.
pub fn hash_of_secret(secret: &str) -> TokenHash {
    TokenHash::of(&secret.to_ascii_lowercase())
}

/// A fingerprint as people compare them: `ab:cd:…`, as `openssl x509 -fingerprint -sha256`
/// prints it (in lowercase).
pub fn fingerprint_text(fingerprint: &[u8; 32]) -> String {
    fingerprint.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_and_hashes_its_secret_only() {
        let token = JoinToken::generate([7; 32]);
        let text = token.to_text();
        assert!(text.starts_with("cairn-join1.0707"));
        let back = JoinToken::parse(&format!("  {text}\n")).unwrap();
        assert_eq!(back, token);
        assert_eq!(back.hash(), hash_of_secret(token.secret()));
        assert_ne!(back.hash(), JoinToken::generate([7; 32]).hash());
    }

    #[test]
    fn malformed_tokens_are_refused_with_the_expected_shape() {
        let good = JoinToken::generate([1; 32]).to_text();
        for bad in [
            "",
            "cairn-join1.",
            &good.replace("cairn-join1.", "cairn-join2."),
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.replace('.', ":"),
            &format!("{}g", &good[..good.len() - 1]),
        ] {
            let error = JoinToken::parse(bad).unwrap_err();
            assert!(error.contains("cairn-join1.<64 hex digits>"), "{bad}: {error}");
        }
    }
}
