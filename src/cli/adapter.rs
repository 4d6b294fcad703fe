//! `lienthong adapter check FILE…`: the dry run a provincial IT team does before registering.

use super::{Context, Outcome, OutputFormat};
use crate::check::{CheckOptions, check_adapter_file};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check adapter definitions and run their samples through translate + validate, a round
    /// trip and the golden files: a line per sample.
    Check {
        /// Adapter files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write `<sample>.canonical.json` golden files from the current output.
        #[arg(long)]
        write_golden: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) fn run(ctx: &Context, command: Command) -> anyhow::Result<Outcome> {
    let Command::Check {
        files,
        write_golden,
        format,
    } = command;
    let registry = ctx.registry()?;
    let options = CheckOptions { write_golden };
    let reports: Vec<_> = files
        .iter()
        .map(|f| check_adapter_file(f, &registry, options))
        .collect();
    let all_ok = reports.iter().all(|r| r.ok());
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
        OutputFormat::Text => {
            for r in &reports {
                let name = r.adapter.as_deref().unwrap_or("?");
                if r.definition.is_empty() {
                    println!("{}: adapter {name}: definition ok", r.file);
                } else {
                    println!("{}: definition refused", r.file);
                    for p in &r.definition {
                        println!("  {p}");
                    }
                }
                for s in &r.samples {
                    let status = if s.ok { "ok  " } else { "FAIL" };
                    let digest = s.digest.as_deref().unwrap_or("-");
                    println!(
                        "  {status} {:<16} {}  golden: {}  {digest}",
                        s.record_type, s.file, s.golden
                    );
                    for e in &s.errors {
                        println!("       {e}");
                    }
                }
                if r.definition.is_empty() && r.samples.is_empty() {
                    println!("  (no samples listed)");
                }
            }
            let failed = reports.iter().filter(|r| !r.ok()).count();
            println!(
                "{} adapter(s) checked, {} passed, {failed} failed",
                reports.len(),
                reports.len() - failed
            );
        }
    }
    Ok(if all_ok {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
}
