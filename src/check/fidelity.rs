//! Whether a mapping can lose data without a word: a warning for every place the samples of a
//! record type have that no field mapping reads (the hub would drop its value), and for every
//! mapped place no sample has (often a misspelt path, whose value the hub would drop too).
//! `adapter check --strict` (and `strict` on registration) makes them errors.

use crate::translate::{Adapter, SampleCoverage};
use serde::Serialize;
use std::fmt;

/// Samples have the place and no field mapping reads it.
pub const UNMAPPED: &str = "sample.unmapped";
/// A field mapping reads the place and no sample has it.
pub const NOT_IN_SAMPLES: &str = "mapping.not-in-samples";
/// The record type names no sample to compare its mapping with.
pub const NO_SAMPLES: &str = "record.no-samples";

/// A place of the samples no mapping reads, or a mapped place no sample has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingWarning {
    /// `sample.unmapped`, `mapping.not-in-samples` or `record.no-samples`.
    pub code: &'static str,
    /// The adapter's name.
    pub adapter: String,
    /// The record type whose mapping and samples were compared.
    pub record_type: String,
    /// The samples that have the place (`sample.unmapped`), or the record type's samples, none
    /// of which has it (`mapping.not-in-samples`).
    pub samples: Vec<String>,
    /// The external place, from the record root: an XML element or attribute path
    /// (`hs:ChuHoSo/hs:SoDinhDanh`, `@phienBan`) or a JSON Pointer (`/nguoiNop/soCCCD`; `*`
    /// stands for every item of an array). Empty for `record.no-samples`.
    pub path: String,
    /// The canonical pointer the mapped place fills (`mapping.not-in-samples`; empty for an
    /// external-only constant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// What it means and what to do, for a person.
    pub message: String,
}

impl fmt::Display for MappingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.adapter, self.record_type)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.message, self.code)
    }
}

