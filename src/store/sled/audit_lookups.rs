//! Look-ups of the audit log, in sled's `audit_side` tree.
//!
//! Look-ups (by subject, member and exchange id) are hashed into buckets so that they cost
//! sled keys per bucket, not per entry: `kind ‖ block u32 ‖ bucket u16 ‖ first index u64` → up
//! to `CHUNK` postings `(value hash u64, index u64)`, ascending by index (a block is 2^18
//! entries); the indexer appends to a bucket's last chunk and starts a new one when it is full.
//! A value's entries are found by reading its bucket's chunks in each block and keeping the
//! postings with its hash (the query checks each entry found against the criterion itself).
//! Integers are big-endian.

use super::audit::tail_index;
use super::{SledStore, sled_err};
use crate::store::StoreError;
use crate::store::types::Lookup;
use sha2::{Digest, Sha256};

/// Postings per look-up chunk (16 bytes each).
const CHUNK: usize = 64;
/// Buckets per kind of look-up (a power of two).
const BUCKETS: u64 = 4096;
/// Entries are grouped in blocks of 2^18 indexes (a look-up key's block), so that a value's
/// postings of one block share a key prefix.
const BLOCK_BITS: u32 = 18;

/// The `audit_side` tree's key of the index below which look-ups are written.
const INDEXED_KEY: &[u8] = b"W";

impl Lookup {
    pub(crate) fn kind(self) -> u8 {
        match self {
            Lookup::Subject => b'S',
            Lookup::Member => b'M',
            Lookup::Exchange => b'X',
        }
    }
}

/// A look-up value's hash (the first 8 bytes of SHA-256 over kind and value).
pub(crate) fn value_hash(lookup: Lookup, value: &str) -> u64 {
    let mut h = Sha256::new();
    h.update([lookup.kind()]);
    h.update(value.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or_default())
}

/// The block of an index: look-ups are grouped by block first, so that the chunks the indexer
/// appends to are all in one region of the tree (a working set of a few megabytes, whatever the
/// size of the log) and not spread over every bucket's history.
fn block_of(index: u64) -> u32 {
    (index >> BLOCK_BITS) as u32
}

fn bucket_prefix(lookup: Lookup, hash: u64, block: u32) -> [u8; 7] {
    let bucket = (hash >> 52) as u16 & (BUCKETS as u16 - 1);
    let mut p = [0u8; 7];
    p[0] = lookup.kind();
    p[1..5].copy_from_slice(&block.to_be_bytes());
    p[5..].copy_from_slice(&bucket.to_be_bytes());
    p
}

fn chunk_key(prefix: &[u8; 7], first: u64) -> [u8; 15] {
    let mut k = [0u8; 15];
    k[..7].copy_from_slice(prefix);
    k[7..].copy_from_slice(&first.to_be_bytes());
    k
}

fn postings(v: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    v.chunks_exact(16).map(|c| {
        (
            u64::from_be_bytes(c[..8].try_into().unwrap_or_default()),
            u64::from_be_bytes(c[8..].try_into().unwrap_or_default()),
        )
    })
}

fn pack(p: &[(u64, u64)]) -> Vec<u8> {
    p.iter()
        .flat_map(|(h, i)| h.to_be_bytes().into_iter().chain(i.to_be_bytes()))
        .collect()
}

impl SledStore {
    /// Removes the posting of entry `index` from `subject`'s look-up (a purge). Not flushed.
    pub(super) fn remove_subject_lookup(
        &self,
        index: u64,
        subject: &str,
    ) -> Result<(), StoreError> {
        let hash = value_hash(Lookup::Subject, subject);
        let prefix = bucket_prefix(Lookup::Subject, hash, block_of(index));
        if let Some((k, v)) = self.chunk_at(&prefix, index)? {
            let left: Vec<(u64, u64)> = postings(&v).filter(|p| *p != (hash, index)).collect();
            let result = if left.is_empty() {
                self.audit_side.remove(k).map(|_| ())
            } else {
                self.audit_side.insert(k, pack(&left)).map(|_| ())
            };
            result.map_err(sled_err("purge an audit look-up"))?;
        }
        Ok(())
    }

