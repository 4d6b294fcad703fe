//! `lienthong audit …`: what an auditor does with the log. Query and export through a running
//! hub; verify offline (an export against the hub's verifier key) or online (today's log
//! against a checkpoint saved earlier).

use super::Outcome;
use super::adapter::HubArgs;
use crate::audit::export;
use crate::audit::merkle::{Hash, verify_consistency};
use crate::audit::note::{Checkpoint, Verifier};
use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuditCommand {
    /// Export a slice of the log (entries with their inclusion proofs and the signed
    /// checkpoint they are proven against) as JSON Lines, to stdout or --out.
    Export {
        /// Entries at or after this RFC 3339 time (default: the start of the log).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Entries before this RFC 3339 time (default: now).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Replace personal ID numbers with pseudonyms (consistent within this export only).
        #[arg(long)]
        pseudonymise: bool,
        /// Write here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Verify an export offline against the hub's verifier key, or (with --hub and
    /// --since-checkpoint) that the hub's log today is a consistent extension of a checkpoint
    /// saved earlier.
    Verify {
        /// The export to check (`-` for stdin).
        file: Option<String>,
        /// The hub's verifier key (`name+id+base64`), or a file holding it. Required offline;
        /// online, the hub's /v1/keys is used if absent (with a warning: the hub vouches for
        /// itself).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// A signed checkpoint saved earlier (`lienthong audit checkpoint --out FILE`).
        #[arg(long, value_name = "FILE")]
        since_checkpoint: Option<PathBuf>,
        /// Check against this hub (with --since-checkpoint).
        #[arg(long = "hub", value_name = "URL")]
        hub_url: Option<String>,
        /// Bearer token for --hub.
        #[arg(long, env = "LIENTHONG_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: super::OutputFormat,
    },
    /// Print (or save) the hub's latest signed checkpoint.
    Checkpoint {
        /// Write here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Print the hub's verifier key, to keep beside saved checkpoints and exports.
    Key {
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Find entries (auditor): by subject, member, exchange, operation, outcome, time.
    Query {
        #[arg(long, value_name = "PERSONAL_ID")]
        subject: Option<String>,
        #[arg(long, value_name = "AGENCY_CODE")]
        member: Option<String>,
        #[arg(long)]
        exchange_id: Option<String>,
        #[arg(long)]
        operation: Option<String>,
        #[arg(long)]
        outcome: Option<String>,
        /// Only entries with this declared purpose (of a pull).
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// At most this many entries (all pages are fetched up to it).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value_t)]
        format: super::OutputFormat,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Purge what is kept beside an entry (its subject, payload and salt), for retention or a
    /// data-protection request (admin). The entry stays; the log still verifies.
    Purge {
        /// The entry's index.
        #[arg(long)]
        index: u64,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Who accessed data about a person, when and why: the report to show the citizen.
    Report {
        #[arg(long, value_name = "PERSONAL_ID")]
        subject: String,
        #[arg(long, value_enum, default_value_t)]
        format: super::OutputFormat,
        #[command(flatten)]
        hub: HubArgs,
    },
}

pub(crate) fn run(c: AuditCommand) -> anyhow::Result<Outcome> {
    match c {
        AuditCommand::Export {
            from,
            to,
            pseudonymise,
            out,
            hub,
        } => {
            let mut q = Vec::new();
            if let Some(f) = &from {
                q.push(("from", f.clone()));
            }
            if let Some(t) = &to {
                q.push(("to", t.clone()));
            }
            if pseudonymise {
                q.push(("pseudonymise", "true".into()));
            }
            let path = format!(
                "/v1/audit/export?{}",
                serde_urlencoded::to_string(&q).unwrap_or_default()
            );
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            let mut sink: Box<dyn std::io::Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            hub.client()?.get_to(&path, &mut sink, |n| {
                bar.set_message(format!("{} received", indicatif::HumanBytes(n)));
                bar.tick();
            })?;
            bar.finish_and_clear();
            if let Some(p) = out {
                eprintln!("export written to {}", p.display());
            }
            Ok(Outcome::Ok)
        }
        AuditCommand::Verify {
            file,
            key,
            since_checkpoint,
            hub_url,
            token,
            format,
        } => match (file, since_checkpoint, hub_url) {
            (Some(file), None, None) => {
                let Some(key) = key else {
                    bail!("give the hub's verifier key: --key KEY (from `lienthong audit key`)");
                };
                verify_file(&file, &read_key(&key)?, format)
            }
            (None, Some(cp), Some(hub)) => verify_online(&cp, &hub, token, key, format),
            _ => bail!(
                "either `lienthong audit verify FILE --key KEY` (an export, offline) or \
                 `lienthong audit verify --hub URL --since-checkpoint FILE` (the log online)"
            ),
        },
        AuditCommand::Checkpoint { out, hub } => {
            let note = hub.client()?.get_text("/v1/audit/checkpoint")?;
            match out {
                Some(p) => {
                    std::fs::write(&p, &note)
                        .with_context(|| format!("writing {}", p.display()))?;
                    eprintln!("checkpoint saved to {}", p.display());
                }
                None => print!("{note}"),
            }
            Ok(Outcome::Ok)
        }
        AuditCommand::Purge { index, hub } => {
            let a = hub
                .client()?
                .delete(&format!("/v1/audit/entries/{index}/sealed"))?;
            println!(
                "purged what was kept beside entry {index} (exchange {})",
                a["exchange_id"].as_str().unwrap_or("?")
            );
            Ok(Outcome::Ok)
        }
        AuditCommand::Key { hub } => {
            let keys = hub.client()?.get_json("/v1/keys")?;
            for k in keys["keys"].as_array().into_iter().flatten() {
                println!("{}", k["verifier_key"].as_str().unwrap_or_default());
            }
            Ok(Outcome::Ok)
        }
        AuditCommand::Query {
            subject,
            member,
            exchange_id,
            operation,
            outcome,
            purpose,
            from,
            to,
            limit,
            format,
            hub,
        } => {
            let client = hub.client()?;
            let mut params: Vec<(&str, String)> = [
                ("subject", subject),
                ("member", member),
                ("exchange_id", exchange_id),
                ("operation", operation),
                ("outcome", outcome),
                ("purpose", purpose),
                ("from", from),
                ("to", to),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            params.push(("limit", limit.min(1000).to_string()));
            let mut found = Vec::new();
            let mut after: Option<u64> = None;
            loop {
                let mut p = params.clone();
                if let Some(a) = after {
                    p.push(("after", a.to_string()));
                }
                let page = client.get_json(&format!(
                    "/v1/audit/entries?{}",
                    serde_urlencoded::to_string(&p).unwrap_or_default()
                ))?;
                found.extend(page["entries"].as_array().cloned().unwrap_or_default());
                match page["next"].as_u64() {
                    Some(n) if found.len() < limit => after = Some(n),
                    _ => break,
                }
            }
            found.truncate(limit);
            match format {
                super::OutputFormat::Json => {
                    println!("{}", serde_json::json!({ "entries": found }))
                }
                super::OutputFormat::Text => {
                    for e in &found {
                        println!(
                            "{:>8}  {}  {:<14} {:<10} {:<14} {:<16} {}{}",
                            e["index"],
                            e["time"].as_str().unwrap_or(""),
                            e["actor"].as_str().unwrap_or(""),
                            e["operation"].as_str().unwrap_or(""),
                            e["record_type"].as_str().unwrap_or("-"),
                            e["outcome"].as_str().unwrap_or(""),
                            e["counterparty"].as_str().unwrap_or(""),
                            e["subject"]
                                .as_str()
                                .map(|s| format!("  subject {s}"))
                                .unwrap_or_default(),
                        );
                    }
                    eprintln!("{} entries", found.len());
                }
            }
            Ok(Outcome::Ok)
        }
        AuditCommand::Report {
            subject,
            format,
            hub,
        } => {
            let r = hub
                .client()?
                .get_json(&format!("/v1/audit/subjects/{subject}/report"))?;
            match format {
                super::OutputFormat::Json => println!("{r}"),
                super::OutputFormat::Text => {
                    println!("Data about personal ID {subject}: {} event(s)", r["count"]);
                    for e in r["events"].as_array().into_iter().flatten() {
                        let purpose = e["purpose"]
                            .as_str()
                            .map(|p| format!(", for {p}"))
                            .unwrap_or_default();
                        println!(
                            "  {}  {}: {}{} [{}]",
                            e["time"].as_str().unwrap_or(""),
                            e["who"].as_str().unwrap_or(""),
                            e["what"].as_str().unwrap_or(""),
                            purpose,
                            e["outcome"].as_str().unwrap_or("")
                        );
                    }
                }
            }
            Ok(Outcome::Ok)
        }
    }
}

/// A verifier key given inline or in a file.
fn read_key(arg: &str) -> anyhow::Result<Verifier> {
    let text = if std::path::Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_string()
    };
    Verifier::parse(text.trim()).context("--key")
}

fn verify_file(file: &str, key: &Verifier, format: super::OutputFormat) -> anyhow::Result<Outcome> {
    let (reader, len): (Box<dyn std::io::BufRead>, u64) = if file == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("opening {file}"))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(std::io::BufReader::with_capacity(1 << 20, f)), len)
    };
    let bar = if len > 0 {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let result = export::verify(reader, key, |n| bar.set_position(n));
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(v) => {
            match format {
                super::OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({"verified": true, "report": v, "seconds": secs})
                ),
                super::OutputFormat::Text => println!(
                    "verified: {} entries [{}, {}) included in the signed checkpoint of size {} \
                     by {}; {} subjects opened{}; {:.2} s",
                    v.entries,
                    v.from_index,
                    v.to_index,
                    v.checkpoint_size,
                    key.name,
                    v.subjects_checked,
                    if v.pseudonymised {
                        " (pseudonymised export)"
                    } else {
                        ""
                    },
                    secs
                ),
            }
            Ok(Outcome::Ok)
        }
        Err(bad) => {
            match format {
                super::OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({"verified": false, "line": bad.line, "index": bad.index, "reason": bad.reason})
                ),
                super::OutputFormat::Text => println!("NOT verified: {file}: {bad}"),
            }
            Ok(Outcome::Rejected)
        }
    }
}