/// The warnings of one record type: `samples` are its samples, each with its comparison with
/// the mapping (`None` for a sample that could not be read: its errors say why).
pub(super) fn record_warnings(
    adapter: &Adapter,
    record_type: &str,
    samples: &[(String, Option<SampleCoverage>)],
) -> Vec<MappingWarning> {
    let warning = |code, samples: Vec<String>, path: &str, canonical, message| MappingWarning {
        code,
        adapter: adapter.name().to_string(),
        record_type: record_type.to_string(),
        samples,
        path: path.to_string(),
        canonical,
        message,
    };
    if samples.is_empty() {
        return vec![warning(
            NO_SAMPLES,
            Vec::new(),
            "",
            None,
            "the record type names no samples, so nothing checks what its mapping reads and \
             what it would drop (add one to `samples`)"
                .to_string(),
        )];
    }
    let mut out = Vec::new();
    // Places no mapping reads, each once with the samples that have it.
    let mut unmapped: Vec<(&str, Vec<String>)> = Vec::new();
    for (file, coverage) in samples {
        for path in coverage.iter().flat_map(|c| &c.unmapped) {
            match unmapped.iter_mut().find(|(p, _)| p == path) {
                Some((_, files)) => files.push(file.clone()),
                None => unmapped.push((path, vec![file.clone()])),
            }
        }
    }
    for (path, files) in unmapped {
        let message = format!(
            "in {}, but no field mapping reads it: the hub would drop its value (map it to a \
             canonical field, or declare it with an external-only constant)",
            files.join(", "),
        );
        out.push(warning(UNMAPPED, files, path, None, message));
    }
    // Mapped places no sample has: compared only with the samples that could be read.
    let read: Vec<&SampleCoverage> = samples.iter().filter_map(|(_, c)| c.as_ref()).collect();
    if read.is_empty() {
        return out;
    }
    let files: Vec<String> = samples.iter().map(|(f, _)| f.clone()).collect();
    let places = adapter.mapped_places(record_type);
    let mut reported: Vec<&str> = Vec::new();
    for (i, place) in places.iter().enumerate() {
        let seen = read
            .iter()
            .any(|c| c.present.get(i).copied().unwrap_or(false));
        if seen || reported.contains(&place.external.as_str()) {
            continue;
        }
        let target = if place.canonical.is_empty() {
            "written as a constant".to_string()
        } else {
            format!("mapped to {}", place.canonical)
        };
        let message = format!(
            "{target}, but no sample has it ({}): if the path is misspelt, the value it should \
             read is dropped; fix the path, or add a sample that carries it",
            files.join(", ")
        );
        out.push(warning(
            NOT_IN_SAMPLES,
            files.clone(),
            &place.external,
            Some(place.canonical.clone()),
            message,
        ));
        reported.push(&place.external);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOptions, check_adapter};
    use crate::validate::{SchemaRegistry, ValidationOptions};
    use std::collections::BTreeMap;

    /// The JSON one-stop adapter of the integration tests, whose applicant's ID is mapped
    /// from a misspelt place, with a mapping of the note added and the samples given.
    fn adapter_text(samples: &[String]) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/adapters/misspelt-id.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let listed = "samples = [\"samples/ho-so.json\"]";
        assert!(text.contains(listed));
        text.replace(listed, &format!("samples = [{}]", samples.join(", ")))
            + "\n[[records.dossier.fields]]\ncanonical = \"/note\"\nexternal = \"/ghiChu\"\n"
    }

    fn sample(extra: &str) -> String {
        format!(
            r#"{{"maHoSo": "000.00.10.H42-250915-0001", "maThuTuc": "1.001612",
                "coQuan": "000.00.10.H42", "trangThai": "MOI",
                "ngayNop": "2025-09-15T08:42:10+07:00", "ngayHen": "2025-09-18T17:00:00+07:00",
                "nguoiNop": {{"hoTen": "Nguyễn Thị Hồng Nhung", "soCCCD": "042192004518"}}{extra}}}"#
        )
    }

    fn check(
        samples: &[(&str, String)],
        strict: bool,
    ) -> (crate::check::AdapterReport, Vec<MappingWarning>) {
        let registry = SchemaRegistry::embedded(&ValidationOptions::default()).unwrap();
        let names: Vec<String> = samples.iter().map(|(n, _)| format!("{n:?}")).collect();
        let text = adapter_text(&names);
        let files: BTreeMap<String, String> = samples
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        let options = CheckOptions {
            write_golden: false,
            strict,
            canonical: false,
        };
        let (report, adapter) = check_adapter("nop.toml", &text, &files, &registry, options);
        assert!(adapter.is_some(), "{:?}", report.definition);
        let warnings = report.warnings.clone();
        (report, warnings)
    }

    #[test]
    fn a_misspelt_place_is_two_warnings_that_fail_the_check_only_under_strict() {
        let (report, warnings) = check(&[("ho-so.json", sample(""))], false);
        let by_code: Vec<(&str, &str, Option<&str>)> = warnings
            .iter()
            .map(|w| (w.code, w.path.as_str(), w.canonical.as_deref()))
            .collect();
        assert_eq!(
            by_code,
            [
                (UNMAPPED, "/nguoiNop/soCCCD", None),
                (
                    NOT_IN_SAMPLES,
                    "/nguoiNop/soCCD",
                    Some("/applicant/personal_id")
                ),
                (NOT_IN_SAMPLES, "/ghiChu", Some("/note")),
            ]
        );
        for w in &warnings {
            assert_eq!(
                (w.adapter.as_str(), w.record_type.as_str()),
                ("nop-ho-so", "dossier")
            );
            assert_eq!(w.samples, ["ho-so.json"]);
        }
        assert!(
            warnings[0]
                .to_string()
                .starts_with("nop-ho-so dossier /nguoiNop/soCCCD: in ho-so.json, "),
            "{}",
            warnings[0]
        );
        assert!(report.ok(), "warnings alone pass: {report:?}");
        assert_eq!(report.warning_count(), 3);
        let (strict, _) = check(&[("ho-so.json", sample(""))], true);
        assert!(!strict.ok());
        assert!(strict.samples.iter().all(|s| s.ok));
    }

    #[test]
    fn a_place_is_one_warning_naming_every_sample_and_a_mapping_one_sample_has_is_none() {
        let with_note = sample(r#", "ghiChu": "nộp trực tuyến", "kenh": "web""#);
        let without = sample(r#", "kenh": "web""#);
        let (_, warnings) = check(&[("a.json", with_note.clone()), ("b.json", without)], true);
        let kenh = warnings.iter().find(|w| w.path == "/kenh").unwrap();
        assert_eq!((kenh.code, kenh.samples.len()), (UNMAPPED, 2));
        assert!(
            !warnings.iter().any(|w| w.path == "/ghiChu"),
            "{warnings:#?}"
        );
        // The same with a sample that cannot be read: the other still counts.
        let (report, warnings) =
            check(&[("a.json", with_note), ("gone.json", String::new())], true);
        assert!(
            !warnings.iter().any(|w| w.path == "/ghiChu"),
            "{warnings:#?}"
        );
        assert_eq!(report.samples[1].errors[0].code, "sample.missing");
    }

    #[test]
    fn a_record_type_without_samples_is_one_warning_and_unreadable_samples_none() {
        let (report, warnings) = check(&[], false);
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert_eq!(
            (warnings[0].code, warnings[0].path.as_str()),
            (NO_SAMPLES, "")
        );
        assert!(report.ok());
        // A sample that is not there: its error says so, and no mapped place is reported.
        let (report, warnings) = check(&[("gone.json", String::new())], false);
        assert!(warnings.is_empty(), "{warnings:#?}");
        assert!(!report.ok());
    }
}
