//! The hub's own configuration (`config/hub.toml`).
//!
//! Every key is documented here and in the shipped file. Every key can be overridden by an
//! environment variable `LIENTHONG_<SECTION>_<KEY>` in upper case, e.g.
//! `LIENTHONG_SERVER_LISTEN=127.0.0.1:9000` or `LIENTHONG_LIMITS_MAX_BODY_BYTES=2097152`; the
//! value is read as TOML (numbers, booleans) and otherwise taken as a string.

pub use super::audit::AuditConfig;
mod quality;
mod store;
pub use quality::QualityConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
pub use store::{StoreBackend, StoreConfig};

/// The whole hub configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Listening address, directories and shutdown.
    #[serde(default)]
    pub server: ServerConfig,
    /// TLS and mutual TLS.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Limits at the edge.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Validation of canonical records.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// The connectivity probe run when an adapter is registered.
    #[serde(default)]
    pub probe: ProbeConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The relay: outbox limits.
    #[serde(default)]
    pub relay: RelayConfig,
    /// The audit log: its name, signing key and checkpoints.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Where the hub keeps its data: the embedded store (default) or PostgreSQL.
    #[serde(default)]
    pub store: StoreConfig,
    /// The service-quality indicators.
    #[serde(default)]
    pub quality: QualityConfig,
    /// The members: organisations connected to the hub.
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    /// Routes: which records go to which destination adapters.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// `[relay]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Records waiting for one destination beyond which ingest answers 503 with Retry-After
    /// instead of letting the outbox grow without bound.
    #[serde(default = "default_outbox_depth")]
    pub max_outbox_depth: usize,
    /// Most pieces of work (ingests, audit entries) taken into one group commit; the delivery
    /// records waiting are taken first, beyond this.
    #[serde(default = "default_commit_batch")]
    pub commit_batch: usize,
    /// Idempotency keys (given or natural) are remembered at least this long after their
    /// record was accepted; older ones are swept every ten minutes. 0: kept for ever (the
    /// store then grows by a key per accepted record).
    #[serde(default = "default_dedup_retention_hours")]
    pub dedup_retention_hours: u64,
}

fn default_outbox_depth() -> usize {
    200_000
}
fn default_commit_batch() -> usize {
    512
}
fn default_dedup_retention_hours() -> u64 {
    168
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            max_outbox_depth: default_outbox_depth(),
            commit_batch: default_commit_batch(),
            dedup_retention_hours: default_dedup_retention_hours(),
        }
    }
}

/// `[[routes]]`: records of one type, optionally only from some adapters or agencies, go to one
/// or more destination adapters.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The record type, e.g. `dossier-status`.
    pub record_type: String,
    /// Only records pushed through these adapters (empty: any).
    #[serde(default)]
    pub from_adapters: Vec<String>,
    /// Only records whose `receiving_agency` or `resolving_agency` is one of these (empty: any).
    #[serde(default)]
    pub agencies: Vec<String>,
    /// Destination adapters (they must consume the record type).
    pub to: Vec<String>,
    /// Canonical pointer of the order key: records with the same key are delivered in the order
    /// they were accepted (default `/dossier_code`; records without it are not ordered).
    #[serde(default = "default_order_key")]
    pub order_key: String,
    /// Once-only checks of a dossier's applicant against the population register on ingest:
    /// `off`, `verify` (record each mismatch as a finding) or `enrich` (also fill what the
    /// source left empty). Findings never block the dossier.
    #[serde(default)]
    pub once_only: OnceOnlyMode,
    /// Share only what the disclosure policy grants each destination's member for this
    /// purpose (e.g. `employment-support` for a route of `citizen` records, the register's
    /// changes, to the ministries that hold a copy): the record is reduced to the granted
    /// fields per destination, and a destination whose member has no grant gets nothing.
    /// Both are audit entries (`share`: `allowed` or `denied`). Without it, records go whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// What the hub does with a dossier's applicant on ingest.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OnceOnlyMode {
    #[default]
    Off,
    Verify,
    Enrich,
}

fn default_order_key() -> String {
    "/dossier_code".into()
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on. Loopback by default.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Directory of the embedded store (sled). Created if missing. Relative paths are relative
    /// to the directory of the config file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Directory of adapter definitions loaded at start (relative as `data_dir`); empty for none.
    #[serde(default = "default_adapters_dir")]
    pub adapters_dir: PathBuf,
    /// Directory of canonical schemas; empty for the ones built into the binary.
    #[serde(default)]
    pub schemas_dir: PathBuf,
    /// The disclosure policy of once-only pulls (relative as `data_dir`); empty or missing:
    /// every pull is denied.
    #[serde(default = "default_policies_file")]
    pub policies_file: PathBuf,
    /// On SIGTERM or SIGINT, how long in-flight requests may take to finish, in seconds.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    /// Public base URL of the hub, written into WSDL documents (e.g. `https://hub.example`);
    /// empty to use the address the request came to.
    #[serde(default)]
    pub public_url: String,
    /// Megabytes of the store's pages kept in memory. The store's files can grow far beyond
    /// it (the audit log is never rewritten); this bounds the hub's memory.
    #[serde(default = "default_store_cache_mb")]
    pub store_cache_mb: u64,
}

