//! `lienthong quality`: the service-quality indicators of a running hub (a table, JSON or CSV);
//! `lienthong quality rebuild`: fold its audit log again and compare with the live figures.

use super::Outcome;
use super::adapter::HubArgs;
use serde_json::Value;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    show: Show,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Fold the hub's whole audit log again into fresh indicators and compare them, dossier by
    /// dossier, with the live ones (admin token). Exit 1 if they differ.
    Rebuild {
        /// Put the rebuilt indicators in place of the live ones.
        #[arg(long)]
        replace: bool,
        #[arg(long, value_enum, default_value_t)]
        format: super::OutputFormat,
        #[command(flatten)]
        hub: HubArgs,
    },
}

/// How to print the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum Format {
    /// A table for a person.
    #[default]
    Table,
    Json,
    /// One line per period (and `--by` value), for a spreadsheet.
    Csv,
}

/// The figures of dossiers received by period, as the hub sees them at a moment (auditor or
/// admin token for every agency; any other member's token for its own agencies).
#[derive(Debug, clap::Args)]
struct Show {
    /// Dossiers received or resolved by this agency (code such as 000.00.10.H42).
    #[arg(long)]
    agency: Option<String>,
    /// Dossiers of agencies of this 2025 province (two-digit code, such as 42).
    #[arg(long)]
    province: Option<String>,
    /// Dossiers of this procedure (code such as 1.001612).
    #[arg(long)]
    procedure: Option<String>,
    /// Dossiers of this field (the source system's field code).
    #[arg(long)]
    field: Option<String>,
    /// Buckets by received time, Vietnam time: day, month, quarter, year or all.
    #[arg(long, default_value = "month")]
    period: String,
    /// Split each period by agency, province, procedure or field.
    #[arg(long)]
    by: Option<String>,
    /// Received on or after this day (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    from: Option<String>,
    /// Received on or before this day (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    to: Option<String>,
    /// The moment the figures are taken at (RFC 3339; default now): what was open or overdue
    /// then, events after it unknown.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    hub: HubArgs,
}

pub(crate) fn run(a: Args) -> anyhow::Result<Outcome> {
    match a.command {
        Some(Command::Rebuild {
            replace,
            format,
            hub,
        }) => {
            let r = hub.client()?.post_json(
                "/v1/quality/rebuild",
                &serde_json::json!({ "replace": replace }),
            )?;
            match format {
                super::OutputFormat::Json => println!("{r}"),
                super::OutputFormat::Text => {
                    println!(
                        "folded {} audit entries: {} dossiers; {}",
                        r["mark"],
                        r["dossiers"],
                        if r["equal"] == true {
                            "the live indicators are the same".to_string()
                        } else {
                            format!(
                                "{} dossiers differ: {}",
                                r["differ"].as_array().map_or(0, Vec::len),
                                r["differ"]
                            )
                        }
                    );
                    if r["replaced"] == true {
                        println!("the rebuilt indicators are now the live ones");
                    }
                }
            }
            Ok(if r["equal"] == true {
                Outcome::Ok
            } else {
                Outcome::Rejected
            })
        }
        None => {
            let s = a.show;
            let mut q: Vec<(&str, String)> = vec![("period", s.period.clone())];
            for (k, v) in [
                ("agency", &s.agency),
                ("province", &s.province),
                ("procedure", &s.procedure),
                ("field", &s.field),
                ("by", &s.by),
                ("from", &s.from),
                ("to", &s.to),
                ("as_of", &s.as_of),
            ] {
                if let Some(v) = v {
                    q.push((k, v.clone()));
                }
            }
            let path = format!("/v1/quality?{}", serde_urlencoded::to_string(&q)?);
            let r = s.hub.client()?.get_json(&path)?;
            match s.format {
                Format::Json => println!("{r}"),
                Format::Csv => print!("{}", csv(&r)),
                Format::Table => print!("{}", table(&r)),
            }
            Ok(Outcome::Ok)
        }
    }
}

/// The counts every line shows, in order.
const COLUMNS: [&str; 14] = [
    "received",
    "to_resolve",
    "finished_on_time",
    "finished_late",
    "open",
    "open_overdue",
    "synchronised",
    "electronic_results",
    "reused_state_data",
    "checked_with_register",
    "submitted_online",
    "full_process_online",
    "with_fee",
    "paid_online",
];

fn rows(r: &Value) -> impl Iterator<Item = &Value> {
    r["rows"].as_array().into_iter().flatten()
}

