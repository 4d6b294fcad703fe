//! The audit log's storage.
//!
//! The entries, their sealed parts and the Merkle tree live in append-only files
//! (`audit_files.rs`); sled holds what is small and few: in the `audit` tree, `SIZE_KEY` (`z`)
//! → the committed size (written in the same journal record as the work the entries record; a
//! commit of entries alone records its size in `size.dat` instead), `SYNCED_KEY` (`y`) → the
//! size the derived files are synced to, and `CHECKPOINT_PREFIX ‖ size` (`c ‖ size`) → the
//! signed checkpoint of that size; in `audit_side`, the look-ups and `INDEXED_KEY` (`W`) → the
//! index below which they are written (`audit_lookups.rs`). The one-letter keys are on disk
//! and stay; the constants name them.
//!
//! Integers are big-endian.

use super::audit_files::{AuditFiles, stored_hash_index};
use super::journal::{JournalTree, JournalWrite};
use super::{SledStore, sled_err};
use crate::merkle::{Hash, MerkleError, Nodes};
use crate::store::StoreError;
use crate::store::types::{AuditWrites, Stored, StoredAt};

/// The `audit` tree's key of the committed size.
const SIZE_KEY: &[u8] = b"z";
/// The first byte of a checkpoint's key (`CHECKPOINT_PREFIX ‖ size`).
const CHECKPOINT_PREFIX: u8 = b'c';
/// The first byte of an entry kept in sled by versions before the audit files; a store that
/// still has one is refused at open.
const OLD_ENTRY_PREFIX: u8 = b'e';
/// A key of the `audit` tree and its u64 value, for the commit's journal record.
pub(super) type SizeWrite = (&'static [u8], [u8; 8]);
/// The size the index and tree files were last synced to.
const SYNCED_KEY: &[u8] = b"y";

pub(crate) fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [CHECKPOINT_PREFIX; 9];
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

pub(super) fn tail_index(k: &[u8]) -> u64 {
    let n = k.len();
    if n < 8 {
        return 0;
    }
    u64::from_be_bytes(k[n - 8..].try_into().unwrap_or_default())
}

impl SledStore {
    pub(super) fn open_audit_files(
        dir: &std::path::Path,
        audit: &sled::Tree,
    ) -> Result<AuditFiles, StoreError> {
        if audit
            .scan_prefix([OLD_ENTRY_PREFIX])
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
        let (size, synced) = SledStore::audit_sizes(audit)?;
        let files = AuditFiles::open(&dir.join("audit"))?;
        files.recover(size, synced)?;
        // Rebuilt and synced to the recovered size, which may be past `z` when the last
        // commits made only their entries durable.
        SledStore::record_recovered(audit, files.committed())?;
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
    /// outcome is unknown (its journal record may or may not be durable, and may be partly
    /// applied to sled).
    pub fn audit_reload(&self) -> Result<u64, StoreError> {
        // What sled holds may not be durable yet: make it so before readers may see it.
        self.flush()?;
        let (size, synced) = SledStore::audit_sizes(&self.audit)?;
        self.audit_files.recover(size, synced)?;
        let size = self.audit_files.committed();
        SledStore::record_recovered(&self.audit, size)?;
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
    /// puts the size writes this returns (`z`, and `y` when the derived files were synced) in
    /// its journal record, and calls `audit_committed` once they are durable.
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
    /// were synced to, when it moves, is written straight to sled, outside the journal and not
    /// flushed (an older `y` only means more is rebuilt at open).
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
            self.remove_subject_lookup(index, s)?;
            self.flush()?;
        }
        Ok(self.audit_files.purge(index)?)
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
        let (z, _) = SledStore::audit_sizes(&self.audit)?;
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
            .scan_prefix([CHECKPOINT_PREFIX])
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

impl Nodes for SledStore {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.audit_files
            .hash(stored_hash_index(level, index))
            .map_err(|e| MerkleError::Store(e.to_string()))?
            .ok_or(MerkleError::MissingNode { level, index })
    }
}
