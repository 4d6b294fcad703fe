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
    print!("{}", status_table(&body));
    Ok(Outcome::Ok)
}

/// The relay's state as a table whose columns line up with their header: numbers right-aligned,
/// the destination column as wide as its longest name.
fn status_table(body: &Value) -> String {
    let rows = body["destinations"].as_array().cloned().unwrap_or_default();
    let n = |d: &Value, k: &str| d[k].as_u64().unwrap_or(0);
    let width = rows
        .iter()
        .map(|d| {
            d["destination"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .count()
        })
        .chain(std::iter::once("destination".len()))
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "{:<width$} {:>7} {:>10} {:>9} {:>10} {:>8} {:>6}  breaker\n",
        "destination", "depth", "oldest(s)", "in-flight", "delivered", "failed", "dead"
    );
    for d in &rows {
        out.push_str(&format!(
            "{:<width$} {:>7} {:>10.1} {:>9} {:>10} {:>8} {:>6}  {}\n",
            d["destination"].as_str().unwrap_or_default(),
            n(d, "depth"),
            d["oldest_age_secs"].as_f64().unwrap_or(0.0),
            n(d, "in_flight"),
            n(d, "delivered"),
            n(d, "failed"),
            n(d, "dead"),
            d["breaker"].as_str().unwrap_or_default()
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::status_table;
    use serde_json::json;

    #[test]
    fn the_status_columns_line_up_with_their_header() {
        let body = json!({"destinations": [
            {"destination": "national-portal", "depth": 12345, "oldest_age_secs": 3.25,
             "in_flight": 2, "delivered": 1_000_000, "failed": 7, "dead": 0, "breaker": "closed"},
            {"destination": "a-destination-with-a-long-name", "depth": 0, "oldest_age_secs": 0.0,
             "in_flight": 0, "delivered": 3, "failed": 0, "dead": 1, "breaker": "open"},
        ]});
        let table = status_table(&body);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        // Every right-aligned column ends where its header ends.
        let header = lines[0];
        for (col, value_in_rows) in [
            ("depth", ["12345", "0"]),
            ("delivered", ["1000000", "3"]),
            ("dead", ["0", "1"]),
        ] {
            let end = header.find(col).unwrap() + col.len();
            for (row, v) in lines[1..].iter().zip(value_in_rows) {
                assert_eq!(&row[end - v.len()..end], v, "{col} in {row:?}\n{table}");
                assert_eq!(row.as_bytes()[end - v.len() - 1], b' ', "{table}");
            }
        }
        assert!(lines[2].ends_with("  open"), "{table}");
    }
}
