//! The relay's trees: the outbox of every destination, dead letters, and idempotency keys.
//! One group commit writes the dedup keys and the outbox items of many ingests, with their
//! audit entries: the entries synced in the audit log's file, the rest in one synced record
//! of the commit journal (`journal.rs`), then into sled, which is flushed only now and then.

use super::journal::{JournalTree, JournalWrite};
use super::{AuditWrites, Store, StoreError, decode, encode, sled_err};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::collections::HashMap;
use std::sync::Arc;

/// A record waiting in a destination's outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboxItem {
    pub seq: u64,
    pub destination: String,
    pub exchange_id: String,
    pub record_type: String,
    /// Records with the same order key are delivered in `seq` order; empty: not ordered.
    pub order_key: String,
    pub source_adapter: String,
    pub member: String,
    pub record: Value,
    /// When it was accepted, milliseconds since the Unix epoch.
    pub accepted_at_ms: u64,
    pub attempts: u32,
    /// Not before this time (milliseconds since the Unix epoch).
    #[serde(default)]
    pub next_attempt_ms: u64,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// An outbox item of a commit since sled's last flush, waiting in memory: its bytes as the
/// journal holds them (what a flush writes to sled) and the item itself (what a delivery reads).
#[derive(Debug)]
pub(super) struct Waiting {
    bytes: Vec<u8>,
    item: Arc<OutboxItem>,
}

/// A record parked because it could not be delivered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetter {
    pub item: OutboxItem,
    pub reason: String,
    /// The destination's last answer (status and the start of its body), when it answered.
    #[serde(default)]
    pub last_response: Option<String>,
    pub parked_at: String,
}

/// One piece of work for a group commit: an ingest (its idempotency key and outbox items) or
/// an administrative act, with the audit entries it reports.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub exchange_id: String,
    pub dedup_key: Option<String>,
    /// Shared, not copied, with the outbox in memory and the deliveries that read it.
    pub items: Vec<Arc<OutboxItem>>,
    /// Audit entries the caller sealed already (`AuditDraft::seal_canonical`), committed
    /// before those of `audit`.
    pub sealed: Vec<crate::audit::SealedDraft>,
    pub audit: Vec<crate::audit::AuditDraft>,
    /// Once-only index writes (issued documents), written with the submission unless it is
    /// a repeat.
    pub onceonly: Vec<(Vec<u8>, Vec<u8>)>,
    /// Once-only report counts to add to (key, counts), likewise.
    pub counts: Vec<(Vec<u8>, super::onceonly::ReportCounts)>,
}

/// What a commit did with one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Written: the exchange id and the index of its first audit entry.
    New {
        exchange_id: String,
        audit_index: u64,
    },
    /// Its idempotency key was seen before: the original exchange id; only the audit entry
    /// of the repeat was written.
    Duplicate { original: String, audit_index: u64 },
}

impl Accepted {
    /// The exchange id the caller is told (the original one for a duplicate).
    pub fn exchange_id(&self) -> &str {
        match self {
            Accepted::New { exchange_id, .. } => exchange_id,
            Accepted::Duplicate { original, .. } => original,
        }
    }
}

impl OutboxItem {
    /// Its stored form: what `serde_json::to_vec` writes of it, byte for byte (a test checks),
    /// written without serde's machinery: every accepted record is written so once.
    pub(crate) fn encode(&self) -> Vec<u8> {
        use crate::model::{json_write_str as text, json_write_u64 as number};
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"{\"seq\":");
        number(&mut out, self.seq);
        for (name, value) in [
            (&b",\"destination\":"[..], &self.destination),
            (b",\"exchange_id\":", &self.exchange_id),
            (b",\"record_type\":", &self.record_type),
            (b",\"order_key\":", &self.order_key),
            (b",\"source_adapter\":", &self.source_adapter),
            (b",\"member\":", &self.member),
        ] {
            out.extend_from_slice(name);
            text(&mut out, value);
        }
        out.extend_from_slice(b",\"record\":");
        crate::model::json_write_value(&mut out, &self.record);
        out.extend_from_slice(b",\"accepted_at_ms\":");
        number(&mut out, self.accepted_at_ms);
        out.extend_from_slice(b",\"attempts\":");
        number(&mut out, u64::from(self.attempts));
        out.extend_from_slice(b",\"next_attempt_ms\":");
        number(&mut out, self.next_attempt_ms);
        out.extend_from_slice(b",\"last_error\":");
        match &self.last_error {
            Some(e) => text(&mut out, e),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        out
    }
}

