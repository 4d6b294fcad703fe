//! `lienthong store migrate`: creates or brings up to date the schema of the store a config
//! names. The hub does the same when it starts; this is for doing it beforehand (before a
//! rolling upgrade of a cluster's nodes) and for seeing which version a database is at. A
//! database written by a newer hub is refused, not changed.
//!
//! `lienthong store copy --from A --to B`: moves a hub's data between stores (a data directory
//! of the embedded store, or a PostgreSQL URL), checking that the audit log's root is the same
//! on both sides (`store::copy`).

use super::Outcome;
use crate::config::hub::{HubConfig, StoreBackend};
use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create or migrate the configured store's schema (PostgreSQL); nothing to do for the
    /// embedded store, which says so.
    Migrate {
        /// The hub configuration.
        #[arg(long, value_name = "FILE", default_value = "config/hub.toml")]
        config: PathBuf,
        /// A PostgreSQL URL to migrate instead of the config's `store.url`.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The CA certificate (PEM) that signed the database server's certificate, instead of
        /// the config's `store.ca_file`: the connection is then TLS, the server checked.
        #[arg(long, value_name = "FILE", env = "LIENTHONG_STORE_CA_FILE")]
        ca_file: Option<PathBuf>,
        #[command(flatten)]
        client: ClientCert,
    },
    /// Copy everything durable from one store into an empty other: a data directory (the
    /// embedded store) or a PostgreSQL URL (postgresql://… or host=…). The hubs using them
    /// must be stopped. Ends by checking that the audit log's root is the same on both sides.
    Copy {
        /// The store to copy from.
        #[arg(long, value_name = "DIR|URL")]
        from: String,
        /// The empty store to copy into (a new data directory is created).
        #[arg(long, value_name = "DIR|URL")]
        to: String,
        /// For a PostgreSQL store: the CA certificate (PEM) that signed the database server's
        /// certificate (as `store.ca_file`); the connection is then TLS, the server checked.
        #[arg(long, value_name = "FILE", env = "LIENTHONG_STORE_CA_FILE")]
        ca_file: Option<PathBuf>,
        #[command(flatten)]
        client: ClientCert,
    },
}

/// The client certificate the hub presents to PostgreSQL, if the server asks for one.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ClientCert {
    /// The client certificate (PEM, its chain after it) presented to the database server
    /// (`cert` authentication; its common name is the database user), instead of the config's
    /// `store.cert_file`. Needs the CA file and `--key-file`.
    #[arg(long, value_name = "FILE", env = "LIENTHONG_STORE_CERT_FILE")]
    cert_file: Option<PathBuf>,
    /// The private key (PEM) of `--cert-file`, instead of the config's `store.key_file`.
    #[arg(long, value_name = "FILE", env = "LIENTHONG_STORE_KEY_FILE")]
    key_file: Option<PathBuf>,
}

/// `e` with the TLS files named as this command takes them as well as by their config keys
/// (the store names only the keys; here they may have come from the options).
fn as_flags(e: crate::store::StoreError) -> anyhow::Error {
    let mut said = e.to_string();
    for (key, flag) in [
        ("store.ca_file", "--ca-file"),
        ("store.cert_file", "--cert-file"),
        ("store.key_file", "--key-file"),
    ] {
        said = said.replace(key, &format!("{flag} ({key})"));
    }
    anyhow::anyhow!(said)
}

/// Whether a store is named by a PostgreSQL URL rather than a directory.
fn is_postgres(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://") || s.contains("host=")
}

fn open(
    s: &str,
    must_exist: bool,
    tls: &crate::store::postgres::TlsFiles,
) -> anyhow::Result<crate::store::Store> {
    if is_postgres(s) {
        return crate::store::Store::open_postgres_tls(s, tls)
            .map_err(as_flags)
            .context("opening the PostgreSQL store");
    }
    let dir = std::path::Path::new(s);
    if must_exist && !dir.join("db").exists() && !dir.join("conf").exists() {
        anyhow::bail!("{s}: not a data directory of the embedded store (no store in it)");
    }
    crate::store::Store::open(dir).with_context(|| format!("opening the store in {s}"))
}

pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    let (config, url, ca_file, client) = match command {
        Command::Migrate {
            config,
            url,
            ca_file,
            client,
        } => (config, url, ca_file, client),
        Command::Copy {
            from,
            to,
            ca_file,
            client,
        } => {
            let tls = crate::store::postgres::TlsFiles {
                ca: ca_file.unwrap_or_default(),
                cert: client.cert_file.unwrap_or_default(),
                key: client.key_file.unwrap_or_default(),
            };
            return copy(&from, &to, &tls);
        }
    };
    let cfg = HubConfig::load(&config)?;
    let url = match (url, cfg.store.backend) {
        (Some(u), _) => u,
        (None, StoreBackend::Postgres) => cfg.store.url.clone(),
        (None, StoreBackend::Sled) => {
            eprintln!(
                "{}: the embedded store (sled) has no schema to migrate; set [store] backend = \
                 \"postgres\" and url, or give --url",
                config.display()
            );
            return Ok(Outcome::Ok);
        }
    };
    let tls = crate::store::postgres::TlsFiles {
        ca: ca_file.unwrap_or_else(|| cfg.store.ca_file.clone()),
        cert: client
            .cert_file
            .unwrap_or_else(|| cfg.store.cert_file.clone()),
        key: client
            .key_file
            .unwrap_or_else(|| cfg.store.key_file.clone()),
    };
    crate::store::Store::open_postgres_tls(&url, &tls)
        .map_err(as_flags)
        .context("migrating the PostgreSQL store")?;
    eprintln!(
        "the store's schema is at version {} (this hub's)",
        crate::store::postgres::SCHEMA_VERSION
    );
    Ok(Outcome::Ok)
}

fn copy(from: &str, to: &str, tls: &crate::store::postgres::TlsFiles) -> anyhow::Result<Outcome> {
    let source = open(from, true, tls)?;
    let destination = open(to, false, tls)?;
    let mut last = String::new();
    let copied = crate::store::copy::copy(&source, &destination, |what, done| {
        if what != last {
            eprintln!("copying {what}…");
            last = what.to_string();
        } else if done % 100_000 == 0 {
            eprintln!("  {done}");
        }
    })?;
    eprintln!(
        "copied: {} members, {} tokens, {} adapter versions, {} routes, {} policy versions, \
         {} idempotency keys, {} outbox items, {} dead letters, {} issued documents, {} days \
         of once-only counts, {} audit entries ({} purged) and {} checkpoints",
        copied.members,
        copied.tokens,
        copied.adapter_versions,
        copied.routes,
        copied.policies,
        copied.dedup_keys,
        copied.outbox_items,
        copied.dead_letters,
        copied.issued_documents,
        copied.report_counts,
        copied.audit_entries,
        copied.purged_entries,
        copied.checkpoints
    );
    println!(
        "audit log: {} entries, root {} on both sides",
        copied.audit_entries,
        hex::encode(copied.root)
    );
    Ok(Outcome::Ok)
}
