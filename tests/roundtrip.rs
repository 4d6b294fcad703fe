//! Round trip of every shipped adapter: for every record type an adapter maps, a valid
//! canonical record restricted to the fields the adapter maps survives canonical → external →
//! canonical unchanged: `adapter.inbound(t, &adapter.outbound(t, &r)?)? == r`.
//!
//! Records come from one generator per record type. Every generated record is checked first
//! (valid against its embedded schema and the domain rules, NFC text without stray whitespace),
//! so that a generator bug shows as such and not as an engine bug. The record is then projected
//! onto the canonical pointers the adapter's field mappings name (see `Shape`) and sent through
//! the adapter and back.
//!
//! Failing cases are persisted (seeds) in `tests/common/roundtrip.proptest-regressions` and
//! replayed first on the next run.

mod common;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone};
use lienthong::config::adapter::{Case, FieldDef};
use lienthong::model::{LEGACY_PROVINCE_CODES, Sex};
use lienthong::translate::Adapter;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
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

// ---------------------------------------------------------------------------------------------
// Projection: the canonical fields an adapter maps

/// A field mapping's effect on a canonical leaf.
#[derive(Debug, Clone, Default)]
struct Leaf {
    /// Inbound, the field always takes this value.
    constant: Option<Value>,
    /// Inbound, the field takes this value when the document has none.
    default: Option<Value>,
    /// Inbound, the text is put in this case.
    case: Option<Case>,
}

/// The part of a canonical record an adapter maps, from its `FieldDef`s.
#[derive(Debug, Clone)]
enum Shape {
    Leaf(Leaf),
    Object(BTreeMap<String, Shape>),
    /// `array = true`: every item mapped by the inner shape.
    Array(Box<Shape>),
}

fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .strip_prefix('/')
        .unwrap_or_else(|| panic!("{pointer:?} is not a JSON Pointer to a field"))
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

impl Shape {
    fn of(adapter: &Adapter, record_type: &str) -> Shape {
        let record = &adapter.definition().records[record_type];
        Shape::of_fields(&record.fields)
    }

    fn of_fields(fields: &[FieldDef]) -> Shape {
        let mut root = Shape::Object(BTreeMap::new());
        for f in fields {
            let Some(pointer) = &f.canonical else {
                continue; // an external-only constant
            };
            let node = if f.array {
                Shape::Array(Box::new(if f.fields.is_empty() {
                    Shape::Leaf(Leaf::default())
                } else {
                    Shape::of_fields(&f.fields)
                }))
            } else {
                Shape::Leaf(Leaf {
                    constant: f.constant.clone(),
                    default: f.default.clone(),
                    case: f.case,
                })
            };
            root.insert(&pointer_tokens(pointer), node);
        }
        root
    }

    fn insert(&mut self, tokens: &[String], node: Shape) {
        let Shape::Object(map) = self else {
            panic!("two mappings overlap at a leaf");
        };
        match tokens {
            [] => panic!("a mapping of the whole record"),
            [last] => {
                map.insert(last.clone(), node);
            }
            [first, rest @ ..] => map
                .entry(first.clone())
                .or_insert_with(|| Shape::Object(BTreeMap::new()))
                .insert(rest, node),
        }
    }

