//! The audit log's trees.
//!
//! `audit` holds the log proper, never rewritten: `e ‖ index` → the entry's leaf hash (32
//! bytes) followed by its canonical bytes, `n ‖ level ‖ index` → the hash of a complete subtree
//! of level 1 or more (level 0 is the leaf hash kept with the entry), `c ‖ size` → the signed
//! checkpoint of that size. `audit_side` holds what can be purged or rebuilt: `s ‖ index` → the
//! sealed part (salt, subject, payload), and look-ups `S ‖ subject`, `M ‖ member` and
//! `X ‖ exchange id`, each followed by `0 ‖ first index` → the further indexes of the same
//! run of the indexer with that value (packed u64), so that a member's many entries cost one
//! write; `W` → the index below which look-ups are written. Integers are big-endian.

use super::{Store, StoreError, sled_err};
use crate::audit::merkle::{Hash, MerkleError, Nodes};

pub(crate) fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

pub(crate) fn node_key(level: u8, index: u64) -> [u8; 10] {
    let mut k = [b'n'; 10];
    k[1] = level;
    k[2..].copy_from_slice(&index.to_be_bytes());
    k
}

pub(crate) fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [b'c'; 9];
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

pub(crate) fn sealed_key(index: u64) -> [u8; 9] {
    let mut k = [b's'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// A look-up key: `kind ‖ value ‖ 0 ‖ index`.
pub(crate) fn lookup_key(kind: u8, value: &str, index: u64) -> Vec<u8> {
    let mut k = lookup_prefix(kind, value);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn lookup_prefix(kind: u8, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(value.len() + 10);
    k.push(kind);
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

fn tail_index(k: &[u8]) -> u64 {
    let n = k.len();
    if n < 8 {
        return 0;
    }
    u64::from_be_bytes(k[n - 8..].try_into().unwrap_or_default())
}

/// The indexes packed in a look-up's value (u64 big-endian each).
fn unpack(v: &[u8]) -> impl Iterator<Item = u64> + '_ {
    v.chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
}

/// Writes to the audit trees, made by the log and applied by a group commit.
#[derive(Debug, Default, Clone)]
pub struct AuditWrites {
    pub log: Vec<(Vec<u8>, Vec<u8>)>,
    pub side: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Which look-up to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Subject,
    Member,
    Exchange,
}

impl Lookup {
    pub(crate) fn kind(self) -> u8 {
        match self {
            Lookup::Subject => b'S',
            Lookup::Member => b'M',
            Lookup::Exchange => b'X',
        }
    }
}

impl Store {
    /// The number of entries in the log (one past the last index).
    pub fn audit_size(&self) -> Result<u64, StoreError> {
        let last = self
            .audit
            .scan_prefix([b'e'])
            .next_back()
            .transpose()
            .map_err(sled_err("read the audit log's size"))?;
        Ok(last.map(|(k, _)| tail_index(&k) + 1).unwrap_or(0))
    }

    /// The canonical bytes of entry `index`.
    pub fn audit_entry_bytes(&self, index: u64) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self
            .audit
            .get(entry_key(index))
            .map_err(sled_err("read an audit entry"))?
            .map(|v| sled::IVec::from(v.get(32..).unwrap_or_default())))
    }

    /// Entries `[from, to)` in order, as `(index, canonical bytes)`.
    pub fn audit_entries(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<(u64, sled::IVec), StoreError>> + use<> {
        self.audit.range(entry_key(from)..entry_key(to)).map(|r| {
            let (k, v) = r.map_err(sled_err("read audit entries"))?;
            Ok((
                tail_index(&k),
                sled::IVec::from(v.get(32..).unwrap_or_default()),
            ))
        })
    }

    /// The sealed part of entry `index`, unless purged.
    pub fn audit_sealed_bytes(&self, index: u64) -> Result<Option<sled::IVec>, StoreError> {
        self.audit_side
            .get(sealed_key(index))
            .map_err(sled_err("read a sealed audit part"))
    }

    /// Purges the sealed part of an entry (salt, subject, payload) and its look-up by subject;
    /// the entry and the log are unchanged and still verify. Durable when it returns.
    pub fn audit_purge(&self, index: u64, subject: Option<&str>) -> Result<bool, StoreError> {
        let mut batch = sled::Batch::default();
        let found = self
            .audit_side
            .get(sealed_key(index))
            .map_err(sled_err("purge a sealed audit part"))?
            .is_some();
        batch.remove(&sealed_key(index));
        if let Some(s) = subject
            && let Some((k, first, rest)) = self.lookup_group_at(Lookup::Subject, s, index)
            && (first == index || rest.contains(&index))
        {
            batch.remove(k);
            let left: Vec<u64> = std::iter::once(first)
                .chain(rest)
                .filter(|i| *i != index)
                .collect();
            if let Some((head, tail)) = left.split_first() {
                let packed: Vec<u8> = tail.iter().flat_map(|i| i.to_be_bytes()).collect();
                batch.insert(lookup_key(Lookup::Subject.kind(), s, *head), packed);
            }
        }
        self.audit_side
            .apply_batch(batch)
            .map_err(sled_err("purge a sealed audit part"))?;
        self.flush()?;
        Ok(found)
    }

    /// Indexes of the entries with a look-up value, ascending, from `from` on.
    pub fn audit_lookup(
        &self,
        lookup: Lookup,
        value: &str,
        from: u64,
    ) -> impl Iterator<Item = Result<u64, StoreError>> + use<> {
        let prefix = lookup_prefix(lookup.kind(), value);
        let mut end = prefix.clone();
        // The byte after the separator: every key with this prefix sorts below it.
        if let Some(last) = end.last_mut() {
            *last = 1;
        }
        // The group that starts at or before `from` may hold indexes from `from` on.
        let start = match self.lookup_group_at(lookup, value, from) {
            Some((k, _, _)) => k,
            None => lookup_key(lookup.kind(), value, from),
        };
        // Only keys of exactly this value: a value that continues past the separator (one with
        // a NUL in it) is another value.
        let key_len = prefix.len() + 8;
        self.audit_side
            .range(start..end)
            .filter(move |r| r.as_ref().map_or(true, |(k, _)| k.len() == key_len))
            .flat_map(|r| {
                let group: Vec<Result<u64, StoreError>> = match r {
                    Ok((k, v)) => std::iter::once(tail_index(&k))
                        .chain(unpack(&v))
                        .map(Ok)
                        .collect(),
                    Err(e) => vec![Err(StoreError::Sled {
                        action: "read an audit look-up",
                        source: e,
                    })],
                };
                group
            })
            .filter(move |r| r.as_ref().map_or(true, |i| *i >= from))
    }

    /// The group of look-ups of `value` that starts last at or before `index` (the one that
    /// can hold it): its key, its first index and the further ones.
    fn lookup_group_at(
        &self,
        lookup: Lookup,
        value: &str,
        index: u64,
    ) -> Option<(Vec<u8>, u64, Vec<u64>)> {
        let prefix = lookup_prefix(lookup.kind(), value);
        let exact = prefix.len() + 8;
        match self
            .audit_side
            .range(prefix..=lookup_key(lookup.kind(), value, index))
            .rev()
            .find(|r| r.as_ref().map_or(true, |(k, _)| k.len() == exact))
        {
            Some(Ok((k, v))) => Some((k.to_vec(), tail_index(&k), unpack(&v).collect())),
            _ => None,
        }
    }

    /// Entries below this index have their look-ups written.
    pub fn audit_indexed(&self) -> Result<u64, StoreError> {
        Ok(self
            .audit_side
            .get([b'W'])
            .map_err(sled_err("read the audit index mark"))?
            .map(|v| tail_index(&v))
            .unwrap_or(0))
    }

    /// Writes look-ups and moves the index mark to `upto`, atomically (not flushed: look-ups
    /// lost in a crash are written again from the mark).
    pub fn put_audit_lookups(
        &self,
        lookups: Vec<(Vec<u8>, Vec<u8>)>,
        upto: u64,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in lookups {
            batch.insert(k, v);
        }
        batch.insert(b"W", &upto.to_be_bytes());
        self.audit_side
            .apply_batch(batch)
            .map_err(sled_err("write audit look-ups"))
    }

    /// Stores a signed checkpoint and makes it durable.
    pub fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        self.audit
            .insert(checkpoint_key(size), note.as_bytes())
            .map_err(sled_err("store a checkpoint"))?;
        self.flush()
    }

    /// The checkpoint of a size, if one was made.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .audit
            .get(checkpoint_key(size))
            .map_err(sled_err("read a checkpoint"))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The latest checkpoint `(size, note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let last = self
            .audit
            .scan_prefix([b'c'])
            .next_back()
            .transpose()
            .map_err(sled_err("read the latest checkpoint"))?;
        Ok(last.map(|(k, v)| (tail_index(&k), String::from_utf8_lossy(&v).into_owned())))
    }

    /// Checkpoints with a size above `after`, ascending, at most `limit`.
    pub fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        self.audit
            .range(checkpoint_key(after.saturating_add(1))..checkpoint_key(u64::MAX))
            .take(limit)
            .map(|r| {
                let (k, v) = r.map_err(sled_err("list checkpoints"))?;
                Ok((tail_index(&k), String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }

    /// Applies audit writes outside a group commit (the log's own tests and tools).
    pub fn apply_audit_writes(&self, w: &AuditWrites) -> Result<(), StoreError> {
        let mut log = sled::Batch::default();
        for (k, v) in &w.log {
            log.insert(k.as_slice(), v.as_slice());
        }
        let mut side = sled::Batch::default();
        for (k, v) in &w.side {
            side.insert(k.as_slice(), v.as_slice());
        }
        self.audit
            .apply_batch(log)
            .map_err(sled_err("append to the audit log"))?;
        self.audit_side
            .apply_batch(side)
            .map_err(sled_err("append to the audit log"))?;
        Ok(())
    }

    /// Raw access to the log tree, for tamper tests and offline tools.
    #[doc(hidden)]
    pub fn audit_tree(&self) -> &sled::Tree {
        &self.audit
    }
}

impl Nodes for Store {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let key = if level == 0 {
            entry_key(index).to_vec()
        } else {
            node_key(level, index).to_vec()
        };
        let v = self
            .audit
            .get(key)
            .map_err(|e| MerkleError::Store(e.to_string()))?
            .ok_or(MerkleError::MissingNode { level, index })?;
        v.get(..32)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| MerkleError::Store(format!("node ({level}, {index}) is not 32 bytes")))
    }
}
