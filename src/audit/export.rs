//! Log slices for auditors, and their offline verification.
//!
//! An export is JSON Lines:
//! 1. a header `{"format":"lienthong-audit-export/1","checkpoint":<signed note>,…}`;
//! 2. one line per entry `{"entry":<the entry's canonical bytes, verbatim>,"proof":[<base64
//!    hashes>],"subject":…,"salt":…}` (or `"pseudonym":…` instead of subject and salt);
//! 3. a trailer `{"end":{"entries":N}}`, so that a cut file is told from a whole one.
//!
//! `verify` checks the checkpoint's signature, that the entries are consecutive, that each is
//! included in the checkpoint's tree, that each subject opens its commitment, and the count.

use super::entry::{AuditEntry, Sealed, subject_commitment};
use super::merkle::{self, Hash, MerkleError, Nodes};
use super::note::{Checkpoint, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// The format name in the header.
pub const FORMAT: &str = "lienthong-audit-export/1";

/// The first line of an export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// The signed checkpoint every entry is proven against.
    pub checkpoint: String,
    /// The first entry index of the slice (the entries follow without gaps).
    pub from_index: u64,
    /// One past the last entry index.
    pub to_index: u64,
    pub pseudonymised: bool,
    pub exported_at: String,
    /// The time range asked for (RFC 3339 as the log writes times), when one was: every entry's
    /// time must lie in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_time: Option<String>,
}

#[derive(Serialize)]
struct EntryLineOut<'a> {
    entry: &'a RawValue,
    proof: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    salt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pseudonym: Option<String>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    entry: Option<&'a RawValue>,
    #[serde(default)]
    proof: Vec<&'a str>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    salt: Option<&'a str>,
    #[serde(default)]
    pseudonym: Option<&'a str>,
    #[serde(default)]
    end: Option<End>,
}

#[derive(Serialize, Deserialize)]
struct End {
    entries: u64,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("entry {index}: {message}")]
    Entry { index: u64, message: String },
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// Reads nodes through a cache: consecutive proofs share most of their nodes.
struct Cached<'a, N: Nodes + ?Sized> {
    nodes: &'a N,
    cache: std::cell::RefCell<HashMap<(u8, u64), Hash>>,
}

impl<N: Nodes + ?Sized> Nodes for Cached<'_, N> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        if let Some(h) = self.cache.borrow().get(&(level, index)) {
            return Ok(*h);
        }
        let h = self.nodes.node(level, index)?;
        let mut c = self.cache.borrow_mut();
        if c.len() > 100_000 {
            c.clear();
        }
        c.insert((level, index), h);
        Ok(h)
    }
}

/// Writes a slice: `entries` gives `(index, canonical bytes, sealed part)` for consecutive
/// indexes from `header.from_index`, all below the checkpoint's size `size`.
pub fn write<W: Write, N: Nodes + ?Sized>(
    mut out: W,
    nodes: &N,
    header: &Header,
    size: u64,
    entries: impl Iterator<Item = Result<(u64, Vec<u8>, Option<Sealed>), ExportError>>,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportError> {
    let cached = Cached {
        nodes,
        cache: Default::default(),
    };
    let pseudonym_key: [u8; 32] = rand::random();
    serde_json::to_writer(&mut out, header).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    let mut count = 0u64;
    for item in entries {
        let (index, bytes, sealed) = item?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ExportError::Entry {
            index,
            message: "not UTF-8".into(),
        })?;
        let raw: &RawValue = serde_json::from_str(text).map_err(|e| ExportError::Entry {
            index,
            message: format!("not JSON: {e}"),
        })?;
        let proof = merkle::inclusion_proof(&cached, index, size)?;
        let subject = sealed.as_ref().and_then(|s| s.subject.as_deref());
        let line = if header.pseudonymised {
            EntryLineOut {
                entry: raw,
                proof: proof.iter().map(|h| B64.encode(h)).collect(),
                subject: None,
                salt: None,
                pseudonym: subject.map(|s| {
                    let mut h = Sha256::new();
                    h.update(pseudonym_key);
                    h.update(s.as_bytes());
                    format!("p-{}", &hex::encode(h.finalize())[..20])
                }),
            }
        } else {
            EntryLineOut {
                entry: raw,
                proof: proof.iter().map(|h| B64.encode(h)).collect(),
                subject,
                salt: subject.and(sealed.as_ref().map(|s| s.salt.as_str())),
                pseudonym: None,
            }
        };
        serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
        progress(count);
    }
    serde_json::to_writer(
        &mut out,
        &serde_json::json!({"end": End { entries: count }}),
    )
    .map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(count)
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub entries: u64,
    pub checkpoint_size: u64,
    pub from_index: u64,
    pub to_index: u64,
    /// Entries whose subject was opened against its commitment.
    pub subjects_checked: u64,
    pub pseudonymised: bool,
}

