//! Service quality in real time: the indicators of Decision 766/QĐ-TTg that the hub can see,
//! kept up to date from the dossier, status, payment and delivery acts of the audit log.
//!
//! The indicators follow the log, as the audit indexer does: a thread folds the entries past
//! its mark into one record per dossier (`fold`), a second or so behind the commits, and saves
//! the dossiers it changed with the new mark every few seconds (`QualityStore`). After a crash
//! it goes on from the saved mark; on a cluster each node follows the one shared log. The
//! figures are computed from the dossiers when asked (`figures`), as of any moment.
//! `rebuild` folds the whole log again from the start into a fresh ledger: the figures must be
//! the same as the live ones (a test compares them).

pub mod figures;
pub mod fold;
mod gauges;
pub mod row;
pub mod standing;
#[cfg(test)]
mod tests;
mod time;

use crate::store::{QualitySaved, Store};
use fold::{Act, Ledger};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

pub use figures::{Dim, Period, Query, Report};

/// Why the indicators could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("audit entry {index} is not readable: {message}")]
    Entry { index: u64, message: String },
    #[error("a stored quality row is not readable: {0}")]
    Row(String),
}

/// The live indicators.
pub struct Quality {
    ledger: RwLock<Ledger>,
    /// The log's entries below this index are folded in.
    mark: AtomicU64,
    /// The mark of the last save.
    saved: AtomicU64,
    /// Held by a fold and by a rebuild: a rebuild compares at one mark.
    folding: Mutex<()>,
    /// Entries folded from what the committer handed over, and read back from the store.
    from_memory: AtomicU64,
    read_back: AtomicU64,
    store: Store,
    portal: Vec<String>,
    /// The stored rows could not be read: the next save replaces them all.
    replace_next: AtomicBool,
}

/// The parts of an audit entry the fold reads.
#[derive(serde::Deserialize)]
struct EntryFields<'a> {
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    exchange_id: std::borrow::Cow<'a, str>,
    operation: std::borrow::Cow<'a, str>,
    outcome: std::borrow::Cow<'a, str>,
    record_type: Option<std::borrow::Cow<'a, str>>,
    counterparty: Option<std::borrow::Cow<'a, str>>,
    error_code: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct PayloadOnly<'a> {
    #[serde(borrow)]
    payload: Option<fold::Record<'a>>,
}

/// Record types whose accepted ingests the fold reads.
const READ: [&str; 3] = ["dossier", "dossier-status", "payment"];

/// Whether the fold reads an entry of this operation, outcome and record type.
fn wanted(operation: &str, outcome: &str, record_type: Option<&str>) -> bool {
    match (operation, outcome) {
        ("ingest", "accepted") => record_type.is_some_and(|t| READ.contains(&t)),
        ("verify", _) => true,
        ("deliver", "delivered") => record_type == Some("dossier"),
        _ => false,
    }
}

/// The entries the committer hands over to the indicators (see `AuditLog::take_handed`).
pub fn wanted_entry(e: &crate::audit::AuditEntry) -> bool {
    wanted(&e.operation, &e.outcome, e.record_type.as_deref())
}

/// What the fold reads of an entry's sealed part (an accepted ingest's record, unless purged):
/// `None` for other entries, a purged record, or one of a shape the fold does not know (a
/// schema of a later version), which is passed over rather than stop the indicators at it.
fn payload_of<'s>(
    index: u64,
    e: &EntryFields<'_>,
    sealed: Option<&'s [u8]>,
) -> Option<fold::Record<'s>> {
    if e.operation != "ingest" {
        return None;
    }
    match serde_json::from_slice::<PayloadOnly<'_>>(sealed?) {
        Ok(p) => p.payload,
        Err(err) => {
            tracing::warn!(
                index,
                "service-quality indicators: a record passed over: {err}"
            );
            None
        }
    }
}

/// Folds one wanted entry of time `time_ms`, with what it reads of its record.
fn fold_entry(
    ledger: &mut Ledger,
    e: &EntryFields<'_>,
    time_ms: i64,
    payload: Option<&fold::Record<'_>>,
) {
    let act = Act {
        time_ms,
        exchange_id: &e.exchange_id,
        operation: &e.operation,
        outcome: &e.outcome,
        record_type: e.record_type.as_deref(),
        counterparty: e.counterparty.as_deref(),
        error_code: e.error_code.as_deref(),
        payload,
    };
    ledger.apply(&act);
}

/// Whether the fold reads accepted ingests of this record type: the ingest takes their facts
/// for the hand-over (`audit::SealedDraft::facts`) only then.
pub fn reads_record(record_type: &str) -> bool {
    READ.contains(&record_type)
}