/// The store's page cache unless configured (`server.store_cache_mb`).
pub const DEFAULT_STORE_CACHE_BYTES: u64 = 64 << 20;

fn default_store_cache_mb() -> u64 {
    DEFAULT_STORE_CACHE_BYTES >> 20
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_data_dir() -> PathBuf {
    "data".into()
}
fn default_policies_file() -> PathBuf {
    "policies.toml".into()
}
fn default_adapters_dir() -> PathBuf {
    "../adapters".into()
}
fn default_grace() -> u64 {
    30
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            data_dir: default_data_dir(),
            adapters_dir: default_adapters_dir(),
            schemas_dir: PathBuf::new(),
            policies_file: default_policies_file(),
            shutdown_grace_secs: default_grace(),
            public_url: String::new(),
            store_cache_mb: default_store_cache_mb(),
        }
    }
}

/// `[tls]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Serve plain HTTP instead of TLS. Only for development on loopback: the hub warns at
    /// start. When false, `cert` and `key` are required.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Server certificate chain (PEM).
    #[serde(default)]
    pub cert: PathBuf,
    /// Server private key (PEM).
    #[serde(default)]
    pub key: PathBuf,
    /// CA certificates (PEM) that sign member client certificates. When set, clients may
    /// authenticate with a certificate whose subject common name or DNS name is listed in a
    /// member's `tls_names`.
    #[serde(default)]
    pub client_ca: PathBuf,
    /// Refuse TLS connections without a client certificate (bearer tokens then work only on
    /// top of a certificate).
    #[serde(default)]
    pub require_client_cert: bool,
}

/// `[limits]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body, in bytes (413 beyond).
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    #[serde(default = "default_header")]
    pub max_header_bytes: usize,
    /// Time to receive the request head, in milliseconds (the connection is closed beyond).
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// Time to answer a request, body included, in milliseconds (408 beyond).
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// Requests handled at once; more are answered 429 at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Failed authentications a client address may make in a minute; beyond, it is refused
    /// (429 `auth.too-many-failures`) until the minute ends, whatever it sends.
    #[serde(default = "default_auth_failures")]
    pub auth_failures_per_minute: u32,
}

fn default_auth_failures() -> u32 {
    30
}

fn default_body() -> usize {
    1 << 20
}
fn default_header() -> usize {
    16 * 1024
}
fn default_header_timeout() -> u64 {
    5_000
}
fn default_timeout() -> u64 {
    10_000
}
fn default_concurrency() -> usize {
    1024
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: default_body(),
            max_header_bytes: default_header(),
            header_timeout_ms: default_header_timeout(),
            request_timeout_ms: default_timeout(),
            max_concurrency: default_concurrency(),
            auth_failures_per_minute: default_auth_failures(),
        }
    }
}

/// `[validation]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Regular expression agency codes must match.
    #[serde(default = "default_agency")]
    pub agency_code_pattern: String,
    /// Most errors reported for one record.
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
}

fn default_agency() -> String {
    crate::model::DEFAULT_AGENCY_CODE_PATTERN.into()
}
fn default_max_errors() -> usize {
    100
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            agency_code_pattern: default_agency(),
            max_errors: default_max_errors(),
        }
    }
}

/// `[probe]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Time allowed for the connectivity probe, in milliseconds.
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    /// Refuse to register an adapter whose endpoint does not answer (by default an
    /// unreachable endpoint is a warning in the report).
    #[serde(default)]
    pub required: bool,
}

fn default_probe_timeout() -> u64 {
    2_000
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            timeout_ms: default_probe_timeout(),
            required: false,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Log filter, as `RUST_LOG` (which overrides it): `info`, `lienthong=debug`, …
    #[serde(default = "default_log_level")]
    pub level: String,
    /// `text` or `json` lines on standard error.
    #[serde(default = "default_log_format")]
    pub format: String,
}

fn default_log_level() -> String {
    "info".into()
}
fn default_log_format() -> String {
    "text".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: default_log_level(),
            format: default_log_format(),
        }
    }
}

