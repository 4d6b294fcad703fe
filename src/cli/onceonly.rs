//! `lienthong onceonly report`: the once-only compliance report of a running hub.

use super::Outcome;
use super::adapter::HubArgs;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OnceOnlyCommand {
    /// Per receiving agency and procedure: dossiers received, fields filled from the register,
    /// mismatches with it, documents requested again though the state had issued them, and
    /// documents reused (auditor or admin token).
    Report {
        /// Only dossiers received at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: super::OutputFormat,
        #[command(flatten)]
        hub: HubArgs,
    },
}

pub(crate) fn run(c: OnceOnlyCommand) -> anyhow::Result<Outcome> {
    match c {
        OnceOnlyCommand::Report { since, format, hub } => {
            let path = match &since {
                Some(t) => format!(
                    "/v1/onceonly/report?{}",
                    serde_urlencoded::to_string([("since", t)])?
                ),
                None => "/v1/onceonly/report".to_string(),
            };
            let r = hub.client()?.get_json(&path)?;
            match format {
                super::OutputFormat::Json => println!("{r}"),
                super::OutputFormat::Text => print!("{}", table(&r)),
            }
            Ok(Outcome::Ok)
        }
    }
}

/// The report as a table for a person.
pub(crate) fn table(r: &serde_json::Value) -> String {
    let mut out = format!(
        "{:<16} {:<12} {:>8} {:>7} {:>10} {:>14} {:>7}\n",
        "agency", "procedure", "dossiers", "filled", "mismatches", "asked again", "reused"
    );
    let row = |agency: &str, procedure: &str, v: &serde_json::Value| {
        format!(
            "{:<16} {:<12} {:>8} {:>7} {:>10} {:>14} {:>7}\n",
            agency,
            procedure,
            v["dossiers"].to_string(),
            v["filled_from_register"].to_string(),
            v["mismatches"].to_string(),
            v["requested_again"].to_string(),
            v["reused"].to_string()
        )
    };
    for g in r["groups"].as_array().into_iter().flatten() {
        out.push_str(&row(
            g["receiving_agency"].as_str().unwrap_or(""),
            g["procedure_code"].as_str().unwrap_or(""),
            g,
        ));
    }
    out.push_str(&row("total", "", &r["total"]));
    out
}