/// Folds entries `[from, to)` of the log in `store` into `ledger` (which notes the dossiers
/// changed).
/// Returns the index after the last entry read (`from` when none was).
fn fold_range(store: &Store, ledger: &mut Ledger, from: u64, to: u64) -> Result<u64, QualityError> {
    let mut next = from;
    for item in store.audit_entries(from, to) {
        let (index, bytes, sealed) = item?;
        next = index + 1;
        let e: EntryFields<'_> =
            serde_json::from_slice(&bytes).map_err(|err| QualityError::Entry {
                index,
                message: err.to_string(),
            })?;
        if wanted(&e.operation, &e.outcome, e.record_type.as_deref()) {
            let payload = payload_of(index, &e, sealed.as_deref());
            let time_ms = fold::time_ms(&e.time).unwrap_or_default();
            fold_entry(ledger, &e, time_ms, payload.as_ref());
        }
    }
    Ok(next)
}

/// Folds `[from, to)`: what the committer handed over from memory, the rest read back from
/// `store`. Returns the index after the last entry folded, and how many were handed over.
fn fold_handed(
    store: &Store,
    log: &crate::audit::AuditLog,
    ledger: &mut Ledger,
    from: u64,
    to: u64,
) -> Result<(u64, u64), QualityError> {
    let mut next = from;
    let mut handed = 0;
    for batch in log.take_handed(from, to) {
        if batch.first > next {
            next = fold_range(store, ledger, next, batch.first)?;
            if next < batch.first {
                // Not all of the gap could be read: the rest is read back next time.
                return Ok((next, handed));
            }
        }
        // One time for the whole commit.
        let time_ms = fold::time_ms(&batch.time).unwrap_or_default();
        for h in batch.wanted.iter().filter(|h| h.index >= next) {
            let fields = EntryFields {
                time: batch.time.as_str().into(),
                exchange_id: h.exchange_id.as_str().into(),
                operation: h.operation.as_str().into(),
                outcome: h.outcome.as_str().into(),
                record_type: h.record_type.as_deref().map(Into::into),
                counterparty: h.counterparty.as_deref().map(Into::into),
                error_code: h.error_code.as_deref().map(Into::into),
            };
            // The facts the ingest took (only ingests have them), else the sealed part parsed.
            let parsed;
            let payload = match &h.facts {
                Some(facts) => Some(&**facts),
                None => {
                    parsed = payload_of(h.index, &fields, Some(&h.sealed));
                    parsed.as_ref()
                }
            };
            fold_entry(ledger, &fields, time_ms, payload);
        }
        handed += batch.first + batch.count - next;
        next = batch.first + batch.count;
    }
    if next < to {
        next = fold_range(store, ledger, next, to)?;
    }
    Ok((next, handed))
}

impl Quality {
    /// The indicators as saved in `store`; `portal` names the destinations that are the
    /// national portal (its acceptance of a dossier is its synchronisation).
    pub fn open(store: Store, portal: &[String]) -> Result<Quality, QualityError> {
        let (mark, rows) = store.quality_rows()?;
        let mut ledger = Ledger::new(portal);
        for r in rows {
            let d = row::decode(&r).map_err(|e| QualityError::Row(e.to_string()))?;
            ledger.insert(d);
        }
        Ok(Quality::with(store, portal, ledger, mark, false))
    }

    /// Indicators with nothing folded yet, whatever the store holds (rows it could not read:
    /// a hub of another version wrote them), which its first save replaces.
    pub fn empty(store: Store, portal: &[String]) -> Quality {
        Quality::with(store, portal, Ledger::new(portal), 0, true)
    }

    fn with(store: Store, portal: &[String], ledger: Ledger, mark: u64, replace: bool) -> Quality {
        Quality {
            ledger: RwLock::new(ledger),
            mark: mark.into(),
            saved: mark.into(),
            folding: Mutex::default(),
            from_memory: AtomicU64::new(0),
            read_back: AtomicU64::new(0),
            store,
            portal: portal.to_vec(),
            replace_next: AtomicBool::new(replace),
        }
    }

    /// Entries the live fold took from the committer's hand-over, and read back from the
    /// store (entries of another node, of before a start, of batches dropped).
    pub fn sources(&self) -> (u64, u64) {
        (
            self.from_memory.load(Ordering::Relaxed),
            self.read_back.load(Ordering::Relaxed),
        )
    }

    /// The log's entries below this index are in the figures.
    pub fn mark(&self) -> u64 {
        self.mark.load(Ordering::Acquire)
    }

    /// Folds in the log's entries from the mark up to `to` (at most `max` of them); returns
    /// how many.
    pub fn follow(&self, to: u64, max: u64) -> Result<u64, QualityError> {
        let _one = self.folding.lock().unwrap_or_else(|p| p.into_inner());
        self.fold_to(None, to, max)
    }