/// `[[members]]`: one organisation connected to the hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// Agency code, e.g. `000.00.00.H42`.
    pub code: String,
    /// Name, e.g. "UBND tỉnh Hà Tĩnh".
    #[serde(default)]
    pub name: String,
    /// Roles the member may act in: `admin`, `provider`, `consumer`, `auditor`.
    pub roles: Vec<String>,
    /// Client certificate names (subject common name or DNS subject alternative name) that
    /// identify this member over mutual TLS.
    #[serde(default)]
    pub tls_names: Vec<String>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

const SECTIONS: &[&str] = &[
    "server",
    "tls",
    "limits",
    "validation",
    "probe",
    "log",
    "relay",
    "audit",
    "store",
    "quality",
];

impl HubConfig {
    /// Reads a config file, applies `LIENTHONG_*` environment overrides, resolves relative
    /// paths against the file's directory and checks the result.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        HubConfig::from_toml(&file, &text, base, std::env::vars())
    }

    /// Parses config text; `env` gives the overrides, `base` the directory relative paths
    /// are resolved against.
    pub fn from_toml(
        file: &str,
        text: &str,
        base: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<HubConfig, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (var, value) in env {
            let Some(rest) = var.strip_prefix("LIENTHONG_") else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let Some((section, key)) = rest.split_once('_') else {
                continue;
            };
            if !SECTIONS.contains(&section) {
                continue;
            }
            let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value.clone()));
            let table = doc
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match table {
                toml::Value::Table(t) => {
                    t.insert(key.to_string(), parsed);
                }
                _ => {
                    return Err(ConfigError::Env {
                        var,
                        message: format!("[{section}] is not a table in {file}"),
                    });
                }
            }
        }
        let mut cfg: HubConfig = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        let resolve = |p: &mut PathBuf| {
            if !p.as_os_str().is_empty() && p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut cfg.server.data_dir);
        resolve(&mut cfg.server.adapters_dir);
        resolve(&mut cfg.server.schemas_dir);
        resolve(&mut cfg.server.policies_file);
        resolve(&mut cfg.tls.cert);
        resolve(&mut cfg.tls.key);
        resolve(&mut cfg.tls.client_ca);
        resolve(&mut cfg.store.ca_file);
        resolve(&mut cfg.store.cert_file);
        resolve(&mut cfg.store.key_file);
        resolve(&mut cfg.audit.key_file);
        cfg.check().map_err(invalid)?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), String> {
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "server.listen: {:?} is not an address such as 127.0.0.1:8080",
                self.server.listen
            ));
        }
        if !self.tls.allow_plain_http
            && (self.tls.cert.as_os_str().is_empty() || self.tls.key.as_os_str().is_empty())
        {
            return Err(
                "tls: give tls.cert and tls.key, or set tls.allow_plain_http = true \
                 (development only)"
                    .into(),
            );
        }
        if self.limits.max_body_bytes == 0 || self.limits.max_concurrency == 0 {
            return Err("limits: max_body_bytes and max_concurrency must be above 0".into());
        }
        if self.limits.max_header_bytes < 8192 {
            return Err("limits.max_header_bytes: at least 8192".into());
        }
        crate::model::AgencyCodeRule::new(&self.validation.agency_code_pattern)
            .map_err(|e| format!("validation.agency_code_pattern: {e}"))?;
        for m in &self.members {
            for r in &m.roles {
                if crate::model::Role::parse(r).is_none() {
                    return Err(format!(
                        "members: {}: role {r:?} is not admin, provider, consumer, auditor or observer",
                        m.code
                    ));
                }
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if r.to.is_empty() {
                return Err(format!(
                    "routes[{i}] ({}): `to` names no destination",
                    r.record_type
                ));
            }
            if !r.order_key.starts_with('/') {
                return Err(format!(
                    "routes[{i}].order_key: {:?} is not a JSON Pointer",
                    r.order_key
                ));
            }
        }
        if self.store.timeout_ms == 0 {
            return Err("store.timeout_ms: at least 1".into());
        }
        if self.store.backend == StoreBackend::Postgres && self.store.url.trim().is_empty() {
            return Err(
                "store.url: the postgres backend needs the database's URL, e.g. \
                 postgresql://lienthong@127.0.0.1/lienthong"
                    .into(),
            );
        }
        if self.relay.commit_batch == 0 || self.relay.max_outbox_depth == 0 {
            return Err("relay: commit_batch and max_outbox_depth must be above 0".into());
        }
        if self.audit.origin.is_empty()
            || self.audit.origin.contains('+')
            || self.audit.origin.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "audit.origin: {:?} must be non-empty, without spaces or '+' (e.g. hub.example.vn/audit)",
                self.audit.origin
            ));
        }
        if self.audit.checkpoint_every == 0 || self.audit.checkpoint_secs == 0 {
            return Err("audit: checkpoint_every and checkpoint_secs must be above 0".into());
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err("log.format: text or json".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
