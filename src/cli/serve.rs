//! `lienthong serve --config config/hub.toml`: run the hub until SIGTERM or SIGINT.

use super::Outcome;
use crate::config::hub::HubConfig;
use crate::server::Hub;
use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The hub configuration file.
    #[arg(long, value_name = "FILE", default_value = "config/hub.toml")]
    config: PathBuf,
    /// Listen on this address instead of `server.listen` (e.g. 127.0.0.1:0 for any free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Use this data directory instead of `server.data_dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub(crate) fn init_logging(level: &str, format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colour codes only for a person at a terminal (and not under NO_COLOR): a log written to
    // a file or a pipe stays plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut config = HubConfig::load(&args.config)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.server.data_dir = dir;
    }
    init_logging(&config.log.level, &config.log.format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let hub = Hub::start(config).await?;
        // A line on stdout that scripts and tests can wait for.
        println!("lienthong listening on {}", hub.url());
        wait_for_signal().await;
        tracing::info!("signal received");
        hub.shutdown().await?;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Outcome::Ok)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
