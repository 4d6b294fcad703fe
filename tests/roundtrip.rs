//! Round trip of every shipped adapter: for every record type an adapter maps, a valid
//! canonical record restricted to the fields the adapter maps survives canonical → external →
//! canonical unchanged: `adapter.inbound(t, &adapter.outbound(t, &r)?)? == r`.
//!
//! Records come from one generator per record type (`common::generators`). Every generated
//! record is checked first (valid against its embedded schema and the domain rules, NFC text
//! without stray whitespace), so that a generator bug shows as such and not as an engine bug.
//! The record is then projected onto the canonical pointers the adapter's field mappings name
//! (`common::shape::Shape`) and sent through the adapter and back.
//!
//! Failing cases are persisted (seeds) in `tests/common/roundtrip.proptest-regressions` and
//! replayed first on the next run.

mod common;

use common::generators::generator;
use common::shape::{Shape, path_is_optional, schema_node};
use lienthong::translate::Adapter;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use unicode_normalization::is_nfc;

/// Cases per (adapter, record type) pair; `PROPTEST_CASES` overrides it for a longer run.
const CASES: u32 = 256;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/common/roundtrip.proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// One property test per (adapter, record type) pair, and the list of the pairs covered.
macro_rules! round_trip_tests {
    ($($test:ident: $adapter:literal, $record_type:literal;)*) => {
        /// The (adapter, record type) pairs that have a round-trip test.
        const COVERED: &[(&str, &str)] = &[$(($adapter, $record_type)),*];

        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $test(record in generator($record_type)) {
                    round_trips($adapter, $record_type, &record)?;
                }
            )*
        }
    };
}

round_trip_tests! {
    motcua_hatinh_dossier_round_trips: "motcua-hatinh", "dossier";
    motcua_hatinh_dossier_status_round_trips: "motcua-hatinh", "dossier-status";
    motcua_hatinh_document_round_trips: "motcua-hatinh", "document";
    population_registry_citizen_round_trips: "population-registry", "citizen";
    national_portal_dossier_round_trips: "national-portal", "dossier";
    national_portal_dossier_status_round_trips: "national-portal", "dossier-status";
    national_portal_payment_round_trips: "national-portal", "payment";
}

#[test]
fn every_record_type_of_every_shipped_adapter_has_a_round_trip_test() {
    let shipped: BTreeSet<(String, String)> = common::shipped_adapters()
        .values()
        .flat_map(|a| {
            a.record_types()
                .map(|t| (a.name().to_string(), t.to_string()))
        })
        .collect();
    let covered: BTreeSet<(String, String)> = COVERED
        .iter()
        .map(|(a, t)| (a.to_string(), t.to_string()))
        .collect();
    let untested: Vec<_> = shipped.difference(&covered).collect();
    assert!(
        untested.is_empty(),
        "add a round-trip test (and a generator if the record type is new) for {untested:?}"
    );
    let stale: Vec<_> = covered.difference(&shipped).collect();
    assert!(
        stale.is_empty(),
        "round-trip tests name pairs no shipped adapter maps: {stale:?}"
    );
}

