//! The group commit on PostgreSQL (one transaction, one statement a table), shared by the roles in the files beside it.

use super::prepared::Prepared;
use super::{PgStore, big, encode};
use crate::merkle::{Frontier, stored_hash_count, stored_hash_index};
use crate::store::StoreError;
use crate::store::port::GroupCommit;
use crate::store::types::{AuditWrites, HeadFound, Renumber, ReportCounts, Submission};
use std::sync::atomic::Ordering;

/// What `write_audit` found at the log's head.
pub(super) enum Head {
    /// The entries followed the head and were written.
    Written,
    /// The log had this many entries, not the writes' `first`: nothing was written.
    Behind(u64),
    /// Idempotency keys taken by other commits (of another node, or of this one since the key
    /// was looked up), each with its exchange: nothing was written.
    Taken(Vec<(String, String)>),
    /// Committed, with the outbox marks the commit set.
    Marked(Vec<(String, u64)>),
}

/// Writes the audit log's entries and hashes in a transaction, after the head's row is locked
/// and found where the writes begin: appends of hub nodes sharing the database go one after
/// another, each after the last.
pub(super) fn write_audit(
    tx: &mut postgres::Transaction<'_>,
    w: &AuditWrites,
) -> Result<Head, postgres::Error> {
    match append_at_head(tx, w)? {
        true => Ok(Head::Written),
        false => Ok(Head::Behind(
            tx.q_one("SELECT size FROM audit_head", &[])?
                .get::<_, i64>(0) as u64,
        )),
    }
}

/// `write_audit` without reading the head's size when it moved: whether the writes were
/// written (the head was where they begin).
fn append_at_head(
    tx: &mut postgres::Transaction<'_>,
    w: &AuditWrites,
) -> Result<bool, postgres::Error> {
    if w.records.is_empty() && w.hashes.is_empty() {
        return Ok(true);
    }
    // One statement, one round trip: the head moved only from where the writes begin (its
    // row's lock makes other nodes' appends wait, then find it moved), the entries and their
    // hashes written only if it was.
    let idx: Vec<i64> = (0..w.records.len() as u64)
        .map(|i| big(w.first + i))
        .collect();
    let entries: Vec<&[u8]> = w.records.iter().map(|r| r.entry.as_slice()).collect();
    let sealed: Vec<&[u8]> = w.records.iter().map(|r| r.sealed.as_slice()).collect();
    let first = stored_hash_count(w.first);
    let pos: Vec<i64> = (0..w.hashes.len() as u64).map(|i| big(first + i)).collect();
    let hashes: Vec<&[u8]> = w.hashes.iter().map(|h| h.as_slice()).collect();
    let moved = tx.q(
        "WITH head AS (
             UPDATE audit_head SET size = $2 WHERE size = $1 RETURNING size
         ), e AS (
             INSERT INTO audit_entries (idx, entry, sealed)
             SELECT * FROM unnest($3::bigint[], $4::bytea[], $5::bytea[])
             WHERE EXISTS (SELECT 1 FROM head)
         ), h AS (
             INSERT INTO audit_hashes (pos, hash)
             SELECT * FROM unnest($6::bigint[], $7::bytea[])
             WHERE EXISTS (SELECT 1 FROM head)
         )
         SELECT size FROM head",
        &[
            &big(w.first),
            &big(w.end()),
            &idx,
            &entries,
            &sealed,
            &pos,
            &hashes,
        ],
    )?;
    Ok(!moved.is_empty())
}

/// The log's head, kept until the transaction ends, and what numbering after it needs: its
/// size (the head locked), then in one more round trip the tree hashes of its right edge and
/// its last entry. (Read in the same statement as the lock, an entry would be the one joined
/// before a wait for the lock: PostgreSQL rechecks only the locked row.)
fn head_found(tx: &mut postgres::Transaction<'_>) -> Result<HeadFound, postgres::Error> {
    let size = tx
        .q_one("SELECT size FROM audit_head FOR UPDATE", &[])?
        .get::<_, i64>(0) as u64;
    let positions: Vec<i64> = Frontier::edge_of(size)
        .map(|(level, index)| big(stored_hash_index(level, index)))
        .collect();
    let mut found = HeadFound {
        size,
        ..Default::default()
    };
    for r in tx.q(
        "SELECT pos, hash FROM audit_hashes WHERE pos = ANY($1)
         UNION ALL
         SELECT -1, entry FROM audit_entries WHERE idx = $2",
        &[&positions, &(big(size) - 1)],
    )? {
        let (pos, bytes): (i64, Vec<u8>) = (r.get(0), r.get(1));
        match u64::try_from(pos) {
            Ok(pos) => {
                if let Ok(hash) = bytes.try_into() {
                    found.edge.insert(pos, hash);
                }
            }
            Err(_) => found.last_entry = Some(bytes),
        }
    }
    Ok(found)
}

