//! The relay: every accepted record reaches every destination its routes name, in order per
//! order key, at least once, and nothing acknowledged is lost.
//!
//! - Ingest hands a `Submission` (idempotency key, outbox items, once-only writes) with the
//!   audit entries that report it to the committer, a thread that writes many submissions in
//!   one group commit; the ingest is acknowledged only once that commit is durable.
//! - One worker per destination delivers from its outbox: records of different order keys
//!   concurrently, the same key strictly in order; retries with exponential backoff and full
//!   jitter, a circuit breaker, a rate limit; records that cannot be delivered are parked as
//!   dead letters with the reason and the last answer, for an operator to replay or discard.
//! - A delivery is recorded durably (its audit entry and the removal of its outbox item, in a
//!   group commit) before the next record of its order key is sent.
//! - The outbox of every destination is reloaded at start, so a crash loses nothing that was
//!   acknowledged; what was in flight at the crash is delivered again (never an older record
//!   of a key after a newer one), carrying the same `Idempotency-Key` (its exchange id) so the
//!   destination can ignore the repeat.

mod breaker;
mod claim;
mod commit;
mod deliver;
mod indexer;
pub(crate) use indexer::INDEX_CLAIM;
mod routes;
mod status;

pub use routes::{Routed, Routing};
pub use status::DestinationStatus;

pub use breaker::BreakerState;

use crate::audit::{AuditDraft, AuditLog, SealedDraft};
use crate::config::hub::{RelayConfig, RouteConfig};
use crate::metrics::Metrics;
use crate::registry::AdapterRegistry;
use crate::store::{Accepted, OutboxItem, Store, StoreError, Submission};
use commit::{CommitRequest, Committed, Queued};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// Why the relay could not take a record.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A group commit failed; every waiter of the group is told the same cause. Its outcome
    /// is unknown, and the store refuses every later commit until it is opened again.
    #[error("{0}")]
    Commit(Arc<crate::audit::AuditError>),
    #[error("the relay is stopping")]
    Stopped,
    #[error(
        "the outbox of {destination} holds {depth} records, over relay.max_outbox_depth; retry later"
    )]
    Backpressure { destination: String, depth: usize },
    #[error("an audit entry could not be sealed: {0}")]
    Seal(#[from] crate::audit::entry::EntryError),
    #[error("the relay's HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("the relay could not start its {what} thread: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
}

/// The join handles of the delivery workers.
type Workers = Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// What the worker needs to know about a queued item without reading it.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub order_key: String,
    pub next_attempt_ms: u64,
    pub accepted_at_ms: u64,
}

/// A destination's queue as the worker sees it.
#[derive(Debug)]
pub(crate) struct Queue {
    pub pending: BTreeMap<u64, Meta>,
    pub in_flight_keys: std::collections::HashSet<String>,
    pub in_flight_seqs: std::collections::HashSet<u64>,
    pub in_flight: usize,
    /// Records the destination accepted whose delivery is not yet recorded durably: their
    /// request slot is free, their order key still held. With `in_flight`, what a crash would
    /// send again; kept under `deliver::UNRECORDED` times the destination's `concurrency`.
    pub unrecorded: usize,
    pub breaker: breaker::Breaker,
}

/// One destination: its queue, its counters and the bell that wakes its worker.
#[derive(Debug)]
pub(crate) struct Destination {
    pub name: String,
    pub queue: Mutex<Queue>,
    pub notify: Notify,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dead: AtomicU64,
}

