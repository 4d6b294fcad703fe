//! The audit log's storage.
//!
//! The entries, their sealed parts and the Merkle tree live in append-only files
//! (`audit_files.rs`); sled holds what is small and few: in the `audit` tree, `z` → the number
//! of committed entries (moved in the same transaction as the work the entries record) and
//! `c ‖ size` → the signed checkpoint of that size; in `audit_side`, the look-ups and `W` → the
//! index below which they are written.
//!
//! Look-ups (by subject, member and exchange id) are hashed into buckets so that they cost
//! sled keys per bucket, not per entry: `kind ‖ epoch u32 ‖ bucket u16 ‖ first index u64` → up
//! to `CHUNK` postings `(value hash u64, index u64)`, ascending by index (an epoch is 2^18
//! entries); the indexer appends to a bucket's last chunk and starts a new one when it is full.
//! A value's entries are found by reading its bucket's chunks in each epoch and keeping the
//! postings with its hash (the query checks each entry found against the criterion itself).
//! Integers are big-endian.

use super::audit_files::{AuditFiles, AuditRecord, FileError, Stored, StoredAt, stored_hash_index};
use super::journal::{JournalTree, JournalWrite};
use super::{Store, StoreError, sled_err};
use crate::audit::merkle::{Hash, MerkleError, Nodes};
use sha2::{Digest, Sha256};

