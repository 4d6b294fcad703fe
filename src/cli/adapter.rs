//! `lienthong adapter check FILE…`: the dry run a provincial IT team does before registering.

use super::client::HubClient;
use super::{Context, Outcome, OutputFormat};
use crate::check::{CheckOptions, check_adapter_file, golden_path, is_note};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check adapter definitions and run their samples through translate + validate, a round
    /// trip and the golden files: a line per sample; warn about data a mapping would drop.
    ///
    /// The warnings: every place the samples have that no field mapping reads
    /// (`sample.unmapped`: its value would be dropped), every mapped place no sample has, often
    /// a misspelt path (`mapping.not-in-samples`), and a record type without samples
    /// (`record.no-samples`). Places are XML element or attribute paths from the record root
    /// (`hs:ChuHoSo/hs:Ten`, `@phienBan`) or JSON Pointers from the record (`*` for every item
    /// of an array); a SOAP envelope and namespace declarations are not fields. Warnings do
    /// not change the exit code unless `--strict` is given.
    #[command(after_help = "Examples:\n  \
        lienthong adapter check adapters/*.toml\n  \
        lienthong adapter check adapters/*.toml --strict        # CI: exit 1 on any warning\n  \
        lienthong adapter check my-adapter.toml --format json   # warnings under \"warnings\"\n\n\
        A value the hub need not keep (a version attribute, say) is declared with an \
        external-only constant: external = \"@phienBan\", constant = \"1\", no canonical.")]
    Check {
        /// Adapter files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write `<sample>.canonical.json` golden files from the current output.
        #[arg(long)]
        write_golden: bool,
        /// Warnings count as errors: exit 1 when there is any (mapping warnings, and a
        /// sample's warnings other than notes).
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Register an adapter file (and the samples it names) with a running hub: the hub runs the
    /// same check plus a connectivity probe, and stores it as a new version.
    Register {
        /// The adapter file (TOML).
        file: PathBuf,
        /// The check's warnings refuse the definition (as `adapter check --strict`).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// List the adapters a hub knows.
    List {
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Show an adapter's definition (latest version, or --version N).
    Show {
        name: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Disable an adapter: its ingests are refused until it is enabled again.
    Disable {
        name: String,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Enable a disabled adapter.
    Enable {
        name: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

/// Which hub to talk to.
#[derive(Debug, clap::Args)]
pub(crate) struct HubArgs {
    /// The hub's base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "LIENTHONG_HUB",
        default_value = "http://127.0.0.1:8080"
    )]
    hub: String,
    /// Bearer token (admin, or provider for the member's own adapters).
    #[arg(long, env = "LIENTHONG_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl HubArgs {
    pub(crate) fn client(&self) -> anyhow::Result<HubClient> {
        HubClient::new(&self.hub, self.token.clone())
    }
}

pub(crate) fn run(ctx: &Context, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Check {
            files,
            write_golden,
            strict,
            format,
        } => check(
            ctx,
            files,
            CheckOptions {
                write_golden,
                strict,
                canonical: false,
            },
            format,
        ),
        Command::Register { file, strict, hub } => register(&file, strict, &hub),
        Command::List { hub } => {
            let body = hub.client()?.get_json("/v1/adapters")?;
            for a in body["adapters"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{:<24} v{:<3} {:<8} {:<14} {:<5}/{:<5} provides [{}] consumes [{}]",
                    a["name"].as_str().unwrap_or_default(),
                    a["version"],
                    if a["enabled"].as_bool().unwrap_or(false) {
                        "enabled"
                    } else {
                        "DISABLED"
                    },
                    a["member"].as_str().unwrap_or_default(),
                    a["format"].as_str().unwrap_or_default(),
                    a["transport"].as_str().unwrap_or_default(),
                    join(&a["provides"]),
                    join(&a["consumes"]),
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Show { name, version, hub } => {
            let path = match version {
                Some(v) => format!("/v1/adapters/{name}/versions/{v}"),
                None => format!("/v1/adapters/{name}"),
            };
            let body = hub.client()?.get_json(&path)?;
            println!(
                "# {} version {} of {:?} ({}, {}), source {}, registered {}",
                body["name"].as_str().unwrap_or_default(),
                body["version"],
                body["versions"],
                if body["enabled"].as_bool().unwrap_or(false) {
                    "enabled"
                } else {
                    "disabled"
                },
                if body["version"] == body["latest"] {
                    "latest"
                } else {
                    "not the latest"
                },
                body["source"].as_str().unwrap_or_default(),
                body["registered_at"].as_str().unwrap_or_default(),
            );
            print!("{}", body["definition"].as_str().unwrap_or_default());
            Ok(Outcome::Ok)
        }
        Command::Disable { name, hub } => {
            hub.client()?.post_json(
                &format!("/v1/adapters/{name}/disable"),
                &serde_json::json!({}),
            )?;
            eprintln!("adapter {name} disabled");
            Ok(Outcome::Ok)
        }
        Command::Enable { name, hub } => {
            hub.client()?.post_json(
                &format!("/v1/adapters/{name}/enable"),
                &serde_json::json!({}),
            )?;
            eprintln!("adapter {name} enabled");
            Ok(Outcome::Ok)
        }
    }
}

fn join(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Sends a definition and the sample (and golden) files it names.
fn register(file: &Path, strict: bool, hub: &HubArgs) -> anyhow::Result<Outcome> {
    let definition =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut samples = BTreeMap::new();
    if let Ok(def) =
        crate::config::adapter::AdapterDef::from_toml(&file.display().to_string(), &definition)
    {
        for rdef in def.records.values() {
            for s in &rdef.samples {
                let golden = golden_path(Path::new(s)).display().to_string();
                for name in [s.clone(), golden] {
                    if let Ok(text) = std::fs::read_to_string(base.join(&name)) {
                        samples.insert(name, text);
                    }
                }
            }
        }
    }
    let mut body = serde_json::json!({"definition": definition, "samples": samples});
    if strict {
        body["strict"] = serde_json::Value::Bool(true);
    }
    let answer = hub
        .client()?
        .send(reqwest::Method::POST, "/v1/adapters", Some(&body))?;
    let reg = if answer.body.get("registration").is_some() {
        answer.body["registration"].clone()
    } else {
        answer.body.clone()
    };
    println!("{}", serde_json::to_string_pretty(&reg)?);
    if reg["accepted"].as_bool() == Some(true) {
        if reg["unchanged"].as_bool() == Some(true) {
            eprintln!(
                "unchanged: the hub already has this definition as version {}",
                reg["version"]
            );
        } else {
            eprintln!("registered as version {}", reg["version"]);
        }
        Ok(Outcome::Ok)
    } else {
        eprintln!(
            "refused ({}): {}",
            answer.status,
            answer.body["detail"].as_str().unwrap_or("see the report")
        );
        Ok(Outcome::Rejected)
    }
}

fn check(
    ctx: &Context,
    files: Vec<PathBuf>,
    options: CheckOptions,
    format: OutputFormat,
) -> anyhow::Result<Outcome> {
    let registry = ctx.registry()?;
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
                    for w in &s.warnings {
                        println!(
                            "       {}: {w}",
                            if is_note(w) { "note" } else { "warning" }
                        );
                    }
                }
                if r.definition.is_empty() && r.samples.is_empty() {
                    println!("  (no samples listed)");
                }
                for w in &r.warnings {
                    println!("  warning {w}");
                }
            }
            let failed = reports.iter().filter(|r| !r.ok()).count();
            let warnings: usize = reports.iter().map(|r| r.warning_count()).sum();
            println!(
                "{} adapter(s) checked, {} passed, {failed} failed, {warnings} warning(s){}",
                reports.len(),
                reports.len() - failed,
                if options.strict && warnings > 0 {
                    " (--strict: warnings count as errors)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(if all_ok {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
}