/// What the relay's handles, its committer and its delivery workers share.
pub(crate) struct RelayCore {
    pub store: Store,
    pub registry: Arc<AdapterRegistry>,
    pub metrics: Arc<Metrics>,
    pub http: reqwest::Client,
    /// Routes from the config (id `None`) and from the registry (stored, with their id).
    routes: std::sync::RwLock<Vec<(Option<u64>, RouteConfig)>>,
    config: RelayConfig,
    destinations: Mutex<HashMap<String, Arc<Destination>>>,
    /// Taken (dropped) at stop: no new submissions.
    commit_tx: Mutex<Option<mpsc::Sender<Queued>>>,
    /// For audit entries of deliveries; taken once the workers have stopped, which ends the
    /// committer once the last entry is in.
    audit_tx: Mutex<Option<mpsc::Sender<Queued>>>,
    /// The records of deliveries, which the committer takes before anything else: an order
    /// key waits on each. Taken with `audit_tx`.
    delivery_tx: Mutex<Option<mpsc::Sender<Queued>>>,
    pub audit: Arc<AuditLog>,
    /// This hub node's name in the claims on destinations' deliveries (a store shared by
    /// several nodes: `OutboxStore::claim_delivery`).
    pub node: String,
    /// How far this node's clock is ahead of a shared store's (ms), as last measured
    /// (`claim::watch_clock`); `i64::MIN` until measured or where the store is embedded.
    clock_offset_ms: std::sync::atomic::AtomicI64,
    /// On a shared store, how many more groups the committer numbers with the log's head kept
    /// (another node met there lately; see `commit.rs`).
    head_met: std::sync::atomic::AtomicU32,
    /// Once workers run, a destination met later (a route added, a dead letter replayed to a
    /// destination nothing routes to now) gets its worker when it is first met.
    runtime: Mutex<Option<(tokio::runtime::Handle, Workers)>>,
    pub shutdown: watch::Receiver<bool>,
}

/// Puts the items of a destination's stored outbox that its queue does not hold yet into the
/// queue (those accepted by other hub nodes sharing the store, or by a commit whose outcome
/// was unknown), and wakes the destination if there were any; whether there were.
pub(crate) fn load_outbox_of(
    store: &Store,
    dest: &Destination,
) -> Result<bool, crate::store::StoreError> {
    let items = store.outbox_waiting(&dest.name)?;
    Ok(queue_waiting(dest, items))
}

/// `load_outbox_of` when other hub nodes queued items since this node last read (a shared
/// store, before each round of deliveries); whether there were new ones.
pub(crate) fn load_foreign_outbox_of(
    store: &Store,
    dest: &Destination,
) -> Result<bool, crate::store::StoreError> {
    match store.outbox_waiting_if_changed(&dest.name)? {
        Some(items) => Ok(queue_waiting(dest, items)),
        None => Ok(false),
    }
}

fn queue_waiting(dest: &Destination, items: Vec<crate::store::WaitingItem>) -> bool {
    let mut added = false;
    if let Ok(mut q) = dest.queue.lock() {
        for it in items {
            if let std::collections::btree_map::Entry::Vacant(v) = q.pending.entry(it.seq) {
                v.insert(Meta {
                    order_key: it.order_key,
                    next_attempt_ms: it.next_attempt_ms,
                    accepted_at_ms: it.accepted_at_ms,
                });
                added = true;
            }
        }
    }
    if added {
        dest.notify.notify_one();
    }
    added
}

/// Seals audit drafts (commitments, the sealed part) on the caller's thread, so that the
/// committer only numbers, hashes and writes.
fn seal_all(drafts: Vec<AuditDraft>) -> Result<Vec<SealedDraft>, RelayError> {
    drafts
        .into_iter()
        .map(|d| d.seal())
        .collect::<Result<Vec<_>, _>>()
        .map_err(RelayError::Seal)
}

