//! `lienthong store migrate`: creates or brings up to date the schema of the store a config
//! names. The hub does the same when it starts; this is for doing it beforehand (before a
//! rolling upgrade of a cluster's nodes) and for seeing which version a database is at. A
//! database written by a newer hub is refused, not changed.

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
    },
}

pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    let Command::Migrate { config, url } = command;
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
    crate::store::Store::open_postgres(&url).context("migrating the PostgreSQL store")?;
    eprintln!(
        "the store's schema is at version {} (this hub's)",
        crate::store::postgres::SCHEMA_VERSION
    );
    Ok(Outcome::Ok)
}
