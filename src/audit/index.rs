//! Look-ups (by subject, member, exchange) are derived from the log and written by an indexer
//! behind the committer, not in the group commit: an acknowledgement waits only for the entry,
//! its sealed part and the tree. The mark `W` and the look-ups move together in one batch; after
//! a crash the indexer resumes from the mark. Queries read the look-ups below the mark and scan
//! the few entries above it.
//!
//! The committer hands each commit's look-ups over in memory (`AuditLog::applied`), so the
//! indexer does not read back and decode what was just written: reading and parsing the
//! entries and their sealed parts was most of its work, about a sixth of the hub's CPU on
//! cached pulls (BENCHMARKS.md). What is not handed over, it reads from the files: the entries
//! committed before a restart, those past `FRESH_MAX` when it falls behind, and everything
//! after a purge (a look-up handed over before it could name the purged subject).

use super::{AuditEntry, AuditError, AuditLog, guard};
use crate::store::Lookup;
use std::sync::atomic::Ordering;

/// Entries whose look-ups may wait in memory for the indexer; past this, the entries are read
/// back from the files instead. At a few hundred bytes an entry, a few megabytes.
const FRESH_MAX: usize = 16_384;

/// The subject of a sealed part (its payload is skipped, not parsed into values).
#[derive(serde::Deserialize)]
struct SubjectOnly {
    subject: Option<String>,
}

/// An entry's index and its look-ups `(kind, value)`.
pub(super) type EntryLookups = (u64, Vec<(Lookup, String)>);

/// The look-ups of an entry: its subject (when it commits to one and the subject is still
/// kept), its counterparty (when another member than the actor), its actor, its exchange.
pub(super) fn lookups_of(e: AuditEntry, subject: Option<String>) -> EntryLookups {
    let mut out = Vec::with_capacity(4);
    if e.subject_commitment.is_some()
        && let Some(s) = subject
    {
        out.push((Lookup::Subject, s));
    }
    if let Some(c) = e.counterparty.filter(|c| *c != e.actor) {
        out.push((Lookup::Member, c));
    }
    out.push((Lookup::Member, e.actor));
    out.push((Lookup::Exchange, e.exchange_id));
    (e.index, out)
}

impl AuditLog {
    /// Entries below this index are reachable through the look-ups.
    pub fn indexed(&self) -> u64 {
        self.indexed.load(Ordering::Acquire)
    }

    /// Takes the look-ups of a commit's entries for the indexer (dropped when too many wait:
    /// the indexer then reads those entries back).
    pub(super) fn hand_over(&self, lookups: Vec<EntryLookups>) {
        let mut fresh = guard(&self.fresh);
        if fresh.len() + lookups.len() <= FRESH_MAX {
            fresh.extend(lookups);
        }
    }

    /// Writes the look-ups of up to `max` entries after the mark; returns how many.
    pub fn index_pending(&self, max: u64) -> Result<u64, AuditError> {
        let _serial = guard(&self.index_lock);
        let from = self.indexed();
        let to = self.size().min(from.saturating_add(max));
        if to <= from {
            return Ok(0);
        }
        let mut lookups = Vec::new();
        // First what was handed over, from the mark on without a gap.
        let mut next = from;
        {
            let mut fresh = guard(&self.fresh);
            while fresh.front().is_some_and(|(i, _)| *i < from) {
                fresh.pop_front();
            }
            while next < to && fresh.front().is_some_and(|(i, _)| *i == next) {
                if let Some((i, ls)) = fresh.pop_front() {
                    lookups.extend(ls.into_iter().map(|(l, v)| (l, v, i)));
                }
                next += 1;
            }
        }
        // Then the rest, read back.
        let mut to = to;
        let mut read_to = next;
        for item in self.store().audit_entries(next, to) {
            let (index, bytes, sealed) = item?;
            read_to = index + 1;
            let e = super::decode_entry(index, &bytes)?;
            let subject = sealed
                .and_then(|b| serde_json::from_slice::<SubjectOnly>(&b).ok())
                .and_then(|s| s.subject);
            let (i, ls) = lookups_of(e, subject);
            lookups.extend(ls.into_iter().map(|(l, v)| (l, v, i)));
        }
        // The mark moves only over what was read: entries the store does not give yet (not
        // known to it as committed) are indexed on a later pass.
        if next < to {
            to = read_to;
        }
        if to <= from {
            return Ok(0);
        }
        // No subject of an entry purged meanwhile (its look-ups handed over after the purge).
        {
            let purged = guard(&self.purged_unindexed);
            if !purged.is_empty() {
                lookups.retain(|(l, _, i)| *l != Lookup::Subject || !purged.contains(i));
            }
        }
        self.store().put_audit_lookups(lookups, to)?;
        self.indexed.store(to, Ordering::Release);
        guard(&self.purged_unindexed).retain(|i| *i >= to);
        Ok(to - from)
    }