/// The relay service.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<RelayCore>,
    stop: Arc<watch::Sender<bool>>,
    workers: Workers,
    committer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    indexer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl Relay {
    /// Starts the committer and a worker for every destination the routes name or the outbox
    /// still holds records for.
    pub fn start(
        store: Store,
        registry: Arc<AdapterRegistry>,
        routes: Vec<RouteConfig>,
        config: RelayConfig,
        metrics: Arc<Metrics>,
        audit: Arc<AuditLog>,
    ) -> Result<Relay, RelayError> {
        let (commit_tx, commit_rx) = mpsc::channel::<Queued>(config.commit_batch * 4);
        let (delivery_tx, delivery_rx) = mpsc::channel::<Queued>(config.commit_batch * 4);
        let (stop, shutdown) = watch::channel(false);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(RelayError::HttpClient)?;
        let mut all: Vec<(Option<u64>, RouteConfig)> =
            routes.into_iter().map(|r| (None, r)).collect();
        all.extend(store.routes()?.into_iter().map(|(id, r)| (Some(id), r)));
        let inner = Arc::new(RelayCore {
            store: store.clone(),
            registry,
            metrics,
            http,
            routes: std::sync::RwLock::new(all),
            config,
            destinations: Mutex::new(HashMap::new()),
            audit_tx: Mutex::new(Some(commit_tx.clone())),
            delivery_tx: Mutex::new(Some(delivery_tx)),
            commit_tx: Mutex::new(Some(commit_tx)),
            audit,
            node: claim::node_name(),
            clock_offset_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            head_met: std::sync::atomic::AtomicU32::new(0),
            runtime: Mutex::new(None),
            shutdown,
        });
        let names: Vec<String> = inner
            .routes
            .read()
            .map(|r| r.iter().flat_map(|(_, r)| r.to.clone()).collect())
            .unwrap_or_default();
        for name in names {
            inner.destination(&name);
        }
        inner.load_outbox()?;
        let committer = inner.clone();
        let handle = std::thread::Builder::new()
            .name("lienthong-commit".into())
            .spawn(move || committer.commit_loop(commit_rx, delivery_rx))
            .map_err(|source| RelayError::Thread {
                what: "committer",
                source,
            })?;
        if inner.store.is_shared() {
            let watcher = inner.clone();
            std::thread::Builder::new()
                .name("lienthong-clock".into())
                .spawn(move || claim::watch_clock(&watcher))
                .map_err(|source| RelayError::Thread {
                    what: "clock watcher",
                    source,
                })?;
        }
        let indexer = {
            let (log, shutdown) = (inner.audit.clone(), inner.shutdown.clone());
            let retention_ms = inner.config.dedup_retention_hours.saturating_mul(3_600_000);
            let node = inner.node.clone();
            std::thread::Builder::new()
                .name("lienthong-audit-index".into())
                .spawn(move || indexer::index_loop(&log, &shutdown, retention_ms, &node))
                .map_err(|source| RelayError::Thread {
                    what: "audit indexer",
                    source,
                })?
        };
        Ok(Relay {
            inner,
            stop: Arc::new(stop),
            indexer: Arc::new(Mutex::new(Some(indexer))),
            workers: Arc::new(Mutex::new(Vec::new())),
            committer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// Refuses new work for a destination whose outbox is over its limit.
    pub fn check_backpressure(&self, destinations: &[String]) -> Result<(), RelayError> {
        for d in destinations {
            let dest = self.inner.destination(d);
            let depth = dest.queue.lock().map(|q| q.pending.len()).unwrap_or(0);
            if depth >= self.inner.config.max_outbox_depth {
                return Err(RelayError::Backpressure {
                    destination: d.clone(),
                    depth,
                });
            }
        }
        Ok(())
    }

    /// The committer's queue, unless the relay is stopping.
    fn sender(&self) -> Result<mpsc::Sender<Queued>, RelayError> {
        self.inner
            .commit_tx
            .lock()
            .ok()
            .and_then(|t| t.clone())
            .ok_or(RelayError::Stopped)
    }

    async fn send(&self, work: CommitRequest) -> Result<Committed, RelayError> {
        let (reply, rx) = oneshot::channel();
        let tx = self.sender()?;
        tx.send(Queued {
            work,
            reply: Some(reply),
        })
        .await
        .map_err(|_| RelayError::Stopped)?;
        drop(tx);
        match rx.await {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(e)) => Err(RelayError::Commit(e)),
            Err(_) => Err(RelayError::Stopped),
        }
    }

    /// Commits a submission and the audit entries that report it durably (group commit) and
    /// wakes the destinations' workers: `sealed`, entries the caller sealed already
    /// (`AuditDraft::seal_canonical`), first, then `audit`.
    pub async fn submit(
        &self,
        submission: Submission,
        mut sealed: Vec<SealedDraft>,
        audit: Vec<AuditDraft>,
    ) -> Result<Accepted, RelayError> {
        // Sealing (commitments, the sealed part) is done here, by the caller, so that the
        // committer only numbers, hashes and writes.
        sealed.extend(seal_all(audit)?);
        match self.send(CommitRequest::Submit(submission, sealed)).await? {
            Committed::Accepted(a) => Ok(a),
            Committed::Checkpoint(..) => Err(RelayError::Stopped),
        }
    }

    /// Records audit entries with the next group commit without waiting for it (entries that
    /// promise nothing to the caller: duplicates of a durable record). Waits only for room in
    /// the committer's queue, so a flood of them is slowed, not buffered without bound.
    pub async fn record_unawaited(&self, drafts: Vec<AuditDraft>) -> Result<(), RelayError> {
        let exchange_id = drafts
            .first()
            .map(|d| d.exchange_id.clone())
            .unwrap_or_default();
        let sealed = seal_all(drafts)?;
        self.sender()?
            .send(Queued {
                work: CommitRequest::Submit(
                    Submission {
                        exchange_id,
                        ..Default::default()
                    },
                    sealed,
                ),
                reply: None,
            })
            .await
            .map_err(|_| RelayError::Stopped)
    }

    /// Why the store cannot be written now: a commit failed, and the store refuses every
    /// later one until it is opened again.
    pub fn write_error(&self) -> Option<String> {
        self.inner.store.failed_write()
    }

    /// Records audit entries durably; returns the index of the first.
    pub async fn record(&self, drafts: Vec<AuditDraft>) -> Result<u64, RelayError> {
        let exchange_id = drafts
            .first()
            .map(|d| d.exchange_id.clone())
            .unwrap_or_default();
        let a = self
            .submit(
                Submission {
                    exchange_id,
                    ..Default::default()
                },
                Vec::new(),
                drafts,
            )
            .await?;
        Ok(match a {
            Accepted::New { audit_index, .. } | Accepted::Duplicate { audit_index, .. } => {
                audit_index
            }
        })
    }

    /// Signs a checkpoint of everything durable now (unless the latest has that size);
    /// returns its size and the signed note.
    pub async fn checkpoint_now(&self) -> Result<(u64, String), RelayError> {
        match self.send(CommitRequest::Checkpoint).await? {
            Committed::Checkpoint(size, note) => Ok((size, note)),
            Committed::Accepted(_) => Err(RelayError::Stopped),
        }
    }

    /// This hub node's name: its host name and an id of this start.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// How far this node's clock is ahead of the shared store's, in milliseconds, as last
    /// measured (every 30 s); None for an embedded store, or before the first reading.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        let v = self
            .inner
            .clock_offset_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        (v != i64::MIN).then_some(v)
    }

    /// The audit log.
    pub fn audit(&self) -> &Arc<AuditLog> {
        &self.inner.audit
    }

    /// Starts a worker for each destination known now (call once, inside the runtime).
    pub fn spawn_workers(&self) {
        let names: Vec<Arc<Destination>> = self
            .inner
            .destinations
            .lock()
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default();
        let handles: Vec<_> = names
            .into_iter()
            .map(|d| tokio::spawn(deliver::worker(self.inner.clone(), d)))
            .collect();
        if let Ok(mut w) = self.workers.lock() {
            w.extend(handles);
        }
        if let Ok(mut rt) = self.inner.runtime.lock() {
            *rt = Some((tokio::runtime::Handle::current(), self.workers.clone()));
        }
    }

    /// Puts a dead letter back in its destination's outbox.
    pub fn replay(&self, destination: &str, seq: u64) -> Result<Option<OutboxItem>, RelayError> {
        let Some(dead) = self.inner.store.dead_letter(destination, seq)? else {
            return Ok(None);
        };
        let new_seq = self.inner.store.next_seq()?;
        let Some(item) = self.inner.store.replay(&dead, new_seq)? else {
            return Ok(None);
        };
        let dest = self.inner.destination(destination);
        if let Ok(mut q) = dest.queue.lock() {
            q.pending.insert(item.seq, meta_of(&item));
        }
        dest.notify.notify_one();
        Ok(Some(item))
    }

    /// Discards a dead letter.
    pub fn discard(&self, destination: &str, seq: u64) -> Result<bool, RelayError> {
        Ok(self.inner.store.discard(destination, seq)?)
    }

    /// Stops: no new submissions, workers start no new deliveries and wait for those under
    /// way, the committer finishes what it was given. Returns when all of them are done.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        if let Ok(mut tx) = self.inner.commit_tx.lock() {
            tx.take();
        }
        if let Ok(d) = self.inner.destinations.lock() {
            for dest in d.values() {
                dest.notify.notify_one();
            }
        }
        let workers: Vec<_> = self
            .workers
            .lock()
            .map(|mut w| w.drain(..).collect())
            .unwrap_or_default();
        for w in workers {
            let _ = w.await;
        }
        // The deliveries stopped: another hub node sharing the store takes them over at once.
        if let Err(e) = self.inner.store.release_deliveries(&self.inner.node) {
            tracing::warn!("releasing this node's deliveries: {e}");
        }
        if let Ok(mut tx) = self.inner.audit_tx.lock() {
            tx.take();
        }
        if let Ok(mut tx) = self.inner.delivery_tx.lock() {
            tx.take();
        }
        let committer = self.committer.lock().ok().and_then(|mut c| c.take());
        if let Some(c) = committer {
            let _ = tokio::task::spawn_blocking(move || c.join()).await;
        }
        let indexer = self.indexer.lock().ok().and_then(|mut c| c.take());
        if let Some(i) = indexer {
            let _ = tokio::task::spawn_blocking(move || i.join()).await;
        }
    }
}

