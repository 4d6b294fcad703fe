//! The PostgreSQL backend behind the storage port, for a cluster of hub nodes sharing one
//! database (`[store] backend = "postgres"`). Every role is a few tables; a group commit is one
//! transaction; what a method promises is the port's (`store::port`), checked by the same
//! contract tests as the embedded backend (`tests/store_contract.rs`).
//!
//! The port is synchronous and is called from the committer's thread, delivery workers and
//! the async runtime alike, so the backend keeps its own threads, each with one connection
//! (the blocking client of `postgres`, which must not run on a runtime's thread): a call hands
//! its work to one of them and waits for the answer. A connection that broke is opened again
//! for the next call; the URL may name several hosts with `target_session_attrs=read-write`,
//! so that a node follows a promoted standby.
//!
//! The schema is versioned (`migrations`): opening a database creates or migrates it, and
//! refuses one written by a newer hub.

mod audit;
mod catalogue;
mod migrations;
mod onceonly;
mod outbox;
mod port;
mod prepared;
mod tls;
mod together;

pub use tls::{PgTls, TlsFiles};

use super::StoreError;
use super::types::TokenRecord;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};

pub use migrations::{Migrated, SCHEMA_VERSION, migrate};

/// Work for a connection's thread.
type Job = Box<dyn FnOnce(&mut Option<postgres::Client>) + Send>;

/// Connections, each on a thread of its own.
struct Pool {
    url: String,
    tls: PgTls,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// A call that takes longer is given up (and its statement cancelled).
    timeout: std::time::Duration,
}

/// How long a call to the database may take unless configured (`store.timeout_ms`).
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many connections a backend keeps: the committer, the deliveries and the API share them.
const CONNECTIONS: usize = 4;

impl Pool {
    fn start(url: &str, tls: PgTls, timeout: std::time::Duration) -> Pool {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..CONNECTIONS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("lienthong-pg-{n}"))
                .spawn(move || {
                    prepared::enable();
                    let mut client: Option<postgres::Client> = None;
                    loop {
                        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                            Ok(job) => job,
                            // The backend was dropped.
                            Err(_) => return,
                        };
                        job(&mut client);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a database connection's thread: {e}");
            }
        }
        Pool {
            url: url.to_string(),
            tls,
            jobs: Mutex::new(tx),
            timeout,
        }
    }

    /// Runs `f` on a connection (opened first if it is not, or broke) and waits for it, at
    /// most the pool's time-out. A connection that cannot be opened, breaks during `f`, or
    /// does not answer in time (its statement is then cancelled) is `StoreError::Unavailable`:
    /// the outcome of a write so given up is unknown (PostgreSQL may still commit it, as a
    /// synchronous commit whose wait is cancelled does).
    fn call<R: Send + 'static>(
        &self,
        action: &'static str,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Result<R, (postgres::Error, bool)>>(1);
        let (cancel_tx, cancel_rx) = mpsc::sync_channel::<postgres::CancelToken>(1);
        let url = self.url.clone();
        let tls = self.tls.clone();
        let job: Job = Box::new(move |slot: &mut Option<postgres::Client>| {
            if slot.as_ref().is_none_or(|c| c.is_closed()) {
                prepared::forget();
                match connect(&url, &tls) {
                    Ok(c) => *slot = Some(c),
                    Err(e) => {
                        // The server answered with a refusal (a wrong password, no such user
                        // or database): not a database away, an error that says what to fix.
                        let away = e.as_db_error().is_none();
                        let _ = tx.send(Err((e, away)));
                        return;
                    }
                }
            }
            let Some(client) = slot.as_mut() else {
                return;
            };
            let _ = cancel_tx.send(client.cancel_token());
            let result = f(client);
            if result.as_ref().is_err_and(prepared::stale) {
                prepared::forget();
            }
            let broken = client.is_closed();
            if broken {
                *slot = None;
            }
            let _ = tx.send(result.map_err(|e| (e, broken)));
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StoreError::Format("the database connections have stopped".into()))?;
        match blocking(|| rx.recv_timeout(self.timeout)) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err((e, true))) => Err(StoreError::Unavailable {
                action,
                source: Box::new(Chained(e)),
            }),
            Ok(Err((e, false))) => Err(engine(action, e)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The statement is cancelled so that its connection serves again; what it
                // did is not waited for.
                if let Ok(token) = cancel_rx.try_recv() {
                    let tls = self.tls.clone();
                    let _ = std::thread::Builder::new()
                        .name("lienthong-pg-cancel".into())
                        .spawn(move || {
                            if let Err(e) = tls.cancel(&token) {
                                tracing::warn!("cancelling a statement that took too long: {e}");
                            }
                        });
                }
                Err(StoreError::Unavailable {
                    action,
                    source: Box::new(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "no answer within {} ms (store.timeout_ms)",
                            self.timeout.as_millis()
                        ),
                    )),
                })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Format(format!(
                "{action}: the database connection's thread stopped"
            ))),
        }
    }
}

