//! `lienthong policy check|show|set`: the disclosure policy, offline and through a running hub.

use super::Outcome;
use super::adapter::HubArgs;
use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PolicyCommand {
    /// Check a policy file offline: purposes, grants, limits (exit 0 ok, 1 refused).
    Check { file: PathBuf },
    /// The policy in force in a running hub: from the file or a registry version (admin,
    /// auditor).
    Show {
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Put a policy file in force in a running hub as the next registry version (admin); it
    /// stays in force over the configured file after restarts.
    Set {
        file: PathBuf,
        #[command(flatten)]
        hub: HubArgs,
    },
}

pub(crate) fn run(c: PolicyCommand) -> anyhow::Result<Outcome> {
    match c {
        PolicyCommand::Check { file } => match crate::config::policy::PolicyConfig::load(&file) {
            Ok(p) => {
                println!(
                    "{}: ok ({} purposes, {} grants)",
                    file.display(),
                    p.purposes.len(),
                    p.grants.len()
                );
                Ok(Outcome::Ok)
            }
            Err(e) => {
                println!("{e}");
                Ok(Outcome::Rejected)
            }
        },
        PolicyCommand::Show { hub } => {
            let r = hub.client()?.get_json("/v1/policy")?;
            println!("{r:#}");
            Ok(Outcome::Ok)
        }
        PolicyCommand::Set { file, hub } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let r = hub.client()?.put_text("/v1/policy", &text)?;
            println!(
                "policy version {} in force since {}",
                r["version"],
                r["set_at"].as_str().unwrap_or("")
            );
            Ok(Outcome::Ok)
        }
    }
}