/// Postings per look-up chunk (16 bytes each).
const CHUNK: usize = 64;
/// Buckets per kind of look-up (a power of two).
const BUCKETS: u64 = 4096;
/// Entries per epoch of look-ups (2^18).
const EPOCH_BITS: u32 = 18;
const SIZE_KEY: &[u8] = b"z";
/// A key of the `audit` tree and its u64 value, for the commit's transaction.
pub(super) type SizeWrite = (&'static [u8], [u8; 8]);
/// The size the index and tree files were last synced to.
const SYNCED_KEY: &[u8] = b"y";

pub(crate) fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [b'c'; 9];
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

fn tail_index(k: &[u8]) -> u64 {
    let n = k.len();
    if n < 8 {
        return 0;
    }
    u64::from_be_bytes(k[n - 8..].try_into().unwrap_or_default())
}

/// Appends to the log, made by the log and applied by a group commit: the entries from index
/// `first` on, and the tree hashes they complete (post-order).
#[derive(Debug, Default, Clone)]
pub struct AuditWrites {
    pub first: u64,
    pub records: Vec<AuditRecord>,
    pub hashes: Vec<Hash>,
}

impl AuditWrites {
    /// The log's size once these are applied.
    pub fn end(&self) -> u64 {
        self.first + self.records.len() as u64
    }
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

/// A look-up value's hash (the first 8 bytes of SHA-256 over kind and value).
pub(crate) fn value_hash(lookup: Lookup, value: &str) -> u64 {
    let mut h = Sha256::new();
    h.update([lookup.kind()]);
    h.update(value.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or_default())
}

/// The epoch of an index: look-ups are grouped by epoch first, so that the chunks the indexer
/// appends to are all in one region of the tree (a working set of a few megabytes, whatever the
/// size of the log) and not spread over every bucket's history.
fn epoch(index: u64) -> u32 {
    (index >> EPOCH_BITS) as u32
}

fn bucket_prefix(lookup: Lookup, hash: u64, epoch: u32) -> [u8; 7] {
    let bucket = (hash >> 52) as u16 & (BUCKETS as u16 - 1);
    let mut p = [0u8; 7];
    p[0] = lookup.kind();
    p[1..5].copy_from_slice(&epoch.to_be_bytes());
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

impl From<FileError> for StoreError {
    fn from(e: FileError) -> StoreError {
        StoreError::Files(e)
    }
}

impl Store {
    pub(super) fn open_audit_files(
        dir: &std::path::Path,
        audit: &sled::Tree,
    ) -> Result<AuditFiles, StoreError> {
        if audit
            .scan_prefix([b'e'])
            .next()
            .transpose()
            .map_err(sled_err("read the audit log's size"))?
            .is_some()
        {
            return Err(StoreError::Format(
                "this store keeps its audit log in the format of an earlier version (entries in \
                 sled); export it with that version and start a new data directory"
                    .into(),
            ));
        }
        let (size, synced) = Store::audit_sizes(audit)?;
        let files = AuditFiles::open(&dir.join("audit"))?;
        files.recover(size, synced)?;
        // Rebuilt and synced to the recovered size, which may be past `z` when the last
        // commits made only their entries durable.
        Store::record_recovered(audit, files.committed())?;
        Ok(files)
    }

    /// The committed size and the size the derived files were synced to.
    fn audit_sizes(audit: &sled::Tree) -> Result<(u64, u64), StoreError> {
        let read = |k: &[u8]| -> Result<u64, StoreError> {
            Ok(audit
                .get(k)
                .map_err(sled_err("read the audit log's size"))?
                .map(|v| tail_index(&v))
                .unwrap_or(0))
        };
        Ok((read(SIZE_KEY)?, read(SYNCED_KEY)?))
    }

    /// The number of entries in the log (one past the last index).
    pub fn audit_size(&self) -> Result<u64, StoreError> {
        Ok(self.audit_files.committed())
    }

    /// Reads the log's size from sled again and cuts the files to it: after a commit whose
    /// outcome is unknown (its transaction may or may not have been applied).
    pub fn audit_reload(&self) -> Result<u64, StoreError> {
        // What sled holds may not be durable yet: make it so before readers may see it.
        self.flush()?;
        let (size, synced) = Store::audit_sizes(&self.audit)?;
        self.audit_files.recover(size, synced)?;
        let size = self.audit_files.committed();
        Store::record_recovered(&self.audit, size)?;
        Ok(size)
    }

    /// After a recovery: the recovered size is sled's size, and the index and tree are synced
    /// to it (recovery rebuilt and synced them); durable before anything is appended, so that
    /// no sync mark from before the recovery outlives it.
    fn record_recovered(audit: &sled::Tree, size: u64) -> Result<(), StoreError> {
        audit
            .insert(SIZE_KEY, &size.to_be_bytes())
            .map_err(sled_err("record the audit log's size"))?;
        audit
            .insert(SYNCED_KEY, &size.to_be_bytes())
            .map_err(sled_err("record the audit files' sync"))?;
        audit
            .flush()
            .map_err(sled_err("flush the audit log's size"))?;
        Ok(())
    }

    /// Writes the log's part of a commit to its files and syncs what must be; the caller then
    /// writes `audit_size_writes` in its transaction and calls `audit_committed` once durable.
    pub(super) fn audit_append(&self, w: &AuditWrites) -> Result<Vec<SizeWrite>, StoreError> {
        if w.records.is_empty() {
            return Ok(Vec::new());
        }
        let synced = self.audit_files.append(w.first, &w.records, &w.hashes)?;
        let mut out = vec![(SIZE_KEY, w.end().to_be_bytes())];
        if let Some(y) = synced {
            out.push((SYNCED_KEY, y.to_be_bytes()));
        }
        Ok(out)
    }

    /// Commits audit entries that come with nothing else for sled: appends them (synced),
    /// records the new size in `size.dat` (synced) and makes them visible. Sled's size is left
    /// as it was (the next commit with sled data writes its own); the size the index and tree
    /// were synced to, when it moves, is written alone, without a transaction.
    pub(super) fn commit_entries(&self, w: &AuditWrites) -> Result<(), StoreError> {
        let sizes = self.audit_append(w)?;
        self.audit_files.record_size(w.end())?;
        // Only once the size is recorded: a sync mark past what recovery keeps would trust
        // index and tree bytes written after it.
        for (k, v) in sizes {
            if k == SYNCED_KEY {
                self.audit
                    .insert(k, &v)
                    .map_err(sled_err("record the audit files' sync"))?;
            }
        }
        self.audit_committed(w);
        Ok(())
    }

    /// Makes appended entries visible once the size that records them is durable.
    pub(super) fn audit_committed(&self, w: &AuditWrites) {
        if !w.records.is_empty() {
            self.audit_files.set_committed(w.end());
        }
    }

    /// The canonical bytes of entry `index`.
    pub fn audit_entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.audit_files.read(index)?.map(|(e, _)| e))
    }

    /// Entries `[from, to)` in order, as `(index, canonical bytes, sealed part unless
    /// purged)`, read a few hundred at a time.
    pub fn audit_entries(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<StoredAt, StoreError>> + use<> {
        const READ: u64 = 256;
        let files = self.audit_files.clone();
        let to = to.min(files.committed());
        let mut next = from;
        let mut ready = std::collections::VecDeque::new();
        std::iter::from_fn(move || {
            if ready.is_empty() && next < to {
                let end = to.min(next.saturating_add(READ));
                match files.read_range(next, end) {
                    Ok(v) => ready.extend(v.into_iter().map(Ok)),
                    Err(e) => {
                        next = to;
                        return Some(Err(e.into()));
                    }
                }
                next = end;
            }
            ready.pop_front()
        })
    }

    /// Entry `index`'s canonical bytes and its sealed part (unless purged), in one read.
    pub fn audit_record(&self, index: u64) -> Result<Option<Stored>, StoreError> {
        Ok(self.audit_files.read(index)?)
    }

    /// Purges the sealed part of an entry (salt, subject, payload: overwritten in the file)
    /// and its look-up by subject; the entry and the log are unchanged and still verify.
    /// Durable when it returns.
    pub fn audit_purge(&self, index: u64, subject: Option<&str>) -> Result<bool, StoreError> {
        // The look-up first: once the file is purged the subject is gone, and a look-up left
        // behind (after a crash between the two) could no longer be found to remove.
        if let Some(s) = subject {
            let hash = value_hash(Lookup::Subject, s);
            let prefix = bucket_prefix(Lookup::Subject, hash, epoch(index));
            if let Some((k, v)) = self.chunk_at(&prefix, index)? {
                let left: Vec<(u64, u64)> = postings(&v).filter(|p| *p != (hash, index)).collect();
                let result = if left.is_empty() {
                    self.audit_side.remove(k).map(|_| ())
                } else {
                    self.audit_side.insert(k, pack(&left)).map(|_| ())
                };
                result.map_err(sled_err("purge an audit look-up"))?;
            }
            self.flush()?;
        }
        Ok(self.audit_files.purge(index)?)
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
        // later epochs are read whole.
        let (start, failed) = match self.chunk_at(&bucket_prefix(lookup, hash, epoch(from)), from) {
            Ok(Some((k, _))) => (tail_index(&k), None),
            Ok(None) => (from, None),
            Err(e) => (from, Some(Err(e))),
        };
        // Look-ups are written below the indexer's mark, itself below the log's size.
        let mark = self.audit_indexed().unwrap_or(0);
        let last = epoch(self.audit_files.committed().max(mark));
        failed
            .into_iter()
            .chain((epoch(from)..=last).flat_map(move |e| {
                let prefix = bucket_prefix(lookup, hash, e);
                let lo = if e == epoch(from) { start } else { 0 };
                side.range(chunk_key(&prefix, lo)..=chunk_key(&prefix, u64::MAX))
                    .flat_map(move |r| {
                        let found: Vec<Result<u64, StoreError>> = match r {
                            Ok((_, v)) => postings(&v)
                                .filter(|(h, i)| *h == hash && *i >= from)
                                .map(|(_, i)| Ok(i))
                                .collect(),
                            Err(e) => vec![Err(StoreError::Sled {
                                action: "read an audit look-up",
                                source: e,
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
            .get([b'W'])
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
                .entry(bucket_prefix(l, hash, epoch(index)))
                .or_default()
                .push((hash, index));
        }
        let mut batch = sled::Batch::default();
        for (prefix, mut new) in by_bucket {
            new.sort_by_key(|p| p.1);
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
        batch.insert(b"W", &upto.to_be_bytes());
        self.audit_side
            .apply_batch(batch)
            .map_err(sled_err("write audit look-ups"))
    }

    /// Stores a signed checkpoint and makes it durable.
    pub fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        let put = |key: &[u8], value: &[u8]| JournalWrite {
            tree: JournalTree::Audit,
            key: key.to_vec(),
            value: Some(value.to_vec()),
        };
        let mut writes = vec![put(&checkpoint_key(size), note.as_bytes())];
        // The signed size recorded with it (it may have been only in `size.dat`).
        let (z, _) = Store::audit_sizes(&self.audit)?;
        if size > z {
            writes.push(put(SIZE_KEY, &size.to_be_bytes()));
        }
        // Durable through the commit journal, like a commit: no flush of sled, which would
        // write every outbox item waiting in memory to sled, several times a second at load.
        self.put_durable(writes)
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

    /// Applies audit writes outside a group commit (the log's own tests and tools): appends,
    /// then records the new size durably.
    pub fn apply_audit_writes(&self, w: &AuditWrites) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in self.audit_append(w)? {
            batch.insert(k, &v);
        }
        self.audit
            .apply_batch(batch)
            .map_err(sled_err("append to the audit log"))?;
        self.flush()?;
        self.audit_committed(w);
        Ok(())
    }

    /// Where entry `index`'s canonical bytes are stored: the file, the offset and the length
    /// (for tamper tests and offline tools).
    #[doc(hidden)]
    pub fn audit_entry_location(
        &self,
        index: u64,
    ) -> Result<(std::path::PathBuf, u64, u64), StoreError> {
        Ok(self.audit_files.entry_location(index)?)
    }

    /// Empties the log (entries, tree, checkpoints, look-ups): for tamper tests that rewrite
    /// a log as someone holding the hub's key could.
    #[doc(hidden)]
    pub fn audit_erase(&self) -> Result<(), StoreError> {
        self.audit
            .clear()
            .map_err(sled_err("erase the audit log"))?;
        self.audit_side
            .clear()
            .map_err(sled_err("erase the audit log"))?;
        self.flush()?;
        self.audit_files.forget_sizes()?;
        self.audit_files.recover(0, 0)?;
        Ok(())
    }
}

impl Nodes for Store {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.audit_files
            .hash(stored_hash_index(level, index))
            .map_err(|e| MerkleError::Store(e.to_string()))?
            .ok_or(MerkleError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn found(store: &Store, l: Lookup, v: &str, from: u64) -> Vec<u64> {
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
        let at = 1u64 << EPOCH_BITS;
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
