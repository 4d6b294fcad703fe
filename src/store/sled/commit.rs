//! The group commit's writes: the audit log's entries appended to their files, and everything
//! else a commit writes (idempotency keys, outbox items, once-only writes, the log's size) in
//! one synced record of the commit journal, then in sled (outbox items in memory until they are
//! delivered or the store is flushed); and the refusal of every write after one failed.

use super::journal::{JournalTree, JournalWrite};
use super::relay::{Waiting, dedup_value, item_key};
use super::{SledStore, encode, sled_err};
use crate::store::StoreError;
use crate::store::types::{AuditWrites, OutboxItem, Submission};
use std::collections::HashMap;
use std::sync::Arc;

impl SledStore {
    /// Appends the audit log's entries to its files (`entries.dat` synced), then records the
    /// idempotency keys and outbox items of new submissions, their once-only writes and the
    /// log's new size in one synced record of the commit journal, and writes them to sled:
    /// when this returns, all of it is durable. Only the committer calls this (it alone adds
    /// dedup keys, which the indexer's sweep removes when old, and appends to the log). On an
    /// error the outcome is unknown: the caller reloads the log's size (`audit_reload`).
    ///
    /// After a commit fails, every later one is refused with its cause until the store is
    /// opened again: what reached the files of a failed commit is only sorted out by a reopen
    /// (a full disk: space freed by emptying the journal must not let writes resume half-way).
    pub fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        if let Some(cause) = self.failed_write() {
            return Err(StoreError::Unwritable(cause));
        }
        let result = self.commit_once(new, audit);
        if let Err(e) = &result {
            *self.write_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
        result
    }

    /// Why commits are refused, if an earlier one failed.
    pub fn failed_write(&self) -> Option<String> {
        self.write_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `result`, with a failure of sled's own disk writes for want of space or of write access
    /// (a full disk, a quota, a file system gone read-only) noted as a failed write; another
    /// error (a read that failed) fails its own request only. Once sled has failed to write
    /// its log (a full disk while it flushed in the background), it
    /// refuses every later write, and any operation that would write, a read that tidies a
    /// page included, answers with that failure. A push refused by it leaves the store refusing
    /// commits and not ready, with the cause, as after a failed commit, rather than ready
    /// while its requests fail; the request itself is refused as `StoreError::Unwritable`.
    pub(super) fn noting_failure<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e @ StoreError::Engine { source, .. }) = &result
            && let Some(::sled::Error::Io(io)) = source.downcast_ref::<::sled::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull
                    | std::io::ErrorKind::QuotaExceeded
                    | std::io::ErrorKind::ReadOnlyFilesystem
            )
        {
            // Refused as the commits after it are: the store cannot write (a 503 with the
            // cause, not an internal error).
            let cause = e.to_string();
            self.write_failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| cause.clone());
            return Err(StoreError::Unwritable(cause));
        }
        result
    }

    fn commit_once(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        // A commit of audit entries alone (pulls, refusals, repeats, parks) has nothing for
        // sled: its entries are synced by the append, and `size.dat` records the size (recovery
        // keeps entries up to the larger of it and sled's). Deliveries remove their outbox item
        // and go through the journal.
        let only_entries = !audit.records.is_empty()
            && new.iter().all(|s| {
                s.dedup_key.is_none()
                    && s.items.is_empty()
                    && s.onceonly.is_empty()
                    && s.counts.is_empty()
                    && s.delivered.is_empty()
            });
        if only_entries {
            return self.commit_entries(audit);
        }
        let sizes = self.audit_append(audit)?;
        let now = crate::clock::now_ms();
        let mut writes = Vec::new();
        let put = |tree, key: &[u8], value: Vec<u8>| JournalWrite {
            tree,
            key: key.to_vec(),
            value: Some(value),
        };
        // Report counts this commit adds to, as they will be after it: the committer is their
        // only writer, so sled holds what earlier commits left.
        let mut counts: HashMap<Vec<u8>, crate::store::types::ReportCounts> = HashMap::new();
        // The outbox items, in the order of their writes, as the deliveries will read them.
        let mut waiting = Vec::new();
        for s in new {
            if let Some(k) = &s.dedup_key {
                writes.push(put(
                    JournalTree::Dedup,
                    k.as_bytes(),
                    dedup_value(now, &s.exchange_id),
                ));
            }
            for d in &s.onceonly {
                let key = super::onceonly::document_key(&d.subject, &d.type_key, &d.document_id);
                writes.push(put(JournalTree::Onceonly, &key, encode(&d.record)));
            }
            for add in &s.counts {
                let k = super::onceonly::report_count_key(add.day, &add.agency, &add.procedure);
                let c = match counts.entry(k) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let stored = self
                            .onceonly
                            .get(v.key().as_slice())
                            .map_err(sled_err("read report counts"))?
                            .map(|v| super::onceonly::decode_counts(&v))
                            .unwrap_or_default();
                        v.insert(stored)
                    }
                };
                crate::store::types::add_counts(c, &add.counts);
            }
            for item in &s.items {
                let key = item_key(&item.destination, item.seq);
                writes.push(put(JournalTree::Outbox, &key, item.encode()));
                waiting.push(item.clone());
            }
            for (destination, seq) in &s.delivered {
                writes.push(JournalWrite {
                    tree: JournalTree::Outbox,
                    key: item_key(destination, *seq),
                    value: None,
                });
            }
        }
        for (k, c) in counts {
            writes.push(put(
                JournalTree::Onceonly,
                &k,
                super::onceonly::encode_counts(&c),
            ));
        }
        for (k, v) in &sizes {
            writes.push(put(JournalTree::Audit, k, v.to_vec()));
        }
        let full = self.journal_commit(writes, waiting)?;
        self.audit_committed(audit);
        if full {
            self.flush_behind();
        }
        Ok(())
    }

    /// Appends `writes` to the commit journal as one synced record, then puts their outbox
    /// items in memory (`waiting`: the items of the outbox writes, in order) and the rest in
    /// sled. Whether the journal is full enough for a flush.
    fn journal_commit(
        &self,
        writes: Vec<JournalWrite>,
        waiting: Vec<Arc<OutboxItem>>,
    ) -> Result<bool, StoreError> {
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        journal.append(&writes).map_err(StoreError::from)?;
        // Outbox items wait in memory for their delivery or the next flush.
        let (items, mut rest): (Vec<JournalWrite>, Vec<JournalWrite>) = writes
            .into_iter()
            .partition(|w| w.tree == JournalTree::Outbox && w.value.is_some());
        {
            let mut unwritten = self.unwritten();
            for (w, item) in items.into_iter().zip(waiting) {
                if let Some(bytes) = w.value {
                    unwritten.insert(w.key, Waiting { bytes, item });
                }
            }
            // A delivered item still in memory leaves it and never reaches sled; one a flush
            // wrote to sled already is removed there. Under the items' lock, so that a flush
            // does not move it meanwhile.
            rest.retain(|w| {
                !(w.tree == JournalTree::Outbox
                    && w.value.is_none()
                    && unwritten.remove(&w.key).is_some())
            });
        }
        let trees = [&self.outbox, &self.dedup, &self.onceonly, &self.audit];
        if let Err(e) = apply_journal(trees, None, &rest) {
            // Durable in the journal but not wholly in sled: the journal is not emptied
            // again before a reopen applies it (`SledStore::flush`).
            self.journal_unapplied
                .store(true, std::sync::atomic::Ordering::Release);
            return Err(e);
        }
        Ok(journal.len() >= JOURNAL_FLUSH_AT
            || crate::clock::now_ms().saturating_sub(
                self.flushed_at_ms
                    .load(std::sync::atomic::Ordering::Acquire),
            ) >= JOURNAL_FLUSH_AFTER_MS)
    }

    /// Writes `writes` (no outbox items) durably in one synced record of the commit journal,
    /// then to sled, without flushing sled: the committer's small writes beside its commits (a
    /// checkpoint). Refused while the store refuses commits. Its own failure refuses nothing
    /// later, unlike a commit's: it acknowledged nothing to anyone, a failed append is written
    /// over by the next, and a record not wholly applied to sled is applied again at the next
    /// open (`journal_commit`).
    pub(super) fn put_durable(&self, writes: Vec<JournalWrite>) -> Result<(), StoreError> {
        if let Some(cause) = self.failed_write() {
            return Err(StoreError::Unwritable(cause));
        }
        if self.journal_commit(writes, Vec::new())? {
            self.flush_behind();
        }
        Ok(())
    }
}