pub(crate) fn meta_of(item: &OutboxItem) -> Meta {
    Meta {
        order_key: item.order_key.clone(),
        next_attempt_ms: item.next_attempt_ms,
        accepted_at_ms: item.accepted_at_ms,
    }
}

impl RelayCore {
    /// Puts every item of the stored outboxes that no destination's queue holds yet into its
    /// queue, and wakes the destinations that got one: at start, and after a failed commit
    /// once the store is writable again (a commit whose outcome was unknown may have queued
    /// items that nobody was told of).
    pub(crate) fn load_outbox(self: &Arc<Self>) -> Result<(), crate::store::StoreError> {
        for name in self.store.outbox_destinations()? {
            let dest = self.destination(&name);
            load_outbox_of(&self.store, &dest)?;
        }
        Ok(())
    }

    pub(crate) fn destination(self: &Arc<Self>, name: &str) -> Arc<Destination> {
        let mut map = match self.destinations.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let mut created = false;
        let dest = map
            .entry(name.to_string())
            .or_insert_with(|| {
                created = true;
                let opts = self
                    .registry
                    .get(name)
                    .map(|a| a.adapter.definition().delivery.clone())
                    .unwrap_or_default();
                Arc::new(Destination {
                    name: name.to_string(),
                    queue: Mutex::new(Queue {
                        pending: BTreeMap::new(),
                        in_flight_keys: Default::default(),
                        in_flight_seqs: Default::default(),
                        in_flight: 0,
                        unrecorded: 0,
                        breaker: breaker::Breaker::new(
                            opts.breaker_failures,
                            opts.breaker_cooldown_ms,
                        ),
                    }),
                    notify: Notify::new(),
                    delivered: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    dead: AtomicU64::new(0),
                })
            })
            .clone();
        drop(map);
        if created
            && let Ok(rt) = self.runtime.lock()
            && let Some((handle, workers)) = rt.as_ref()
        {
            let h = handle.spawn(deliver::worker(self.clone(), dest.clone()));
            if let Ok(mut w) = workers.lock() {
                w.push(h);
            }
        }
        dest
    }
}