    /// The record restricted to this shape: unmapped leaves dropped, objects left empty dropped,
    /// constants and defaults as the adapter's inbound direction gives them.
    fn project(&self, record: &Value) -> Value {
        self.project_value(Some(record))
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn project_value(&self, v: Option<&Value>) -> Option<Value> {
        match self {
            Shape::Leaf(leaf) => leaf
                .constant
                .clone()
                .or_else(|| v.cloned())
                .or_else(|| leaf.default.clone()),
            Shape::Object(fields) => {
                let obj = v.and_then(Value::as_object);
                let mut out = Map::new();
                for (k, s) in fields {
                    if let Some(x) = s.project_value(obj.and_then(|o| o.get(k))) {
                        out.insert(k.clone(), x);
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Shape::Array(item) => {
                let items: Vec<Value> = v
                    .and_then(Value::as_array)?
                    .iter()
                    .map(|x| {
                        item.project_value(Some(x))
                            .unwrap_or_else(|| Value::Object(Map::new()))
                    })
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
        }
    }

    /// The projection keeps every mapped leaf of the record, and every field the schema requires
    /// in a kept object when the adapter maps that field.
    fn check_projection(
        &self,
        schema: &Value,
        original: Option<&Value>,
        projected: Option<&Value>,
        at: &str,
    ) -> Result<(), String> {
        match self {
            Shape::Leaf(leaf) => {
                let expected = leaf.constant.as_ref().or(original);
                if expected.is_some() && projected != expected {
                    return Err(format!("{at}: kept {projected:?}, expected {expected:?}"));
                }
            }
            Shape::Object(fields) => {
                if let Some(p) = projected {
                    let node = schema_node(schema, at).unwrap_or(&Value::Null);
                    for req in node
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if fields.contains_key(req) && p.get(req).is_none() {
                            return Err(format!("{at}/{req}: required, mapped, but dropped"));
                        }
                    }
                }
                for (k, s) in fields {
                    s.check_projection(
                        schema,
                        original.and_then(|o| o.get(k)),
                        projected.and_then(|p| p.get(k)),
                        &format!("{at}/{k}"),
                    )?;
                }
            }
            Shape::Array(item) => {
                let (Some(o), Some(p)) = (
                    original.and_then(Value::as_array),
                    projected.and_then(Value::as_array),
                ) else {
                    if original.is_some() != projected.is_some() {
                        return Err(format!("{at}: the array was dropped or invented"));
                    }
                    return Ok(());
                };
                if o.len() != p.len() {
                    return Err(format!("{at}: {} items became {}", o.len(), p.len()));
                }
                for (i, (x, y)) in o.iter().zip(p).enumerate() {
                    item.check_projection(schema, Some(x), Some(y), &format!("{at}/{i}"))?;
                }
            }
        }
        Ok(())
    }

    /// Mapped text is already in the case the adapter's inbound `case` transform puts it in.
    fn check_case(&self, v: Option<&Value>, at: &str) -> Result<(), String> {
        let Some(v) = v else {
            return Ok(());
        };
        match self {
            Shape::Leaf(leaf) => {
                if let (Some(case), Some(text)) = (leaf.case, v.as_str()) {
                    let normal = in_case(text, case);
                    if normal != text {
                        return Err(format!(
                            "{at}: {text:?} is not in {case:?} case (the adapter reads {normal:?})"
                        ));
                    }
                }
            }
            Shape::Object(fields) => {
                for (k, s) in fields {
                    s.check_case(v.get(k), &format!("{at}/{k}"))?;
                }
            }
            Shape::Array(item) => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    item.check_case(Some(x), &format!("{at}/{i}"))?;
                }
            }
        }
        Ok(())
    }

    /// The mapped leaves, as paths with `*` for array items.
    fn leaves(&self, at: &str) -> Vec<(String, Leaf)> {
        match self {
            Shape::Leaf(l) => vec![(at.to_string(), l.clone())],
            Shape::Object(fields) => fields
                .iter()
                .flat_map(|(k, s)| s.leaves(&format!("{at}/{k}")))
                .collect(),
            Shape::Array(item) => item.leaves(&format!("{at}/*")),
        }
    }

    /// The mapped leaves present in `v`, with the text of their scalar values.
    fn leaves_in(&self, v: Option<&Value>, at: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
        let Some(v) = v else {
            return;
        };
        match self {
            Shape::Leaf(_) => {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                out.entry(at.to_string()).or_default().insert(text);
            }
            Shape::Object(fields) => {
                for (k, s) in fields {
                    s.leaves_in(v.get(k), &format!("{at}/{k}"), out);
                }
            }
            Shape::Array(item) => {
                for x in v.as_array().into_iter().flatten() {
                    item.leaves_in(Some(x), &format!("{at}/*"), out);
                }
            }
        }
    }
}

/// Text in a case (title: each space-separated word capitalised, the rest in lower case).
fn in_case(text: &str, case: Case) -> String {
    match case {
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
        Case::Title => text
            .split(' ')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect()
                })
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Follows a local `$ref`.
fn resolve<'s>(root: &'s Value, mut s: &'s Value) -> &'s Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        s = r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolved $ref {r}"));
    }
    s
}

/// The sub-schema at a path of the record (`*` or an index for array items).
fn schema_node<'s>(root: &'s Value, path: &str) -> Option<&'s Value> {
    let mut at = resolve(root, root);
    for t in path.split('/').skip(1) {
        let next = if at.get("type").and_then(Value::as_str) == Some("array") {
            at.get("items")?
        } else {
            at.get("properties")?.get(t)?
        };
        at = resolve(root, next);
    }
    Some(at)
}

/// Whether a record may lack the leaf at `path` (a step not required by its parent).
fn path_is_optional(root: &Value, path: &str) -> bool {
    let mut at = resolve(root, root);
    for t in path.split('/').skip(1) {
        if at.get("type").and_then(Value::as_str) == Some("array") {
            at = resolve(root, &at["items"]);
            continue;
        }
        let required = at
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == t));
        if !required {
            return true;
        }
        at = resolve(root, &at["properties"][t]);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Generators: valid canonical records with realistic Vietnamese values

fn generator(record_type: &str) -> BoxedStrategy<Value> {
    match record_type {
        "citizen" => citizen().boxed(),
        "dossier" => dossier().boxed(),
        "dossier-status" => dossier_status().boxed(),
        "document" => document().boxed(),
        "payment" => payment().boxed(),
        other => panic!("no generator for record type {other:?}: write one"),
    }
}

/// An object from (key, value) pairs, leaving out absent values.
fn obj<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn opt(text: Option<String>) -> Option<Value> {
    text.map(Value::String)
}

const FAMILY_NAMES: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Tạ", "Ông", "Ưng", "Âu", "Kiều",
];
const MIDDLE_NAMES_MALE: &[&str] = &[
    "Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân", "Công", "Đình", "Trọng", "Thành", "Gia", "Bảo",
];
const MIDDLE_NAMES_FEMALE: &[&str] = &[
    "Thị", "Ngọc", "Thu", "Hồng", "Thanh", "Thùy", "Kim", "Mỹ", "Diệu", "Ánh", "Bích", "Khánh",
];
const GIVEN_NAMES_MALE: &[&str] = &[
    "Anh", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hiếu", "Hùng", "Khải", "Long", "Minh", "Nam",
    "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Ước", "Lộc", "Nghĩa",
];
const GIVEN_NAMES_FEMALE: &[&str] = &[
    "Anh", "Chi", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngọc",
    "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Uyên", "Yến", "Ánh", "Oanh", "Ý",
];

