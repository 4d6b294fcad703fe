//! The committer: the one thread that appends to the audit log and adds idempotency keys (the
//! indexer removes old ones). It takes what is waiting (every delivery record first, then up
//! to `commit_batch` other pieces of work), decides duplicates, gives outbox sequence numbers
//! and audit indexes, makes everything durable in one group commit (`GroupCommit::commit`; the
//! embedded store syncs one append to `entries.dat` and one record of its commit journal, or
//! `size.dat` for audit entries alone), then answers every waiter and wakes the workers. It
//! also signs checkpoints when they are due.

use super::{Destination, RelayCore, RelayError, meta_of};
use crate::audit::{AuditDraft, AuditError, SealedDraft};
use crate::store::{Accepted, StoreError, Submission};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How many times a group is numbered again because other hub nodes on the same database
/// appended first, before the commit is given up as failed.
const MAX_BEHIND: u32 = 64;

/// Groups a node commits with the log's head kept first, after it last found another node's
/// appends there: numbered once, under the head, rather than numbered, found behind and
/// numbered again (`commit_shared`). Back to numbering first once that many in a row found no
/// other node's.
const HEAD_MET: u32 = 16;

/// A pause before numbering a group again after another node appended first: random, up to a
/// millisecond a try so far (at most 8), so that two nodes that keep meeting at the log's head
/// stop arriving together.
fn behind_pause(tries: u32) {
    let most_us = 1_000 * u64::from(tries.min(8));
    std::thread::sleep(std::time::Duration::from_micros(rand::random_range(
        0..=most_us,
    )));
}

/// A piece of work for the committer.
// Nearly every piece is a submission: boxing it would cost an allocation each, for the rare
// checkpoint's sake.
#[allow(clippy::large_enum_variant)]
pub(crate) enum CommitRequest {
    /// A submission, and the audit drafts that report it, sealed by the caller.
    Submit(Submission, Vec<SealedDraft>),
    /// Sign a checkpoint of everything durable so far.
    Checkpoint,
}

/// What the committer did.
#[derive(Debug)]
pub(crate) enum Committed {
    Accepted(Accepted),
    Checkpoint(u64, String),
}

/// Why a group commit failed: shared, as every waiter of the group is told the same cause.
pub(crate) type CommitFailure = Arc<crate::audit::AuditError>;

/// A request in the committer's queue, with where to send its answer (none: nobody waits).
pub(crate) struct Queued {
    pub work: CommitRequest,
    pub reply: Option<oneshot::Sender<Result<Committed, CommitFailure>>>,
}

