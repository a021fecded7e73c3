//! Envelope encryption of private signing keys at rest: each key's PKCS#8
//! is sealed with XChaCha20-Poly1305 under a key-encryption key (KEK) kept
//! outside the database, its key id as associated data so a sealed key
//! cannot be swapped onto another row. Whoever reads a dump or a backup of
//! the database learns no private key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{AeadCore, XChaCha20Poly1305, XNonce};

/// Marks a sealed value; a legacy plaintext PKCS#8 starts with 0x30.
const MAGIC: &[u8] = b"pkek1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error("signing key {kid} does not open with this key-encryption key (wrong kek_file?)")]
    WrongKek { kid: String },
    #[error("key-encryption key: {0}")]
    Malformed(String),
}

/// A 256-bit key-encryption key. Never printed.
#[derive(Clone)]
pub struct Kek(chacha20poly1305::Key);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// The file form: the key in standard base64, one line.
    pub fn encode(&self) -> String {
        format!("{}\n", STANDARD.encode(self.0))
    }

    pub fn decode(text: &str) -> Result<Self, KekError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KekError::Malformed("not base64".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KekError::Malformed("not 32 bytes".into()))?;
        Ok(Self(key.into()))
    }

    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(MAGIC)
    }

    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = XChaCha20Poly1305::new(&self.0)
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: kid.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a small buffer cannot fail");
        [MAGIC, nonce.as_slice(), &sealed].concat()
    }

    /// The plaintext of a sealed value; a legacy plaintext is returned as
    /// it is, for the migration on start to seal.
    pub fn open(&self, kid: &str, stored: &[u8]) -> Result<Vec<u8>, KekError> {
        let Some(rest) = stored.strip_prefix(MAGIC) else {
            return Ok(stored.to_vec());
        };
        let wrong = || KekError::WrongKek { kid: kid.into() };
        if rest.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        XChaCha20Poly1305::new(&self.0)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| wrong())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let kek = Kek::generate();
        let sealed = kek.seal("k1", b"\x30secret pkcs8");
        assert!(Kek::is_sealed(&sealed));
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(kek.open("k1", &sealed).unwrap(), b"\x30secret pkcs8");
        assert!(kek.open("k2", &sealed).is_err(), "bound to its kid");
        assert!(Kek::generate().open("k1", &sealed).is_err());
        // Legacy plaintext passes through for the migration.
        assert_eq!(kek.open("k1", b"\x30plain").unwrap(), b"\x30plain");
        // The file form round-trips and never shows in Debug.
        let again = Kek::decode(&kek.encode()).unwrap();
        assert_eq!(again.open("k1", &sealed).unwrap(), b"\x30secret pkcs8");
        assert_eq!(format!("{kek:?}"), "Kek(..)");
        assert!(Kek::decode("short").is_err());
    }
}