/// A full name in title case: a family name, zero to two middle names and a given name.
fn full_name(sex: Sex) -> impl Strategy<Value = String> {
    let (middle, given) = match sex {
        Sex::Male => (MIDDLE_NAMES_MALE, GIVEN_NAMES_MALE),
        Sex::Female => (MIDDLE_NAMES_FEMALE, GIVEN_NAMES_FEMALE),
    };
    (
        select(FAMILY_NAMES),
        proptest::collection::vec(select(middle), 0..=2),
        select(given),
    )
        .prop_map(|(family, middle, given)| {
            let mut words = vec![family];
            words.extend(middle);
            words.push(given);
            words.join(" ")
        })
}

/// How much of a birth date a record holds.
#[derive(Debug, Clone, Copy)]
enum Precision {
    Year,
    Month,
    Day,
}

fn precision() -> impl Strategy<Value = Precision> {
    prop_oneof![
        Just(Precision::Year),
        Just(Precision::Month),
        Just(Precision::Day)
    ]
}

fn partial_date(d: NaiveDate, p: Precision) -> String {
    match p {
        Precision::Year => format!("{:04}", d.year()),
        Precision::Month => format!("{:04}-{:02}", d.year(), d.month()),
        Precision::Day => d.format("%Y-%m-%d").to_string(),
    }
}

