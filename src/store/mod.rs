//! The store, behind a port. Stages hold a `Store`: any backend (`Backend`) behind the
//! role traits of `port` (the durable commit of a group, the outbox and dead letters, the
//! audit log's storage, the catalogue of tokens, adapters, routes and policies, the pull cache,
//! the once-only data), speaking the domain types of `types`. The embedded backend, the
//! default, is `sled`. How a backend keeps the contract, and what a crash may deliver again,
//! is written down in `store/STORAGE.md`.

pub mod copy;
pub mod port;
pub mod postgres;
pub mod sled;
pub mod types;

pub use port::{
    AuditLogStore, Backend, Catalogue, GroupCommit, OnceOnlyStore, OutboxStore, PullCache,
};
pub use types::*;

/// The store's page cache unless configured (`server.store_cache_mb`).
pub use crate::config::hub::DEFAULT_STORE_CACHE_BYTES as DEFAULT_CACHE_BYTES;

use std::path::Path;
use std::sync::Arc;

/// A store failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine under the store failed: an I/O error, a damaged page, a lost connection.
    #[error("store: {action}: {source}")]
    Engine {
        action: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A backend's own files failed (the embedded backend's commit journal or audit files);
    /// the error names the file and what was being done.
    #[error("store: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store: {action}: a stored value is not readable: {source}")]
    Decode {
        action: &'static str,
        source: serde_json::Error,
    },
    #[error("store: {0}")]
    Format(String),
    /// Derived data the store keeps (the service-quality indicators' saves) is damaged: its
    /// owner rebuilds it from the audit log rather than stopping.
    #[error("store: {0}")]
    Damaged(String),
    #[error(
        "store: an earlier write failed ({0}); nothing more is written until the store is \
         sound again (the embedded store: until the hub is restarted)"
    )]
    Unwritable(String),
    /// The audit log grew elsewhere (another hub node on the same database) since this node
    /// prepared its entries: nothing was written; the caller reads the log's state again and
    /// prepares them anew.
    #[error("store: the audit log has {found} entries, not the {expected} this commit followed")]
    Behind { expected: u64, found: u64 },
    /// Idempotency keys of the commit accepted meanwhile (by another hub node on the same
    /// database, or by an earlier commit of this one), each with its exchange: nothing was
    /// written; the caller answers the submissions with those keys as repeats and commits the
    /// rest again.
    #[error("store: {} idempotency key(s) accepted meanwhile, the first {:?}", taken.len(), taken.first().map(|t| &t.0))]
    Duplicate { taken: Vec<(String, String)> },
    /// A database backend cannot be reached (down, failing over, a broken connection): the
    /// caller may try again shortly.
    #[error("store: {action}: the database cannot be reached: {source}")]
    Unavailable {
        action: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "store: the data directory {dir} is in use by another process (is a hub or another \
         lienthong command already running on it?); waited {waited_ms} ms for it to be released"
    )]
    Locked { dir: String, waited_ms: u64 },
}

/// A store: a backend behind the port. Cheap to clone (one shared part): every request's
/// state holds it. Its methods are those of the role traits (`use crate::store::prelude::*`).
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// A store over a backend.
    pub fn new(backend: impl Backend + 'static) -> Store {
        Store(Arc::new(backend))
    }

    /// Opens (or creates) the embedded store in `dir`, with the default cache.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store::new(sled::SledStore::open(dir)?))
    }

    /// Opens the store a hub's config names: the embedded one in `server.data_dir` (created
    /// if missing), or the PostgreSQL database at `store.url`.
    pub fn open_configured(config: &crate::config::hub::HubConfig) -> Result<Store, StoreError> {
        use crate::config::hub::StoreBackend;
        match config.store.backend {
            StoreBackend::Sled => {
                let dir = &config.server.data_dir;
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Engine {
                    action: "create the data directory",
                    source: Box::new(e),
                })?;
                Store::open_with_cache(dir, config.server.store_cache_mb.saturating_mul(1 << 20))
            }
            StoreBackend::Postgres => Ok(Store::new(postgres::PgStore::open_with(
                &config.store.url,
                postgres::PgTls::from_files(
                    &config.store.url,
                    &postgres::TlsFiles {
                        ca: config.store.ca_file.clone(),
                        cert: config.store.cert_file.clone(),
                        key: config.store.key_file.clone(),
                    },
                )?,
                std::time::Duration::from_millis(config.store.timeout_ms),
            )?)),
        }
    }

    /// Connects to a PostgreSQL database (libpq's URL or key=value form), creating or
    /// migrating its schema: the backend of a cluster of hub nodes. `ca_file` as
    /// `store.ca_file` (empty for none).
    pub fn open_postgres(url: &str, ca_file: &Path) -> Result<Store, StoreError> {
        Self::open_postgres_tls(
            url,
            &postgres::TlsFiles {
                ca: ca_file.to_path_buf(),
                ..Default::default()
            },
        )
    }

    /// As `open_postgres`, with TLS made from `files` (a client certificate among them).
    pub fn open_postgres_tls(url: &str, files: &postgres::TlsFiles) -> Result<Store, StoreError> {
        Ok(Store::new(postgres::PgStore::open_with(
            url,
            postgres::PgTls::from_files(url, files)?,
            postgres::DEFAULT_TIMEOUT,
        )?))
    }

    /// Opens (or creates) the embedded store in `dir`, keeping up to `cache_bytes` of its
    /// pages in memory.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Ok(Store::new(sled::SledStore::open_with_cache(
            dir,
            cache_bytes,
        )?))
    }
}

impl crate::merkle::Nodes for Store {
    fn node(
        &self,
        level: u8,
        index: u64,
    ) -> Result<crate::merkle::Hash, crate::merkle::MerkleError> {
        self.audit_node(level, index)
    }
}

/// The role traits, to call a store's methods: `use crate::store::prelude::*`.
pub mod prelude {
    pub use super::port::{
        AuditLogStore, Catalogue, GroupCommit, OnceOnlyStore, OutboxStore, PullCache, QualityStore,
    };
}
