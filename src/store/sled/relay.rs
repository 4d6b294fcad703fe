//! The relay's trees: the outbox of every destination, dead letters, and idempotency keys.
//! One group commit writes the dedup keys and the outbox items of many ingests, with their
//! audit entries: the entries synced in the audit log's file, the rest in one synced record
//! of the commit journal (`journal.rs`), then into sled (outbox items into memory until they
//! are delivered or the store is flushed); the store flushes sled only now and then.

use super::{SledStore, decode, encode, sled_err};
use crate::store::StoreError;
use crate::store::types::{DeadLetter, OutboxItem};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::collections::HashMap;
use std::sync::Arc;

/// An outbox item of a commit since sled's last flush, waiting in memory: its bytes as the
/// journal holds them (what a flush writes to sled) and the item itself (what a delivery reads).
#[derive(Debug)]
pub(super) struct Waiting {
    pub(super) bytes: Vec<u8>,
    pub(super) item: Arc<OutboxItem>,
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

impl SledStore {
    /// A new sequence number, increasing across restarts.
    /// A new sequence number. Taking one writes (sled keeps its counter on disk): a failure is
    /// a failed write, and later commits are refused with it, as after a failed commit.
    pub fn next_seq(&self) -> Result<u64, StoreError> {
        self.db.generate_id().map_err(|e| {
            let e = sled_err("generate id")(e);
            *self.write_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            e
        })
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

    /// Idempotency keys after `after`, at most `limit`, with their exchange ids.
    pub fn dedup_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        use std::ops::Bound;
        let from = match after {
            Some(k) => Bound::Excluded(k.as_bytes().to_vec()),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for r in self.dedup.range::<Vec<u8>, _>((from, Bound::Unbounded)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = r.map_err(sled_err("read dedup"))?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(dedup_parts(&v).1).into_owned(),
            ));
        }
        Ok(out)
    }

    /// Makes every later sequence number greater than `n`.
    pub fn reserve_seqs_past(&self, n: u64) -> Result<(), StoreError> {
        while self.next_seq()? <= n {}
        Ok(())
    }

    pub(super) fn unwritten(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Waiting>> {
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
                return Err(StoreError::Engine {
                    action: "park dead letter",
                    source: Box::new(e),
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
        item.accepted_at_ms = crate::clock::now_ms();
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
                return Err(StoreError::Engine {
                    action: "replay dead letter",
                    source: Box::new(e),
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

/// A dedup value: when the key was accepted (ms since the epoch, 8 bytes big-endian: its first
/// byte is 0 for the next few thousand years) and the exchange id.
pub(super) fn dedup_value(at_ms: u64, exchange_id: &str) -> Vec<u8> {
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
