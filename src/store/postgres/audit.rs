//! The audit log's storage on PostgreSQL: entries, tree hashes, checkpoints, look-ups.

use super::port::{Head, write_audit};
use super::prepared::Prepared;
use super::{PgStore, Pool, big};
use crate::merkle::{Hash, MerkleError, stored_hash_index};
use crate::store::StoreError;
use crate::store::port::AuditLogStore;
use crate::store::types::{AuditWrites, Lookup, Stored, StoredAt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
/// Rows read at a time by the iterators over the log and its look-ups.
const PAGE: i64 = 1000;

fn kind(l: Lookup) -> i16 {
    match l {
        Lookup::Subject => 0,
        Lookup::Member => 1,
        Lookup::Exchange => 2,
    }
}

/// Locks the row of the look-ups' mark (made if missing) until the transaction ends: writes of
/// look-ups and purges go one after the other.
fn lock_lookups(tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
    tx.x(
        "INSERT INTO audit_indexed (upto) VALUES (0)
         ON CONFLICT (one) DO UPDATE SET upto = audit_indexed.upto",
        &[],
    )
    .map(|_| ())
}

impl AuditLogStore for PgStore {
    fn audit_size(&self) -> Result<u64, StoreError> {
        Ok(self.audit_size.load(Ordering::Acquire))
    }

    fn audit_reload(&self) -> Result<u64, StoreError> {
        self.read_audit_size()
    }

    fn audit_shared_size(&self) -> Result<u64, StoreError> {
        self.pool.call("read the audit log's head", |c| {
            Ok(c.q_one("SELECT size FROM audit_head", &[])?
                .get::<_, i64>(0) as u64)
        })
    }

    fn audit_node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let pos = big(stored_hash_index(level, index));
        let found = self
            .pool
            .call("read a tree hash", move |c| {
                Ok(
                    c.q_opt("SELECT hash FROM audit_hashes WHERE pos = $1", &[&pos])?
                        .map(|r| r.get::<_, Vec<u8>>(0)),
                )
            })
            .map_err(|e| MerkleError::Store(e.to_string()))?;
        found
            .and_then(|h| <Hash>::try_from(h.as_slice()).ok())
            .ok_or(MerkleError::MissingNode { level, index })
    }

    fn audit_entries(
        &self,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<StoredAt, StoreError>> + Send> {
        let to = to.min(self.audit_size.load(Ordering::Acquire));
        Box::new(EntryPages {
            pool: self.pool.clone(),
            buffer: VecDeque::new(),
            next: from,
            to,
            failed: false,
        })
    }

    fn audit_entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.audit_record(index)?.map(|(e, _)| e))
    }

    fn audit_record(&self, index: u64) -> Result<Option<Stored>, StoreError> {
        if index >= self.audit_size.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.pool.call("read an audit entry", move |c| {
            Ok(c.q_opt(
                "SELECT entry, sealed FROM audit_entries WHERE idx = $1",
                &[&big(index)],
            )?
            .map(|r| (r.get(0), r.get(1))))
        })
    }

    fn audit_purge(&self, index: u64, subject: Option<&str>) -> Result<bool, StoreError> {
        let subject = subject.map(str::to_string);
        self.pool.call("purge an audit entry", move |c| {
            let mut tx = c.transaction()?;
            // The look-ups' mark is locked first, as a write of look-ups locks it first: a
            // write under way ends before the purge looks for the subject's look-up, and a
            // later one sees the entry purged (`put_audit_lookups`). Without it, a node still
            // holding the entry's look-ups in memory (the look-ups' claim holder) could write
            // the subject's look-up back after the purge.
            lock_lookups(&mut tx)?;
            let purged = tx.x(
                "UPDATE audit_entries SET sealed = NULL WHERE idx = $1 AND sealed IS NOT NULL",
                &[&big(index)],
            )?;
            if let Some(s) = &subject {
                tx.x(
                    "DELETE FROM audit_lookups WHERE kind = $1 AND value = $2 AND idx = $3",
                    &[&kind(Lookup::Subject), s, &big(index)],
                )?;
            }
            tx.commit()?;
            Ok(purged > 0)
        })
    }

    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        let note = note.to_string();
        self.pool.call("store a checkpoint", move |c| {
            c.x(
                "INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2)
                 ON CONFLICT (size) DO UPDATE SET note = $2",
                &[&big(size), &note],
            )
            .map(|_| ())
        })
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        self.pool.call("read a checkpoint", move |c| {
            Ok(c.q_opt(
                "SELECT note FROM audit_checkpoints WHERE size = $1",
                &[&big(size)],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.pool.call("read the latest checkpoint", |c| {
            Ok(c.q_opt(
                "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
        })
    }

    fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.call("read checkpoints", move |c| {
            let rows = c.q(
                "SELECT size, note FROM audit_checkpoints WHERE size > $1 ORDER BY size LIMIT $2",
                &[&big(after), &limit],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
                .collect())
        })
    }

    fn apply_audit_writes(&self, writes: &AuditWrites) -> Result<(), StoreError> {
        let w = writes.clone();
        let head = self.pool.call("append to the audit log", move |c| {
            let mut tx = c.transaction()?;
            let head = write_audit(&mut tx, &w)?;
            tx.commit()?;
            Ok(head)
        })?;
        if let Head::Behind(found) = head {
            return Err(StoreError::Behind {
                expected: writes.first,
                found,
            });
        }
        self.audit_size.fetch_max(writes.end(), Ordering::AcqRel);
        Ok(())
    }

    fn audit_lookup(
        &self,
        lookup: Lookup,
        value: &str,
        from: u64,
    ) -> Box<dyn Iterator<Item = Result<u64, StoreError>> + Send> {
        Box::new(LookupPages {
            pool: self.pool.clone(),
            kind: kind(lookup),
            value: value.to_string(),
            buffer: VecDeque::new(),
            next: Some(from),
        })
    }

    fn audit_indexed(&self) -> Result<u64, StoreError> {
        self.pool.call("read the look-ups' mark", |c| {
            Ok(c.q_opt("SELECT upto FROM audit_indexed", &[])?
                .map_or(0, |r| r.get::<_, i64>(0) as u64))
        })
    }

    fn put_audit_lookups(
        &self,
        lookups: Vec<(Lookup, String, u64)>,
        upto: u64,
    ) -> Result<(), StoreError> {
        self.pool.call("write look-ups", move |c| {
            let mut tx = c.transaction()?;
            // The mark moved first: its row stays locked until the commit, so a purge (which
            // locks it first too) either waits for these look-ups and then deletes its
            // subject's, or is seen by the statement below, which leaves out the subject
            // look-ups of purged entries (their sealed part gone).
            tx.x(
                "INSERT INTO audit_indexed (upto) VALUES ($1)
                 ON CONFLICT (one) DO UPDATE SET upto = greatest(audit_indexed.upto, $1)",
                &[&big(upto)],
            )?;
            // One statement for the batch (a round trip and a plan, not one a look-up).
            let kinds: Vec<i16> = lookups.iter().map(|(l, _, _)| kind(*l)).collect();
            let values: Vec<&str> = lookups.iter().map(|(_, v, _)| v.as_str()).collect();
            let idx: Vec<i64> = lookups.iter().map(|(_, _, i)| big(*i)).collect();
            tx.x(
                "INSERT INTO audit_lookups (kind, value, idx)
                 SELECT * FROM unnest($1::smallint[], $2::text[], $3::bigint[]) AS t(k, v, i)
                 WHERE t.k <> $4 OR NOT EXISTS
                     (SELECT 1 FROM audit_entries e WHERE e.idx = t.i AND e.sealed IS NULL)
                 ON CONFLICT DO NOTHING",
                &[&kinds, &values, &idx, &kind(Lookup::Subject)],
            )?;
            tx.commit()
        })
    }

    fn audit_entry_location(
        &self,
        index: u64,
    ) -> Result<(std::path::PathBuf, u64, u64), StoreError> {
        Err(StoreError::Format(format!(
            "audit entry {index}: the PostgreSQL backend keeps no files (its rows are in \
             audit_entries)"
        )))
    }

    fn audit_erase(&self) -> Result<(), StoreError> {
        self.pool.call("erase the audit log", |c| {
            c.batch_execute(
                // The look-ups' mark first, as a purge and a write of look-ups lock it first.
                "TRUNCATE audit_indexed, audit_entries, audit_hashes, audit_checkpoints, \
                 audit_lookups; UPDATE audit_head SET size = 0",
            )
        })?;
        self.audit_size.store(0, Ordering::Release);
        Ok(())
    }
}

/// The log's entries `[next, to)`, a page at a time.
struct EntryPages {
    pool: Arc<Pool>,
    buffer: VecDeque<StoredAt>,
    next: u64,
    to: u64,
    failed: bool,
}

impl Iterator for EntryPages {
    type Item = Result<StoredAt, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.buffer.pop_front() {
            return Some(Ok(e));
        }
        if self.failed || self.next >= self.to {
            return None;
        }
        let (from, to) = (big(self.next), big(self.to));
        let page = self.pool.call("read audit entries", move |c| {
            let rows = c.q(
                "SELECT idx, entry, sealed FROM audit_entries
                 WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3",
                &[&from, &to, &PAGE],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2)))
                .collect::<Vec<StoredAt>>())
        });
        match page {
            Ok(rows) if rows.is_empty() => {
                // Fewer entries than the size says: the log is not whole.
                self.failed = true;
                Some(Err(StoreError::Format(format!(
                    "audit entry {} is missing",
                    self.next
                ))))
            }
            Ok(rows) => {
                for r in rows {
                    if r.0 != self.next {
                        self.failed = true;
                        self.buffer.clear();
                        return Some(Err(StoreError::Format(format!(
                            "audit entry {} is missing",
                            self.next
                        ))));
                    }
                    self.next += 1;
                    self.buffer.push_back(r);
                }
                self.buffer.pop_front().map(Ok)
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The indexes of a look-up's value from `next` on, a page at a time.
struct LookupPages {
    pool: Arc<Pool>,
    kind: i16,
    value: String,
    buffer: VecDeque<u64>,
    next: Option<u64>,
}

impl Iterator for LookupPages {
    type Item = Result<u64, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(i) = self.buffer.pop_front() {
            return Some(Ok(i));
        }
        let from = big(self.next?);
        let (k, v) = (self.kind, self.value.clone());
        let page = self.pool.call("read a look-up", move |c| {
            let rows = c.q(
                "SELECT idx FROM audit_lookups WHERE kind = $1 AND value = $2 AND idx >= $3
                 ORDER BY idx LIMIT $4",
                &[&k, &v, &from, &PAGE],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, i64>(0) as u64)
                .collect::<Vec<_>>())
        });
        match page {
            Ok(rows) => {
                self.next = (rows.len() as i64 == PAGE)
                    .then(|| rows.last().map(|l| l + 1))
                    .flatten();
                self.buffer.extend(rows);
                self.buffer.pop_front().map(Ok)
            }
            Err(e) => {
                self.next = None;
                Some(Err(e))
            }
        }
    }
}
