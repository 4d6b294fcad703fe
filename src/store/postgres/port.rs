//! Each role of the port on PostgreSQL's tables (`migrations`).

use super::{PgStore, Pool, SEQ_BLOCK, big, decode, encode};
use crate::config::hub::RouteConfig;
use crate::merkle::{Hash, MerkleError, stored_hash_count, stored_hash_index};
use crate::store::StoreError;
use crate::store::port::{
    AuditLogStore, Catalogue, GroupCommit, OnceOnlyStore, OutboxStore, PullCache,
};
use crate::store::types::{
    AdapterState, AdapterVersion, AuditWrites, DeadLetter, IssuedDocument, Lookup, MemberRecord,
    OutboxItem, ReportCount, ReportCounts, ReportGroups, Stored, StoredAt, StoredPolicy,
    Submission, TokenRecord, WaitingItem, report_day, report_day_start_ms,
};
use serde_json::Value;
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

/// What `write_audit` found at the log's head.
enum Head {
    /// The entries followed the head and were written.
    Written,
    /// The log had this many entries, not the writes' `first`: nothing was written.
    Behind(u64),
    /// An idempotency key was taken by another node's commit, as this exchange: nothing was
    /// written.
    Taken(String, String),
    /// Committed, with the outbox marks the commit set.
    Marked(Vec<(String, u64)>),
}

/// Writes the audit log's entries and hashes in a transaction, after the head's row is locked
/// and found where the writes begin: appends of hub nodes sharing the database go one after
/// another, each after the last.
fn write_audit(
    tx: &mut postgres::Transaction<'_>,
    w: &AuditWrites,
) -> Result<Head, postgres::Error> {
    if w.records.is_empty() && w.hashes.is_empty() {
        return Ok(Head::Written);
    }
    let size = tx
        .query_one("SELECT size FROM audit_head FOR UPDATE", &[])?
        .get::<_, i64>(0) as u64;
    if size != w.first {
        return Ok(Head::Behind(size));
    }
    tx.execute("UPDATE audit_head SET size = $1", &[&big(w.end())])?;
    // One statement a table, whatever the group's size: a round trip each.
    let idx: Vec<i64> = (0..w.records.len() as u64)
        .map(|i| big(w.first + i))
        .collect();
    let entries: Vec<&[u8]> = w.records.iter().map(|r| r.entry.as_slice()).collect();
    let sealed: Vec<&[u8]> = w.records.iter().map(|r| r.sealed.as_slice()).collect();
    tx.execute(
        "INSERT INTO audit_entries (idx, entry, sealed)
         SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
        &[&idx, &entries, &sealed],
    )?;
    let first = stored_hash_count(w.first);
    let pos: Vec<i64> = (0..w.hashes.len() as u64).map(|i| big(first + i)).collect();
    let hashes: Vec<&[u8]> = w.hashes.iter().map(|h| h.as_slice()).collect();
    tx.execute(
        "INSERT INTO audit_hashes (pos, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        &[&pos, &hashes],
    )?;
    Ok(Head::Written)
}

impl PgStore {
    fn refuse_if_failed(&self) -> Result<(), StoreError> {
        match self.failed_write() {
            Some(cause) => Err(StoreError::Unwritable(cause)),
            None => Ok(()),
        }
    }