/// A day that exists in `years`.
fn date_in(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = NaiveDate> {
    (years, 0u32..366).prop_map(|(y, ordinal)| {
        let days = if NaiveDate::from_ymd_opt(y, 2, 29).is_some() {
            366
        } else {
            365
        };
        NaiveDate::from_yo_opt(y, 1 + ordinal % days).expect("a day of the year")
    })
}

/// A person: sex, name, birth date, and a personal ID that agrees with both.
#[derive(Debug, Clone)]
struct Person {
    sex: Sex,
    full_name: String,
    birth: NaiveDate,
    personal_id: String,
}

fn personal_id(sex: Sex, year: i32, province: u8, serial: u32) -> String {
    let century = (year / 100 - 19) * 2;
    let digit = century + i32::from(sex == Sex::Female);
    format!("0{province:02}{digit}{:02}{serial:06}", year % 100)
}

fn person(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = Person> {
    (
        prop_oneof![
            (Just(Sex::Male), full_name(Sex::Male)),
            (Just(Sex::Female), full_name(Sex::Female)),
        ],
        date_in(years),
        select(LEGACY_PROVINCE_CODES.to_vec()),
        0u32..1_000_000,
    )
        .prop_map(|((sex, full_name), birth, province, serial)| Person {
            sex,
            full_name,
            personal_id: personal_id(sex, birth.year(), province, serial),
            birth,
        })
}

/// Any personal ID (of someone born 1930–2024).
fn any_personal_id() -> impl Strategy<Value = String> {
    person(1930..=2024).prop_map(|p| p.personal_id)
}

/// An enterprise code (tax code): ten digits, the first two a tax-office province code.
fn business_code() -> impl Strategy<Value = String> {
    (
        select(vec!["01", "03", "30", "29", "04", "31", "36"]),
        0u64..100_000_000,
    )
        .prop_map(|(p, n)| format!("{p}{n:08}"))
}

const BUSINESS_KINDS: &[&str] = &[
    "Công ty TNHH",
    "Công ty Cổ phần",
    "Công ty TNHH Một thành viên",
    "Hợp tác xã",
    "Doanh nghiệp tư nhân",
];
const BUSINESS_TRADES: &[&str] = &[
    "Thương mại và Dịch vụ",
    "Xây dựng",
    "Vận tải",
    "Nông nghiệp",
    "Thủy sản",
    "Du lịch",
    "Công nghệ thông tin",
];

fn business_name() -> impl Strategy<Value = String> {
    (
        select(BUSINESS_KINDS),
        select(BUSINESS_TRADES),
        select(GIVEN_NAMES_MALE),
        select(GIVEN_NAMES_FEMALE),
    )
        .prop_map(|(kind, trade, a, b)| format!("{kind} {trade} {a} {b}"))
}

const EMAIL_HANDLES: &[&str] = &[
    "nhung.nth",
    "tranvanbinh",
    "le.minh",
    "hoanganh",
    "pham_thu",
    "vuduc",
    "lienhe",
    "ketoan",
];
const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com.vn",
    "outlook.com",
    "hatinh.gov.vn",
    "fpt.vn",
    "vnpt.vn",
];

fn email() -> impl Strategy<Value = String> {
    (select(EMAIL_HANDLES), 0u32..100, select(EMAIL_DOMAINS))
        .prop_map(|(h, n, d)| format!("{h}{n}@{d}"))
}

fn phone() -> impl Strategy<Value = String> {
    (
        select(vec!["9", "8", "3", "7"]),
        0u32..100,
        0u32..1000,
        0u32..1000,
    )
        .prop_flat_map(|(net, a, b, c)| {
            select(vec![
                format!("0{net}{a:02}{b:03}{c:03}"),
                format!("0{net}{a:02} {b:03} {c:03}"),
                format!("0{net}{a:02}.{b:03}.{c:03}"),
                format!("+84 {net}{a:02} {b:03} {c:03}"),
                format!("0239-{b:03}-{c:03}{a:01}", a = a % 10),
            ])
        })
}

// Administrative units: the reference data under src/units/data (names NFC, with type words).

/// A commune with its (legacy) district and province.
#[derive(Debug, Clone)]
struct Place {
    commune: String,
    commune_code: String,
    /// Legacy three-tier places only: name and code of the district.
    district: Option<(String, String)>,
    province: String,
    province_code: String,
}

impl Place {
    /// Free text as registers write it: "Xã Cẩm Thạch, huyện Cẩm Xuyên, tỉnh Hà Tĩnh".
    fn text(&self) -> String {
        let mut parts = vec![self.commune.clone()];
        if let Some((d, _)) = &self.district {
            parts.push(lower_type_word(d));
        }
        parts.push(lower_type_word(&self.province));
        parts.join(", ")
    }
}

const TYPE_WORDS: &[&str] = &[
    "Thành phố",
    "Thị xã",
    "Thị trấn",
    "Đặc khu",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Phường",
    "Xã",
];

/// "Huyện Cẩm Xuyên" → "huyện Cẩm Xuyên" (the type word in lower case, the name kept).
fn lower_type_word(name: &str) -> String {
    for t in TYPE_WORDS {
        if let Some(rest) = name.strip_prefix(t) {
            return format!("{}{rest}", t.to_lowercase());
        }
    }
    name.to_string()
}

struct Units {
    /// Two-tier places (since 1 July 2025).
    current: Vec<Place>,
    /// Legacy three-tier places.
    legacy: Vec<Place>,
    /// Legacy places with exactly one 2025 successor: (successor, old place).
    converted: Vec<(Place, Place)>,
}

fn units() -> &'static Units {
    static UNITS: OnceLock<Units> = OnceLock::new();
    UNITS.get_or_init(|| {
        let path = common::repo_path("src/units/data/units.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let data: Value = serde_json::from_str(&text).expect("units.json is JSON");
        let rows = |key: &str| -> Vec<Vec<String>> {
            data[key]
                .as_array()
                .unwrap_or_else(|| panic!("units.json has no {key}"))
                .iter()
                .map(|row| {
                    row.as_array()
                        .expect("a row")
                        .iter()
                        .map(|c| c.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect()
        };
        // [code, name, type, parent code]
        let by_code = |key: &str| -> BTreeMap<String, Vec<String>> {
            rows(key).into_iter().map(|r| (r[0].clone(), r)).collect()
        };
        let named = |r: &[String]| format!("{} {}", r[2], r[1]);
        let provinces = by_code("provinces");
        let legacy_provinces = by_code("legacy_provinces");
        let legacy_districts = by_code("legacy_districts");
        let current = rows("communes")
            .iter()
            .map(|c| {
                let p = &provinces[&c[3]];
                Place {
                    commune: named(c),
                    commune_code: c[0].clone(),
                    district: None,
                    province: named(p),
                    province_code: p[0].clone(),
                }
            })
            .collect();
        let legacy: Vec<Place> = rows("legacy_communes")
            .iter()
            .map(|c| {
                let d = &legacy_districts[&c[3]];
                let p = &legacy_provinces[&d[3]];
                Place {
                    commune: named(c),
                    commune_code: c[0].clone(),
                    district: Some((named(d), d[0].clone())),
                    province: named(p),
                    province_code: p[0].clone(),
                }
            })
            .collect();
        let current: Vec<Place> = current;
        let by_new: BTreeMap<&str, &Place> = current
            .iter()
            .map(|p| (p.commune_code.as_str(), p))
            .collect();
        let by_old: BTreeMap<&str, &Place> = legacy
            .iter()
            .map(|p| (p.commune_code.as_str(), p))
            .collect();
        let converted = data["succession"]
            .as_array()
            .expect("units.json has a succession")
            .iter()
            .filter_map(|row| {
                let old = row[0].as_str()?;
                let [one] = row[1].as_array()?.as_slice() else {
                    return None;
                };
                Some((
                    (*by_new.get(one.as_str()?)?).clone(),
                    (*by_old.get(old)?).clone(),
                ))
            })
            .collect();
        Units {
            current,
            legacy,
            converted,
        }
    })
}

/// A canonical address of the 2025 form (schema v2) as the `address` transform writes it:
/// official names and codes; for an address that arrived in the old form, the old form
/// kept whole under `legacy`.
fn address_2025() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<Index>(),
        proptest::option::weighted(0.8, street()),
    )
        .prop_map(|(old, i, street)| {
            let u = units();
            let (new, legacy) = if old {
                let (n, o) = &u.converted[i.index(u.converted.len())];
                (n.clone(), Some(o.clone()))
            } else {
                (u.current[i.index(u.current.len())].clone(), None)
            };
            obj([
                ("street", opt(street)),
                ("commune", Some(s(&new.commune))),
                ("commune_code", Some(s(&new.commune_code))),
                ("province", Some(s(&new.province))),
                ("province_code", Some(s(&new.province_code))),
                (
                    "legacy",
                    legacy.map(|o| {
                        let (d, dc) = o.district.clone().unwrap_or_default();
                        obj([
                            ("commune", Some(s(&o.commune))),
                            ("commune_code", Some(s(&o.commune_code))),
                            ("district", Some(s(d))),
                            ("district_code", Some(s(dc))),
                            ("province", Some(s(&o.province))),
                            ("province_code", Some(s(&o.province_code))),
                        ])
                    }),
                ),
            ])
        })
}

/// A place, two-tier or legacy three-tier.
fn place() -> impl Strategy<Value = Place> {
    (any::<bool>(), any::<Index>()).prop_map(|(legacy, i)| {
        let list = if legacy {
            &units().legacy
        } else {
            &units().current
        };
        list[i.index(list.len())].clone()
    })
}

/// A legacy three-tier place (hometowns and birth registrations are written that way).
fn legacy_place() -> impl Strategy<Value = Place> {
    any::<Index>().prop_map(|i| units().legacy[i.index(units().legacy.len())].clone())
}

const STREETS: &[&str] = &[
    "Hà Huy Tập",
    "Trần Phú",
    "Nguyễn Du",
    "Phan Đình Phùng",
    "Lê Lợi",
    "Cầu Giấy",
    "Xuân Diệu",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Điện Biên Phủ",
];
const VILLAGES: &[&str] = &["Đông", "Tây", "Trung", "Yên Thịnh", "Phú Lộc", "Bắc Sơn"];

fn street() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..300, select(STREETS)).prop_map(|(n, s)| format!("Số {n} đường {s}")),
        (1u32..300, 1u32..200, select(STREETS))
            .prop_map(|(n, m, s)| format!("Số {n} ngõ {m} phố {s}")),
        (1u32..300, select(STREETS), 1u32..20)
            .prop_map(|(n, s, t)| format!("Số {n} đường {s}, tổ dân phố {t}")),
        select(VILLAGES).prop_map(|v| format!("Thôn {v}")),
    ]
}

