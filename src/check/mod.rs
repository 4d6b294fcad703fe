//! The dry run of an adapter (`lienthong adapter check`, and the hub's register endpoint): the
//! definition itself, then each of its samples through translate + validate, a round trip
//! (canonical → external → canonical), the golden file when there is one, and the places of the
//! samples the mapping would drop or that its mapped places miss (`fidelity`).

mod fidelity;

pub use fidelity::{MappingWarning, NO_SAMPLES, NOT_IN_SAMPLES, UNMAPPED};

use crate::model::record_digest;
use crate::translate::{Adapter, SampleCoverage};
use crate::validate::translated::translate_validate_with_warnings;
use crate::validate::{FieldError, SchemaRegistry};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

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
    /// What the adapter accepts with a warning (an ambiguous or unknown address under `warn`),
    /// and notes (`address.converted`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldError>,
    /// The canonical record the sample translated to, when asked for (`CheckOptions::canonical`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<Value>,
}

/// Whether a sample's warning is only a note (an address converted to the 2025 form), which
/// `--strict` does not count.
pub fn is_note(w: &FieldError) -> bool {
    w.code == "address.converted"
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
    /// Places of the samples no field mapping reads, mapped places no sample has, record
    /// types without samples.
    pub warnings: Vec<MappingWarning>,
    /// Whether warnings count as errors (`--strict`).
    pub strict: bool,
}

impl AdapterReport {
    /// Whether the definition and every sample passed, and under `strict` there was no
    /// warning.
    pub fn ok(&self) -> bool {
        self.definition.is_empty()
            && self.samples.iter().all(|s| s.ok)
            && !(self.strict && self.warning_count() > 0)
    }

    /// The mapping warnings and the samples' warnings (not their notes).
    pub fn warning_count(&self) -> usize {
        self.warnings.len()
            + self
                .samples
                .iter()
                .flat_map(|s| &s.warnings)
                .filter(|w| !is_note(w))
                .count()
    }
}

/// Options of a check.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Write a golden file for each sample that has none (or differs), instead of comparing.
    pub write_golden: bool,
    /// Warnings count as errors: a place of a sample no mapping reads, a mapped place no
    /// sample has, a record type without samples, a sample's warning.
    pub strict: bool,
    /// Keep each sample's canonical record in its report (the API's dry run shows it).
    pub canonical: bool,
}

/// Where a check finds the samples an adapter names (and their golden files).
pub trait SampleSource {
    /// The bytes of the file the definition calls `name`, or why there are none.
    fn read(&self, name: &str) -> Result<Vec<u8>, String>;
    /// Writes a golden file, when the source supports it.
    fn write_golden(&self, _name: &str, _text: &str) -> Result<(), String> {
        Err("this source cannot write golden files".into())
    }
}

/// Samples on disk, relative to the adapter file's directory.
pub struct DirSamples<'p>(pub &'p Path);

impl SampleSource for DirSamples<'_> {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.0.join(name);
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
    fn write_golden(&self, name: &str, text: &str) -> Result<(), String> {
        let path = self.0.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Samples submitted in memory (the register endpoint), by the name the definition uses.
impl SampleSource for std::collections::BTreeMap<String, String> {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        self.get(name)
            .map(|s| s.clone().into_bytes())
            .ok_or_else(|| format!("the sample {name} was not submitted with the definition"))
    }
}

/// Checks an adapter file and its samples (paths relative to the file).
pub fn check_adapter_file(
    path: &Path,
    registry: &SchemaRegistry,
    options: CheckOptions,
) -> AdapterReport {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let base = path.parent().unwrap_or(Path::new("."));
            check_adapter(&file, &text, &DirSamples(base), registry, options).0
        }
        Err(e) => AdapterReport {
            file: file.clone(),
            adapter: None,
            definition: vec![format!("{file}: {e}")],
            samples: Vec::new(),
            warnings: Vec::new(),
            strict: options.strict,
        },
    }
}

/// Checks an adapter definition and its samples; returns the report and, when the definition
/// compiled, the adapter.
pub fn check_adapter(
    file: &str,
    text: &str,
    samples: &dyn SampleSource,
    registry: &SchemaRegistry,
    options: CheckOptions,
) -> (AdapterReport, Option<Adapter>) {
    let mut report = AdapterReport {
        file: file.to_string(),
        adapter: None,
        definition: Vec::new(),
        samples: Vec::new(),
        warnings: Vec::new(),
        strict: options.strict,
    };
    let adapter = match Adapter::from_toml(file, text, registry) {
        Ok(a) => a,
        Err(e) => {
            report.definition = e.problems();
            return (report, None);
        }
    };
    report.adapter = Some(adapter.name().to_string());
    for (record_type, rdef) in &adapter.definition().records {
        let mut coverage = Vec::new();
        for sample in &rdef.samples {
            let (sample_report, sample_coverage) =
                check_sample(&adapter, registry, record_type, samples, sample, options);
            report.samples.push(sample_report);
            coverage.push((sample.clone(), sample_coverage));
        }
        report
            .warnings
            .extend(fidelity::record_warnings(&adapter, record_type, &coverage));
    }
    (report, Some(adapter))
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
    source: &dyn SampleSource,
    label: &str,
    options: CheckOptions,
) -> (SampleReport, Option<SampleCoverage>) {
    let mut report = SampleReport {
        record_type: record_type.to_string(),
        file: label.to_string(),
        ok: false,
        digest: None,
        golden: "absent",
        errors: Vec::new(),
        warnings: Vec::new(),
        canonical: None,
    };
    let bytes = match source.read(label) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(FieldError::new("", "sample.missing", e));
            return (report, None);
        }
    };
    let coverage = adapter.coverage(record_type, &bytes);
    let record = match translate_validate_with_warnings(adapter, registry, record_type, &bytes) {
        Ok((r, warnings)) => {
            report.warnings = warnings;
            r
        }
        Err(errors) => {
            report.errors = errors;
            return (report, coverage);
        }
    };
    report.digest = Some(record_digest(&record));
    if options.canonical {
        report.canonical = Some(record.clone());
    }
    // Round trip: what the adapter would write for this record must read back the same.
    match adapter.outbound(record_type, &record) {
        Ok(external) => match adapter.inbound(record_type, &external) {
            Ok(back) if back == record => {}
            Ok(back) if back == adapter.round_trip_form(record_type, &record) => {}
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
    let golden = golden_path(Path::new(label)).display().to_string();
    let pretty = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    if options.write_golden {
        match source.write_golden(&golden, &pretty) {
            Ok(()) => report.golden = "written",
            Err(e) => report.errors.push(FieldError::new("", "sample.golden", e)),
        }
    } else if let Ok(text) = source.read(&golden) {
        match serde_json::from_slice::<Value>(&text) {
            Ok(expected) if expected == record => report.golden = "matches",
            Ok(expected) => {
                report.golden = "differs";
                report.errors.push(FieldError::new(
                    "",
                    "sample.golden",
                    format!(
                        "the record differs from {golden}: {}",
                        first_difference(&expected, &record, "")
                    ),
                ));
            }
            Err(e) => report.errors.push(FieldError::new(
                "",
                "sample.golden",
                format!("{golden} is not JSON: {e}"),
            )),
        }
    }
    report.ok = report.errors.is_empty();
    (report, coverage)
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