    fn commit_once(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        // What the transaction writes, owned: it runs on a connection's thread.
        let audit = audit.clone();
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
        let first = audit.first;
        let head = self.pool.call("commit a group", move |c| {
            let mut marked: Vec<(String, u64)> = Vec::new();
            let mut tx = c.transaction()?;
            if let Head::Behind(size) = write_audit(&mut tx, &audit)? {
                tx.rollback()?;
                return Ok(Head::Behind(size));
            }
            if !dedup.is_empty() {
                let keys: Vec<&str> = dedup.iter().map(|(k, _)| k.as_str()).collect();
                let ids: Vec<&str> = dedup.iter().map(|(_, x)| x.as_str()).collect();
                let written = tx.query(
                    "INSERT INTO dedup (key, at_ms, exchange_id)
                     SELECT k, $2, x FROM unnest($1::text[], $3::text[]) AS t(k, x)
                     ON CONFLICT (key) DO NOTHING RETURNING key",
                    &[&keys, &big(now), &ids],
                )?;
                // Another node accepted a key first (its transaction committed while this one
                // waited on the key): this commit is undone, and says as what.
                if written.len() < keys.len() {
                    let written: std::collections::HashSet<String> =
                        written.iter().map(|r| r.get(0)).collect();
                    if let Some(k) = keys.iter().find(|k| !written.contains(**k)) {
                        let original: String = tx
                            .query_one("SELECT exchange_id FROM dedup WHERE key = $1", &[k])?
                            .get(0);
                        let k = k.to_string();
                        tx.rollback()?;
                        return Ok(Head::Taken(k, original));
                    }
                }
            }
            if !items.is_empty() {
                let dest: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
                let seq: Vec<i64> = items.iter().map(|i| i.1).collect();
                let bytes: Vec<&[u8]> = items.iter().map(|i| i.2.as_slice()).collect();
                let key: Vec<&str> = items.iter().map(|i| i.3.as_str()).collect();
                let at: Vec<i64> = items.iter().map(|i| i.4).collect();
                let next: Vec<i64> = items.iter().map(|i| i.5).collect();
                tx.execute(
                    "INSERT INTO outbox
                         (destination, seq, item, order_key, accepted_at_ms, next_attempt_ms)
                     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[],
                                          $5::bigint[], $6::bigint[])",
                    &[&dest, &seq, &bytes, &key, &at, &next],
                )?;
                let mut dests = dest.clone();
                dests.sort_unstable();
                dests.dedup();
                for row in tx.query(
                    "INSERT INTO outbox_marks (destination, mark)
                     SELECT d, 1 FROM unnest($1::text[]) AS t(d)
                     ON CONFLICT (destination) DO UPDATE SET mark = outbox_marks.mark + 1
                     RETURNING destination, mark",
                    &[&dests],
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
                tx.execute(
                    "INSERT INTO issued_documents (subject, type_key, document_id, record)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
                     ON CONFLICT (subject, type_key, document_id)
                     DO UPDATE SET record = EXCLUDED.record",
                    &[&subject, &type_key, &id, &record],
                )?;
            }
            if !counts.is_empty() {
                let read = tx.prepare(
                    "SELECT counts FROM report_counts
                     WHERE day = $1 AND agency = $2 AND procedure = $3 FOR UPDATE",
                )?;
                let write = tx.prepare(
                    "INSERT INTO report_counts (day, agency, procedure, counts)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (day, agency, procedure) DO UPDATE SET counts = $4",
                )?;
                for ((day, agency, procedure), add) in &counts {
                    let day = *day as i32;
                    let mut sum: ReportCounts = Default::default();
                    if let Some(row) = tx.query_opt(&read, &[&day, agency, procedure])? {
                        let stored: Vec<i64> = row.get(0);
                        for (s, v) in sum.iter_mut().zip(stored) {
                            *s = v.max(0) as u64;
                        }
                    }
                    crate::store::types::add_counts(&mut sum, add);
                    let sum: Vec<i64> = sum.iter().map(|n| big(*n)).collect();
                    tx.execute(&write, &[&day, agency, procedure, &sum])?;
                }
            }
            if !delivered.is_empty() {
                let dest: Vec<&str> = delivered.iter().map(|d| d.0.as_str()).collect();
                let seq: Vec<i64> = delivered.iter().map(|d| d.1).collect();
                tx.execute(
                    "DELETE FROM outbox WHERE (destination, seq) IN
                         (SELECT * FROM unnest($1::text[], $2::bigint[]))",
                    &[&dest, &seq],
                )?;
            }
            tx.commit()?;
            Ok(Head::Marked(marked))
        })?;
        match head {
            Head::Written => Ok(()),
            Head::Marked(marked) => {
                let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
                for (d, m) in marked {
                    marks.entry(d).or_default().own.insert(m);
                }
                Ok(())
            }
            Head::Taken(key, original) => Err(StoreError::Duplicate { key, original }),
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

impl GroupCommit for PgStore {
    fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        match self.commit_once(new, audit) {
            Ok(()) => {
                if !audit.records.is_empty() {
                    self.audit_size.fetch_max(audit.end(), Ordering::AcqRel);
                }
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

    fn failed_write(&self) -> Option<String> {
        self.write_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn next_seq(&self) -> Result<u64, StoreError> {
        let mut seq = self.seq.lock().unwrap_or_else(|p| p.into_inner());
        if seq.0 >= seq.1 {
            let block = self.pool.call("take sequence numbers", |c| {
                let row = c.query_one("SELECT nextval('outbox_seq_blocks')", &[])?;
                Ok(row.get::<_, i64>(0) as u64)
            })?;
            *seq = (block * SEQ_BLOCK, (block + 1) * SEQ_BLOCK);
        }
        let n = seq.0;
        seq.0 += 1;
        Ok(n)
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
            let rows = c.query(
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
            let rows = c.query(
                "SELECT nextval('outbox_seq_blocks') FROM generate_series(1, $1)",
                &[&n],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, i64>(0) as u64 * SEQ_BLOCK)
                .collect::<Vec<u64>>())
        })?;
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError> {
        let key = dedup_key.to_string();
        self.pool.call("read dedup", move |c| {
            Ok(
                c.query_opt("SELECT exchange_id FROM dedup WHERE key = $1", &[&key])?
                    .map(|r| r.get(0)),
            )
        })
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
            let rows = c.query(
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
                c.execute("DELETE FROM dedup WHERE key = ANY($1)", &[&old])?;
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
            let rows = c.query(
                "SELECT key, exchange_id FROM dedup WHERE $1::text IS NULL OR key > $1
                 ORDER BY key LIMIT $2",
                &[&after, &limit],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn reserve_seqs_past(&self, n: u64) -> Result<(), StoreError> {
        let block = big(n / SEQ_BLOCK + 1);
        self.pool.call("reserve sequence numbers", move |c| {
            c.execute(
                "SELECT setval('outbox_seq_blocks',
                     greatest($1, (SELECT last_value FROM outbox_seq_blocks)))",
                &[&block],
            )
            .map(|_| ())
        })?;
        // The block in hand may be below the new mark.
        *self.seq.lock().unwrap_or_else(|p| p.into_inner()) = (0, 0);
        Ok(())
    }
}

impl OutboxStore for PgStore {
    fn outbox_items(&self, destination: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let d = destination.to_string();
        let rows = self.pool.call("read the outbox", move |c| {
            let rows = c.query(
                "SELECT item FROM outbox WHERE destination = $1 ORDER BY seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read the outbox", b)).collect()
    }

    fn outbox_destinations(&self) -> Result<Vec<String>, StoreError> {
        self.pool.call("list the outbox", |c| {
            let rows = c.query(
                "SELECT DISTINCT destination FROM outbox ORDER BY destination",
                &[],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn outbox_item(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<Arc<OutboxItem>>, StoreError> {
        let d = destination.to_string();
        let bytes = self.pool.call("read an outbox item", move |c| {
            Ok(c.query_opt(
                "SELECT item FROM outbox WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes
            .map(|b| decode("read an outbox item", &b).map(Arc::new))
            .transpose()
    }

    fn update_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let (d, seq, bytes, next) = (
            item.destination.clone(),
            big(item.seq),
            item.encode(),
            big(item.next_attempt_ms),
        );
        self.pool.call("update an outbox item", move |c| {
            // Only an item still waiting: a delivery recorded meanwhile is not brought back.
            c.execute(
                "UPDATE outbox SET item = $3, next_attempt_ms = $4
                 WHERE destination = $1 AND seq = $2",
                &[&d, &seq, &bytes, &next],
            )
            .map(|_| ())
        })
    }

    fn outbox_waiting_if_changed(
        &self,
        destination: &str,
    ) -> Result<Option<Vec<WaitingItem>>, StoreError> {
        let d = destination.to_string();
        let mark = self.pool.call("read the outbox's mark", move |c| {
            Ok(c.query_opt(
                "SELECT mark FROM outbox_marks WHERE destination = $1",
                &[&d],
            )?
            .map_or(0, |r| r.get::<_, i64>(0) as u64))
        })?;
        let unchanged = {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            marks
                .get(destination)
                .is_some_and(|m| m.read == mark || (m.read + 1..=mark).all(|v| m.own.contains(&v)))
        };
        if unchanged {
            let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = marks.get_mut(destination) {
                m.read = mark;
                m.own = m.own.split_off(&(mark + 1));
            }
            return Ok(None);
        }
        // Read after the mark: whatever it counts is in the list.
        let waiting = self.outbox_waiting(destination)?;
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let m = marks.entry(destination.to_string()).or_default();
        m.read = mark;
        m.own = m.own.split_off(&(mark + 1));
        Ok(Some(waiting))
    }

    fn outbox_waiting(&self, destination: &str) -> Result<Vec<WaitingItem>, StoreError> {
        let d = destination.to_string();
        self.pool.call("read the outbox", move |c| {
            let rows = c.query(
                "SELECT seq, order_key, accepted_at_ms, next_attempt_ms FROM outbox
                 WHERE destination = $1 ORDER BY seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| WaitingItem {
                    seq: r.get::<_, i64>(0) as u64,
                    order_key: r.get(1),
                    accepted_at_ms: r.get::<_, i64>(2) as u64,
                    next_attempt_ms: r.get::<_, i64>(3) as u64,
                })
                .collect())
        })
    }

    fn park(&self, dead: &DeadLetter) -> Result<(), StoreError> {
        let (d, seq, letter) = (
            dead.item.destination.clone(),
            big(dead.item.seq),
            encode(dead),
        );
        self.pool.call("park a dead letter", move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM outbox WHERE destination = $1 AND seq = $2",
                &[&d, &seq],
            )?;
            tx.execute(
                "INSERT INTO dead_letters (destination, seq, letter) VALUES ($1, $2, $3)
                 ON CONFLICT (destination, seq) DO UPDATE SET letter = $3",
                &[&d, &seq, &letter],
            )?;
            tx.commit()
        })
    }

    fn dead_letters(&self, destination: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let d = destination.map(str::to_string);
        let rows = self.pool.call("read dead letters", move |c| {
            let rows = c.query(
                "SELECT letter FROM dead_letters WHERE $1::text IS NULL OR destination = $1
                 ORDER BY destination, seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|b| decode("read a dead letter", b))
            .collect()
    }

    fn dead_letter(&self, destination: &str, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        let d = destination.to_string();
        let bytes = self.pool.call("read a dead letter", move |c| {
            Ok(c.query_opt(
                "SELECT letter FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes.map(|b| decode("read a dead letter", &b)).transpose()
    }

    fn replay(&self, dead: &DeadLetter, new_seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        let mut item = dead.item.clone();
        item.seq = new_seq;
        item.attempts = 0;
        item.next_attempt_ms = 0;
        item.last_error = None;
        // A replay starts the age clock again (max_age_secs counts from the replay).
        item.accepted_at_ms = crate::clock::now_ms();
        let (d, old, new, bytes, key, at) = (
            item.destination.clone(),
            big(dead.item.seq),
            big(new_seq),
            item.encode(),
            item.order_key.clone(),
            big(item.accepted_at_ms),
        );
        let done = self.pool.call("replay a dead letter", move |c| {
            let mut tx = c.transaction()?;
            let removed = tx.execute(
                "DELETE FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &old],
            )?;
            if removed == 0 {
                // Replayed or discarded meanwhile: nothing to do.
                tx.rollback()?;
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO outbox (destination, seq, item, order_key, accepted_at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&d, &new, &bytes, &key, &at],
            )?;
            // The node delivering the destination reads its waiting list again.
            tx.execute(
                "INSERT INTO outbox_marks (destination, mark) VALUES ($1, 1)
                 ON CONFLICT (destination) DO UPDATE SET mark = outbox_marks.mark + 1",
                &[&d],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        Ok(done.then_some(item))
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn claim_delivery(
        &self,
        destination: &str,
        node: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let (d, n, ttl) = (destination.to_string(), node.to_string(), big(ttl_ms));
        self.pool
            .call("claim a destination's deliveries", move |c| {
                // The database's clock decides when a claim has run out, whatever the nodes' say.
                let row = c.query_opt(
                "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
                 INSERT INTO leases (destination, node, until_ms)
                 SELECT $1, $2, ms + $3 FROM now
                 ON CONFLICT (destination) DO UPDATE
                     SET node = EXCLUDED.node, until_ms = EXCLUDED.until_ms
                     WHERE leases.node = EXCLUDED.node
                        OR leases.until_ms < (SELECT ms FROM now)
                 RETURNING node",
                &[&d, &n, &ttl],
            )?;
                Ok(row.is_some())
            })
    }

    fn release_deliveries(&self, node: &str) -> Result<(), StoreError> {
        let n = node.to_string();
        self.pool.call("release deliveries", move |c| {
            c.execute("DELETE FROM leases WHERE node = $1", &[&n])
                .map(|_| ())
        })
    }

    fn discard(&self, destination: &str, seq: u64) -> Result<bool, StoreError> {
        let d = destination.to_string();
        self.pool.call("discard a dead letter", move |c| {
            Ok(c.execute(
                "DELETE FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )? > 0)
        })
    }
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
            Ok(c.query_one("SELECT size FROM audit_head", &[])?
                .get::<_, i64>(0) as u64)
        })
    }

    fn audit_node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let pos = big(stored_hash_index(level, index));
        let found = self
            .pool
            .call("read a tree hash", move |c| {
                Ok(
                    c.query_opt("SELECT hash FROM audit_hashes WHERE pos = $1", &[&pos])?
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
            Ok(c.query_opt(
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
            let purged = tx.execute(
                "UPDATE audit_entries SET sealed = NULL WHERE idx = $1 AND sealed IS NOT NULL",
                &[&big(index)],
            )?;
            if let Some(s) = &subject {
                tx.execute(
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
            c.execute(
                "INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2)
                 ON CONFLICT (size) DO UPDATE SET note = $2",
                &[&big(size), &note],
            )
            .map(|_| ())
        })
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        self.pool.call("read a checkpoint", move |c| {
            Ok(c.query_opt(
                "SELECT note FROM audit_checkpoints WHERE size = $1",
                &[&big(size)],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.pool.call("read the latest checkpoint", |c| {
            Ok(c.query_opt(
                "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
        })
    }

    fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.call("read checkpoints", move |c| {
            let rows = c.query(
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
            Ok(c.query_opt("SELECT upto FROM audit_indexed", &[])?
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
            let st = tx.prepare(
                "INSERT INTO audit_lookups (kind, value, idx) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )?;
            for (l, v, i) in &lookups {
                tx.execute(&st, &[&kind(*l), v, &big(*i)])?;
            }
            tx.execute(
                "INSERT INTO audit_indexed (upto) VALUES ($1)
                 ON CONFLICT (one) DO UPDATE SET upto = greatest(audit_indexed.upto, $1)",
                &[&big(upto)],
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
                "TRUNCATE audit_entries, audit_hashes, audit_checkpoints, audit_lookups, \
                 audit_indexed; UPDATE audit_head SET size = 0",
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
            let rows = c.query(
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
            let rows = c.query(
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

impl Catalogue for PgStore {
    fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let (id, bytes) = (token.id.clone(), encode(token));
        self.pool.call("write a token", move |c| {
            c.execute(
                "INSERT INTO tokens (id, record) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET record = $2",
                &[&id, &bytes],
            )
            .map(|_| ())
        })?;
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.id.clone(), (token.clone(), std::time::Instant::now()));
        Ok(())
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        // A token read less than `TOKEN_FRESH` ago is taken as read: another node's revocation
        // is in force here within that time.
        let cached = self
            .tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some((t, at)) = &cached
            && at.elapsed() < super::TOKEN_FRESH
        {
            return Ok(Some(t.clone()));
        }
        let key = id.to_string();
        let read = self.pool.call("read a token", move |c| {
            Ok(
                c.query_opt("SELECT record FROM tokens WHERE id = $1", &[&key])?
                    .map(|r| r.get::<_, Vec<u8>>(0)),
            )
        });
        let bytes = match read {
            Ok(b) => b,
            // The database away (restarting, failing over): the token as last read, so that
            // members keep being told 503 for what needs the database, not 401.
            Err(StoreError::Unavailable { .. }) if cached.is_some() => {
                return Ok(cached.map(|(t, _)| t));
            }
            Err(e) => return Err(e),
        };
        let Some(bytes) = bytes else {
            self.tokens
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
            return Ok(None);
        };
        let t: TokenRecord = decode("read a token", &bytes)?;
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(t.id.clone(), (t.clone(), std::time::Instant::now()));
        Ok(Some(t))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = self.pool.call("read tokens", |c| {
            let rows = c.query("SELECT record FROM tokens ORDER BY id", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read a token", b)).collect()
    }

    fn put_adapter_version(
        &self,
        version: &AdapterVersion,
        enabled: bool,
    ) -> Result<(), StoreError> {
        let (name, v, bytes) = (
            version.name.clone(),
            version.version as i32,
            encode(version),
        );
        self.pool.call("store an adapter version", move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO adapter_versions (name, version, record) VALUES ($1, $2, $3)
                 ON CONFLICT (name, version) DO UPDATE SET record = $3",
                &[&name, &v, &bytes],
            )?;
            tx.execute(
                "INSERT INTO adapters (name, latest, enabled) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET latest = $2, enabled = $3",
                &[&name, &v, &enabled],
            )?;
            tx.commit()
        })
    }

    fn adapter_state(&self, name: &str) -> Result<Option<AdapterState>, StoreError> {
        let name = name.to_string();
        self.pool.call("read an adapter's state", move |c| {
            Ok(c.query_opt(
                "SELECT latest, enabled FROM adapters WHERE name = $1",
                &[&name],
            )?
            .map(|r| AdapterState {
                latest: r.get::<_, i32>(0) as u32,
                enabled: r.get(1),
            }))
        })
    }

    fn set_adapter_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.pool.call("enable or disable an adapter", move |c| {
            Ok(c.execute(
                "UPDATE adapters SET enabled = $2 WHERE name = $1",
                &[&name, &enabled],
            )? > 0)
        })
    }

    fn adapter_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<AdapterVersion>, StoreError> {
        let (name, v) = (name.to_string(), version as i32);
        let bytes = self.pool.call("read an adapter version", move |c| {
            Ok(c.query_opt(
                "SELECT record FROM adapter_versions WHERE name = $1 AND version = $2",
                &[&name, &v],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes
            .map(|b| decode("read an adapter version", &b))
            .transpose()
    }

    fn adapter_states(&self) -> Result<Vec<(String, AdapterState)>, StoreError> {
        self.pool.call("read the adapters' states", |c| {
            let rows = c.query(
                "SELECT name, latest, enabled FROM adapters ORDER BY name",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        AdapterState {
                            latest: r.get::<_, i32>(1) as u32,
                            enabled: r.get(2),
                        },
                    )
                })
                .collect())
        })
    }

    fn adapter_version_numbers(&self, name: &str) -> Result<Vec<u32>, StoreError> {
        let name = name.to_string();
        self.pool.call("read an adapter's versions", move |c| {
            let rows = c.query(
                "SELECT version FROM adapter_versions WHERE name = $1 ORDER BY version",
                &[&name],
            )?;
            Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u32).collect())
        })
    }

    fn add_route(&self, route: &RouteConfig) -> Result<u64, StoreError> {
        let bytes = encode(route);
        self.pool.call("add a route", move |c| {
            let row = c.query_one(
                "INSERT INTO routes (id, route) VALUES (nextval('route_ids'), $1) RETURNING id",
                &[&bytes],
            )?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn remove_route(&self, id: u64) -> Result<bool, StoreError> {
        self.pool.call("remove a route", move |c| {
            Ok(c.execute("DELETE FROM routes WHERE id = $1", &[&big(id)])? > 0)
        })
    }

    fn routes(&self) -> Result<Vec<(u64, RouteConfig)>, StoreError> {
        let rows = self.pool.call("read routes", |c| {
            let rows = c.query("SELECT id, route FROM routes ORDER BY id", &[])?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1)))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|(id, b)| Ok((*id, decode("read a route", b)?)))
            .collect()
    }

    fn put_member(&self, member: &MemberRecord) -> Result<(), StoreError> {
        let (code, bytes) = (member.code.clone(), encode(member));
        self.pool.call("write a member", move |c| {
            c.execute(
                "INSERT INTO members (code, record) VALUES ($1, $2)
                 ON CONFLICT (code) DO UPDATE SET record = $2",
                &[&code, &bytes],
            )
            .map(|_| ())
        })
    }

    fn members(&self) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = self.pool.call("read members", |c| {
            let rows = c.query("SELECT record FROM members ORDER BY code", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read a member", b)).collect()
    }

    fn put_policy(&self, text: &str, at: &str, by: &str) -> Result<u64, StoreError> {
        let (text, at, by) = (text.to_string(), at.to_string(), by.to_string());
        let version = self.pool.call("store a policy", move |c| {
            let mut tx = c.transaction()?;
            tx.execute("LOCK TABLE policies IN EXCLUSIVE MODE", &[])?;
            let next: i64 = tx
                .query_one("SELECT coalesce(max(version), 0) + 1 FROM policies", &[])?
                .get(0);
            let record = encode(&StoredPolicy {
                version: next as u64,
                text,
                at,
                by,
            });
            tx.execute(
                "INSERT INTO policies (version, record) VALUES ($1, $2)",
                &[&next, &record],
            )?;
            tx.commit()?;
            Ok(next as u64)
        })?;
        Ok(version)
    }

    fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        let rows = self.pool.call("read the policies", |c| {
            let rows = c.query("SELECT record FROM policies ORDER BY version", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read the policy", b)).collect()
    }

    fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        let bytes = self.pool.call("read the policy", |c| {
            Ok(c.query_opt(
                "SELECT record FROM policies ORDER BY version DESC LIMIT 1",
                &[],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes.map(|b| decode("read the policy", &b)).transpose()
    }
}

impl PullCache for PgStore {
    fn cache_get(&self, record_type: &str, key: &str) -> Result<Option<(u64, Value)>, StoreError> {
        let (t, k) = (record_type.to_string(), key.to_string());
        let row = self.pool.call("read the pull cache", move |c| {
            Ok(c.query_opt(
                "SELECT at_ms, record FROM pull_cache WHERE record_type = $1 AND key = $2",
                &[&t, &k],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1))))
        })?;
        row.map(|(at, b)| Ok((at, decode("read the pull cache", &b)?)))
            .transpose()
    }

    fn cache_put(
        &self,
        record_type: &str,
        key: &str,
        at_ms: u64,
        record: &Value,
    ) -> Result<(), StoreError> {
        let (t, k, bytes) = (record_type.to_string(), key.to_string(), encode(record));
        self.pool.call("write the pull cache", move |c| {
            c.execute(
                "INSERT INTO pull_cache (record_type, key, at_ms, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (record_type, key) DO UPDATE SET at_ms = $3, record = $4",
                &[&t, &k, &big(at_ms), &bytes],
            )
            .map(|_| ())
        })
    }
}

impl OnceOnlyStore for PgStore {
    fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let (s, t) = (subject.to_string(), type_key.map(str::to_string));
        let rows = self.pool.call("read issued documents", move |c| {
            let rows = c.query(
                "SELECT record FROM issued_documents
                 WHERE subject = $1 AND ($2::text IS NULL OR type_key = $2)
                 ORDER BY type_key, document_id",
                &[&s, &t],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|b| decode("read an issued document", b))
            .collect()
    }

    fn issued_document_rows(&self) -> Result<Vec<IssuedDocument>, StoreError> {
        let rows = self.pool.call("read issued documents", |c| {
            let rows = c.query(
                "SELECT subject, type_key, document_id, record FROM issued_documents
                 ORDER BY subject, type_key, document_id",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<_, Vec<u8>>(3)))
                .collect::<Vec<(String, String, String, Vec<u8>)>>())
        })?;
        rows.into_iter()
            .map(|(subject, type_key, document_id, b)| {
                Ok(IssuedDocument {
                    subject,
                    type_key,
                    document_id,
                    record: decode("read an issued document", &b)?,
                })
            })
            .collect()
    }

    fn report_count_rows(&self) -> Result<Vec<ReportCount>, StoreError> {
        let rows = self.pool.call("read the once-only report", |c| {
            let rows = c.query(
                "SELECT day, agency, procedure, counts FROM report_counts
                 ORDER BY day, agency, procedure",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i32>(0),
                        r.get(1),
                        r.get(2),
                        r.get::<_, Vec<i64>>(3),
                    )
                })
                .collect::<Vec<(i32, String, String, Vec<i64>)>>())
        })?;
        Ok(rows
            .into_iter()
            .map(|(day, agency, procedure, stored)| {
                let mut counts: ReportCounts = Default::default();
                for (c, v) in counts.iter_mut().zip(stored) {
                    *c = v.max(0) as u64;
                }
                ReportCount {
                    day: day.max(0) as u32,
                    agency,
                    procedure,
                    counts,
                }
            })
            .collect())
    }

    fn report_counts(&self, since_ms: u64) -> Result<(ReportGroups, u64), StoreError> {
        let day = report_day(since_ms);
        let d = day as i32;
        let rows = self.pool.call("read the once-only report", move |c| {
            let rows = c.query(
                "SELECT agency, procedure, counts FROM report_counts WHERE day >= $1",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get::<_, Vec<i64>>(2)))
                .collect::<Vec<(String, String, Vec<i64>)>>())
        })?;
        let mut groups = ReportGroups::new();
        for (agency, procedure, counts) in rows {
            let mut add: ReportCounts = Default::default();
            for (a, v) in add.iter_mut().zip(counts) {
                *a = v.max(0) as u64;
            }
            crate::store::types::add_counts(groups.entry((agency, procedure)).or_default(), &add);
        }
        Ok((groups, report_day_start_ms(day)))
    }
}