    /// The chunk of a bucket that starts last at or before `index` (the one that holds or would
    /// hold it).
    fn chunk_at(
        &self,
        prefix: &[u8; 7],
        index: u64,
    ) -> Result<Option<(sled::IVec, sled::IVec)>, StoreError> {
        self.audit_side
            .range(chunk_key(prefix, 0)..=chunk_key(prefix, index))
            .next_back()
            .transpose()
            .map_err(sled_err("read an audit look-up"))
    }

    /// Indexes of the entries with a look-up value, ascending, from `from` on. May hold
    /// indexes of other values with the same hash (never seen in practice: 64 bits), which the
    /// caller filters out.
    pub fn audit_lookup(
        &self,
        lookup: Lookup,
        value: &str,
        from: u64,
    ) -> impl Iterator<Item = Result<u64, StoreError>> + use<> {
        let hash = value_hash(lookup, value);
        let side = self.audit_side.clone();
        // The chunk that starts last at or before `from` may hold indexes from `from` on; the
        // later blocks are read whole.
        let (start, failed) =
            match self.chunk_at(&bucket_prefix(lookup, hash, block_of(from)), from) {
                Ok(Some((k, _))) => (tail_index(&k), None),
                Ok(None) => (from, None),
                Err(e) => (from, Some(Err(e))),
            };
        // Look-ups are written below the indexer's mark, itself below the log's size.
        let mark = self.audit_indexed().unwrap_or(0);
        let last = block_of(self.audit_files.committed().max(mark));
        failed
            .into_iter()
            .chain((block_of(from)..=last).flat_map(move |e| {
                let prefix = bucket_prefix(lookup, hash, e);
                let lo = if e == block_of(from) { start } else { 0 };
                side.range(chunk_key(&prefix, lo)..=chunk_key(&prefix, u64::MAX))
                    .flat_map(move |r| {
                        let found: Vec<Result<u64, StoreError>> = match r {
                            Ok((_, v)) => postings(&v)
                                .filter(|(h, i)| *h == hash && *i >= from)
                                .map(|(_, i)| Ok(i))
                                .collect(),
                            Err(e) => vec![Err(StoreError::Engine {
                                action: "read an audit look-up",
                                source: Box::new(e),
                            })],
                        };
                        found
                    })
            }))
    }

    /// Entries below this index have their look-ups written.
    pub fn audit_indexed(&self) -> Result<u64, StoreError> {
        Ok(self
            .audit_side
            .get(INDEXED_KEY)
            .map_err(sled_err("read the audit index mark"))?
            .map(|v| tail_index(&v))
            .unwrap_or(0))
    }