/// A canonical address: the province always, every other part sometimes.
fn address() -> impl Strategy<Value = Value> {
    let some = || proptest::bool::weighted(0.8);
    (
        place(),
        proptest::option::weighted(0.8, street()),
        (some(), some(), some(), some(), some()),
    )
        .prop_map(
            |(p, street, (commune, commune_code, district, district_code, province_code))| {
                let (d, dc) = p.district.clone().unzip();
                obj([
                    ("street", opt(street)),
                    ("commune", commune.then(|| s(&p.commune))),
                    ("district", d.filter(|_| district).map(s)),
                    ("province", Some(s(&p.province))),
                    ("commune_code", commune_code.then(|| s(&p.commune_code))),
                    ("district_code", dc.filter(|_| district_code).map(s)),
                    ("province_code", province_code.then(|| s(&p.province_code))),
                ])
            },
        )
}

// Agencies, procedures, times, codes.

/// An agency code such as `000.00.10.H42`.
fn agency_code() -> impl Strategy<Value = String> {
    (
        prop_oneof![3 => Just(0u32), 1 => 0u32..1000],
        0u32..100,
        0u32..100,
        select(vec!['H', 'G', 'A']),
        1u32..100,
    )
        .prop_map(|(a, b, c, l, n)| format!("{a:03}.{b:02}.{c:02}.{l}{n:02}"))
}

/// (code, name, field code, field name)
const PROCEDURES: &[(&str, &str, &str, &str)] = &[
    (
        "1.001612",
        "Đăng ký thành lập hộ kinh doanh",
        "HKD",
        "Thành lập và hoạt động của hộ kinh doanh",
    ),
    ("1.001193", "Đăng ký khai sinh", "HT", "Hộ tịch"),
    ("1.000894", "Đăng ký kết hôn", "HT", "Hộ tịch"),
    (
        "1.004873",
        "Cấp bản sao có chứng thực từ bản chính hồ sơ, giấy tờ",
        "CT",
        "Chứng thực",
    ),
    (
        "1.009994",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "XD",
        "Hoạt động xây dựng",
    ),
    (
        "1.003003",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "DD",
        "Đất đai",
    ),
    (
        "2.000986",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "HT",
        "Hộ tịch",
    ),
];

#[derive(Debug, Clone)]
struct Procedure {
    code: String,
    name: &'static str,
    field_code: &'static str,
    field_name: &'static str,
}

fn procedure() -> impl Strategy<Value = Procedure> {
    (
        select(PROCEDURES),
        prop_oneof![3 => Just(None), 1 => (1u32..4, 0u32..1_000_000).prop_map(Some)],
    )
        .prop_map(|((code, name, field_code, field_name), other)| Procedure {
            code: match other {
                Some((a, b)) => format!("{a}.{b:06}"),
                None => code.to_string(),
            },
            name,
            field_code,
            field_name,
        })
}

fn vn_zone() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("+07:00")
}

/// A time in Vietnam, whole seconds, 2015–2030.
fn vn_time(seconds_since_2015: i64) -> DateTime<FixedOffset> {
    vn_zone()
        .with_ymd_and_hms(2015, 1, 1, 0, 0, 0)
        .single()
        .expect("a time")
        + Duration::seconds(seconds_since_2015)
}

fn rfc3339(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

const DAY: i64 = 86_400;

/// Seconds since 2015 of a moment, 2015–2029: any second, or midnight of a day.
fn moment() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => 0i64..15 * 365 * DAY,
        1 => (0i64..15 * 365).prop_map(|d| d * DAY),
    ]
}

/// Seconds since 2015 of an issue date: recent, or a paper result from 1975 on (digitised).
fn issue_moment() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => moment(),
        1 => (-40 * 365 * DAY..0).prop_map(|s| s - s.rem_euclid(DAY)),
    ]
}

/// A later moment: the same second sometimes, else up to `days` later.
fn delay(days: i64) -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 6 => 0i64..=days * DAY]
}

/// A dossier code: receiving agency, the day received (yyMMdd), a sequence number.
fn dossier_code(agency: &str, received: DateTime<FixedOffset>, seq: u32) -> String {
    format!("{agency}-{}-{seq:04}", received.format("%y%m%d"))
}

fn any_dossier_code() -> impl Strategy<Value = String> {
    (agency_code(), moment(), 1u32..10_000).prop_map(|(a, t, n)| dossier_code(&a, vn_time(t), n))
}

fn content_hash() -> impl Strategy<Value = String> {
    any::<[u8; 32]>().prop_map(|b| format!("sha256:{}", hex::encode(b)))
}

