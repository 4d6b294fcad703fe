//! The hub's Ed25519 key: it signs audit checkpoints and the answers given to consumers.
//!
//! The key file holds the 32-byte seed in base64 on one line. The hub creates it (mode 0600)
//! on first start when the configured file does not exist; keep it secret and backed up with
//! the data directory: the published verifier key is derived from it.
//!
//! Answers are signed with AWS-LC's Ed25519 (already in the binary for TLS), about twice as fast
//! as `ed25519-dalek` on this project's machines (8.2 against 15.3 µs a signature); Ed25519 is
//! deterministic, and a test checks that both give the same signatures.

pub mod note;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use note::{NoteError, Verifier};
use std::path::{Path, PathBuf};

/// Why the key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signing key {path}: not base64 of a 32-byte Ed25519 seed")]
    Format { path: PathBuf },
    #[error("signing key: {0}")]
    Name(#[from] NoteError),
    #[error("signing key: the Ed25519 library refused the seed: {0}")]
    Rejected(String),
}

/// The hub's signing key and the name it signs under.
pub struct HubKey {
    name: String,
    key: SigningKey,
    /// The same key, for signing answers.
    fast: aws_lc_rs::signature::Ed25519KeyPair,
    verifier: Verifier,
}

impl std::fmt::Debug for HubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubKey")
            .field("name", &self.name)
            .field("verifier", &self.verifier.encode())
            .finish_non_exhaustive()
    }
}

impl HubKey {
    /// A key from its seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<HubKey, KeyError> {
        let key = SigningKey::from_bytes(&seed);
        let verifier = Verifier::new(name, key.verifying_key())?;
        let fast = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(HubKey {
            name: name.to_string(),
            key,
            fast,
            verifier,
        })
    }

    /// Reads the key file, or creates it with a fresh random seed when it does not exist.
    pub fn load_or_create(name: &str, path: &Path) -> Result<HubKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let seed: [u8; 32] = B64
                    .decode(text.trim())
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| KeyError::Format {
                        path: path.to_path_buf(),
                    })?;
                HubKey::from_seed(name, seed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed: [u8; 32] = rand::random();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_secret(path, &format!("{}\n", B64.encode(seed))).map_err(io)?;
                tracing::info!(path = %path.display(), "created the hub's signing key");
                HubKey::from_seed(name, seed)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The name it signs under (the audit log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Its verifier key (`name+id+base64`), as published at `/v1/keys`.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// A detached Ed25519 signature over `bytes`, base64.
    pub fn sign_b64(&self, bytes: &[u8]) -> String {
        B64.encode(self.fast.sign(bytes).as_ref())
    }
}

#[cfg(unix)]
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    #[test]
    fn both_ed25519_implementations_give_the_same_signatures() {
        for round in 0u8..50 {
            let seed: [u8; 32] = rand::random();
            let key = HubKey::from_seed("lienthong.test/audit", seed).unwrap();
            let msg: Vec<u8> = (0..(round as usize * 37))
                .map(|i| i as u8 ^ round)
                .collect();
            let ours = B64.decode(key.sign_b64(&msg)).unwrap();
            assert_eq!(ours, key.signing_key().sign(&msg).to_bytes().to_vec());
            let sig = ed25519_dalek::Signature::from_slice(&ours).unwrap();
            key.signing_key()
                .verifying_key()
                .verify_strict(&msg, &sig)
                .unwrap();
        }
    }
}