/// The journal is emptied (sled flushed) once it holds this much: every 2,000 or so relayed
/// records of 2 KB, a few times a second at full load. It also bounds the outbox items waiting
/// in memory, each of which is in the journal since its last flush.
pub(super) const JOURNAL_FLUSH_AT: u64 = 4 << 20;

/// ... or once this long has passed since the last flush, at the next commit: a crash applies
/// the journal again, which is quicker the shorter it is. At full load the size comes first.
pub(super) const JOURNAL_FLUSH_AFTER_MS: u64 = 10_000;

/// Writes the journal's `writes` to sled, in order, as plain writes: the trees are
/// `[outbox, dedup, onceonly, audit]`. On open, with `dead`: an outbox item already in the dead
/// letters is not put back (it was parked after the commit that queued it; a park flushes the
/// store, so this is only the case when the crash came between the park and its flush, or
/// that flush failed, or the journal was kept because a record could not be applied).
pub(super) fn apply_journal(
    trees: [&sled::Tree; 4],
    dead: Option<&sled::Tree>,
    writes: &[JournalWrite],
) -> Result<(), StoreError> {
    for w in writes {
        let tree = match w.tree {
            JournalTree::Outbox => trees[0],
            JournalTree::Dedup => trees[1],
            JournalTree::Onceonly => trees[2],
            JournalTree::Audit => trees[3],
        };
        if let (JournalTree::Outbox, Some(dead), Some(_)) = (w.tree, dead, &w.value)
            && dead
                .contains_key(&w.key)
                .map_err(sled_err("read dead letters"))?
        {
            continue;
        }
        match &w.value {
            Some(v) => tree.insert(w.key.as_slice(), v.as_slice()).map(|_| ()),
            None => tree.remove(w.key.as_slice()).map(|_| ()),
        }
        .map_err(sled_err("write a commit"))?;
    }
    Ok(())
}
