//! `lienthong units convert|show|search`: administrative units after the 2025 reform.

use super::{Outcome, OutputFormat, read_input};
use crate::units::{Resolution, Units};
use anyhow::Context as _;
use serde::Deserialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A newer units file (as written by scripts/gen-units.py) instead of the built-in one.
    #[arg(long, global = true, env = "LIENTHONG_UNITS_DATA", value_name = "FILE")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Convert addresses, one JSON object per line: {"text": "..."} or {"province": "...",
    /// "district": "...", "commune": "..."}; one answer per line, in order.
    Convert {
        /// Output format: text (tab-separated) or json (one object per line).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        /// The input, or - for standard input.
        #[arg(long = "in", value_name = "FILE", default_value = "-")]
        input: String,
    },
    /// Show a unit by code: a 2025 province (2 digits) or commune (5 digits), or a legacy
    /// province, district (3 digits) or commune with its successors.
    Show { code: String },
    /// Find units by name (2025 and legacy), in any form.
    Search { name: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    district: Option<String>,
    #[serde(default)]
    commune: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let units = match &args.data {
        Some(p) => Units::load(p)?,
        None => Units::embedded()?,
    };
    match args.command {
        Sub::Convert { format, input } => convert(&units, format, &input),
        Sub::Show { code } => show(&units, &code),
        Sub::Search { name } => search(&units, &name),
    }
}

fn convert(units: &Units, format: OutputFormat, input: &str) -> anyhow::Result<Outcome> {
    let bytes = read_input(input)?;
    let text = String::from_utf8(bytes).context("the input is not UTF-8")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                out.flush()?;
                eprintln!(
                    "line {}: not {{\"text\": …}} or {{\"province\", \"district\", \"commune\"}}: {e}",
                    n + 1
                );
                return Ok(Outcome::Rejected);
            }
        };
        let r = match (&parsed.text, &parsed.province, &parsed.commune) {
            (Some(t), None, None) if parsed.district.is_none() => units.resolve_text(t),
            (None, Some(p), Some(c)) => units.resolve(p, parsed.district.as_deref(), c),
            _ => {
                out.flush()?;
                eprintln!(
                    "line {}: give either \"text\", or \"province\" and \"commune\" (and \
                     optionally \"district\")",
                    n + 1
                );
                return Ok(Outcome::Rejected);
            }
        };
        match format {
            OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&r)?)?,
            OutputFormat::Text => writeln!(out, "{}", text_line(&r))?,
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn text_line(r: &Resolution) -> String {
    match r {
        Resolution::Current {
            province_code,
            province,
            commune_code,
            commune,
        } => format!("current\t{province_code}\t{commune_code}\t{commune}, {province}"),
        Resolution::Converted {
            province_code,
            province,
            commune_code,
            commune,
            legacy,
        } => format!(
            "converted\t{province_code}\t{commune_code}\t{commune}, {province}\t(was {}, {}, {})",
            legacy.commune, legacy.district, legacy.province
        ),
        Resolution::Ambiguous { legacy, candidates } => format!(
            "ambiguous\t\t\t{} candidates: {}\t(was {}, {}, {})",
            candidates.len(),
            candidates
                .iter()
                .map(|c| format!("{} {}", c.commune_code, c.commune))
                .collect::<Vec<_>>()
                .join("; "),
            legacy.commune,
            legacy.district,
            legacy.province
        ),
        Resolution::Unknown {
            reason,
            suggestions,
        } if suggestions.is_empty() => format!("unknown\t\t\t{reason}\t(no name is near)"),
        Resolution::Unknown {
            reason,
            suggestions,
        } => format!(
            "unknown\t\t\t{reason}\t(nearest: {})",
            suggestions.join("; ")
        ),
    }
}

fn show(units: &Units, code: &str) -> anyhow::Result<Outcome> {
    let mut found = false;
    if let Some(p) = units.province(code) {
        println!("2025 province {}  {}", p.code, p.full_name());
        found = true;
    }
    if let Some(c) = units.commune(code) {
        let p = units
            .province(&c.parent)
            .map(|p| p.full_name())
            .unwrap_or_default();
        println!("2025 commune  {}  {}, {p}", c.code, c.full_name());
        found = true;
    }
    if let Some(p) = units.legacy_province(code) {
        println!("legacy province {}  {}", p.code, p.full_name());
        found = true;
    }
    if let Some(d) = units.legacy_district(code) {
        let p = units
            .legacy_province(&d.parent)
            .map(|p| p.full_name())
            .unwrap_or_default();
        println!("legacy district {}  {}, {p}", d.code, d.full_name());
        found = true;
    }
    if let Some(c) = units.legacy_commune(code) {
        let d = units.legacy_district(&c.parent);
        let p = d.and_then(|d| units.legacy_province(&d.parent));
        println!(
            "legacy commune {}  {}, {}, {}",
            c.code,
            c.full_name(),
            d.map(|d| d.full_name()).unwrap_or_default(),
            p.map(|p| p.full_name()).unwrap_or_default()
        );
        for s in units.successors(code) {
            if let Some(n) = units.commune(s) {
                println!("  → 2025 commune {}  {}", n.code, n.full_name());
            }
        }
        found = true;
    }
    if found {
        Ok(Outcome::Ok)
    } else {
        eprintln!("no unit has the code {code:?}");
        Ok(Outcome::Rejected)
    }
}

fn search(units: &Units, name: &str) -> anyhow::Result<Outcome> {
    let (_, bare) = crate::units::names::strip_type(name);
    let wanted = crate::units::names::plain(&bare);
    let mut n = 0;
    let lists: [(&str, &[crate::units::Unit]); 5] = [
        ("2025 province", &units.provinces),
        ("2025 commune", &units.communes),
        ("legacy province", &units.legacy_provinces),
        ("legacy district", &units.legacy_districts),
        ("legacy commune", &units.legacy_communes),
    ];
    for (label, list) in lists {
        for u in list
            .iter()
            .filter(|u| crate::units::names::plain(&u.name) == wanted)
        {
            println!(
                "{label:<16} {:<6} {} (in {})",
                u.code,
                u.full_name(),
                u.parent
            );
            n += 1;
        }
    }
    if n == 0 {
        eprintln!("no unit is named {name:?}");
        return Ok(Outcome::Rejected);
    }
    Ok(Outcome::Ok)
}