const STATUSES: &[&str] = &[
    "received",
    "accepted",
    "rejected",
    "in_progress",
    "supplement_requested",
    "financial_obligation_requested",
    "resolved",
    "result_returned",
    "withdrawn",
    "suspended",
];
const CHANNELS: &[&str] = &["online", "desk", "post"];

const DOCUMENT_TYPES: &[&str] = &[
    "Giấy đề nghị đăng ký hộ kinh doanh",
    "Bản sao Căn cước công dân",
    "Tờ khai đăng ký khai sinh",
    "Giấy chứng sinh",
    "Hợp đồng thuê mặt bằng kinh doanh",
    "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
    "Giấy xác nhận tình trạng hôn nhân",
    "Bản vẽ thiết kế xây dựng",
    "TK01",
];
const FILE_NAMES: &[&str] = &[
    "giay-de-nghi-dang-ky-ho-kinh-doanh.pdf",
    "cccd-mat-truoc.jpg",
    "to-khai-khai-sinh.pdf",
    "hop-dong-thue-mat-bang.pdf",
    "Bản vẽ mặt bằng tầng 1.pdf",
    "scan_0001.tif",
];

fn document_reference() -> impl Strategy<Value = String> {
    prop_oneof![
        (10u32..100, 2000u32..2026, 0u32..1_000_000)
            .prop_map(|(p, y, n)| format!("GCN-{p}-{y}-DA{n:06}")),
        (any_dossier_code(), 1u32..10).prop_map(|(d, n)| format!("KQ-{d}-{n:02}")),
        any::<[u8; 8]>().prop_map(|b| format!("urn:lienthong:evidence:{}", hex::encode(b))),
    ]
}

/// A document reference of a dossier or status event.
fn document_ref() -> impl Strategy<Value = Value> {
    (
        select(DOCUMENT_TYPES),
        content_hash(),
        select(vec!["citizen-upload", "issued", "digitised"]),
        proptest::option::of(select(FILE_NAMES)),
        proptest::option::of(document_reference()),
        proptest::option::of(prop_oneof![0u64..10_000_000, 0u64..=2_000_000_000]),
    )
        .prop_map(|(t, hash, origin, name, reference, size)| {
            obj([
                ("document_type", Some(s(t))),
                ("content_hash", Some(s(hash))),
                ("origin", Some(s(origin))),
                ("name", name.map(s)),
                ("reference", opt(reference)),
                ("size_bytes", size.map(|n| json!(n))),
            ])
        })
}

fn documents() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(proptest::collection::vec(document_ref(), 1..=3).prop_map(Value::Array))
}

const FEE_NAMES: &[&str] = &[
    "Lệ phí đăng ký hộ kinh doanh",
    "Lệ phí cấp giấy phép xây dựng",
    "Phí thẩm định hồ sơ",
    "Lệ phí chứng thực",
    "Lệ phí đăng ký biến động đất đai",
];

/// An amount in đồng: round thousands mostly, any amount sometimes, and nothing.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (0u64..=5_000).prop_map(|k| k * 1_000),
        1 => 0u64..=50_000_000,
        1 => Just(0u64),
    ]
}

fn fees() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        proptest::collection::vec(
            (select(FEE_NAMES), amount())
                .prop_map(|(name, amount)| json!({"name": name, "amount": amount})),
            1..=2,
        )
        .prop_map(Value::Array),
    )
}

const DOSSIER_NOTES: &[&str] = &[
    "Hồ sơ nộp trực tuyến qua Cổng Dịch vụ công quốc gia.",
    "Công dân đề nghị nhận kết quả qua dịch vụ bưu chính công ích.",
    "Diện tích sàn < 100 m² & không quá 3 tầng.",
    "Đã nộp bản chính \"Giấy chứng sinh\" tại bộ phận một cửa.",
    "Hẹn trả kết quả buổi sáng.",
];
const SHOPS: &[&str] = &[
    "Tiệm bánh Hồng Nhung",
    "Cửa hàng Minh & Anh",
    "Quán cơm Bếp Nhà",
    "Tạp hóa Cô Ba",
];

/// The applicant of a dossier: a citizen (personal ID and birth date agree) or a business.
fn applicant() -> impl Strategy<Value = Value> {
    let contact = || {
        (
            proptest::option::of(email()),
            proptest::option::of(phone()),
            proptest::option::of(address_2025()),
        )
    };
    prop_oneof![
        (
            person(1940..=2007),
            proptest::bool::weighted(0.8),
            proptest::option::of(precision()),
            contact(),
        )
            .prop_map(|(p, with_id, birth, (email, phone, address))| {
                obj([
                    ("type", Some(s("citizen"))),
                    ("full_name", Some(s(&p.full_name))),
                    ("personal_id", with_id.then(|| s(&p.personal_id))),
                    ("birth_date", birth.map(|b| s(partial_date(p.birth, b)))),
                    ("email", opt(email)),
                    ("phone", opt(phone)),
                    ("address", address),
                ])
            }),
        (
            business_name(),
            proptest::option::weighted(0.8, business_code()),
            contact(),
        )
            .prop_map(|(name, code, (email, phone, address))| {
                obj([
                    ("type", Some(s("business"))),
                    ("full_name", Some(s(name))),
                    ("business_code", opt(code)),
                    ("email", opt(email)),
                    ("phone", opt(phone)),
                    ("address", address),
                ])
            }),
    ]
}