/// `write_audit`, and when another node appended first, the entries numbered again after the
/// head by `renumber` (with the head kept) and written. The writes written, or what was found.
/// With no writes, the head is kept first and the entries numbered after it.
fn write_audit_after_head(
    tx: &mut postgres::Transaction<'_>,
    audit: Option<AuditWrites>,
    renumber: Option<&mut Renumber>,
) -> Result<Result<AuditWrites, Head>, postgres::Error> {
    if let Some(audit) = audit {
        if renumber.is_none() {
            return Ok(match write_audit(tx, &audit)? {
                Head::Written => Ok(audit),
                found => Err(found),
            });
        }
        // The head moved: its size is read below, with the head locked.
        if append_at_head(tx, &audit)? {
            return Ok(Ok(audit));
        }
    }
    let Some(renumber) = renumber else {
        return Ok(Err(Head::Behind(0)));
    };
    let head = head_found(tx)?;
    let again = match renumber(&head) {
        Ok(w) if w.first == head.size => w,
        Ok(w) => {
            tracing::warn!(
                head = head.size,
                first = w.first,
                "entries numbered again from a place that is not the log's head"
            );
            return Ok(Err(Head::Behind(head.size)));
        }
        Err(e) => {
            tracing::warn!(
                head = head.size,
                "numbering a group again after the head: {e}"
            );
            return Ok(Err(Head::Behind(head.size)));
        }
    };
    match write_audit(tx, &again)? {
        Head::Written => Ok(Ok(again)),
        other => Ok(Err(other)),
    }
}

impl PgStore {
    pub(super) fn refuse_if_failed(&self) -> Result<(), StoreError> {
        match self.failed_write() {
            Some(cause) => Err(StoreError::Unwritable(cause)),
            None => Ok(()),
        }
    }

