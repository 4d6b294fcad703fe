//! The command line: one binary, `lienthong`, with subcommands. Each command lives in its own
//! file and calls into the library; this file parses arguments and maps outcomes to exit codes:
//! 0 success, 1 the input was rejected, 2 usage or environment error (messages on stderr,
//! results on stdout).

mod adapter;
mod audit;
mod client;
mod demo;
mod init;
mod member;
mod onceonly;
mod policy;
mod quality;
mod relay;
mod schemas;
mod serve;
mod sim;
mod store;
mod token;
mod translate;
mod units;
mod validate;

use crate::validate::{SchemaRegistry, ValidationOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// lienthong: a connector hub for public administration. It translates, validates, relays and
/// records every record that crosses it.
#[derive(Debug, Parser)]
#[command(name = "lienthong", version, about, long_about = None)]
pub struct Cli {
    /// Load canonical schemas from this directory instead of the ones built in.
    #[arg(long, global = true, env = "LIENTHONG_SCHEMAS", value_name = "DIR")]
    schemas_dir: Option<PathBuf>,

    /// Pattern that agency codes must match (a regular expression).
    #[arg(
        long,
        global = true,
        env = "LIENTHONG_AGENCY_CODE_PATTERN",
        value_name = "REGEX",
        default_value = crate::model::DEFAULT_AGENCY_CODE_PATTERN
    )]
    agency_code_pattern: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub on loopback with a simulated national portal and a province pushing 1,000
    /// dossiers and their status events, the portal down for part of the run; print a summary.
    Demo(demo::Args),
    /// List the canonical schemas.
    Schemas(schemas::Args),
    /// Validate a canonical record (JSON) against a schema and the domain rules.
    Validate(validate::Args),
    /// Translate one document with an adapter: external → canonical (inbound) or back.
    Translate(translate::Args),
    /// Work with adapter definitions: check them offline, register them with a hub, list,
    /// show, disable and enable them.
    #[command(subcommand)]
    Adapter(adapter::Command),
    /// Write a working directory for a new hub: hub.toml (every key commented), the shipped
    /// adapters and policy, the store inside it, and an admin token printed once.
    Init(init::Args),
    /// Run the hub.
    Serve(serve::Args),
    /// Bearer tokens for members.
    #[command(subcommand)]
    Token(token::Command),
    /// The store: create or migrate the PostgreSQL schema; copy a hub's data between stores.
    #[command(subcommand)]
    Store(store::Command),
    /// Members of a running hub: list, show, add, change, retire (in force at once).
    #[command(subcommand)]
    Member(member::Command),
    /// The relay's state per destination.
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// Dead letters: records that could not be delivered.
    #[command(subcommand)]
    Dead(relay::DeadCommand),
    /// Administrative units after the 2025 reform: convert addresses, show, search.
    Units(units::Args),
    /// The audit log: export, verify (offline or against a saved checkpoint), checkpoint,
    /// key, query, subject report.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// A simulated external system (population register, national portal) on loopback.
    Sim(sim::Args),
    /// Once-only: the compliance report (dossiers received, fields filled from the register,
    /// mismatches, documents requested again).
    #[command(subcommand)]
    Onceonly(onceonly::OnceOnlyCommand),
    /// The disclosure policy: check a file offline; show or set the one in force in a hub.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Service quality (Decision 766/QĐ-TTg) as the hub sees it: on time, overdue,
    /// synchronised, electronic results, online, paid online, with points; `rebuild` folds the
    /// audit log again and compares.
    Quality(quality::Args),
}

/// Output format of commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Lines for a person.
    #[default]
    Text,
    /// JSON for a program.
    Json,
}

/// What a command concluded, mapped to the exit code.
pub(crate) enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the input was rejected (the reasons are printed).
    Rejected,
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Rejected) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let ctx = Context {
        schemas_dir: cli.schemas_dir,
        agency_code_pattern: cli.agency_code_pattern,
    };
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Schemas(a) => schemas::run(&ctx, a),
        Command::Validate(a) => validate::run(&ctx, a),
        Command::Translate(a) => translate::run(&ctx, a),
        Command::Adapter(c) => adapter::run(&ctx, c),
        Command::Init(a) => init::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Token(c) => token::run(c),
        Command::Member(c) => member::run(c),
        Command::Store(c) => store::run(c),
        Command::Relay(c) => relay::run_relay(c),
        Command::Dead(c) => relay::run_dead(c),
        Command::Units(a) => units::run(a),
        Command::Audit(c) => audit::run(c),
        Command::Sim(a) => sim::run(a),
        Command::Onceonly(c) => onceonly::run(c),
        Command::Policy(c) => policy::run(c),
        Command::Quality(a) => quality::run(a),
    }
}

/// Settings shared by every command.
pub(crate) struct Context {
    schemas_dir: Option<PathBuf>,
    agency_code_pattern: String,
}

impl Context {
    /// The schema registry, from the directory given or the built-in schemas.
    pub(crate) fn registry(&self) -> anyhow::Result<SchemaRegistry> {
        use anyhow::Context as _;
        let options = ValidationOptions {
            agency_code: crate::model::AgencyCodeRule::new(&self.agency_code_pattern)
                .with_context(|| format!("--agency-code-pattern {:?}", self.agency_code_pattern))?,
            ..ValidationOptions::default()
        };
        Ok(match &self.schemas_dir {
            Some(dir) => SchemaRegistry::load_dir(dir, &options)?,
            None => SchemaRegistry::embedded(&options)?,
        })
    }
}

/// Reads a file, or standard input for `-`.
pub(crate) fn read_input(path: &str) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    use std::io::Read;
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {path}"))
    }
}

/// Prints field errors, one per line, in text or JSON.
pub(crate) fn print_errors(
    errors: &[crate::validate::FieldError],
    format: OutputFormat,
    to_stdout: bool,
) {
    let text = match format {
        OutputFormat::Json => serde_json::json!({ "valid": false, "errors": errors }).to_string(),
        OutputFormat::Text => errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if to_stdout {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
}