fn dossier() -> impl Strategy<Value = Value> {
    (
        (
            agency_code(),
            proptest::option::of(agency_code()),
            1u32..10_000,
            procedure(),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        ),
        applicant(),
        (select(CHANNELS), select(STATUSES), moment(), delay(90)),
        (
            proptest::option::of((0usize..3, select(SHOPS))),
            proptest::option::of(select(DOSSIER_NOTES)),
        ),
        documents(),
        fees(),
    )
        .prop_map(
            |(
                (receiving, resolving, seq, pr, (with_name, with_field_code, with_field_name)),
                applicant,
                (channel, status, received, due),
                (summary, note),
                documents,
                fees,
            )| {
                let received_at = vn_time(received);
                let summary = summary.map(|(kind, shop)| match kind {
                    0 => pr.name.to_string(),
                    1 => format!(
                        "{} cho {}",
                        pr.name,
                        applicant["full_name"].as_str().unwrap_or("")
                    ),
                    _ => format!("{}: \"{shop}\"", pr.name),
                });
                obj([
                    (
                        "dossier_code",
                        Some(s(dossier_code(&receiving, received_at, seq))),
                    ),
                    ("procedure_code", Some(s(&pr.code))),
                    ("procedure_name", with_name.then(|| s(pr.name))),
                    ("field_code", with_field_code.then(|| s(pr.field_code))),
                    ("field_name", with_field_name.then(|| s(pr.field_name))),
                    ("receiving_agency", Some(s(&receiving))),
                    ("resolving_agency", opt(resolving)),
                    ("applicant", Some(applicant)),
                    ("channel", Some(s(channel))),
                    ("received_at", Some(s(rfc3339(received_at)))),
                    ("due_at", Some(s(rfc3339(vn_time(received + due))))),
                    ("status", Some(s(status))),
                    ("summary", opt(summary)),
                    ("documents", documents),
                    ("fees", fees),
                    ("note", note.map(s)),
                ])
            },
        )
}

const OFFICIAL_TITLES: &[&str] = &[
    "Chuyên viên",
    "Phó Trưởng phòng",
    "Trưởng phòng",
    "Công chức Tư pháp - Hộ tịch",
    "Cán bộ một cửa",
];
const DEPARTMENTS: &[&str] = &[
    "Phòng Tư pháp",
    "Bộ phận Tiếp nhận và Trả kết quả",
    "Phòng Kinh tế",
    "Văn phòng Đăng ký đất đai",
    "Phòng Quản lý đô thị",
];
const STATUS_NOTES: &[&str] = &[
    "Chuyển phòng chuyên môn thẩm định.",
    "Yêu cầu bổ sung: bản sao Giấy chứng nhận quyền sử dụng đất.",
    "Đã trả kết quả cho công dân tại bộ phận một cửa.",
    "Hồ sơ chờ thực hiện nghĩa vụ tài chính <thuế & lệ phí>.",
];

/// The official who handled an event: absent, or with at least one part.
fn official() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        (
            proptest::option::of(person(1960..=2000).prop_map(|p| p.full_name)),
            proptest::option::of(select(OFFICIAL_TITLES)),
            proptest::option::of(select(DEPARTMENTS)),
        )
            .prop_map(|(name, title, department)| {
                obj([
                    ("name", opt(name)),
                    ("title", title.map(s)),
                    ("department", department.map(s)),
                ])
            }),
    )
    .prop_map(|o| o.filter(|o| o.as_object().is_some_and(|m| !m.is_empty())))
}

fn dossier_status() -> impl Strategy<Value = Value> {
    (
        (
            agency_code(),
            proptest::option::of(agency_code()),
            1u32..10_000,
            procedure(),
            proptest::option::of(1u32..100),
        ),
        proptest::option::of(prop_oneof![any_personal_id(), business_code()]),
        (select(CHANNELS), select(STATUSES)),
        (
            moment(),
            delay(90),
            delay(60),
            proptest::option::of(delay(30)),
        ),
        official(),
        proptest::option::of(select(STATUS_NOTES)),
        proptest::option::of(
            proptest::collection::vec(document_ref(), 1..=2).prop_map(Value::Array),
        ),
    )
        .prop_map(
            |(
                (receiving, resolving, seq, pr, event_seq),
                applicant_id,
                (channel, status),
                (received, due, event, finished),
                official,
                note,
                results,
            )| {
                let received_at = vn_time(received);
                let code = dossier_code(&receiving, received_at, seq);
                obj([
                    ("event_id", event_seq.map(|n| s(format!("{code}-E{n:02}")))),
                    ("dossier_code", Some(s(code))),
                    ("procedure_code", Some(s(&pr.code))),
                    ("receiving_agency", Some(s(&receiving))),
                    ("resolving_agency", opt(resolving)),
                    ("applicant_id", opt(applicant_id)),
                    ("status", Some(s(status))),
                    ("event_at", Some(s(rfc3339(vn_time(received + event))))),
                    ("received_at", Some(s(rfc3339(received_at)))),
                    ("due_at", Some(s(rfc3339(vn_time(received + due))))),
                    (
                        "finished_at",
                        finished.map(|f| s(rfc3339(vn_time(received + event + f)))),
                    ),
                    ("channel", Some(s(channel))),
                    ("official", official),
                    ("note", note.map(s)),
                    ("result_documents", results),
                ])
            },
        )
}

const DOCUMENT_TITLES: &[&str] = &[
    "Giấy chứng nhận đăng ký hộ kinh doanh số 42A8012345",
    "Giấy khai sinh số 318, quyển số 01/2003",
    "Giấy phép xây dựng số 125/GPXD",
    "Trích lục kết hôn",
];

