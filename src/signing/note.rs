//! Signed checkpoints in the C2SP formats: `tlog-checkpoint` (origin line, tree size, base64
//! root hash) as the body of a `signed-note` with Ed25519 signatures.
//!
//! A note is its text (lines ending in `\n`), a blank line, and signature lines
//! `— <key name> <base64(key id ‖ signature)>`. The key id is the first four bytes of
//! `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)`; a verifier key is written
//! `<name>+<key id, 8 hex digits>+<base64(0x01 ‖ public key)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The algorithm byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// Why a note or a key could not be read or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed verifier key: {0}")]
    Key(String),
    #[error("no signature by key {0} on the note")]
    Unsigned(String),
    #[error("the signature by key {0} does not verify")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// A key that checks signatures on notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    /// From a name and an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Verifier, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key(format!(
                "key name {name:?} must be non-empty, without spaces or '+'"
            )));
        }
        Ok(Verifier {
            name: name.to_string(),
            id: key_id(name, key.as_bytes()),
            key,
        })
    }

    /// Reads `<name>+<hex id>+<base64(0x01 ‖ key)>`.
    pub fn parse(text: &str) -> Result<Verifier, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key(
                "expected <name>+<key id>+<base64 key>".into(),
            ));
        };
        let bytes = B64
            .decode(key)
            .map_err(|e| NoteError::Key(format!("the key is not base64: {e}")))?;
        if bytes.len() != 33 || bytes[0] != ALG_ED25519 {
            return Err(NoteError::Key(
                "the key is not an Ed25519 key (0x01 followed by 32 bytes)".into(),
            ));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&bytes[1..]);
        let key = VerifyingKey::from_bytes(&pk)
            .map_err(|e| NoteError::Key(format!("not a valid Ed25519 public key: {e}")))?;
        let v = Verifier::new(name, key)?;
        if hex::encode(v.id) != id.to_ascii_lowercase() {
            return Err(NoteError::Key(format!(
                "the key id {id} does not match the name and key (expected {})",
                hex::encode(v.id)
            )));
        }
        Ok(v)
    }

    /// The verifier key in text form.
    pub fn encode(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(k))
    }

    /// The public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// Signs `text` (which must end in a newline) as a note by `name`.
pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    if !text.ends_with('\n') || text.contains("\n\n") || text.is_empty() {
        return Err(NoteError::Malformed(
            "the text must be non-empty lines each ending in a newline, none blank".into(),
        ));
    }
    let v = Verifier::new(name, key.verifying_key())?;
    let sig = key.sign(text.as_bytes());
    let mut blob = v.id.to_vec();
    blob.extend_from_slice(&sig.to_bytes());
    Ok(format!("{text}\n\u{2014} {name} {}\n", B64.encode(blob)))
}

/// A signature line: the key name and `key id ‖ signature`.
type SignatureLine<'a> = (&'a str, Vec<u8>);

/// Splits a signed note into its text and its signature lines.
fn split(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    let Some(at) = note.rfind("\n\n") else {
        return Err(NoteError::Malformed(
            "no blank line between the text and the signatures".into(),
        ));
    };
    let (text, sigs) = (&note[..at + 1], &note[at + 2..]);
    if !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the last signature line does not end in a newline".into(),
        ));
    }
    let mut out = Vec::new();
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err(NoteError::Malformed(format!(
                "signature line {line:?} does not start with an em dash and a space"
            )));
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(NoteError::Malformed(format!(
                "signature line {line:?} has no signature"
            )));
        };
        let blob = B64
            .decode(b64)
            .map_err(|e| NoteError::Malformed(format!("signature of {name} is not base64: {e}")))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed(format!(
                "signature of {name} is too short"
            )));
        }
        out.push((name, blob));
    }
    if out.is_empty() {
        return Err(NoteError::Malformed("the note has no signature".into()));
    }
    Ok((text, out))
}

