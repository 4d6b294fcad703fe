//! `lienthong demo`: the hub at work, in one command (see `crate::demo`).

use super::Outcome;
use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Dossiers the province pushes.
    #[arg(long, default_value_t = 1000)]
    dossiers: usize,
    /// Status events per dossier at most, after the dossier itself (each dossier's story has
    /// up to six: received, in progress, supplements, resolved, returned, or withdrawn).
    #[arg(long, default_value_t = 6)]
    events: usize,
    /// Share of dossiers the simulated one-stop system sends with a fault (a name typed
    /// without diacritics, an old-form address, a split ward, a typo, a re-uploaded document,
    /// an invalid status, a repeated push), 0 to 1.
    #[arg(long, default_value_t = 0.2, value_name = "R")]
    error_rate: f64,
    /// Seed of the synthetic citizens and of the faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the store in DIR (new or empty) and the hub and simulators running after the
    /// scenario, until Ctrl-C; tokens to explore with are written to DIR/tokens.env.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// The adapter definitions to use (the repository's by default).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/adapters"))]
    adapters: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        anyhow::bail!("--error-rate {} is not between 0 and 1", args.error_rate);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(crate::demo::run(
        crate::demo::DemoOptions {
            dossiers: args.dossiers,
            events: args.events,
            progress: true,
            error_rate: args.error_rate,
            seed: args.seed,
            keep: args.keep,
        },
        &args.adapters,
    ))?;
    if !summary.printed {
        println!("{}", summary.table());
    }
    Ok(if summary.ok() {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
}
