//! `[store]`: where the hub keeps its data (`crate::store`).

use serde::Deserialize;

/// `[store]`: the storage backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sled` (embedded, in `server.data_dir`; one hub process) or `postgres` (a database
    /// that several hub nodes share).
    #[serde(default)]
    pub backend: StoreBackend,
    /// For `postgres`: libpq's URL, e.g.
    /// `postgresql://lienthong@db1,db2/lienthong?target_session_attrs=read-write`.
    #[serde(default)]
    pub url: String,
    /// For `postgres`: a call to the database that takes longer is given up and answered 503
    /// (a commit so given up is not acknowledged; its outcome is unknown, and a repeat with the
    /// same idempotency key finds it if it was written).
    #[serde(default = "default_store_timeout_ms")]
    pub timeout_ms: u64,
    /// For `postgres`: the CA certificate(s), PEM, that signed the database server's
    /// certificate. Given, every connection is TLS and the server's certificate and host name
    /// are checked (libpq's `verify-full`) unless the URL says `sslmode=disable`; not given,
    /// connections are plain, and `sslmode=require` is refused.
    #[serde(default)]
    pub ca_file: std::path::PathBuf,
    /// For `postgres` with `ca_file`: the hub's client certificate (PEM, its chain after it),
    /// presented to the database server, for `cert` authentication in `pg_hba.conf` (the
    /// certificate's common name is the database user). Give `key_file` with it.
    #[serde(default)]
    pub cert_file: std::path::PathBuf,
    /// The private key (PEM) of `cert_file`.
    #[serde(default)]
    pub key_file: std::path::PathBuf,
}

fn default_store_timeout_ms() -> u64 {
    10_000
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            backend: StoreBackend::default(),
            url: String::new(),
            timeout_ms: default_store_timeout_ms(),
            ca_file: std::path::PathBuf::new(),
            cert_file: std::path::PathBuf::new(),
            key_file: std::path::PathBuf::new(),
        }
    }
}

/// Which storage backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    #[default]
    Sled,
    Postgres,
}