fn decode_proof(v: &serde_json::Value) -> anyhow::Result<Vec<Hash>> {
    v["proof"]
        .as_array()
        .context("the hub's answer has no proof")?
        .iter()
        .map(|h| {
            let b = B64
                .decode(h.as_str().unwrap_or_default())
                .context("a proof hash is not base64")?;
            b.try_into()
                .map_err(|_| anyhow::anyhow!("a proof hash is not 32 bytes"))
        })
        .collect()
}

fn verify_online(
    saved: &std::path::Path,
    hub: &str,
    token: Option<String>,
    key: Option<String>,
    format: super::OutputFormat,
) -> anyhow::Result<Outcome> {
    let client = super::client::HubClient::new(hub, token)?;
    let key = match key {
        Some(k) => read_key(&k)?,
        None => {
            let keys = client.get_json("/v1/keys")?;
            let k = keys["keys"][0]["verifier_key"]
                .as_str()
                .context("the hub published no key")?
                .to_string();
            eprintln!(
                "warning: no --key given; using the key the hub publishes ({k}). Keep the key \
                 with your saved checkpoints and pass it, so the hub cannot vouch for itself."
            );
            Verifier::parse(&k)?
        }
    };
    let old_note =
        std::fs::read_to_string(saved).with_context(|| format!("reading {}", saved.display()))?;
    let fail = |why: String| -> anyhow::Result<Outcome> {
        match format {
            super::OutputFormat::Json => {
                println!("{}", serde_json::json!({"verified": false, "reason": why}))
            }
            super::OutputFormat::Text => println!("NOT verified: {why}"),
        }
        Ok(Outcome::Rejected)
    };
    let old = match Checkpoint::verify(&old_note, &key) {
        Ok(c) => c,
        Err(e) => return fail(format!("the saved checkpoint {}: {e}", saved.display())),
    };
    let new_note = client.get_text("/v1/audit/checkpoint")?;
    let new = match Checkpoint::verify(&new_note, &key) {
        Ok(c) => c,
        Err(e) => return fail(format!("the hub's current checkpoint: {e}")),
    };
    if new.size < old.size {
        return fail(format!(
            "the log shrank: the saved checkpoint has {} entries, the hub's now has {} \
             (entries were removed: a rollback)",
            old.size, new.size
        ));
    }
    if old.size == 0 {
        // The empty tree is a prefix of every tree.
    } else {
        let proof = client.get_json(&format!(
            "/v1/audit/proof/consistency?from={}&to={}",
            old.size, new.size
        ));
        let proof = match proof.and_then(|p| decode_proof(&p)) {
            Ok(p) => p,
            Err(e) => {
                return fail(format!(
                    "the hub gave no consistency proof from {} to {}: {e:#}",
                    old.size, new.size
                ));
            }
        };
        if let Err(e) = verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
            return fail(format!(
                "the log of {} entries is not an extension of the saved checkpoint of {} \
                 entries ({e}): entries before {} were changed, removed or replaced",
                new.size, old.size, old.size
            ));
        }
    }
    match format {
        super::OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"verified": true, "from": old.size, "to": new.size})
        ),
        super::OutputFormat::Text => println!(
            "verified: the hub's log ({} entries, checkpoint signed by {}) is a consistent \
             extension of the saved checkpoint ({} entries)",
            new.size, key.name, old.size
        ),
    }
    let _ = std::io::stdout().flush();
    Ok(Outcome::Ok)
}