    /// Takes the mark another hub node moved, on a store it shares (`relay::indexer`): the
    /// look-ups below it are written. Forgets what was handed over below it.
    pub fn follow_indexed(&self) -> Result<(), AuditError> {
        let stored = self.store().audit_indexed()?.min(self.size());
        self.indexed.fetch_max(stored, Ordering::AcqRel);
        let mark = self.indexed();
        guard(&self.purged_unindexed).retain(|i| *i >= mark);
        let mut fresh = guard(&self.fresh);
        while fresh.front().is_some_and(|(i, _)| *i < mark) {
            fresh.pop_front();
        }
        Ok(())
    }

    /// Indexes until caught up with the log's size now.
    pub fn index_all(&self) -> Result<(), AuditError> {
        while self.index_pending(8192)? > 0 {}
        Ok(())
    }

    /// How many entries' look-ups wait in memory (for tests).
    #[cfg(test)]
    pub(crate) fn fresh_len(&self) -> usize {
        guard(&self.fresh).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditDraft;
    use crate::config::hub::AuditConfig;
    use crate::signing::HubKey;
    use crate::store::Store;
    use std::sync::Arc;

    const MEMBERS: [&str; 3] = ["000.00.00.H42", "000.00.00.G07", "000.00.00.G22"];

    fn subject(i: u64) -> String {
        format!("0421920045{:02}", i % 7)
    }

    /// Entry `i`: one of three actors, another member as counterparty on every other entry
    /// (the actor itself on every fifth), a subject on every third, an exchange per pair.
    fn draft(i: u64) -> AuditDraft {
        let actor = MEMBERS[(i % 3) as usize].to_string();
        let counterparty = match i % 5 {
            0 => Some(actor.clone()),
            1 | 3 => Some(MEMBERS[((i + 1) % 3) as usize].to_string()),
            _ => None,
        };
        AuditDraft {
            exchange_id: format!("x-{}", i / 2),
            actor,
            counterparty,
            operation: "pull".into(),
            outcome: "allowed".into(),
            subject: i.is_multiple_of(3).then(|| subject(i)),
            payload: Some(serde_json::json!({ "n": i })),
            ..Default::default()
        }
    }

    fn open(dir: &std::path::Path) -> (Store, AuditLog) {
        let store = Store::open(dir).unwrap();
        let key = Arc::new(HubKey::from_seed("test.local/audit", [3; 32]).unwrap());
        let log = AuditLog::open(store.clone(), key, &AuditConfig::default()).unwrap();
        (store, log)
    }

    /// Commits entries `range` as one group commit, as the committer does.
    fn commit(store: &Store, log: &AuditLog, range: std::ops::Range<u64>) {
        let p = log
            .prepare(range.map(|i| draft(i).seal().unwrap()).collect())
            .unwrap();
        store.apply_audit_writes(&p.writes).unwrap();
        log.applied(p);
    }

    fn found(store: &Store, l: Lookup, v: &str) -> Vec<u64> {
        store.audit_lookup(l, v, 0).map(|r| r.unwrap()).collect()
    }

    /// Every look-up of entries `0..n` is found, and nothing else: the expected indexes are
    /// worked out from the drafts, not from either way of indexing.
    fn check_all(store: &Store, n: u64, purged: &[u64]) {
        for m in MEMBERS {
            let want: Vec<u64> = (0..n)
                .filter(|i| {
                    let d = draft(*i);
                    d.actor == m || d.counterparty.as_deref() == Some(m)
                })
                .collect();
            assert_eq!(found(store, Lookup::Member, m), want, "member {m}");
        }
        for k in 0..7 {
            let s = subject(k);
            let want: Vec<u64> = (0..n)
                .filter(|i| draft(*i).subject.as_deref() == Some(&s) && !purged.contains(i))
                .collect();
            assert_eq!(found(store, Lookup::Subject, &s), want, "subject {s}");
        }
        for x in [0, 1, n / 4, (n - 1) / 2] {
            let want: Vec<u64> = (0..n).filter(|i| i / 2 == x).collect();
            assert_eq!(found(store, Lookup::Exchange, &format!("x-{x}")), want);
        }
    }

    #[test]
    fn handed_over_look_ups_are_used_and_match_those_read_back() {
        // The same entries indexed from what the committer handed over and, in a second
        // store, read back from the files (a log opened afresh has nothing handed over).
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (store_a, log_a) = open(a.path());
        let (store_b, log_b) = open(b.path());
        for r in [0..1, 1..40, 40..300] {
            commit(&store_a, &log_a, r.clone());
            commit(&store_b, &log_b, r);
        }
        assert_eq!(log_a.fresh_len(), 300);
        assert_eq!(log_a.index_pending(100).unwrap(), 100);
        assert_eq!(log_a.fresh_len(), 200);
        log_a.index_all().unwrap();
        assert_eq!(log_a.fresh_len(), 0, "every look-up was taken from memory");
        drop(log_b);
        let (store_b, log_b) = {
            drop(store_b);
            open(b.path())
        };
        assert_eq!(log_b.fresh_len(), 0);
        log_b.index_all().unwrap();
        assert_eq!(log_a.indexed(), 300);
        assert_eq!(log_b.indexed(), 300);
        check_all(&store_a, 300, &[]);
        check_all(&store_b, 300, &[]);
    }

    #[test]
    fn a_purge_before_indexing_leaves_the_purged_subject_unindexed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, log) = open(dir.path());
        commit(&store, &log, 0..30);
        // Entry 9 names a subject; purged before the indexer has seen it.
        assert!(draft(9).subject.is_some());
        assert!(log.purge(9).unwrap().is_some());
        log.index_all().unwrap();
        check_all(&store, 30, &[9]);
        // Later commits are handed over again.
        commit(&store, &log, 30..40);
        assert_eq!(log.fresh_len(), 10);
        log.index_all().unwrap();
        check_all(&store, 40, &[9]);
    }

    #[test]
    fn a_purge_between_a_commit_and_its_hand_over_leaves_the_subject_unindexed() {
        // The embedded store gives an entry back as soon as its writes are applied, and the
        // committer hands its look-ups over just after: a purge in between must not be undone
        // by them.
        let dir = tempfile::tempdir().unwrap();
        let (store, log) = open(dir.path());
        commit(&store, &log, 0..3);
        // Indexed up to the commit, so that the next is taken from what is handed over.
        log.index_all().unwrap();
        let p = log
            .prepare((3..30).map(|i| draft(i).seal().unwrap()).collect())
            .unwrap();
        store.apply_audit_writes(&p.writes).unwrap();
        assert!(draft(9).subject.is_some());
        assert!(log.purge(9).unwrap().is_some());
        log.applied(p);
        assert_eq!(log.fresh_len(), 27, "handed over after the purge");
        log.index_all().unwrap();
        check_all(&store, 30, &[9]);
        // Later commits and purges as ever.
        commit(&store, &log, 30..40);
        assert!(log.purge(33).unwrap().is_some());
        log.index_all().unwrap();
        check_all(&store, 40, &[9, 33]);
    }

    #[test]
    fn entries_past_what_may_wait_in_memory_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (store, log) = open(dir.path());
        // Four commits fit; the fifth would pass FRESH_MAX and is not kept in memory.
        let step = (FRESH_MAX / 4) as u64;
        for k in 0..5 {
            commit(&store, &log, k * step..(k + 1) * step);
        }
        assert_eq!(log.fresh_len(), FRESH_MAX);
        // From memory, then from the files, then from memory again.
        log.index_all().unwrap();
        commit(&store, &log, 5 * step..5 * step + 10);
        assert_eq!(log.fresh_len(), 10);
        log.index_all().unwrap();
        assert_eq!(log.fresh_len(), 0);
        check_all(&store, 5 * step + 10, &[]);
    }
}
