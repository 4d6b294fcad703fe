//! Look-ups (by subject, member, exchange) are derived from the log and written by an indexer
//! behind the committer, not in the group commit: an acknowledgement waits only for the entry,
//! its sealed part and the tree. The mark `W` and the look-ups move together in one batch; after
//! a crash the indexer resumes from the mark. Queries read the look-ups below the mark and scan
//! the few entries above it.

use super::{AuditError, AuditLog, Sealed};
use std::collections::BTreeMap;
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
        let mut groups: BTreeMap<(u8, String), Vec<u64>> = BTreeMap::new();
        for item in self.store().audit_entries(from, to) {
            let (index, bytes) = item?;
            let e: super::AuditEntry =
                serde_json::from_slice(&bytes).map_err(|err| AuditError::Entry {
                    index,
                    message: format!("not readable: {err}"),
                })?;
            if e.subject_commitment.is_some()
                && let Some(b) = self.store().audit_sealed_bytes(index)?
                && let Ok(Sealed {
                    subject: Some(s), ..
                }) = serde_json::from_slice::<Sealed>(&b)
            {
                groups.entry((b'S', s)).or_default().push(index);
            }
            if let Some(c) = e.counterparty.as_ref().filter(|c| **c != e.actor) {
                groups.entry((b'M', c.clone())).or_default().push(index);
            }
            groups.entry((b'M', e.actor)).or_default().push(index);
            groups.entry((b'X', e.exchange_id)).or_default().push(index);
        }
        let lookups = groups
            .into_iter()
            .map(|((kind, value), idx)| {
                let rest: Vec<u8> = idx[1..].iter().flat_map(|i| i.to_be_bytes()).collect();
                (crate::store::lookup_key(kind, &value, idx[0]), rest)
            })
            .collect();
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