/// The first thing wrong with an export: its line (1-based), the entry index if known, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {reason}", index.map(|i| format!(" (entry {i})")).unwrap_or_default())]
pub struct Bad {
    pub line: u64,
    pub index: Option<u64>,
    pub reason: String,
}

/// The states `(fn, sn, r)` after each step of the last inclusion proof that verified, and
/// its proof: a later proof that reaches the same state with the same remaining proof leads
/// to the same, verified, root.
#[derive(Default)]
struct Memo {
    steps: Vec<(u64, u64, Hash)>,
    proof: Vec<Hash>,
}

fn check_inclusion(
    memo: &mut Memo,
    index: u64,
    size: u64,
    leaf: Hash,
    proof: Vec<Hash>,
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    let mut steps = Vec::with_capacity(proof.len());
    for (k, p) in proof.iter().enumerate() {
        if snode == 0 {
            return Err(MerkleError::Mismatch("the proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = merkle::node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = merkle::node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
        let state = (fnode, snode, r);
        if memo.steps.get(k) == Some(&state)
            && memo.proof.len() == proof.len()
            && memo.proof[k + 1..] == proof[k + 1..]
        {
            return Ok(());
        }
        steps.push(state);
    }
    if snode != 0 {
        return Err(MerkleError::Mismatch("the proof is too short"));
    }
    if r != *root {
        return Err(MerkleError::Mismatch(
            "the entry and its proof lead to another root than the checkpoint's",
        ));
    }
    *memo = Memo { steps, proof };
    Ok(())
}

fn decode_hash(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    match B64.decode_slice(s, &mut out) {
        Ok(32) => Some(out),
        _ => None,
    }
}

/// Verifies an export read from `input` against the log's verifier key. `progress` is
/// called with the bytes read so far, every few thousand lines.
pub fn verify<R: BufRead>(
    mut input: R,
    verifier: &Verifier,
    mut progress: impl FnMut(u64),
) -> Result<Verified, Bad> {
    let bad = |line: u64, index: Option<u64>, reason: String| Bad {
        line,
        index,
        reason,
    };
    let mut buf = String::new();
    let read = std::cell::Cell::new(0u64);
    let mut next_line = |buf: &mut String| -> Result<bool, String> {
        buf.clear();
        match input.read_line(buf) {
            Ok(0) => Ok(false),
            Ok(n) => {
                read.set(read.get() + n as u64);
                Ok(true)
            }
            Err(e) => Err(format!("cannot read: {e}")),
        }
    };
    if !next_line(&mut buf).map_err(|r| bad(1, None, r))? {
        return Err(bad(1, None, "the file is empty".into()));
    }
    let header: Header = serde_json::from_str(&buf)
        .map_err(|e| bad(1, None, format!("not an export header: {e}")))?;
    if header.format != FORMAT {
        return Err(bad(
            1,
            None,
            format!("format {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    let cp = Checkpoint::verify(&header.checkpoint, verifier)
        .map_err(|e| bad(1, None, format!("checkpoint: {e}")))?;
    if header.to_index > cp.size || header.from_index > header.to_index {
        return Err(bad(
            1,
            None,
            format!(
                "the slice [{}, {}) is not within the checkpoint's {} entries",
                header.from_index, header.to_index, cp.size
            ),
        ));
    }
    let mut memo = Memo::default();
    let mut expected = header.from_index;
    let mut line_no = 1u64;
    let mut subjects = 0u64;
    let mut last_time = String::new();
    loop {
        line_no += 1;
        if !next_line(&mut buf).map_err(|r| bad(line_no, None, r))? {
            return Err(bad(
                line_no,
                None,
                "the file ends without its trailer: it was cut short".into(),
            ));
        }
        let line: Line = serde_json::from_str(&buf)
            .map_err(|e| bad(line_no, None, format!("not a line of an export: {e}")))?;
        if let Some(end) = line.end {
            let count = expected - header.from_index;
            if end.entries != count {
                return Err(bad(
                    line_no,
                    None,
                    format!(
                        "the trailer counts {} entries, the file has {count}",
                        end.entries
                    ),
                ));
            }
            if expected != header.to_index {
                return Err(bad(
                    line_no,
                    None,
                    format!(
                        "the slice should end before entry {}, it ends before {expected}",
                        header.to_index
                    ),
                ));
            }
            if next_line(&mut buf).map_err(|r| bad(line_no + 1, None, r))? && !buf.trim().is_empty()
            {
                return Err(bad(line_no + 1, None, "text after the trailer".into()));
            }
            progress(read.get());
            return Ok(Verified {
                entries: count,
                checkpoint_size: cp.size,
                from_index: header.from_index,
                to_index: header.to_index,
                subjects_checked: subjects,
                pseudonymised: header.pseudonymised,
            });
        }
        let Some(raw) = line.entry else {
            return Err(bad(
                line_no,
                None,
                "neither an entry nor the trailer".into(),
            ));
        };
        let entry: AuditEntry = serde_json::from_str(raw.get())
            .map_err(|e| bad(line_no, None, format!("the entry is not readable: {e}")))?;
        let index = Some(entry.index);
        if entry.index != expected {
            let reason = if entry.index > expected {
                format!(
                    "entry {expected} is missing (this line holds entry {})",
                    entry.index
                )
            } else {
                format!(
                    "entry {} is out of order or repeated (expected {expected})",
                    entry.index
                )
            };
            return Err(bad(line_no, index, reason));
        }
        if header.from_time.as_ref().is_some_and(|f| entry.time < *f)
            || header.to_time.as_ref().is_some_and(|t| entry.time >= *t)
        {
            return Err(bad(
                line_no,
                index,
                format!("its time {} is outside the slice's time range", entry.time),
            ));
        }
        if entry.time < last_time {
            return Err(bad(
                line_no,
                index,
                format!("its time {} is earlier than the entry before", entry.time),
            ));
        }
        last_time = entry.time.clone();
        if entry.index >= header.to_index {
            return Err(bad(
                line_no,
                index,
                "beyond the slice the header names".into(),
            ));
        }
        let proof: Option<Vec<Hash>> = line.proof.iter().map(|p| decode_hash(p)).collect();
        let Some(proof) = proof else {
            return Err(bad(
                line_no,
                index,
                "a proof hash is not base64 of 32 bytes".into(),
            ));
        };
        // The entry is hashed as written; an entry changed in any byte, or re-encoded, leads
        // to another leaf.
        let leaf = merkle::leaf_hash(raw.get().as_bytes());
        check_inclusion(&mut memo, entry.index, cp.size, leaf, proof, &cp.root).map_err(|e| {
            bad(
                line_no,
                index,
                format!("not in the log of the checkpoint (size {}): {e}", cp.size),
            )
        })?;
        if header.pseudonymised && (line.subject.is_some() || line.salt.is_some()) {
            return Err(bad(
                line_no,
                index,
                "a pseudonymised export carries a subject in clear".into(),
            ));
        }
        match (&line.subject, line.salt, &entry.subject_commitment) {
            (Some(s), Some(salt), Some(c)) => {
                let opened = subject_commitment(salt, s)
                    .map_err(|e| bad(line_no, index, format!("subject: {e}")))?;
                if opened != *c {
                    return Err(bad(
                        line_no,
                        index,
                        "the subject does not open the entry's subject commitment".into(),
                    ));
                }
                subjects += 1;
            }
            (Some(_), _, _) => {
                return Err(bad(
                    line_no,
                    index,
                    "a subject without its salt or without a commitment in the entry".into(),
                ));
            }
            _ => {}
        }
        if line.pseudonym.is_some() && entry.subject_commitment.is_none() {
            return Err(bad(
                line_no,
                index,
                "a pseudonym for an entry without a subject".into(),
            ));
        }
        expected += 1;
        if expected.is_multiple_of(8192) {
            progress(read.get());
        }
    }
}

#[cfg(test)]
mod tests;