/// The generators are not vacuous: over many records, every field each adapter maps is present
/// in some record, every optional one is also absent in some, and every value of every enum it
/// maps shows up.
#[test]
fn generators_reach_every_mapped_field_and_every_enum_value() {
    const SAMPLES: usize = 1000;
    let mut problems = Vec::new();
    for &(adapter_name, record_type) in COVERED {
        let adapter = common::load_adapter(adapter_name);
        let schema = schema_of(adapter, record_type).document();
        let shape = Shape::of(adapter, record_type);
        let mut runner = TestRunner::deterministic();
        let strategy = generator(record_type);
        let mut present: BTreeMap<String, usize> = BTreeMap::new();
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for _ in 0..SAMPLES {
            let record = strategy
                .new_tree(&mut runner)
                .expect("a generated record")
                .current();
            let mut seen = BTreeMap::new();
            shape.leaves_in(Some(&record), "", &mut seen);
            for (path, vals) in seen {
                *present.entry(path.clone()).or_default() += 1;
                values.entry(path).or_default().extend(vals);
            }
        }
        for (path, leaf) in shape.leaves("") {
            if leaf.constant.is_some() {
                continue;
            }
            let at = format!("{adapter_name} {record_type} {path}");
            let n = present.get(&path).copied().unwrap_or(0);
            if n == 0 {
                problems.push(format!("{at}: never generated"));
            }
            if n == SAMPLES && path_is_optional(schema, &path) {
                problems.push(format!("{at}: optional but never absent"));
            }
            if let Some(allowed) = schema_node(schema, &path)
                .and_then(|s| s.get("enum"))
                .and_then(Value::as_array)
            {
                let seen = values.get(&path).cloned().unwrap_or_default();
                for v in allowed {
                    let v = v.as_str().unwrap_or_default();
                    if !seen.contains(v) {
                        problems.push(format!("{at}: enum value {v:?} never generated"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the hub writes to a strict XML receiver validates against the XML Schema of the WSDL
/// it serves: generated records of every XML adapter's record types, written out, checked by a
/// real validator (libxml2, `common::xsd_errors`). Needs `LIENTHONG_PYTHON` with lxml.
#[test]
#[ignore = "needs Python with lxml (LIENTHONG_PYTHON); scripts/test runs it"]
fn generated_records_written_as_xml_validate_against_the_wsdl_schema() {
    const PER_TYPE: usize = 200;
    let mut checked = 0;
    for adapter in common::shipped_adapters().values() {
        if adapter.definition().format != lienthong::config::adapter::Format::Xml {
            continue;
        }
        let wsdl = adapter.wsdl("http://127.0.0.1:1/soap").expect("a WSDL");
        let mut documents = Vec::new();
        for &(adapter_name, record_type) in COVERED.iter().filter(|(a, _)| *a == adapter.name()) {
            let shape = Shape::of(adapter, record_type);
            let mut runner = TestRunner::deterministic();
            let strategy = generator(record_type);
            for n in 0..PER_TYPE {
                let record = strategy
                    .new_tree(&mut runner)
                    .expect("a generated record")
                    .current();
                let projected = shape.project(&record);
                let out = adapter
                    .outbound(record_type, &projected)
                    .unwrap_or_else(|e| panic!("{adapter_name} {record_type}: {e}"));
                documents.push((format!("{adapter_name} {record_type} #{n}"), out));
            }
        }
        checked += documents.len();
        let invalid = common::xsd_errors(&wsdl, &documents);
        assert!(
            invalid.is_empty(),
            "{} of {} invalid, e.g. {:#?}",
            invalid.len(),
            documents.len(),
            &invalid[..invalid.len().min(3)]
        );
    }
    assert!(checked >= 3 * PER_TYPE, "only {checked} documents checked");
}

// ---------------------------------------------------------------------------------------------
// The property

fn schema_of(adapter: &Adapter, record_type: &str) -> &'static lienthong::validate::Schema {
    let key = adapter
        .schema_of(record_type)
        .unwrap_or_else(|| panic!("{} has no record type {record_type}", adapter.name()));
    common::registry()
        .get(key)
        .unwrap_or_else(|| panic!("schema {key} is not embedded"))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn round_trips(adapter_name: &str, record_type: &str, record: &Value) -> Result<(), TestCaseError> {
    let adapter = common::load_adapter(adapter_name);
    let schema = schema_of(adapter, record_type);

    // The generator's own contract: a valid record in normal form.
    if let Err(rejection) = schema.validate(record) {
        let errors: Vec<String> = rejection.errors.iter().map(|e| e.to_string()).collect();
        return Err(TestCaseError::fail(format!(
            "generator bug: invalid {record_type} record:\n  {}\n{}",
            errors.join("\n  "),
            pretty(record)
        )));
    }
    let shape = Shape::of(adapter, record_type);
    clean_text(record, "")
        .and_then(|()| shape.check_case(Some(record), ""))
        .map_err(|m| TestCaseError::fail(format!("generator bug: {m}\n{}", pretty(record))))?;

    // Restrict the record to what the adapter maps; the projection must not lose what it maps.
    let projected = shape.project(record);
    shape
        .check_projection(schema.document(), Some(record), Some(&projected), "")
        .map_err(|m| TestCaseError::fail(format!("projection bug: {m}\n{}", pretty(&projected))))?;

    let external = adapter.outbound(record_type, &projected).map_err(|e| {
        TestCaseError::fail(format!(
            "{adapter_name} {record_type}: outbound refused a valid record: {e}\n  {}\n{}",
            errors_of(&e),
            pretty(&projected)
        ))
    })?;
    let shown = String::from_utf8_lossy(&external);
    let back = adapter.inbound(record_type, &external).map_err(|e| {
        TestCaseError::fail(format!(
            "{adapter_name} {record_type}: inbound refused what outbound wrote: {e}\n  {}\n\
             canonical:\n{}\nexternal:\n{shown}",
            errors_of(&e),
            pretty(&projected)
        ))
    })?;
    // What the adapter can carry back: an address's kept old form is not written to a system
    // of the 2025 scheme.
    let projected = adapter.round_trip_form(record_type, &projected);
    if back != projected {
        let mut diffs = Vec::new();
        differences(&projected, &back, "", &mut diffs);
        return Err(TestCaseError::fail(format!(
            "{adapter_name} {record_type}: canonical → external → canonical changed the record:\n  \
             {}\ncanonical:\n{}\nexternal:\n{shown}\nback:\n{}",
            diffs.join("\n  "),
            pretty(&projected),
            pretty(&back)
        )));
    }
    Ok(())
}

fn errors_of(e: &lienthong::translate::TranslateError) -> String {
    e.field_errors()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Where two values differ, as `pointer: expected → found` lines.
fn differences(expected: &Value, found: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, found) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{at}/{k}");
                match b.get(k) {
                    Some(w) => differences(v, w, &p, out),
                    None => out.push(format!("{p}: {v} → (absent)")),
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) {
                    out.push(format!("{at}/{k}: (absent) → {w}"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                differences(v, w, &format!("{at}/{i}"), out);
            }
        }
        _ if expected != found => out.push(format!("{at}: {expected} → {found}")),
        _ => {}
    }
}

/// Text in the normal form adapters write and read back: NFC, no surrounding whitespace, words
/// separated by single spaces, no other whitespace.
fn clean_text(v: &Value, at: &str) -> Result<(), String> {
    match v {
        Value::String(s) => {
            let ok = !s.is_empty()
                && is_nfc(s)
                && s.trim() == s
                && !s.contains("  ")
                && !s.chars().any(|c| c.is_whitespace() && c != ' ');
            if ok {
                Ok(())
            } else {
                Err(format!("{at}: {s:?} is not normalised text"))
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                return Err(format!("{at}: an empty array (write the field absent)"));
            }
            for (i, x) in a.iter().enumerate() {
                clean_text(x, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        Value::Object(o) => {
            for (k, x) in o {
                clean_text(x, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
