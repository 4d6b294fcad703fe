//! `lienthong relay status` and `lienthong dead list|show|replay|discard`: the relay as an
//! operator sees it, through a running hub.

use super::Outcome;
use super::adapter::HubArgs;
use anyhow::bail;
use serde_json::Value;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RelayCommand {
    /// Per destination: depth, oldest age, in flight, delivered, failed, dead, breaker.
    Status {
        #[command(flatten)]
        hub: HubArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum DeadCommand {
    /// List dead letters (newest last).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Show one dead letter with its record, reason and last answer.
    Show {
        /// DESTINATION/SEQ, as the list prints it.
        id: String,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Put dead letters back in their outbox: one (DESTINATION/SEQ) or all matching --filters.
    Replay {
        /// DESTINATION/SEQ; omit to replay every dead letter matching the filters.
        id: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        /// Replay all dead letters matching the filters (required when no id is given).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Discard a dead letter for good (recorded).
    Discard {
        /// DESTINATION/SEQ.
        id: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// Only this destination adapter.
    #[arg(long)]
    destination: Option<String>,
    /// Only this record type.
    #[arg(long)]
    record_type: Option<String>,
}

impl FilterArgs {
    fn query(&self) -> String {
        let mut q = Vec::new();
        if let Some(d) = &self.destination {
            q.push(format!("destination={d}"));
        }
        if let Some(t) = &self.record_type {
            q.push(format!("record_type={t}"));
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

fn split_id(id: &str) -> anyhow::Result<(&str, &str)> {
    match id.rsplit_once('/') {
        Some((d, s)) if !d.is_empty() && s.parse::<u64>().is_ok() => Ok((d, s)),
        _ => bail!("{id:?}: a dead letter is named DESTINATION/SEQ, e.g. national-portal/42"),
    }
}

pub(crate) fn run_relay(c: RelayCommand) -> anyhow::Result<Outcome> {
    let RelayCommand::Status { hub } = c;
    let body = hub.client()?.get_json("/v1/relay/status")?;
    println!(
        "{:<22} {:>7} {:>10} {:>9} {:>10} {:>8} {:>6}  breaker",
        "destination", "depth", "oldest(s)", "in-flight", "delivered", "failed", "dead"
    );
    for d in body["destinations"].as_array().cloned().unwrap_or_default() {
        println!(
            "{:<22} {:>7} {:>10.1} {:>9} {:>10} {:>8} {:>6}  {}",
            d["destination"].as_str().unwrap_or_default(),
            d["depth"],
            d["oldest_age_secs"].as_f64().unwrap_or(0.0),
            d["in_flight"],
            d["delivered"],
            d["failed"],
            d["dead"],
            d["breaker"].as_str().unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}

fn print_line(d: &Value) {
    println!(
        "{}/{}  {}  {}  attempts {}  {}  — {}",
        d["destination"].as_str().unwrap_or_default(),
        d["seq"],
        d["record_type"].as_str().unwrap_or_default(),
        d["exchange_id"].as_str().unwrap_or_default(),
        d["attempts"],
        d["parked_at"].as_str().unwrap_or_default(),
        d["reason"].as_str().unwrap_or_default()
    );
}

pub(crate) fn run_dead(c: DeadCommand) -> anyhow::Result<Outcome> {
    match c {
        DeadCommand::List { filter, hub } => {
            let body = hub
                .client()?
                .get_json(&format!("/v1/dead{}", filter.query()))?;
            let list = body["dead_letters"].as_array().cloned().unwrap_or_default();
            for d in &list {
                print_line(d);
            }
            eprintln!("{} dead letter(s)", body["total"]);
            Ok(Outcome::Ok)
        }
        DeadCommand::Show { id, hub } => {
            let (d, s) = split_id(&id)?;
            let body = hub.client()?.get_json(&format!("/v1/dead/{d}/{s}"))?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(Outcome::Ok)
        }
        DeadCommand::Replay {
            id,
            filter,
            all,
            hub,
        } => {
            let client = hub.client()?;
            let body = match id {
                Some(id) => {
                    let (d, s) = split_id(&id)?;
                    client.post_json(&format!("/v1/dead/{d}/{s}/replay"), &serde_json::json!({}))?
                }
                None if all => client.post_json(
                    &format!("/v1/dead/replay{}", filter.query()),
                    &serde_json::json!({}),
                )?,
                None => bail!("name a dead letter (DESTINATION/SEQ), or give --all (with filters)"),
            };
            eprintln!("{} replayed", body["replayed"]);
            Ok(Outcome::Ok)
        }
        DeadCommand::Discard { id, hub } => {
            let (d, s) = split_id(&id)?;
            hub.client()?.delete(&format!("/v1/dead/{d}/{s}"))?;
            eprintln!("{id} discarded");
            Ok(Outcome::Ok)
        }
    }
}
