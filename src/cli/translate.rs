//! `lienthong translate`: run one document through an adapter, inbound or outbound.

use super::{Context, Outcome, OutputFormat, print_errors, read_input};
use crate::translate::Adapter;
use clap::ValueEnum;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The adapter definition (TOML).
    #[arg(long, value_name = "FILE")]
    adapter: PathBuf,
    /// The record type, e.g. `dossier-status`.
    #[arg(long, value_name = "TYPE")]
    record: String,
    /// inbound: the adapter's format → canonical JSON (validated); outbound: canonical JSON
    /// (validated) → the adapter's format.
    #[arg(long, value_enum, default_value_t = Direction::Inbound)]
    direction: Direction,
    /// The input document, or `-` for standard input.
    #[arg(long = "in", value_name = "FILE", default_value = "-")]
    input: String,
    /// Format of error reports.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Direction {
    Inbound,
    Outbound,
}

pub(crate) fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let registry = ctx.registry()?;
    let adapter = Adapter::load(&args.adapter, &registry)?;
    let input = read_input(&args.input)?;
    let result = match args.direction {
        Direction::Inbound => crate::validate::translated::translate_validate_with_warnings(
            &adapter,
            &registry,
            &args.record,
            &input,
        )
        .map(|(v, warnings)| {
            for w in &warnings {
                eprintln!(
                    "{}: {w}",
                    if crate::check::is_note(w) {
                        "note"
                    } else {
                        "warning"
                    }
                );
            }
            serde_json::to_vec_pretty(&v).unwrap_or_default()
        }),
        Direction::Outbound => match serde_json::from_slice::<Value>(&input) {
            Err(e) => Err(vec![crate::validate::FieldError::new(
                "",
                "json.syntax",
                format!("the canonical record is not JSON: {e}"),
            )]),
            Ok(record) => crate::validate::translated::validate_record(
                &adapter,
                &registry,
                &args.record,
                &record,
            )
            .and_then(|()| {
                adapter
                    .outbound(&args.record, &record)
                    .map_err(|e| e.field_errors())
            }),
        },
    };
    match result {
        Ok(mut out) => {
            out.push(b'\n');
            std::io::stdout().write_all(&out)?;
            Ok(Outcome::Ok)
        }
        Err(errors) => {
            if args.format == OutputFormat::Text {
                eprintln!("{}: rejected, {} error(s)", args.input, errors.len());
            }
            print_errors(&errors, args.format, args.format == OutputFormat::Json);
            Ok(Outcome::Rejected)
        }
    }
}