/// Checks a note's signature by `verifier`; returns its text.
pub fn open<'a>(note: &'a str, verifier: &Verifier) -> Result<&'a str, NoteError> {
    let (text, sigs) = split(note)?;
    for (name, blob) in sigs {
        if name != verifier.name || blob[..4] != verifier.id {
            continue;
        }
        let sig: [u8; 64] = blob[4..]
            .try_into()
            .map_err(|_| NoteError::BadSignature(verifier.name.clone()))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        return verifier
            .key
            .verify_strict(text.as_bytes(), &sig)
            .map(|()| text)
            .map_err(|_| NoteError::BadSignature(verifier.name.clone()));
    }
    Err(NoteError::Unsigned(verifier.encode()))
}

/// A tree head: `origin`, `size`, `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

impl Checkpoint {
    /// The checkpoint's text (the note body).
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Reads a checkpoint's text (extension lines after the root are allowed and ignored).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::Checkpoint("the origin line is empty".into()));
        }
        let size = lines.next().unwrap_or_default();
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(NoteError::Checkpoint(format!(
                "the tree size {size:?} is not a decimal number"
            )));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| NoteError::Checkpoint(format!("the tree size {size} is too large")))?;
        let root = lines.next().unwrap_or_default();
        let root: [u8; 32] = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| {
                NoteError::Checkpoint(format!("the root hash {root:?} is not base64 of 32 bytes"))
            })?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// Checks a signed checkpoint by `verifier` and reads it; its origin must be the key name.
    pub fn verify(note: &str, verifier: &Verifier) -> Result<Checkpoint, NoteError> {
        let text = open(note, verifier)?;
        let c = Checkpoint::parse(text)?;
        if c.origin != verifier.name {
            return Err(NoteError::Checkpoint(format!(
                "the checkpoint's origin {:?} is not the key's name {:?}",
                c.origin, verifier.name
            )));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn sign_and_open_a_checkpoint() {
        let c = Checkpoint {
            origin: "lienthong.test/audit".into(),
            size: 12,
            root: [9u8; 32],
        };
        let note = sign(&c.text(), &c.origin, &key()).unwrap();
        assert!(note.starts_with("lienthong.test/audit\n12\n"));
        assert!(note.contains("\n\n\u{2014} lienthong.test/audit "));
        let v = Verifier::new(&c.origin, key().verifying_key()).unwrap();
        assert_eq!(Checkpoint::verify(&note, &v).unwrap(), c);
        // The verifier key round-trips through its text form.
        assert_eq!(Verifier::parse(&v.encode()).unwrap(), v);
    }

    /// The published vector of golang.org/x/mod `sumdb/note/note_test.go` (BSD-3-Clause):
    /// key `PeterNeumann`, its verifier key, the signed text and the signature line.
    #[test]
    fn the_published_signed_note_vector() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let signed = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        let v = Verifier::parse(vkey).unwrap();
        assert_eq!(v.encode(), vkey);
        assert_eq!(open(&signed, &v).unwrap(), text);
        let seed = B64.decode(skey.splitn(5, '+').nth(4).unwrap()).unwrap();
        assert_eq!(seed[0], ALG_ED25519);
        let key = SigningKey::from_bytes(&seed[1..].try_into().unwrap());
        assert_eq!(sign(text, "PeterNeumann", &key).unwrap(), signed);
        // Keys the same tests reject: a wrong length, an unknown algorithm.
        assert!(
            Verifier::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert!(
            Verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .is_err()
        );
    }

    #[test]
    fn tampered_notes_do_not_verify() {
        let c = Checkpoint {
            origin: "o".into(),
            size: 3,
            root: [1u8; 32],
        };
        let note = sign(&c.text(), "o", &key()).unwrap();
        let v = Verifier::new("o", key().verifying_key()).unwrap();
        let bigger = note.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(
            Checkpoint::verify(&bigger, &v),
            Err(NoteError::BadSignature("o".into()))
        );
        let other = Verifier::new("o", SigningKey::from_bytes(&[8u8; 32]).verifying_key()).unwrap();
        assert!(matches!(
            Checkpoint::verify(&note, &other),
            Err(NoteError::Unsigned(_))
        ));
        assert!(matches!(
            Checkpoint::verify("o\n3\n", &v),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(
            Checkpoint::parse("o\n03\nAAAA\n"),
            Err(NoteError::Checkpoint(_))
        ));
        assert!(matches!(
            Verifier::parse("o+00000000+AQ=="),
            Err(NoteError::Key(_))
        ));
    }
}