    /// As `follow`, taking first what the committer of `log` handed over in memory.
    pub fn follow_log(
        &self,
        log: &crate::audit::AuditLog,
        to: u64,
        max: u64,
    ) -> Result<u64, QualityError> {
        let _one = self.folding.lock().unwrap_or_else(|p| p.into_inner());
        self.fold_to(Some(log), to, max)
    }

    fn fold_to(
        &self,
        log: Option<&crate::audit::AuditLog>,
        to: u64,
        max: u64,
    ) -> Result<u64, QualityError> {
        let from = self.mark();
        let to = to.min(from.saturating_add(max));
        if to <= from {
            return Ok(0);
        }
        let mut ledger = self.ledger.write().unwrap_or_else(|p| p.into_inner());
        // An entry that cannot be read stops the fold before the mark moves, and the next call
        // folds the same entries again (a fold takes an entry twice as once).
        let next = match log {
            Some(log) => {
                let (next, handed) = fold_handed(&self.store, log, &mut ledger, from, to)?;
                self.from_memory.fetch_add(handed, Ordering::Relaxed);
                self.read_back
                    .fetch_add((next - from).saturating_sub(handed), Ordering::Relaxed);
                next
            }
            None => fold_range(&self.store, &mut ledger, from, to)?,
        };
        self.mark.store(next, Ordering::Release);
        Ok(next - from)
    }

    /// Saves the dossiers changed since the last save, with the mark. On a cluster, a node
    /// behind another's save writes nothing (the other's fold holds all it would).
    pub fn save(&self) -> Result<(), QualityError> {
        // Not while a rebuild replaces the rows.
        let _one = self.folding.lock().unwrap_or_else(|p| p.into_inner());
        let replace = self.replace_next.load(Ordering::Acquire);
        let (mark, codes, rows, dossiers) = {
            let mut ledger = self.ledger.write().unwrap_or_else(|p| p.into_inner());
            let mark = self.mark();
            if mark <= self.saved.load(Ordering::Acquire) {
                return Ok(());
            }
            if replace {
                ledger.all_changed();
            }
            let codes = ledger.take_changed();
            let rows = ledger.rows(&codes);
            (mark, codes, rows, ledger.len() as u64)
        };
        match self.store.put_quality_rows(&rows, mark, replace, dossiers) {
            Ok(QualitySaved::Written) => {
                self.saved.store(mark, Ordering::Release);
                self.replace_next.store(false, Ordering::Release);
                Ok(())
            }
            // Another node's save of a later fold holds these changes (a replacement is tried
            // again past it).
            Ok(QualitySaved::Behind) => {
                self.saved.store(mark, Ordering::Release);
                Ok(())
            }
            // Another node's save of a later fold is under way, and may never end: these
            // changes are saved again with the next.
            Ok(QualitySaved::Overtaken) => {
                self.ledger
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .changed_again(codes);
                tracing::debug!(mark, "service-quality save overtaken by another node's");
                Ok(())
            }
            Err(e) => {
                // Kept to be saved with the next attempt; saves found damaged are replaced
                // whole by it (they are derived data, and the ledger holds them all).
                if matches!(e, crate::store::StoreError::Damaged(_)) {
                    self.replace_next.store(true, Ordering::Release);
                }
                self.ledger
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .changed_again(codes);
                Err(e.into())
            }
        }
    }

    /// The figures `q` asks for, as folded so far.
    pub fn report(&self, q: &Query) -> Report {
        let ledger = self.ledger.read().unwrap_or_else(|p| p.into_inner());
        figures::report(ledger.dossiers(), q)
    }

    /// Folds the whole log `[0, to)` again into a fresh ledger.
    pub fn rebuild(store: &Store, portal: &[String], to: u64) -> Result<Ledger, QualityError> {
        let mut ledger = Ledger::new(portal);
        const STEP: u64 = 65_536;
        let mut from = 0;
        while from < to {
            let next = to.min(from + STEP);
            let read = fold_range(store, &mut ledger, from, next)?;
            ledger.take_changed();
            if read < next {
                // The log is shorter than asked: folded as far as it goes.
                break;
            }
            from = next;
        }
        Ok(ledger)
    }