/// `destination ‖ 0 ‖ seq` (big-endian), so that a prefix scan gives a destination's items in
/// order.
pub(crate) fn item_key(destination: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(destination.len() + 9);
    k.extend_from_slice(destination.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn prefix(destination: &str) -> Vec<u8> {
    let mut p = destination.as_bytes().to_vec();
    p.push(0);
    p
}

impl Store {
    /// A new sequence number, increasing across restarts.
    pub fn next_seq(&self) -> Result<u64, StoreError> {
        self.db.generate_id().map_err(sled_err("generate id"))
    }

    /// Appends the audit log's entries to its files (`entries.dat` synced), then records the
    /// idempotency keys and outbox items of new submissions, their once-only writes and the
    /// log's new size in one synced record of the commit journal, and writes them to sled:
    /// when this returns, all of it is durable. Only the committer calls this (it alone writes
    /// `dedup` and appends to the log). On an error the outcome is unknown: call
    /// `audit_reload` before the next commit.
    ///
    /// After a commit fails, every later one is refused with its cause until the store is
    /// opened again: what reached the files of a failed commit is only sorted out by a reopen
    /// (a full disk: space freed by emptying the journal must not let writes resume half-way).
    pub fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        self.refused_after_a_failure(|| self.commit_once(new, audit))
    }

    /// Runs a write of the store's; once one has failed, every later one is refused with its
    /// cause until the store is opened again.
    fn refused_after_a_failure(
        &self,
        write: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Some(cause) = self.failed_write() {
            return Err(StoreError::Unwritable(cause));
        }
        let result = write();
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

    fn commit_once(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        // Sealed entries travel to the committer apart from the submission (`Relay::submit`),
        // which then commits them with `audit`; here they would be lost.
        debug_assert!(new.iter().all(|s| s.sealed.is_empty()));
        // A commit of audit entries alone (pulls, deliveries, refusals) has nothing for sled but
        // the log's size: its entries are synced by the append, and `size.dat` records the size
        // (recovery keeps entries up to the larger of it and sled's).
        let only_entries = !audit.records.is_empty()
            && new.iter().all(|s| {
                s.dedup_key.is_none()
                    && s.items.is_empty()
                    && s.onceonly.is_empty()
                    && s.counts.is_empty()
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
        let mut counts: HashMap<&[u8], super::onceonly::ReportCounts> = HashMap::new();
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
            for (k, v) in &s.onceonly {
                writes.push(put(JournalTree::Onceonly, k, v.clone()));
            }
            for (k, add) in &s.counts {
                let c = match counts.entry(k.as_slice()) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => v.insert(
                        self.onceonly
                            .get(k.as_slice())
                            .map_err(sled_err("read report counts"))?
                            .map(|v| super::onceonly::decode_counts(&v))
                            .unwrap_or_default(),
                    ),
                };
                super::onceonly::add_counts(c, add);
            }
            for item in &s.items {
                let key = item_key(&item.destination, item.seq);
                writes.push(put(JournalTree::Outbox, &key, item.encode()));
                waiting.push(item.clone());
            }
        }
        for (k, c) in counts {
            writes.push(put(
                JournalTree::Onceonly,
                k,
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
        journal.append(&writes).map_err(StoreError::Journal)?;
        // Outbox items wait in memory for their delivery or the next flush.
        let (items, rest): (Vec<JournalWrite>, Vec<JournalWrite>) = writes
            .into_iter()
            .partition(|w| w.tree == JournalTree::Outbox && w.value.is_some());
        {
            let mut unwritten = self.unwritten();
            for (w, item) in items.into_iter().zip(waiting) {
                if let Some(bytes) = w.value {
                    unwritten.insert(w.key, Waiting { bytes, item });
                }
            }
        }
        let trees = [&self.outbox, &self.dedup, &self.onceonly, &self.audit];
        if let Err(e) = apply_journal(trees, None, &rest) {
            // Durable in the journal but not wholly in sled: the journal is not emptied
            // again before a reopen applies it (`Store::flush`).
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

    /// The exchange an idempotency key was first accepted as, if it was (and is not swept yet).
    pub fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .dedup
            .get(dedup_key.as_bytes())
            .map_err(sled_err("read dedup"))?
            .map(|v| String::from_utf8_lossy(dedup_parts(&v).1).into_owned()))
    }

    /// Forgets the idempotency keys accepted before `cutoff_ms` (ms since the epoch); returns
    /// how many. Not flushed: a key whose removal is lost is swept again.
    pub fn sweep_dedup(&self, cutoff_ms: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        let mut after = None;
        loop {
            let (n, next) = self.sweep_dedup_step(cutoff_ms, after.as_deref(), 10_000)?;
            removed += n;
            match next {
                Some(k) => after = Some(k),
                None => return Ok(removed),
            }
        }
    }

    /// One bounded step of a sweep: looks at up to `limit` keys after `after` (from the first
    /// when `None`), forgets those accepted before `cutoff_ms`, and returns how many it forgot
    /// and the last key it looked at (`None`: the sweep is done). The hub sweeps in steps so
    /// that the thread that does it (the audit indexer's) is never held for long.
    pub fn sweep_dedup_step(
        &self,
        cutoff_ms: u64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(u64, Option<Vec<u8>>), StoreError> {
        use std::ops::Bound;
        let from = match after {
            Some(k) => Bound::Excluded(k.to_vec()),
            None => Bound::Unbounded,
        };
        let mut batch = sled::Batch::default();
        let mut removed = 0u64;
        let mut seen = 0usize;
        let mut last = None;
        for r in self.dedup.range::<Vec<u8>, _>((from, Bound::Unbounded)) {
            let (k, v) = r.map_err(sled_err("sweep dedup"))?;
            if dedup_parts(&v).0 < cutoff_ms {
                batch.remove(k.clone());
                removed += 1;
            }
            seen += 1;
            if seen == limit {
                last = Some(k.to_vec());
                break;
            }
        }
        self.dedup
            .apply_batch(batch)
            .map_err(sled_err("sweep dedup"))?;
        Ok((removed, last))
    }

    fn unwritten(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Waiting>> {
        self.unwritten.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the outbox items still waiting in memory to sled (called by `flush`, before it
    /// flushes sled, with the journal's lock held). The items' lock is held while they are
    /// written, so that no delivery removes one between its copy to sled and its removal
    /// from memory.
    pub(super) fn write_unwritten(&self) -> Result<(), StoreError> {
        let mut failed = None;
        // Each item leaves memory once it is in sled: after an error, none is in both.
        self.unwritten().retain(|k, w| {
            if failed.is_some() {
                return true;
            }
            match self.outbox.insert(k.as_slice(), w.bytes.as_slice()) {
                Ok(_) => false,
                Err(e) => {
                    failed = Some(e);
                    true
                }
            }
        });
        match failed {
            Some(e) => Err(sled_err("write outbox")(e)),
            None => Ok(()),
        }
    }

    /// Every item in a destination's outbox, in order.
    pub fn outbox_items(&self, destination: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let p = prefix(destination);
        let mut found = std::collections::BTreeMap::new();
        // Memory first: an item a flush moves meanwhile goes from memory to sled, so it is
        // found in one or the other.
        for (k, w) in self.unwritten().iter() {
            if k.starts_with(&p) {
                found.insert(k.clone(), w.bytes.clone());
            }
        }
        for kv in self.outbox.scan_prefix(&p) {
            let (k, v) = kv.map_err(sled_err("read outbox"))?;
            found.insert(k.to_vec(), v.to_vec());
        }
        found.values().map(|v| decode("read outbox", v)).collect()
    }

    /// The destinations that have items in the outbox.
    pub fn outbox_destinations(&self) -> Result<Vec<String>, StoreError> {
        let name = |k: &[u8]| {
            String::from_utf8_lossy(k.split(|b| *b == 0).next().unwrap_or_default()).into_owned()
        };
        // Memory first, as in `outbox_items`.
        let mut out: Vec<String> = self.unwritten().keys().map(|k| name(k)).collect();
        for k in self.outbox.iter().keys() {
            let dest = name(&k.map_err(sled_err("list outbox"))?);
            if out.last() != Some(&dest) {
                out.push(dest);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// One outbox item (shared with the store while it waits in memory).
    pub fn outbox_item(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<Arc<OutboxItem>>, StoreError> {
        let key = item_key(destination, seq);
        if let Some(w) = self.unwritten().get(&key) {
            return Ok(Some(w.item.clone()));
        }
        match self.outbox.get(key).map_err(sled_err("read outbox"))? {
            Some(v) => Ok(Some(Arc::new(decode("read outbox", &v)?))),
            None => Ok(None),
        }
    }

    /// Removes a delivered item. Not flushed: if the hub crashes before sled's next flush (at
    /// most `JOURNAL_FLUSH_AFTER_MS` after the last one, at the next commit, or sooner when the
    /// journal fills), the record is delivered again (the journal still holds the commit that
    /// queued it), and the destination's idempotency key makes that harmless.
    pub fn remove_delivered(&self, destination: &str, seq: u64) -> Result<(), StoreError> {
        let key = item_key(destination, seq);
        if self.unwritten().remove(&key).is_some() {
            return Ok(());
        }
        self.outbox
            .remove(key)
            .map_err(sled_err("remove delivered"))?;
        Ok(())
    }

    /// Rewrites an item after a failed attempt (attempts, next attempt, last error).
    pub fn update_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let key = item_key(&item.destination, item.seq);
        // Under the items' lock: a flush must not write the older copy over this one.
        let mut unwritten = self.unwritten();
        self.outbox
            .insert(key.as_slice(), item.encode())
            .map_err(sled_err("update outbox"))?;
        unwritten.remove(&key);
        Ok(())
    }

    /// Moves an item from the outbox to the dead letters, atomically and durably.
    pub fn park(&self, dead: &DeadLetter) -> Result<(), StoreError> {
        let key = item_key(&dead.item.destination, dead.item.seq);
        {
            // Under the items' lock: a flush must not write the item to the outbox after it
            // has left it.
            let mut unwritten = self.unwritten();
            let r = (&self.outbox, &self.dead).transaction(|(ob, dl)| {
                ob.remove(key.as_slice())?;
                dl.insert(key.as_slice(), encode(dead))?;
                Ok::<_, ConflictableTransactionError<()>>(())
            });
            if let Err(TransactionError::Storage(e)) = r {
                return Err(StoreError::Sled {
                    action: "park dead letter",
                    source: e,
                });
            }
            unwritten.remove(&key);
        }
        self.flush()
    }

    /// Dead letters, in order (all destinations, or one).
    pub fn dead_letters(&self, destination: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let iter = match destination {
            Some(d) => self.dead.scan_prefix(prefix(d)),
            None => self.dead.iter(),
        };
        iter.values()
            .map(|v| {
                decode(
                    "read dead letters",
                    &v.map_err(sled_err("read dead letters"))?,
                )
            })
            .collect()
    }

    /// One dead letter.
    pub fn dead_letter(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<DeadLetter>, StoreError> {
        match self
            .dead
            .get(item_key(destination, seq))
            .map_err(sled_err("read dead letter"))?
        {
            Some(v) => Ok(Some(decode("read dead letter", &v)?)),
            None => Ok(None),
        }
    }

    /// Puts a dead letter back in the outbox under a new sequence number (so it is delivered
    /// after what is queued now), attempts reset; atomically and durably.
    pub fn replay(
        &self,
        dead: &DeadLetter,
        new_seq: u64,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let old = item_key(&dead.item.destination, dead.item.seq);
        let mut item = dead.item.clone();
        item.seq = new_seq;
        item.attempts = 0;
        item.next_attempt_ms = 0;
        item.last_error = None;
        // A replay starts the age clock again (max_age_secs counts from the replay).
        item.accepted_at_ms = crate::relay::now_ms();
        let new = item_key(&item.destination, item.seq);
        let r = (&self.outbox, &self.dead).transaction(|(ob, dl)| {
            // Replayed or discarded meanwhile: nothing to do.
            if dl.remove(old.as_slice())?.is_none() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            ob.insert(new.as_slice(), item.encode())?;
            Ok(())
        });
        match r {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => return Ok(None),
            Err(TransactionError::Storage(e)) => {
                return Err(StoreError::Sled {
                    action: "replay dead letter",
                    source: e,
                });
            }
        }
        self.flush()?;
        Ok(Some(item))
    }

    /// Discards a dead letter; false if there is none.
    pub fn discard(&self, destination: &str, seq: u64) -> Result<bool, StoreError> {
        let found = self
            .dead
            .remove(item_key(destination, seq))
            .map_err(sled_err("discard dead letter"))?
            .is_some();
        self.flush()?;
        Ok(found)
    }
}

/// The journal is emptied (sled flushed) once it holds this much: every 2,000 or so relayed
/// records of 2 KB, a few times a second at full load. It also bounds the outbox items waiting
/// in memory, each of which is in the journal since its last flush.
const JOURNAL_FLUSH_AT: u64 = 4 << 20;

/// ... or once this long has passed since the last flush, at the next commit: a crash applies
/// the journal again, and with it the outbox items delivered since the last flush (their
/// removal is not in the journal), which are then delivered again. At full load the size
/// comes first; at low load this bounds how old a record delivered again can be.
pub(super) const JOURNAL_FLUSH_AFTER_MS: u64 = 10_000;

/// Writes the journal's `writes` to sled, in order, as plain writes: the trees are
/// `[outbox, dedup, onceonly, audit]`. On open, with `dead`: an outbox item already in the dead
/// letters is not put back (it was parked after the commit that queued it; a park flushes the
/// store, so this is only the case when the crash came between the park and its flush).
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

/// A dedup value: when the key was accepted (ms since the epoch, 8 bytes big-endian: its first
/// byte is 0 for the next few thousand years) and the exchange id.
fn dedup_value(at_ms: u64, exchange_id: &str) -> Vec<u8> {
    let mut v = at_ms.to_be_bytes().to_vec();
    v.extend_from_slice(exchange_id.as_bytes());
    v
}

/// `(accepted at, exchange id)` of a dedup value; a value without the time (written before it
/// was kept) counts as accepted at 0.
fn dedup_parts(v: &[u8]) -> (u64, &[u8]) {
    match v.split_first_chunk::<8>() {
        Some((at, id)) if at[0] == 0 => (u64::from_be_bytes(*at), id),
        _ => (0, v),
    }
}

#[cfg(test)]
mod tests;