impl RelayCore {
    /// Takes work until both queues close: every delivery record waiting first, then up to
    /// `commit_batch` pieces of other work, one group commit each; signs a checkpoint when due
    /// (looking every half second while idle); a last checkpoint at the end unless the store
    /// refuses writes.
    pub(super) fn commit_loop(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<Queued>,
        mut deliveries: mpsc::Receiver<Queued>,
    ) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("the committer cannot start its timer: {e}");
                return;
            }
        };
        // Which queues are open: deliveries, everything else.
        let (mut d_open, mut r_open) = (true, true);
        while d_open || r_open {
            let wait = async {
                tokio::time::timeout(Duration::from_millis(500), async {
                    tokio::select! {
                        biased;
                        p = deliveries.recv(), if d_open => (true, p),
                        p = rx.recv(), if r_open => (false, p),
                    }
                })
                .await
            };
            let first = match rt.block_on(wait) {
                Ok((_, Some(p))) => p,
                Ok((true, None)) => {
                    d_open = false;
                    continue;
                }
                Ok((false, None)) => {
                    r_open = false;
                    continue;
                }
                Err(_) => {
                    // Idle: a store that refused writes may take them again; take in what
                    // other hub nodes on the same database appended.
                    self.recover_if_failed();
                    if self.store.failed_write().is_none()
                        && let Err(e) = self.audit.catch_up()
                    {
                        tracing::warn!("reading the audit log's size: {e}");
                    }
                    self.checkpoint_if_due();
                    continue;
                }
            };
            let mut batch = vec![first];
            // Every delivery waiting, first: the next record of its order key waits on it.
            while let Ok(p) = deliveries.try_recv() {
                batch.push(p);
            }
            while batch.len() < self.config.commit_batch {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
            self.checkpoint_if_due();
        }
        // Everything given has been written: a last checkpoint covers it (none while the
        // store refuses writes).
        if self.store.failed_write().is_none()
            && let Err(e) = self.audit.checkpoint()
        {
            tracing::error!("the final checkpoint: {e}");
        }
    }

    fn checkpoint_if_due(&self) {
        // While the store refuses writes after a failed commit (logged then), no checkpoint
        // can be written either: trying every half second would only say so again.
        if self.store.failed_write().is_none()
            && self.audit.checkpoint_due()
            && let Err(e) = self.audit.checkpoint()
        {
            tracing::error!("signing a checkpoint: {e}");
        }
    }

    /// After a failed commit: reads the log's state from the store again; a store that is
    /// sound again (a database backend whose database is back) then takes commits, and the
    /// outbox items of a commit whose outcome was unknown are queued. The embedded store stays
    /// refused until the hub restarts.
    fn recover_if_failed(self: &Arc<Self>) {
        if self.store.failed_write().is_none() {
            return;
        }
        if self.audit.reload().is_err() || self.store.failed_write().is_some() {
            return;
        }
        if let Err(e) = self.load_outbox() {
            tracing::error!("reading the outbox again after a failed commit: {e}");
        }
    }

    /// A group's commit on a store other nodes append to. Another node may append first: then
    /// the commit numbers the group again after it, with the log's head kept, and that append
    /// is the one applied. While other nodes keep appending (`HEAD_MET` groups after one was
    /// met), the head is kept first and each group numbered once, under it.
    fn commit_shared(
        &self,
        new: &[&Submission],
        drafts: &Arc<Vec<SealedDraft>>,
    ) -> Result<crate::audit::Prepared, AuditError> {
        let before = self.audit.size();
        let (renumber, again) = self.audit.renumber(Arc::clone(drafts));
        let taken = || again.lock().unwrap_or_else(|p| p.into_inner()).take();
        let head_first = !drafts.is_empty() && self.head_met.load(Ordering::Relaxed) > 0;
        let prepared = if head_first {
            self.store.commit_after_head(new, None, renumber)?;
            taken().ok_or_else(|| {
                AuditError::Store(StoreError::Format(
                    "a commit with the head kept left no numbered group".into(),
                ))
            })?
        } else {
            let prepared = self.audit.prepare((**drafts).clone())?;
            self.store
                .commit_after_head(new, Some(&prepared.writes), renumber)?;
            taken().unwrap_or(prepared)
        };
        if prepared.writes.first != before {
            self.head_met.store(HEAD_MET, Ordering::Relaxed);
        } else if head_first {
            self.head_met.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(prepared)
    }

    fn commit_batch(self: &Arc<Self>, batch: Vec<Queued>) {
        self.recover_if_failed();
        let mut submissions: Vec<(Submission, Vec<SealedDraft>, Option<String>)> = Vec::new();
        let mut replies = Vec::new();
        let mut checkpoints = Vec::new();
        // Idempotency keys met in this batch, with their exchange id.
        let mut fresh: HashMap<String, String> = HashMap::new();
        // The batch's keys looked up, and its sequence numbers taken, at once: a store over a
        // network answers each in one round trip. (Numbers of repeats go unused: gaps are
        // harmless.) If either fails, each submission asks on its own below.
        let keys: Vec<String> = batch
            .iter()
            .filter_map(|p| match &p.work {
                CommitRequest::Submit(s, _) => s.dedup_key.clone(),
                CommitRequest::Checkpoint => None,
            })
            .collect();
        // A shared store's commit refuses keys accepted meanwhile and says as what
        // (`StoreError::Duplicate`), and the ingest looked each up before: a look-up here would
        // be a round trip more for every group, to find what the commit finds anyway.
        let known = if self.store.is_shared() {
            Some(HashMap::new())
        } else {
            self.store.seen_many(&keys).ok()
        };
        let wanted: usize = batch
            .iter()
            .map(|p| match &p.work {
                CommitRequest::Submit(s, _) => s.items.len(),
                CommitRequest::Checkpoint => 0,
            })
            .sum();
        let mut seqs = self.store.next_seqs(wanted).ok().map(Vec::into_iter);
        for p in batch {
            match p.work {
                CommitRequest::Checkpoint => checkpoints.push(p.reply),
                CommitRequest::Submit(mut s, mut drafts) => {
                    let original = match &s.dedup_key {
                        Some(k) => match fresh.get(k) {
                            Some(x) => Some(x.clone()),
                            None => match known
                                .as_ref()
                                .map_or_else(|| self.store.seen(k), |m| Ok(m.get(k).cloned()))
                            {
                                Ok(x) => x,
                                Err(e) => {
                                    if let Some(r) = p.reply {
                                        let _ = r.send(Err(Arc::new(e.into())));
                                    }
                                    continue;
                                }
                            },
                        },
                        None => None,
                    };
                    match &original {
                        Some(o) => {
                            for d in &mut drafts {
                                d.draft.outcome = "duplicate".into();
                                d.draft.refers_to = Some(o.clone());
                            }
                            s.items.clear();
                        }
                        None => {
                            // Sequence numbers are given here, in the order of acceptance, so
                            // that records of one order key are delivered in that order. Without
                            // one the submission is refused, never written under a wrong key.
                            let mut failed = None;
                            for item in &mut s.items {
                                let next = seqs.as_mut().and_then(Iterator::next);
                                match next.map_or_else(|| self.store.next_seq(), Ok) {
                                    // The caller's only reference: set in place, not copied.
                                    Ok(n) => Arc::make_mut(item).seq = n,
                                    Err(e) => {
                                        failed = Some(e);
                                        break;
                                    }
                                }
                            }
                            if let Some(e) = failed {
                                tracing::error!("sequence number: {e}");
                                if let Some(r) = p.reply {
                                    let _ = r.send(Err(Arc::new(e.into())));
                                }
                                continue;
                            }
                            if let Some(k) = &s.dedup_key {
                                fresh.insert(k.clone(), s.exchange_id.clone());
                            }
                        }
                    }
                    submissions.push((s, drafts, original));
                    replies.push(p.reply);
                }
            }
        }
        let counts: Vec<usize> = submissions.iter().map(|(_, d, _)| d.len()).collect();
        // Shared with a renumbering (`commit_shared`) rather than copied for it.
        let mut drafts: Arc<Vec<SealedDraft>> = Arc::new(
            submissions
                .iter_mut()
                .flat_map(|(_, d, _)| std::mem::take(d))
                .collect(),
        );
        let mut tries = 0;
        let result = loop {
            let new: Vec<&Submission> = submissions
                .iter()
                .filter(|(_, _, o)| o.is_none())
                .map(|(s, _, _)| s)
                .collect();
            if !self.store.is_shared() {
                // The only numbering there will be (no other node appends to an embedded
                // store, and it never answers `Behind` or `Duplicate`): the drafts are moved
                // into it, not copied.
                let owned = Arc::try_unwrap(std::mem::take(&mut drafts))
                    .unwrap_or_else(|shared| (*shared).clone());
                break self.audit.prepare(owned).and_then(|prepared| {
                    self.store.commit(&new, &prepared.writes)?;
                    Ok(prepared)
                });
            }
            let attempt = self.commit_shared(&new, &drafts);
            drop(new);
            match attempt {
                // Another hub node on the same database appended first: nothing was written;
                // the entries are numbered again after its.
                Err(AuditError::Store(StoreError::Behind { .. })) if tries < MAX_BEHIND => {
                    tries += 1;
                    behind_pause(tries);
                    if let Err(e) = self.audit.reload() {
                        break Err(e);
                    }
                }
                // Idempotency keys accepted meanwhile (by another node, or by an earlier
                // group of this one): nothing was written; the submissions with them are
                // repeats of those exchanges.
                Err(AuditError::Store(StoreError::Duplicate { taken }))
                    if tries < MAX_BEHIND && !taken.is_empty() =>
                {
                    tries += 1;
                    let taken: HashMap<String, String> = taken.into_iter().collect();
                    let mut offset = 0;
                    for ((s, _, o), n) in submissions.iter_mut().zip(&counts) {
                        // Repeats within the group named its first with the key, which is now
                        // a repeat itself: they too name the exchange that took the key.
                        if let Some(original) = s.dedup_key.as_ref().and_then(|k| taken.get(k)) {
                            *o = Some(original.clone());
                            s.items.clear();
                            for d in &mut Arc::make_mut(&mut drafts)[offset..offset + n] {
                                d.draft.outcome = "duplicate".into();
                                d.draft.refers_to = Some(original.clone());
                            }
                        }
                        offset += n;
                    }
                }
                other => break other,
            }
        };
        match result {
            // Synced: this commit and every earlier one are durable.
            Ok(prepared) => {
                let mut indexes = prepared.indexes.clone().into_iter();
                self.audit.applied(prepared);
                let mut woken: Vec<Arc<Destination>> = Vec::new();
                for (((s, _, original), reply), count) in
                    submissions.into_iter().zip(replies).zip(counts)
                {
                    let mut first = None;
                    for _ in 0..count {
                        let i = indexes.next();
                        first = first.or(i);
                    }
                    let audit_index = first.unwrap_or(u64::MAX);
                    let accepted = match original {
                        Some(original) => Accepted::Duplicate {
                            original,
                            audit_index,
                        },
                        None => {
                            for item in &s.items {
                                let dest = self.destination(&item.destination);
                                if let Ok(mut q) = dest.queue.lock() {
                                    q.pending.insert(item.seq, meta_of(item));
                                }
                                if !woken.iter().any(|d| Arc::ptr_eq(d, &dest)) {
                                    woken.push(dest);
                                }
                            }
                            Accepted::New {
                                exchange_id: s.exchange_id,
                                audit_index,
                            }
                        }
                    };
                    if let Some(r) = reply {
                        let _ = r.send(Ok(Committed::Accepted(accepted)));
                    }
                }
                for d in woken {
                    d.notify.notify_one();
                }
            }
            Err(e) => {
                tracing::error!("group commit failed: {e}");
                // The entries may be in the audit files and the journal record may or may not
                // be durable: take the log's size from the store again. The store refuses
                // every commit from now until it is opened again; the callers are told the
                // outcome is unknown, and after the restart a repeat is answered with its
                // original exchange if the record was durable.
                if let Err(e) = self.audit.reload() {
                    tracing::error!("reloading the audit log after a failed commit: {e}");
                }
                let e = Arc::new(e);
                for r in replies.into_iter().flatten() {
                    let _ = r.send(Err(e.clone()));
                }
            }
        }
        for reply in checkpoints {
            let done = self
                .audit
                .checkpoint()
                .map(|(size, note)| Committed::Checkpoint(size, note))
                .map_err(Arc::new);
            if let Some(r) = reply {
                let _ = r.send(done);
            }
        }
    }

    /// Records a delivery durably, in a group commit: its audit entry and the removal of its
    /// outbox item. The worker waits for it before the next record of the order key is sent,
    /// so that a crash sends again only what was in flight. Goes through a queue of its own,
    /// which the committer empties first into every group commit, and which stays open while
    /// workers finish at a stop.
    pub(crate) async fn record_delivery(
        &self,
        draft: AuditDraft,
        destination: &str,
        seq: u64,
    ) -> Result<(), RelayError> {
        let sealed = draft.seal()?;
        let tx = self
            .delivery_tx
            .lock()
            .ok()
            .and_then(|t| t.clone())
            .ok_or(RelayError::Stopped)?;
        let (reply, rx) = oneshot::channel();
        tx.send(Queued {
            work: CommitRequest::Submit(
                Submission {
                    exchange_id: sealed.draft.exchange_id.clone(),
                    delivered: vec![(destination.to_string(), seq)],
                    ..Default::default()
                },
                vec![sealed],
            ),
            reply: Some(reply),
        })
        .await
        .map_err(|_| RelayError::Stopped)?;
        drop(tx);
        match rx.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(RelayError::Commit(e)),
            Err(_) => Err(RelayError::Stopped),
        }
    }

    /// Records an audit entry without waiting for it to be durable (outcomes that promise
    /// nothing to anyone: a parked record is durable in the dead letters already).
    pub(crate) fn audit_later(&self, draft: AuditDraft) {
        let operation = draft.operation.clone();
        let exchange_id = draft.exchange_id.clone();
        let sealed = match draft.seal() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(%operation, "audit entry not sealed: {e}");
                return;
            }
        };
        let Some(tx) = self.audit_tx.lock().ok().and_then(|t| t.clone()) else {
            tracing::error!(%operation, "the committer has stopped; audit entry not written");
            return;
        };
        let p = Queued {
            work: CommitRequest::Submit(
                Submission {
                    exchange_id,
                    ..Default::default()
                },
                vec![sealed],
            ),
            reply: None,
        };
        match tx.try_send(p) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(p)) => {
                tokio::spawn(async move {
                    let _ = tx.send(p).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the committer has stopped; audit entry not written");
            }
        }
    }
}