    /// Folds the log up to `to`, then compares the live ledger with one rebuilt from the
    /// start: the dossiers that differ (none when all is well). With `replace`, the rebuilt
    /// ledger takes the live one's place and is saved whole.
    pub fn rebuild_and_compare(&self, to: u64, replace: bool) -> Result<Rebuilt, QualityError> {
        // No fold meanwhile: the live ledger stays at `to` until compared (and replaced).
        let _one = self.folding.lock().unwrap_or_else(|p| p.into_inner());
        // The thread may have folded past `to` already: compare where it is.
        let to = to.max(self.mark());
        while self.fold_to(None, to, 65_536)? > 0 {}
        let rebuilt = Quality::rebuild(&self.store, &self.portal, to)?;
        let mut ledger = self.ledger.write().unwrap_or_else(|p| p.into_inner());
        let mut differ: Vec<String> = ledger
            .dossiers()
            .filter(|d| rebuilt.get(&d.code) != Some(*d))
            .chain(rebuilt.dossiers().filter(|d| ledger.get(&d.code).is_none()))
            .map(|d| d.code.to_string())
            .collect();
        differ.sort();
        let out = Rebuilt {
            mark: to,
            dossiers: rebuilt.len(),
            differ,
        };
        if replace {
            let rows: Vec<(String, Vec<u8>)> = rebuilt
                .dossiers()
                .map(|d| (d.code.to_string(), row::encode(d)))
                .collect();
            match self
                .store
                .put_quality_rows(&rows, to, true, rows.len() as u64)
            {
                Ok(saved) => {
                    *ledger = rebuilt;
                    self.mark.store(to, Ordering::Release);
                    match saved {
                        QualitySaved::Written => self.saved.store(to, Ordering::Release),
                        // Another node of a cluster saved a later fold, which holds this.
                        QualitySaved::Behind => {}
                        // A later fold's save is under way and may never end: every dossier
                        // is saved again with the next save.
                        QualitySaved::Overtaken => ledger.all_changed(),
                    }
                }
                Err(e) => {
                    // The stored rows may be gone: every live dossier is saved again next.
                    ledger.all_changed();
                    self.saved.store(0, Ordering::Release);
                    return Err(e.into());
                }
            }
        }
        Ok(out)
    }
}

/// What a rebuild found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rebuilt {
    /// The log's entries below this index were folded.
    pub mark: u64,
    pub dossiers: usize,
    /// Dossiers whose live record differs from the rebuilt one (or that only one side has).
    pub differ: Vec<String>,
}

/// Follows the log until `shutdown`, saving every few seconds and once more at the end.
pub fn follow_loop(
    quality: &Quality,
    log: &crate::audit::AuditLog,
    shutdown: &tokio::sync::watch::Receiver<bool>,
) {
    const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    let mut last_save = std::time::Instant::now();
    loop {
        let stopping = *shutdown.borrow();
        let folded = match quality.follow_log(log, log.size(), 16_384) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("service-quality indicators: {e}");
                if stopping {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
        };
        if stopping || last_save.elapsed() >= SAVE_EVERY {
            if let Err(e) = quality.save() {
                tracing::error!("saving the service-quality indicators: {e}");
            }
            last_save = std::time::Instant::now();
        }
        if stopping && folded == 0 {
            break;
        }
        if folded < 16_384 {
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

/// The indicators of a running hub, and the thread that keeps them.
pub struct Live {
    pub quality: std::sync::Arc<Quality>,
    log: std::sync::Arc<crate::audit::AuditLog>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Live {
    /// Starts keeping the indicators (`None` when `[quality] enabled = false`). Stored rows or
    /// saves that cannot be read (a hub of another version wrote them, or they are damaged) are
    /// passed over: the whole log is folded again, and the first save replaces them (they are
    /// derived data). A store that cannot be read at all stops the start.
    pub fn start(
        config: &crate::config::hub::QualityConfig,
        store: Store,
        log: std::sync::Arc<crate::audit::AuditLog>,
    ) -> Result<Option<Live>, crate::store::StoreError> {
        if !config.enabled {
            return Ok(None);
        }
        let quality = match Quality::open(store.clone(), &config.portal) {
            Ok(q) => q,
            Err(QualityError::Store(e)) if !matches!(e, crate::store::StoreError::Damaged(_)) => {
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(
                    "{e}: the service-quality indicators are folded again from the log, and \
                     their first save replaces the stored ones"
                );
                Quality::empty(store, &config.portal)
            }
        };
        let quality = std::sync::Arc::new(quality);
        // The committer hands the entries the fold reads over in memory from now on.
        log.hand_over_to_follower(wanted_entry);
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let thread = {
            let (q, log) = (quality.clone(), log.clone());
            std::thread::Builder::new()
                .name("lienthong-quality".into())
                .spawn(move || follow_loop(&q, &log, &shutdown))
                .map_err(|e| {
                    crate::store::StoreError::Unwritable(format!(
                        "starting the service-quality thread: {e}"
                    ))
                })?
        };
        Ok(Some(Live {
            quality,
            log,
            stop,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// The audit log's size now (what the figures will have folded within a second or so).
    pub fn log_size(&self) -> u64 {
        self.log.size()
    }

    /// Folds what is left and saves, then stops the thread.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}
