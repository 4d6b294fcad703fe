//! Moving a hub's data from one store to another (`lienthong store copy`): a single-node
//! deployment on the embedded store into PostgreSQL for a cluster, or back. Everything durable
//! is copied through the port: members, tokens, adapters with every version, routes, policy
//! versions, idempotency keys, outbox items and dead letters (with their sequence numbers),
//! issued documents and the once-only report's counts, and the audit log (entries, sealed
//! parts, purges, checkpoints). The audit log's look-ups are not copied: the hub's indexer
//! builds them again from the entries at its next start. The pull cache is not copied (it is
//! fetched again). The copy ends by checking that the audit log's Merkle root is the same on
//! both sides.
//!
//! The hubs must be stopped (the embedded store is one process's; a database being written
//! while copied would be copied in an unknown state). The destination must be empty.

use super::types::{AuditRecord, AuditWrites, IssuedDocument, OutboxItem, Submission};
use super::{Store, StoreError};
use crate::merkle::{Frontier, Hash, MerkleError};
use std::sync::Arc;

/// What a copy moved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub members: usize,
    pub tokens: usize,
    pub adapter_versions: usize,
    pub routes: usize,
    pub policies: usize,
    pub dedup_keys: usize,
    pub outbox_items: usize,
    pub dead_letters: usize,
    pub issued_documents: usize,
    pub report_counts: usize,
    pub audit_entries: u64,
    pub purged_entries: usize,
    pub checkpoints: usize,
    /// The audit log's root, the same on both sides.
    pub root: Hash,
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the destination is not empty: it holds {0}; copy into a new data directory or an empty database"
    )]
    NotEmpty(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit log's tree: {0}")]
    Merkle(#[from] MerkleError),
    #[error(
        "the audit log's root differs after the copy: {} at the source, {} at the destination",
        hex::encode(from),
        hex::encode(to)
    )]
    RootMismatch { from: Hash, to: Hash },
}

/// Work given to one commit while copying.
const CHUNK: usize = 1000;

/// What of `to` is not empty, if anything.
fn not_empty(to: &Store) -> Result<Option<String>, StoreError> {
    let checks: [(&str, bool); 8] = [
        ("audit log entries", to.audit_size()? > 0),
        ("tokens", !to.tokens()?.is_empty()),
        ("members", !to.members()?.is_empty()),
        ("adapters", !to.adapter_states()?.is_empty()),
        ("routes", !to.routes()?.is_empty()),
        ("a policy", to.latest_policy()?.is_some()),
        ("outbox items", !to.outbox_destinations()?.is_empty()),
        ("dead letters", !to.dead_letters(None)?.is_empty()),
    ];
    let full: Vec<&str> = checks.iter().filter(|c| c.1).map(|c| c.0).collect();
    Ok((!full.is_empty()).then(|| full.join(", ")))
}

/// Commits `submissions` at once, without audit entries.
fn commit_all(to: &Store, submissions: &[Submission]) -> Result<(), StoreError> {
    let refs: Vec<&Submission> = submissions.iter().collect();
    to.commit(&refs, &AuditWrites::default())
}

