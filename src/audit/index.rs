//! Look-ups (by subject, member, exchange) are derived from the log and written by an indexer
//! behind the committer, not in the group commit: an acknowledgement waits only for the entry,
//! its sealed part and the tree. The mark `W` and the look-ups move together in one batch; after
//! a crash the indexer resumes from the mark. Queries read the look-ups below the mark and scan
//! the few entries above it.

use super::{AuditError, AuditLog, Sealed};
use crate::store::Lookup;
use std::sync::atomic::Ordering;

impl AuditLog {
    /// Entries below this index are reachable through the look-ups.
    pub fn indexed(&self) -> u64 {
        self.indexed.load(Ordering::Acquire)
    }

    /// Writes the look-ups of up to `max` entries after the mark; returns how many.
    pub fn index_pending(&self, max: u64) -> Result<u64, AuditError> {
        let _serial = super::guard(&self.index_lock);
        let from = self.indexed();
        let to = self.size().min(from.saturating_add(max));
        if to <= from {
            return Ok(0);
        }
        let mut lookups = Vec::new();
        for item in self.store().audit_entries(from, to) {
            let (index, bytes, sealed) = item?;
            let e = super::decode_entry(index, &bytes)?;
            if e.subject_commitment.is_some()
                && let Some(b) = sealed
                && let Ok(Sealed {
                    subject: Some(s), ..
                }) = serde_json::from_slice::<Sealed>(&b)
            {
                lookups.push((Lookup::Subject, s, index));
            }
            if let Some(c) = e.counterparty.as_ref().filter(|c| **c != e.actor) {
                lookups.push((Lookup::Member, c.clone(), index));
            }
            lookups.push((Lookup::Member, e.actor, index));
            lookups.push((Lookup::Exchange, e.exchange_id, index));
        }
        self.store().put_audit_lookups(lookups, to)?;
        self.indexed.store(to, Ordering::Release);
        Ok(to - from)
    }

    /// Indexes until caught up with the log's size now.
    pub fn index_all(&self) -> Result<(), AuditError> {
        while self.index_pending(8192)? > 0 {}
        Ok(())
    }
}