fn document() -> impl Strategy<Value = Value> {
    (
        (
            prop_oneof![
                (any_dossier_code(), 1u32..10).prop_map(|(d, n)| format!("KQ-{d}-{n:02}")),
                (10u32..100, 1980u32..2026, 0u32..1_000_000)
                    .prop_map(|(p, y, n)| format!("SH-{p}-{y}-KS-{n:06}")),
            ],
            select(DOCUMENT_TYPES),
            proptest::option::of(select(DOCUMENT_TITLES)),
            any_personal_id(),
            agency_code(),
        ),
        (
            issue_moment(),
            proptest::option::of(30i64..3650),
            content_hash(),
            select(vec!["issued", "digitised"]),
        ),
        (
            proptest::option::of(any_dossier_code()),
            proptest::option::of(document_reference()),
            proptest::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (id, kind, title, subject, agency),
                (issued, valid_days, hash, origin),
                (dossier, reference, revoked),
            )| {
                let issued_at = vn_time(issued);
                let valid_until = valid_days.map(|d| {
                    (issued_at + Duration::days(d))
                        .format("%Y-%m-%d")
                        .to_string()
                });
                obj([
                    ("document_id", Some(s(id))),
                    ("document_type", Some(s(kind))),
                    ("title", title.map(s)),
                    ("subject_id", Some(s(subject))),
                    ("issuing_agency", Some(s(agency))),
                    ("issued_at", Some(s(rfc3339(issued_at)))),
                    ("valid_until", opt(valid_until)),
                    ("content_hash", Some(s(hash))),
                    ("origin", Some(s(origin))),
                    ("dossier_code", opt(dossier)),
                    ("reference", opt(reference)),
                    ("revoked", revoked.map(Value::Bool)),
                ])
            },
        )
}

fn payment() -> impl Strategy<Value = Value> {
    (
        (any_dossier_code(), 1u32..10),
        prop_oneof![any_personal_id(), business_code()],
        (proptest::option::of(select(FEE_NAMES)), amount()),
        (
            moment(),
            select(vec!["online", "counter", "transfer"]),
            select(vec!["paid", "refunded", "failed"]),
        ),
        (
            proptest::option::of((25u32..31, 0u64..1_000_000_000_000)),
            proptest::option::of(agency_code()),
        ),
    )
        .prop_map(
            |((dossier, n), payer, (fee, amount), (paid, method, status), (tx, agency))| {
                obj([
                    ("payment_id", Some(s(format!("TT-{dossier}-{n:02}")))),
                    ("dossier_code", Some(s(dossier))),
                    ("payer_id", Some(s(payer))),
                    ("fee_name", fee.map(s)),
                    ("amount", Some(json!(amount))),
                    ("currency", Some(s("VND"))),
                    ("paid_at", Some(s(rfc3339(vn_time(paid))))),
                    ("method", Some(s(method))),
                    ("status", Some(s(status))),
                    (
                        "transaction_ref",
                        tx.map(|(y, n)| s(format!("FT{y}{n:012}"))),
                    ),
                    ("receiving_agency", opt(agency)),
                ])
            },
        )
}

const NATIONALITIES: &[&str] = &["LA", "KH", "CN", "KR", "JP", "US", "FR"];
const ETHNICITIES: &[&str] = &[
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Dao", "Gia Rai", "Ê Đê",
];
const RELIGIONS: &[&str] = &[
    "Không",
    "Phật giáo",
    "Công giáo",
    "Tin lành",
    "Cao Đài",
    "Phật giáo Hòa Hảo",
];
const RELATIONS: &[&str] = &["Vợ", "Chồng", "Con", "Cháu", "Mẹ", "Bố", "Em", "Con dâu"];

fn citizen() -> impl Strategy<Value = Value> {
    (
        (person(1930..=2024), precision()),
        prop_oneof![9 => Just("VN"), 1 => select(NATIONALITIES)],
        (
            proptest::option::of(select(ETHNICITIES)),
            proptest::option::of(select(RELIGIONS)),
            proptest::option::of(legacy_place()),
            proptest::option::of(legacy_place()),
        ),
        (
            proptest::option::of(address()),
            proptest::option::of(address()),
        ),
        proptest::option::of(prop_oneof![
            Just(None),
            (any_personal_id(), select(RELATIONS)).prop_map(Some),
        ]),
    )
        .prop_map(
            |(
                (p, precision),
                nationality,
                (ethnicity, religion, hometown, registered),
                (permanent, current),
                household,
            )| {
                let household = household.map(|h| match h {
                    None => json!({"head_personal_id": p.personal_id, "relation": "Chủ hộ"}),
                    Some((head, relation)) => {
                        json!({"head_personal_id": head, "relation": relation})
                    }
                });
                obj([
                    ("personal_id", Some(s(&p.personal_id))),
                    ("full_name", Some(s(&p.full_name))),
                    ("birth_date", Some(s(partial_date(p.birth, precision)))),
                    ("sex", Some(s(p.sex.as_str()))),
                    ("nationality", Some(s(nationality))),
                    ("ethnicity", ethnicity.map(s)),
                    ("religion", religion.map(s)),
                    ("hometown", hometown.map(|h| s(h.text()))),
                    (
                        "birth_registration_place",
                        registered
                            .map(|r| s(format!("Ủy ban nhân dân {}", lower_type_word(&r.text())))),
                    ),
                    ("permanent_address", permanent),
                    ("current_address", current),
                    ("household", household),
                ])
            },
        )
}