    /// Commits a group; the log's size after it.
    fn commit_once(
        &self,
        new: &[&Submission],
        audit: Option<&AuditWrites>,
        mut renumber: Option<Renumber>,
    ) -> Result<u64, StoreError> {
        // What the transaction writes, owned: it runs on a connection's thread.
        let audit = audit.cloned();
        let now = crate::clock::now_ms();
        let mut dedup = Vec::new();
        let mut items = Vec::new();
        let mut documents = Vec::new();
        let mut counts: std::collections::BTreeMap<(u32, String, String), ReportCounts> =
            Default::default();
        let mut delivered = Vec::new();
        for s in new {
            if let Some(k) = &s.dedup_key {
                dedup.push((k.clone(), s.exchange_id.clone()));
            }
            for i in &s.items {
                items.push((
                    i.destination.clone(),
                    big(i.seq),
                    i.encode(),
                    i.order_key.clone(),
                    big(i.accepted_at_ms),
                    big(i.next_attempt_ms),
                ));
            }
            for d in &s.onceonly {
                documents.push((
                    d.subject.clone(),
                    d.type_key.clone(),
                    d.document_id.clone(),
                    encode(&d.record),
                ));
            }
            for c in &s.counts {
                let sum = counts
                    .entry((c.day, c.agency.clone(), c.procedure.clone()))
                    .or_default();
                crate::store::types::add_counts(sum, &c.counts);
            }
            for (d, seq) in &s.delivered {
                delivered.push((d.clone(), big(*seq)));
            }
        }
        // Without writes, the log's size as this node last knew it.
        let first = audit
            .as_ref()
            .map_or_else(|| self.audit_size.load(Ordering::Acquire), |a| a.first);
        let (head, end) = self.pool.call("commit a group", move |c| {
            let mut marked: Vec<(String, u64)> = Vec::new();
            let mut tx = c.transaction()?;
            let end = match write_audit_after_head(&mut tx, audit, renumber.as_mut())? {
                Ok(written) => written.end(),
                Err(found) => {
                    tx.rollback()?;
                    return Ok((found, 0));
                }
            };
            if !dedup.is_empty() {
                let keys: Vec<&str> = dedup.iter().map(|(k, _)| k.as_str()).collect();
                let ids: Vec<&str> = dedup.iter().map(|(_, x)| x.as_str()).collect();
                let written = tx.q(
                    "INSERT INTO dedup (key, at_ms, exchange_id)
                     SELECT k, $2, x FROM unnest($1::text[], $3::text[]) AS t(k, x)
                     ON CONFLICT (key) DO NOTHING RETURNING key",
                    &[&keys, &big(now), &ids],
                )?;
                // Keys accepted first by another commit (another node's, or this node's since
                // the key was looked up): this commit is undone, and says as what, all at once.
                if written.len() < keys.len() {
                    let written: std::collections::HashSet<String> =
                        written.iter().map(|r| r.get(0)).collect();
                    let taken: Vec<&str> = keys
                        .iter()
                        .copied()
                        .filter(|k| !written.contains(*k))
                        .collect();
                    let originals: Vec<(String, String)> = tx
                        .q(
                            "SELECT key, exchange_id FROM dedup WHERE key = ANY($1)",
                            &[&taken],
                        )?
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect();
                    tx.rollback()?;
                    return Ok((Head::Taken(originals), 0));
                }
            }
            if !items.is_empty() {
                let dest: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
                let seq: Vec<i64> = items.iter().map(|i| i.1).collect();
                let bytes: Vec<&[u8]> = items.iter().map(|i| i.2.as_slice()).collect();
                let key: Vec<&str> = items.iter().map(|i| i.3.as_str()).collect();
                let at: Vec<i64> = items.iter().map(|i| i.4).collect();
                let next: Vec<i64> = items.iter().map(|i| i.5).collect();
                let mut dests = dest.clone();
                dests.sort_unstable();
                dests.dedup();
                // Each destination's mark moved, and its items queued under the new mark, in
                // one round trip.
                for row in tx.q(
                    "WITH m AS (
                         INSERT INTO outbox_marks (destination, mark)
                         SELECT d, 1 FROM unnest($7::text[]) AS t(d)
                         ON CONFLICT (destination) DO UPDATE SET mark = outbox_marks.mark + 1
                         RETURNING destination, mark
                     ), i AS (
                         INSERT INTO outbox (destination, seq, item, order_key, accepted_at_ms,
                                             next_attempt_ms, mark)
                         SELECT t.d, t.s, t.b, t.k, t.a, t.n, m.mark
                         FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[],
                                     $5::bigint[], $6::bigint[]) AS t(d, s, b, k, a, n)
                         JOIN m ON m.destination = t.d
                     )
                     SELECT destination, mark FROM m",
                    &[&dest, &seq, &bytes, &key, &at, &next, &dests],
                )? {
                    marked.push((row.get(0), row.get::<_, i64>(1) as u64));
                }
            }
            if !documents.is_empty() {
                // One row a key (the last written), as one statement may touch a row once.
                let mut by_key = std::collections::BTreeMap::new();
                for (s, t, id, r) in &documents {
                    by_key.insert((s.as_str(), t.as_str(), id.as_str()), r.as_slice());
                }
                let subject: Vec<&str> = by_key.keys().map(|k| k.0).collect();
                let type_key: Vec<&str> = by_key.keys().map(|k| k.1).collect();
                let id: Vec<&str> = by_key.keys().map(|k| k.2).collect();
                let record: Vec<&[u8]> = by_key.values().copied().collect();
                tx.x(
                    "INSERT INTO issued_documents (subject, type_key, document_id, record)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
                     ON CONFLICT (subject, type_key, document_id)
                     DO UPDATE SET record = EXCLUDED.record",
                    &[&subject, &type_key, &id, &record],
                )?;
            }
            if !counts.is_empty() {
                // Added to the stored counts by the database, one round trip a key.
                let write = tx.prepared(
                    "INSERT INTO report_counts (day, agency, procedure, counts)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (day, agency, procedure) DO UPDATE SET counts = ARRAY(
                         SELECT greatest(coalesce(a, 0), 0) + coalesce(b, 0)
                         FROM unnest(report_counts.counts, EXCLUDED.counts)
                              WITH ORDINALITY AS t(a, b, i)
                         ORDER BY i)",
                )?;
                for ((day, agency, procedure), add) in &counts {
                    let day = *day as i32;
                    let add: Vec<i64> = add.iter().map(|n| big(*n)).collect();
                    tx.execute(&write, &[&day, agency, procedure, &add])?;
                }
            }
            if !delivered.is_empty() {
                let dest: Vec<&str> = delivered.iter().map(|d| d.0.as_str()).collect();
                let seq: Vec<i64> = delivered.iter().map(|d| d.1).collect();
                tx.x(
                    "DELETE FROM outbox WHERE (destination, seq) IN
                         (SELECT * FROM unnest($1::text[], $2::bigint[]))",
                    &[&dest, &seq],
                )?;
            }
            tx.commit()?;
            Ok((Head::Marked(marked), end))
        })?;
        if matches!(head, Head::Written | Head::Marked(_)) {
            for s in new {
                for (d, seq) in &s.delivered {
                    self.forget_held(d, [*seq]);
                }
            }
            self.hold_items(new.iter().flat_map(|s| s.items.iter()));
        }
        match head {
            Head::Written => Ok(end),
            Head::Marked(marked) => {
                let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
                for (d, m) in marked {
                    marks.entry(d).or_default().own.insert(m);
                }
                Ok(end)
            }
            Head::Taken(taken) => Err(StoreError::Duplicate { taken }),
            Head::Behind(found) => {
                self.audit_size.fetch_max(found, Ordering::AcqRel);
                Err(StoreError::Behind {
                    expected: first,
                    found,
                })
            }
        }
    }
}