fn number(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// CSV: period, key, the counts, averages, and points per group.
pub(crate) fn csv(r: &Value) -> String {
    let groups = [
        "transparency",
        "progress",
        "digitisation",
        "online",
        "payment",
    ];
    let mut out = format!(
        "period,key,{},handling_hours_avg,sync_delay_hours_avg,{},points,points_measured_max\n",
        COLUMNS.join(","),
        groups.map(|g| format!("points_{g}")).join(",")
    );
    for row in rows(r).chain(std::iter::once(&r["total"])) {
        let f = &row["figures"];
        let key = row["key"].as_str().unwrap_or_default();
        let mut cells = vec![
            row["period"].as_str().unwrap_or_default().to_string(),
            if key.contains(',') {
                format!("\"{key}\"")
            } else {
                key.to_string()
            },
        ];
        cells.extend(COLUMNS.iter().map(|c| number(&f[*c])));
        cells.push(number(&f["handling_hours_avg"]));
        cells.push(number(&f["sync_delay_hours_avg"]));
        for g in groups {
            let p: Option<f64> = row["scores"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["group"] == g)
                .filter_map(|s| s["points"].as_f64())
                .reduce(|a, b| a + b);
            cells.push(p.map(|p| format!("{p:.2}")).unwrap_or_default());
        }
        cells.push(number(&row["points"]));
        cells.push(number(&row["points_measured_max"]));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A table for a person: a line per period, the points of the whole, and the overdue list.
pub(crate) fn table(r: &Value) -> String {
    let mut out = format!(
        "figures as of {} (the hub's view; {} of {} audit entries folded)\n\n",
        r["as_of"].as_str().unwrap_or_default(),
        r["folded"]["audit_entries"],
        r["folded"]["audit_log_size"],
    );
    out.push_str(&format!(
        "{:<10} {:<16} {:>8} {:>8} {:>6} {:>6} {:>8} {:>7} {:>7} {:>8} {:>9} {:>9}\n",
        "period",
        "key",
        "received",
        "on time",
        "late",
        "open",
        "overdue",
        "synced",
        "online",
        "paid/fee",
        "e-results",
        "points"
    ));
    for row in rows(r).chain(std::iter::once(&r["total"])) {
        let f = &row["figures"];
        out.push_str(&format!(
            "{:<10} {:<16} {:>8} {:>8} {:>6} {:>6} {:>8} {:>7} {:>7} {:>8} {:>9} {:>9}\n",
            row["period"].as_str().unwrap_or_default(),
            row["key"].as_str().unwrap_or("-"),
            number(&f["received"]),
            number(&f["finished_on_time"]),
            number(&f["finished_late"]),
            number(&f["open"]),
            number(&f["open_overdue"]),
            number(&f["synchronised"]),
            number(&f["submitted_online"]),
            format!("{}/{}", f["paid_online"], f["with_fee"]),
            number(&f["electronic_results"]),
            format!("{}/{}", row["points"], row["points_measured_max"]),
        ));
    }
    out.push_str("\npoints of the whole, by indicator\n");
    for s in r["total"]["scores"].as_array().into_iter().flatten() {
        let points = match s["points"].as_f64() {
            Some(p) => format!("{p:>6.2} / {}", s["max"]),
            None => format!("{:>6} / {}", "-", s["max"]),
        };
        out.push_str(&format!(
            "  {:<13} {:<46} {:<12} {}\n",
            s["group"].as_str().unwrap_or_default(),
            s["indicator"].as_str().unwrap_or_default(),
            points,
            if s["view"] == "not-measured" {
                "not measured here"
            } else {
                s["formula"].as_str().unwrap_or_default()
            }
        ));
    }
    let overdue = r["overdue"].as_array().map_or(&[][..], Vec::as_slice);
    out.push_str(&format!("\nopen and overdue now: {}\n", r["overdue_now"]));
    for o in overdue.iter().take(20) {
        out.push_str(&format!(
            "  {:<28} {:<16} due {}  {} h overdue\n",
            o["dossier_code"].as_str().unwrap_or_default(),
            o["resolving_agency"].as_str().unwrap_or_default(),
            o["due_at"].as_str().unwrap_or_default(),
            o["hours_overdue"]
        ));
    }
    out.push_str(&format!(
        "\nsource: {}\n",
        r["source"].as_str().unwrap_or_default()
    ));
    out
}
