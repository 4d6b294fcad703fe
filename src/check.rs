//! The dry run of an adapter (`lienthong adapter check`, and the hub's register endpoint): the
//! definition itself, then each of its samples through translate + validate, a round trip
//! (canonical → external → canonical), and the golden file when there is one.

use crate::model::record_digest;
use crate::translate::Adapter;
use crate::validate::{FieldError, SchemaRegistry};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Translates a document inbound and validates the canonical record against its schema.
/// Every error, from either stage, comes back in one list.
pub fn translate_validate(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    document: &[u8],
) -> Result<Value, Vec<FieldError>> {
    let record = adapter
        .inbound(record_type, document)
        .map_err(|e| e.field_errors())?;
    validate_record(adapter, registry, record_type, &record)?;
    Ok(record)
}

/// Validates a canonical record against the schema the adapter maps it to.
pub fn validate_record(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    record: &Value,
) -> Result<(), Vec<FieldError>> {
    let key = adapter.schema_of(record_type).unwrap_or(record_type);
    let schema = registry.get(key).ok_or_else(|| {
        vec![FieldError::new(
            "",
            "schema.unknown",
            format!("schema {key} is not loaded"),
        )]
    })?;
    schema.validate(record).map_err(|r| r.errors)
}

/// What happened to one sample.
#[derive(Debug, Clone, Serialize)]
pub struct SampleReport {
    pub record_type: String,
    pub file: String,
    /// `ok`, or `failed` with the errors.
    pub ok: bool,
    /// Digest of the canonical record (SHA-256 of its RFC 8785 form), when it translated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `matches`, `differs`, `absent` or `written`.
    pub golden: &'static str,
    pub errors: Vec<FieldError>,
}

/// The report of a whole adapter check.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterReport {
    pub file: String,
    /// The adapter's name, when the definition parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Problems with the definition itself.
    pub definition: Vec<String>,
    pub samples: Vec<SampleReport>,
}

impl AdapterReport {
    /// Whether the definition and every sample passed.
    pub fn ok(&self) -> bool {
        self.definition.is_empty() && self.samples.iter().all(|s| s.ok)
    }
}

/// Options of a check.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Write a golden file for each sample that has none (or differs), instead of comparing.
    pub write_golden: bool,
}

/// Checks an adapter file and its samples (paths relative to the file).
pub fn check_adapter_file(
    path: &Path,
    registry: &SchemaRegistry,
    options: CheckOptions,
) -> AdapterReport {
    let file = path.display().to_string();
    let mut report = AdapterReport {
        file: file.clone(),
        adapter: None,
        definition: Vec::new(),
        samples: Vec::new(),
    };
    let adapter = match Adapter::load(path, registry) {
        Ok(a) => a,
        Err(e) => {
            report.definition = e.problems();
            return report;
        }
    };
    report.adapter = Some(adapter.name().to_string());
    let base = path.parent().unwrap_or(Path::new("."));
    for (record_type, rdef) in &adapter.definition().records {
        for sample in &rdef.samples {
            report.samples.push(check_sample(
                &adapter,
                registry,
                record_type,
                &base.join(sample),
                sample,
                options,
            ));
        }
    }
    report
}

/// The golden file of a sample: `<sample>.canonical.json`.
pub fn golden_path(sample: &Path) -> PathBuf {
    let mut name = sample.file_name().unwrap_or_default().to_os_string();
    name.push(".canonical.json");
    sample.with_file_name(name)
}

fn check_sample(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    path: &Path,
    label: &str,
    options: CheckOptions,
) -> SampleReport {
    let mut report = SampleReport {
        record_type: record_type.to_string(),
        file: label.to_string(),
        ok: false,
        digest: None,
        golden: "absent",
        errors: Vec::new(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(FieldError::new(
                "",
                "sample.io",
                format!("cannot read {}: {e}", path.display()),
            ));
            return report;
        }
    };
    let record = match translate_validate(adapter, registry, record_type, &bytes) {
        Ok(r) => r,
        Err(errors) => {
            report.errors = errors;
            return report;
        }
    };
    report.digest = Some(record_digest(&record));
    // Round trip: what the adapter would write for this record must read back the same.
    match adapter.outbound(record_type, &record) {
        Ok(external) => match adapter.inbound(record_type, &external) {
            Ok(back) if back == record => {}
            Ok(back) => report.errors.push(FieldError::new(
                "",
                "sample.round-trip",
                format!(
                    "canonical → external → canonical changed the record: {}",
                    first_difference(&record, &back, "")
                ),
            )),
            Err(e) => {
                for mut fe in e.field_errors() {
                    fe.code = format!("sample.round-trip.{}", fe.code);
                    report.errors.push(fe);
                }
            }
        },
        Err(e) => {
            for mut fe in e.field_errors() {
                fe.code = format!("sample.outbound.{}", fe.code);
                report.errors.push(fe);
            }
        }
    }
    let golden = golden_path(path);
    let pretty = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    match std::fs::read_to_string(&golden) {
        Ok(text) if !options.write_golden => match serde_json::from_str::<Value>(&text) {
            Ok(expected) if expected == record => report.golden = "matches",
            Ok(expected) => {
                report.golden = "differs";
                report.errors.push(FieldError::new(
                    "",
                    "sample.golden",
                    format!(
                        "the record differs from {}: {}",
                        golden.display(),
                        first_difference(&expected, &record, "")
                    ),
                ));
            }
            Err(e) => report.errors.push(FieldError::new(
                "",
                "sample.golden",
                format!("{} is not JSON: {e}", golden.display()),
            )),
        },
        _ if options.write_golden => match std::fs::write(&golden, pretty) {
            Ok(()) => report.golden = "written",
            Err(e) => report.errors.push(FieldError::new(
                "",
                "sample.io",
                format!("cannot write {}: {e}", golden.display()),
            )),
        },
        _ => {}
    }
    report.ok = report.errors.is_empty();
    report
}

/// Describes the first place two JSON values differ.
pub fn first_difference(expected: &Value, actual: &Value, at: &str) -> String {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let here = format!("{at}/{k}");
                match b.get(k) {
                    None => return format!("{here} is missing (expected {va})"),
                    Some(vb) if vb != va => return first_difference(va, vb, &here),
                    _ => {}
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    return format!("{at}/{k} is unexpected ({vb})");
                }
            }
            format!("{at}: no difference")
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                if va != vb {
                    return first_difference(va, vb, &format!("{at}/{i}"));
                }
            }
            format!("{at}: no difference")
        }
        _ => format!(
            "{}: expected {expected}, found {actual}",
            if at.is_empty() { "(record)" } else { at }
        ),
    }
}
