//! Ozon API keys are encrypted at rest with XChaCha20-Poly1305 under one secret key, which
//! comes from configuration or from a key file created with owner-only permissions.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Generate, Key, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Encrypts and decrypts secrets stored in the database. `Debug` never shows the key.
#[derive(Clone)]
pub struct Cipher {
    cipher: XChaCha20Poly1305,
    /// A second key, derived from the first, for the secrets ozontrack hands out and can
    /// make again (push URLs, buyer links) instead of storing them.
    derive_key: [u8; 32],
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

/// Why the secret key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(
        "the secret key must be 32 bytes in standard base64 (44 characters); generate one with `head -c32 /dev/urandom | base64`"
    )]
    BadKey,
    #[error(
        "the key file {path} does not exist; run `ozontrack init` to create it, or set secrets.key"
    )]
    Missing { path: PathBuf },
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the key file {path} does not hold a valid key: it must be 32 bytes in standard base64"
    )]
    Invalid { path: PathBuf },
}

impl Cipher {
    /// A cipher from a base64-encoded 32-byte key (the `secrets.key` setting).
    pub fn from_base64(text: &str) -> Result<Self, KeyFileError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyFileError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyFileError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let mut derive = Sha256::new();
        derive.update(b"ozontrack derived secrets v1\0");
        derive.update(key);
        Self {
            cipher: XChaCha20Poly1305::new(&Key::<XChaCha20Poly1305>::from(key)),
            derive_key: derive.finalize().into(),
        }
    }

    /// A secret for `purpose` and `subject` (a store's or a posting's id): the same every time
    /// under the same key, unguessable without it. 128 bits as 32 hex characters, safe in a URL.
    /// The database keeps at most its SHA-256, so a copy of the database holds no working link.
    pub fn derive(&self, purpose: &str, subject: i64) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.derive_key)
            // HMAC takes a key of any length.
            .expect("HMAC accepts a 32-byte key");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(&subject.to_be_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Reads the key file at `path`. A key file others can read is refused.
    pub fn load_key_file(path: &Path) -> Result<Self, KeyFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_owner_only(path)?;
                Self::from_base64(&text).map_err(|_| KeyFileError::Invalid { path: path.into() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(KeyFileError::Missing { path: path.into() })
            }
            Err(source) => Err(KeyFileError::Read {
                path: path.into(),
                source,
            }),
        }
    }

    /// Reads the key file at `path`, creating it with a fresh random key and mode 0600 when
    /// it does not exist yet. Only `init` should create keys: a new key cannot decrypt what
    /// the old one encrypted.
    pub fn load_or_create_key_file(path: &Path) -> Result<(Self, bool), KeyFileError> {
        match Self::load_key_file(path) {
            Err(KeyFileError::Missing { .. }) => Ok((Self::create_key_file(path)?, true)),
            other => other.map(|cipher| (cipher, false)),
        }
    }

    fn create_key_file(path: &Path) -> Result<Self, KeyFileError> {
        let key = Key::<XChaCha20Poly1305>::generate();
        let text = STANDARD.encode(key.as_slice());
        let create = |source| KeyFileError::Create {
            path: path.into(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(create)?;
        file.write_all(text.as_bytes()).map_err(create)?;
        file.write_all(b"\n").map_err(create)?;
        file.sync_all().map_err(create)?;
        Ok(Self::from_bytes(key.into()))
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the store's Client-Id) so that a
    /// ciphertext copied onto another row does not decrypt.
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            // Encryption into a Vec fails only past the cipher's message limit (256 GiB).
            .expect("a secret is far below XChaCha20-Poly1305's message limit");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`Cipher::encrypt`] produced with the same key and context.
    pub fn decrypt(&self, stored: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = stored.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: context,
                },
            )
            .ok()
    }
}

#[cfg(unix)]
fn check_owner_only(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|source| KeyFileError::Read {
        path: path.into(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.into(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

/// What the database keeps of a handed-out secret: its SHA-256 in hex.
pub(crate) fn digest_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_round_trips_only_with_the_same_context() {
        let cipher = Cipher::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let sealed = cipher.encrypt(b"api-key", b"123456");
        assert!(!sealed.windows(7).any(|w| w == b"api-key"));
        assert_eq!(cipher.decrypt(&sealed, b"123456").unwrap(), b"api-key");
        assert!(cipher.decrypt(&sealed, b"654321").is_none());
    }

    #[test]
    fn the_same_secret_encrypts_differently_every_time() {
        let cipher = Cipher::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        assert_ne!(cipher.encrypt(b"k", b""), cipher.encrypt(b"k", b""));
    }

    #[test]
    fn a_short_or_malformed_key_is_refused() {
        assert!(matches!(
            Cipher::from_base64("abc"),
            Err(KeyFileError::BadKey)
        ));
        assert!(matches!(
            Cipher::from_base64(&STANDARD.encode([0u8; 16])),
            Err(KeyFileError::BadKey)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_file_is_private_and_gives_the_same_key_when_read_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ozontrack.key");
        let (first, created) = Cipher::load_or_create_key_file(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Cipher::load_key_file(&path).unwrap();
        assert_eq!(
            again.decrypt(&first.encrypt(b"x", b"c"), b"c").unwrap(),
            b"x"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ozontrack.key");
        Cipher::load_or_create_key_file(&path).unwrap();
        assert!(matches!(
            Cipher::load_key_file(&dir.path().join("nope")),
            Err(KeyFileError::Missing { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Cipher::load_key_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
