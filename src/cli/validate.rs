//! `lienthong validate --schema NAME FILE`: validate a canonical record.

use super::{Context, Outcome, OutputFormat, print_errors, read_input};
use anyhow::bail;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Schema to validate against: `name.vN`, or `name` for its highest version.
    #[arg(long, value_name = "NAME")]
    schema: String,
    /// The canonical record, a JSON file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub(crate) fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let registry = ctx.registry()?;
    let Some(schema) = registry.get(&args.schema) else {
        bail!(
            "unknown schema {:?} (known: {})",
            args.schema,
            registry.keys().join(", ")
        );
    };
    let bytes = read_input(&args.file)?;
    let record: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            let err = crate::validate::FieldError::new("", "json.syntax", e.to_string());
            report(args.format, &args.file, Err(vec![err]), false);
            return Ok(Outcome::Rejected);
        }
    };
    let outcome = match schema.validate(&record) {
        Ok(()) => {
            report(args.format, &args.file, Ok(schema.key()), false);
            Outcome::Ok
        }
        Err(rejection) => {
            report(
                args.format,
                &args.file,
                Err(rejection.errors),
                rejection.truncated,
            );
            Outcome::Rejected
        }
    };
    Ok(outcome)
}

fn report(
    format: OutputFormat,
    file: &str,
    result: Result<String, Vec<crate::validate::FieldError>>,
    truncated: bool,
) {
    match (format, result) {
        (OutputFormat::Json, Ok(key)) => {
            println!("{}", serde_json::json!({"valid": true, "schema": key}))
        }
        (OutputFormat::Json, Err(errors)) => println!(
            "{}",
            serde_json::json!({"valid": false, "errors": errors, "truncated": truncated})
        ),
        (OutputFormat::Text, Ok(key)) => println!("{file}: valid ({key})"),
        (OutputFormat::Text, Err(errors)) => {
            println!("{file}: invalid, {} error(s)", errors.len());
            print_errors(&errors, OutputFormat::Text, true);
            if truncated {
                println!("  (more errors were found and not listed)");
            }
        }
    }
}