/// Copies everything durable of `from` into the empty `to`; `progress` hears what is being
/// copied and how much of it is done.
pub fn copy(
    from: &Store,
    to: &Store,
    mut progress: impl FnMut(&str, u64),
) -> Result<Copied, CopyError> {
    if let Some(what) = not_empty(to)? {
        return Err(CopyError::NotEmpty(what));
    }
    let mut c = Copied::default();

    // The catalogue.
    for m in from.members()? {
        to.put_member(&m)?;
        c.members += 1;
    }
    for t in from.tokens()? {
        to.put_token(&t)?;
        c.tokens += 1;
    }
    for (name, state) in from.adapter_states()? {
        for v in from.adapter_version_numbers(&name)? {
            if let Some(version) = from.adapter_version(&name, v)? {
                to.put_adapter_version(&version, state.enabled)?;
                c.adapter_versions += 1;
            }
        }
        to.set_adapter_enabled(&name, state.enabled)?;
    }
    for (_, route) in from.routes()? {
        to.add_route(&route)?;
        c.routes += 1;
    }
    // Policy versions in order: an empty destination numbers them alike.
    for p in from.policies()? {
        let v = to.put_policy(&p.text, &p.at, &p.by)?;
        if v != p.version {
            return Err(CopyError::Store(StoreError::Format(format!(
                "policy version {} was stored as version {v}: the source's versions are not \
                 numbered from 1 without gaps",
                p.version
            ))));
        }
        c.policies += 1;
    }
    progress("catalogue", 1);

    // Idempotency keys, kept from the time of the copy.
    let mut after: Option<String> = None;
    loop {
        let page = from.dedup_entries(after.as_deref(), CHUNK)?;
        let Some(last) = page.last().map(|(k, _)| k.clone()) else {
            break;
        };
        let subs: Vec<Submission> = page
            .into_iter()
            .map(|(key, exchange_id)| Submission {
                exchange_id,
                dedup_key: Some(key),
                ..Default::default()
            })
            .collect();
        c.dedup_keys += subs.len();
        commit_all(to, &subs)?;
        progress("idempotency keys", c.dedup_keys as u64);
        after = Some(last);
    }

    // The outbox and the dead letters, under their sequence numbers.
    let mut highest = 0u64;
    for destination in from.outbox_destinations()? {
        let items = from.outbox_items(&destination)?;
        for chunk in items.chunks(CHUNK) {
            highest = highest.max(chunk.iter().map(|i| i.seq).max().unwrap_or(0));
            c.outbox_items += chunk.len();
            commit_all(
                to,
                &[Submission {
                    items: chunk.iter().cloned().map(Arc::new).collect(),
                    ..Default::default()
                }],
            )?;
        }
        progress("outbox items", c.outbox_items as u64);
    }
    for dead in from.dead_letters(None)? {
        highest = highest.max(dead.item.seq);
        let item: Arc<OutboxItem> = Arc::new(dead.item.clone());
        commit_all(
            to,
            &[Submission {
                items: vec![item],
                ..Default::default()
            }],
        )?;
        to.park(&dead)?;
        c.dead_letters += 1;
    }
    to.reserve_seqs_past(highest)?;

    // Once-only data.
    let documents: Vec<IssuedDocument> = from.issued_document_rows()?;
    for chunk in documents.chunks(CHUNK) {
        commit_all(
            to,
            &[Submission {
                onceonly: chunk.to_vec(),
                ..Default::default()
            }],
        )?;
        c.issued_documents += chunk.len();
    }
    let counts = from.report_count_rows()?;
    for chunk in counts.chunks(CHUNK) {
        commit_all(
            to,
            &[Submission {
                counts: chunk.to_vec(),
                ..Default::default()
            }],
        )?;
        c.report_counts += chunk.len();
    }
    progress(
        "once-only data",
        (c.issued_documents + c.report_counts) as u64,
    );

    // The audit log, its tree computed again as the entries go in.
    let size = from.audit_size()?;
    let mut frontier = Frontier::default();
    let mut purged = Vec::new();
    let mut writes = AuditWrites::default();
    for r in from.audit_entries(0, size) {
        let (index, entry, sealed) = r?;
        if writes.records.is_empty() {
            writes.first = index;
        }
        frontier.push(crate::merkle::leaf_hash(&entry), |_, _, h| {
            writes.hashes.push(*h)
        });
        if sealed.is_none() {
            purged.push(index);
        }
        writes.records.push(AuditRecord {
            entry,
            sealed: sealed.unwrap_or_default(),
        });
        if writes.records.len() == CHUNK {
            to.apply_audit_writes(&std::mem::take(&mut writes))?;
            progress("audit log entries", index + 1);
        }
    }
    if !writes.records.is_empty() {
        to.apply_audit_writes(&writes)?;
    }
    c.audit_entries = frontier.size();
    for index in &purged {
        to.audit_purge(*index, None)?;
    }
    c.purged_entries = purged.len();
    let mut after = 0;
    loop {
        let page = from.checkpoints(after, CHUNK)?;
        let Some(last) = page.last().map(|(s, _)| *s) else {
            break;
        };
        for (s, note) in &page {
            to.put_checkpoint(*s, note)?;
        }
        c.checkpoints += page.len();
        after = last;
    }
    to.flush()?;

    // Both sides compute the same root from what they store.
    let from_root = crate::merkle::root(from, size)?;
    let to_root = crate::merkle::root(to, to.audit_size()?)?;
    if from_root != to_root || from_root != frontier.root() {
        return Err(CopyError::RootMismatch {
            from: from_root,
            to: to_root,
        });
    }
    c.root = to_root;
    progress("audit log entries", size);
    Ok(c)
}