/// Runs `wait` (a wait for the database) so that, on a thread of a multi-threaded async runtime,
/// the runtime's other tasks move to another thread meanwhile rather than wait behind it (the
/// port is synchronous, and the request handlers call it). Elsewhere (the committer's thread,
/// a blocking thread, a single-threaded runtime) it just runs.
pub(super) fn blocking<R>(wait: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

fn connect(url: &str, tls: &PgTls) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.application_name("lienthong");
    config.connect_timeout(std::time::Duration::from_secs(5));
    tls.connect(&config)
}

fn engine(action: &'static str, e: postgres::Error) -> StoreError {
    StoreError::Engine {
        action,
        source: Box::new(Chained(e)),
    }
}

/// A database error written with its causes (`error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer`, not the first part alone).
#[derive(Debug)]
struct Chained(postgres::Error);

impl std::fmt::Display for Chained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(&self.0);
        while let Some(c) = cause {
            let text = c.to_string();
            // tokio-postgres repeats a database error's message in its own.
            if !self.0.to_string().contains(&text) {
                write!(f, ": {text}")?;
            }
            cause = c.source();
        }
        Ok(())
    }
}

impl std::error::Error for Chained {}

/// How long a token read from the database is taken as read (another node's revocation is in
/// force on this one within this time).
const TOKEN_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// One destination's outbox marks as this node knows them.
#[derive(Debug, Default)]
struct Marks {
    /// The mark last read with the waiting list.
    read: u64,
    /// Marks set by this node's commits since.
    own: std::collections::BTreeSet<u64>,
    /// When the mark was last read from the database.
    read_at: Option<std::time::Instant>,
}

impl Marks {
    /// A commit of another node is known to lie below one of this node's: its marks since the
    /// last read skip a number. (Its items may have lower sequence numbers than this node's
    /// latest, and must be queued before those are picked.)
    fn gap(&self) -> bool {
        match self.own.last() {
            Some(&last) if last > self.read => {
                (self.own.range(self.read + 1..).count() as u64) < last - self.read
            }
            _ => false,
        }
    }
}

/// How often a node delivering a destination reads its outbox's mark when its own commits show
/// no other node's between them: the longest an item another node accepted after this node's
/// latest waits to be seen (a read a pass cost about two transactions a push).
const MARK_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The outbox items this node committed for a destination it delivers, and those of other
/// nodes it read since, kept to be sent without reading them back. Valid only while this
/// node's claim lasts without a break: another node delivering meanwhile may have sent,
/// retried or parked them.
#[derive(Debug, Default)]
struct Held {
    items: HashMap<u64, Arc<super::types::OutboxItem>>,
    /// Until when the claim is surely this node's (monotonic), as the last grant says.
    until: Option<std::time::Instant>,
    /// While a read of what was queued is under way: the items forgotten meanwhile (sent,
    /// rewritten, parked), whose rows as read may be stale and are not kept from it; `None`
    /// inside when the claim broke meanwhile (nothing read is kept).
    reading: Option<Option<std::collections::HashSet<u64>>>,
}

/// At most this many items kept a destination: enough for the records between a commit and
/// their delivery (a few hundred at the peak), a bounded memory (a few KB an item) when a
/// destination is down and its outbox grows; the rest are read from the database in turn.
const HELD_MAX: usize = 4_096;

/// The PostgreSQL backend.
pub struct PgStore {
    pool: Arc<Pool>,
    /// Why commits are refused, if one failed (until the store is opened again).
    write_failed: Mutex<Option<String>>,
    /// The audit log's size as this node last committed or read it.
    audit_size: AtomicU64,
    /// Per destination: the outbox marks this node's commits set, and the mark it last read
    /// (`outbox_waiting_if_changed`).
    marks: Mutex<HashMap<String, Marks>>,
    /// Items of the destinations this node delivers, by destination (`Held`).
    held: Mutex<HashMap<String, Held>>,
    /// Look-ups of idempotency keys, made together under load.
    seen: together::Together,
    /// Tokens read, by id, with when: an authentication waits for the database at most once
    /// per token and `TOKEN_FRESH`.
    tokens: RwLock<HashMap<String, (TokenRecord, std::time::Instant)>>,
    /// How the service-quality indicators' saves are cut (`onceonly.rs`).
    quality_saves: QualitySaves,
}