    /// Writes look-ups `(kind, value, index)` (indexes ascending, all above those written
    /// before) and moves the index mark to `upto`, atomically (not flushed: look-ups lost in a
    /// crash are written again from the mark). Only the indexer calls this.
    pub fn put_audit_lookups(
        &self,
        lookups: Vec<(Lookup, String, u64)>,
        upto: u64,
    ) -> Result<(), StoreError> {
        let mut by_bucket: std::collections::BTreeMap<[u8; 7], Vec<(u64, u64)>> =
            std::collections::BTreeMap::new();
        for (l, value, index) in lookups {
            let hash = value_hash(l, &value);
            by_bucket
                .entry(bucket_prefix(l, hash, block_of(index)))
                .or_default()
                .push((hash, index));
        }
        let mut batch = sled::Batch::default();
        for (prefix, mut new) in by_bucket {
            // In order of index; a look-up repeated within the batch is written once.
            new.sort_by_key(|p| (p.1, p.0));
            new.dedup();
            let mut rest = &new[..];
            if let Some((k, v)) = self.chunk_at(&prefix, u64::MAX)?
                && v.len() / 16 < CHUNK
            {
                let room = (CHUNK - v.len() / 16).min(rest.len());
                let mut value = v.to_vec();
                value.extend_from_slice(&pack(&rest[..room]));
                batch.insert(k, value);
                rest = &rest[room..];
            }
            for chunk in rest.chunks(CHUNK) {
                batch.insert(&chunk_key(&prefix, chunk[0].1), pack(chunk));
            }
        }
        batch.insert(INDEXED_KEY, &upto.to_be_bytes());
        self.audit_side
            .apply_batch(batch)
            .map_err(sled_err("write audit look-ups"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn found(store: &SledStore, l: Lookup, v: &str, from: u64) -> Vec<u64> {
        store.audit_lookup(l, v, from).map(|r| r.unwrap()).collect()
    }

    #[test]
    fn look_ups_span_chunks_keep_order_and_separate_values() {
        let (_dir, store) = store();
        // One member on every entry (many chunks of its bucket), a subject on every third,
        // and an exchange id per pair, written in runs of uneven length as the indexer does.
        let mut next = 0u64;
        for run in [1u64, 7, 300, 2, 1000, 5] {
            let mut l = Vec::new();
            for i in next..next + run {
                l.push((Lookup::Member, "000.00.00.H42".to_string(), i));
                if i % 3 == 0 {
                    l.push((Lookup::Subject, format!("0421920{:05}", i % 50), i));
                }
                l.push((Lookup::Exchange, format!("x-{}", i / 2), i));
            }
            next += run;
            store.put_audit_lookups(l, next).unwrap();
        }
        assert_eq!(store.audit_indexed().unwrap(), next);
        let all = found(&store, Lookup::Member, "000.00.00.H42", 0);
        assert_eq!(all, (0..next).collect::<Vec<_>>());
        assert_eq!(
            found(&store, Lookup::Member, "000.00.00.H42", 700),
            (700..next).collect::<Vec<_>>()
        );
        assert!(found(&store, Lookup::Member, "000.00.00.G12", 0).is_empty());
        let subject: Vec<u64> = (0..next).filter(|i| i % 3 == 0 && i % 50 == 7).collect();
        assert!(!subject.is_empty());
        assert_eq!(found(&store, Lookup::Subject, "042192000007", 0), subject);
        assert_eq!(found(&store, Lookup::Exchange, "x-400", 0), vec![800, 801]);
        assert_eq!(found(&store, Lookup::Exchange, "x-400", 801), vec![801]);
        // Far fewer keys than postings.
        let keys = store.audit_side.len();
        assert!(keys < 700, "{keys} keys for {next} entries");
    }

    #[test]
    fn look_ups_cross_epochs() {
        let (_dir, store) = store();
        let at = 1u64 << BLOCK_BITS;
        let indexes: Vec<u64> = (at - 70..at + 70).chain([3 * at + 5]).collect();
        let l = indexes
            .iter()
            .map(|i| (Lookup::Member, "000.00.00.G12".to_string(), *i))
            .collect();
        store.put_audit_lookups(l, 3 * at + 6).unwrap();
        assert_eq!(found(&store, Lookup::Member, "000.00.00.G12", 0), indexes);
        assert_eq!(
            found(&store, Lookup::Member, "000.00.00.G12", at - 1),
            indexes[69..].to_vec()
        );
        assert_eq!(
            found(&store, Lookup::Member, "000.00.00.G12", at + 70),
            vec![3 * at + 5]
        );
    }

    #[test]
    fn purging_removes_only_that_subject_posting() {
        let (_dir, store) = store();
        let l = (0..10u64)
            .map(|i| (Lookup::Subject, "042192000001".to_string(), i))
            .collect();
        store.put_audit_lookups(l, 10).unwrap();
        store.audit_purge(4, Some("042192000001")).unwrap();
        let left = found(&store, Lookup::Subject, "042192000001", 0);
        assert_eq!(left, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
        assert_eq!(
            found(&store, Lookup::Subject, "042192000001", 4),
            vec![5, 6, 7, 8, 9]
        );
    }
}
