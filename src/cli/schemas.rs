//! `lienthong schemas list`: the canonical schemas the hub knows.

use super::{Context, Outcome, OutputFormat};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// List every schema: name, version, title and file.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let Sub::List { format } = args.command;
    let registry = ctx.registry()?;
    match format {
        OutputFormat::Json => {
            let list: Vec<_> = registry
                .iter()
                .map(|s| {
                    json!({"name": s.name(), "version": s.version(), "key": s.key(),
                           "title": s.title(), "file": s.file()})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        OutputFormat::Text => {
            for s in registry.iter() {
                println!("{:<20} {:<28} {}", s.key(), s.file(), s.title());
            }
        }
    }
    Ok(Outcome::Ok)
}