/// How a save of the service-quality indicators is written: in transactions of at most `rows`
/// dossiers, `pause` apart. One statement of every dossier changed in the last seconds is tens
/// of milliseconds of the primary's and the standby's work, and its WAL comes before the next
/// commits' on the standby: the pushes committed meanwhile waited for it (measured in
/// BENCHMARKS.md, "p99 at half of the peak").
#[derive(Debug, Clone, Copy)]
pub struct QualitySaves {
    pub rows: usize,
    pub pause: std::time::Duration,
}

impl Default for QualitySaves {
    fn default() -> Self {
        QualitySaves {
            rows: 500,
            pause: std::time::Duration::from_millis(20),
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (libpq's form: `postgresql://user@host1,host2/db?
    /// target_session_attrs=read-write`, or `host=… dbname=…`), creates or migrates its schema,
    /// and reads the audit log's size.
    pub fn open(url: &str, timeout: std::time::Duration) -> Result<PgStore, StoreError> {
        Self::open_with(url, PgTls::Plain, timeout)
    }

    /// As `open`, with connections made as `tls` says (`PgTls::from_config`).
    pub fn open_with(
        url: &str,
        tls: PgTls,
        timeout: std::time::Duration,
    ) -> Result<PgStore, StoreError> {
        // The URL is checked before any thread starts: a typo is an error that says so.
        url.parse::<postgres::Config>()
            .map_err(|e| StoreError::Format(format!("store.url: {e}")))?;
        let pool = Arc::new(Pool::start(url, tls, timeout));
        let standby = pool.call("connect to the database", |c| {
            Ok(c.query_one("SELECT pg_is_in_recovery()", &[])?
                .get::<_, bool>(0))
        })?;
        if standby {
            return Err(StoreError::Format(
                "store.url names a standby (read-only, in recovery), not the primary: name the \
                 primary, or every host with target_session_attrs=read-write so that the hub \
                 finds the one that takes writes"
                    .into(),
            ));
        }
        match pool.call("migrate the schema", migrate)? {
            Migrated::Newer(v) => {
                return Err(StoreError::Format(format!(
                    "the database's schema is version {v}, newer than this hub's \
                     ({SCHEMA_VERSION}): run the newer hub, or restore a backup"
                )));
            }
            Migrated::To(_) => {}
        }
        let store = PgStore {
            pool,
            write_failed: Mutex::new(None),
            audit_size: AtomicU64::new(0),
            tokens: RwLock::new(HashMap::new()),
            marks: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
            seen: Default::default(),
            quality_saves: QualitySaves::default(),
        };
        store.read_audit_size()?;
        Ok(store)
    }

    /// The same store, saving the service-quality indicators as `saves` says.
    pub fn with_quality_saves(mut self, saves: QualitySaves) -> PgStore {
        self.quality_saves = QualitySaves {
            rows: saves.rows.max(1),
            ..saves
        };
        self
    }

    /// Reads the audit log's size from the database. After a failed commit this is how the
    /// store becomes writable again: the database holds either the whole transaction or none
    /// of it, so once its size is read again nothing is half-written (unlike the embedded
    /// store's files, which wait for a reopen).
    fn read_audit_size(&self) -> Result<u64, StoreError> {
        let size = self.pool.call("read the audit log's size", |c| {
            let row = c.query_one("SELECT size FROM audit_head", &[])?;
            Ok(row.get::<_, i64>(0) as u64)
        })?;
        self.audit_size.store(size, Ordering::Release);
        let mut failed = self.write_failed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cause) = failed.take() {
            tracing::info!(
                size,
                "the store is writable again after a failed write ({cause})"
            );
        }
        Ok(size)
    }

    fn set_failed(&self, e: &StoreError) {
        *self.write_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }
}

/// A value as stored (JSON bytes).
fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(
    action: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { action, source })
}

/// A u64 as PostgreSQL's bigint (every number the hub stores is below 2⁶³).
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