impl PgStore {
    fn commit_with(
        &self,
        new: &[&Submission],
        audit: Option<&AuditWrites>,
        renumber: Option<Renumber>,
    ) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        match self.commit_once(new, audit, renumber) {
            Ok(end) => {
                self.audit_size.fetch_max(end, Ordering::AcqRel);
                Ok(())
            }
            // Nothing was written: not a failure of the store.
            Err(e @ (StoreError::Behind { .. } | StoreError::Duplicate { .. })) => Err(e),
            Err(e) => {
                self.set_failed(&e);
                Err(e)
            }
        }
    }
}

impl GroupCommit for PgStore {
    fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        self.commit_with(new, Some(audit), None)
    }

    fn commit_after_head(
        &self,
        new: &[&Submission],
        audit: Option<&AuditWrites>,
        renumber: Renumber,
    ) -> Result<(), StoreError> {
        self.commit_with(new, audit, Some(renumber))
    }

    fn failed_write(&self) -> Option<String> {
        self.write_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn next_seq(&self) -> Result<u64, StoreError> {
        self.next_seqs(1)?
            .pop()
            .ok_or_else(|| StoreError::Format("the sequence gave no number".into()))
    }

    fn seen_many(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        if keys.is_empty() {
            return Ok(Default::default());
        }
        let keys = keys.to_vec();
        self.pool.call("read dedup", move |c| {
            let rows = c.q(
                "SELECT key, exchange_id FROM dedup WHERE key = ANY($1)",
                &[&keys],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn next_seqs(&self, n: usize) -> Result<Vec<u64>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let n = big(n as u64);
        let mut seqs = self.pool.call("take sequence numbers", move |c| {
            let rows = c.q(
                "SELECT nextval('outbox_seq_blocks') FROM generate_series(1::bigint, $1::bigint)",
                &[&n],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, i64>(0) as u64)
                .collect::<Vec<u64>>())
        })?;
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError> {
        super::blocking(|| self.seen.seen(dedup_key, |keys| self.seen_many(keys)))
    }

    fn sweep_dedup_step(
        &self,
        cutoff_ms: u64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(u64, Option<Vec<u8>>), StoreError> {
        let after = after.map(|a| String::from_utf8_lossy(a).into_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.call("sweep dedup", move |c| {
            let rows = c.q(
                "SELECT key, at_ms FROM dedup WHERE $1::text IS NULL OR key > $1
                 ORDER BY key LIMIT $2",
                &[&after, &limit],
            )?;
            let old: Vec<String> = rows
                .iter()
                .filter(|r| r.get::<_, i64>(1) < big(cutoff_ms))
                .map(|r| r.get(0))
                .collect();
            if !old.is_empty() {
                c.x("DELETE FROM dedup WHERE key = ANY($1)", &[&old])?;
            }
            let next = (rows.len() as i64 == limit)
                .then(|| rows.last().map(|r| r.get::<_, String>(0).into_bytes()))
                .flatten();
            Ok((old.len() as u64, next))
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every write is durable when its transaction commits.
        Ok(())
    }

    fn dedup_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let after = after.map(str::to_string);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.call("read dedup", move |c| {
            let rows = c.q(
                "SELECT key, exchange_id FROM dedup WHERE $1::text IS NULL OR key > $1
                 ORDER BY key LIMIT $2",
                &[&after, &limit],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn reserve_seqs_past(&self, n: u64) -> Result<(), StoreError> {
        let past = big(n);
        self.pool.call("reserve sequence numbers", move |c| {
            c.x(
                "SELECT setval('outbox_seq_blocks',
                     greatest($1, (SELECT last_value FROM outbox_seq_blocks)))",
                &[&past],
            )
            .map(|_| ())
        })
    }
}
