//! `lienthong demo`: the hub at work, in one command (see `crate::demo`).

use super::Outcome;
use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Dossiers the province pushes.
    #[arg(long, default_value_t = 1000)]
    dossiers: usize,
    /// Status events per dossier, after the dossier itself.
    #[arg(long, default_value_t = 3)]
    events: usize,
    /// The adapter definitions to use (the repository's by default).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/adapters"))]
    adapters: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(crate::demo::run(
        crate::demo::DemoOptions {
            dossiers: args.dossiers,
            events: args.events,
            progress: true,
        },
        &args.adapters,
    ))?;
    println!("{}", summary.table());
    Ok(if summary.ok() {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
}
