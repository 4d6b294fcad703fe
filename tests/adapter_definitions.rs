//! Adapter definitions that are refused, each with a message naming the place and the reason.

use lienthong::translate::Adapter;
use lienthong::validate::{SchemaRegistry, ValidationOptions};

fn problems(toml: &str) -> Vec<String> {
    let registry = SchemaRegistry::embedded(&ValidationOptions::default()).unwrap();
    match Adapter::from_toml("test.toml", toml, &registry) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems(),
    }
}

const HEAD: &str = r#"
name = "test-adapter"
member = "000.00.00.H42"
format = "xml"
[xml.namespaces]
hs = "urn:x"
[code_tables.st]
A = "received"
B = "in_progress"
[records.dossier-status]
schema = "dossier-status.v1"
root = "hs:S"
"#;

fn with_field(field: &str) -> String {
    format!("{HEAD}\n[[records.dossier-status.fields]]\n{field}\n")
}

fn assert_problem(toml: &str, needle: &str) {
    let p = problems(toml);
    assert!(
        p.iter().any(|m| m.contains(needle)),
        "expected a problem containing {needle:?}, got {p:#?}"
    );
}

#[test]
fn a_minimal_definition_compiles() {
    assert_eq!(
        problems(&with_field(
            "canonical = \"/status\"\nexternal = \"hs:T\"\ncode_table = \"st\""
        )),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_keys_are_named() {
    assert_problem(
        &with_field("canonical = \"/status\"\nexternal = \"hs:T\"\ncodetable = \"st\""),
        "unknown field `codetable`",
    );
    assert_problem(&format!("{HEAD}\nfields = []\nsurprise = 1"), "surprise");
}

#[test]
fn a_canonical_field_the_schema_lacks_is_named_with_the_known_ones() {
    assert_problem(
        &with_field("canonical = \"/staus\"\nexternal = \"hs:T\""),
        "no field /staus",
    );
    assert_problem(
        &with_field("canonical = \"/official/nam\"\nexternal = \"hs:T\""),
        "department, name, title",
    );
}

#[test]
fn undeclared_prefixes_and_bad_paths_are_refused() {
    assert_problem(
        &with_field("canonical = \"/note\"\nexternal = \"zz:T\""),
        "prefix \"zz\" is not declared",
    );
    assert_problem(
        &with_field("canonical = \"/note\"\nexternal = \"hs:@x/hs:T\""),
        "not an element or attribute name",
    );
    assert_problem(
        &with_field("canonical = \"/note\"\nexternal = \"@x/hs:T\""),
        "only be the last step",
    );
}

#[test]
fn code_tables_must_exist_and_map_to_allowed_values() {
    assert_problem(
        &with_field("canonical = \"/status\"\nexternal = \"hs:T\"\ncode_table = \"nope\""),
        "code table \"nope\" is not defined",
    );
    let bad_value = HEAD.replace("B = \"in_progress\"", "B = \"progressing\"");
    assert_problem(
        &format!(
            "{bad_value}\n[[records.dossier-status.fields]]\ncanonical = \"/status\"\nexternal = \"hs:T\"\ncode_table = \"st\"\n"
        ),
        "maps to \"progressing\"",
    );
}

#[test]
fn bad_patterns_and_conflicting_transforms_are_refused() {
    assert_problem(
        &with_field("canonical = \"/event_at\"\nexternal = \"hs:T\"\ndatetime = \"dd/MM/yy\""),
        "is not one of yyyy",
    );
    assert_problem(
        &with_field(
            "canonical = \"/event_at\"\nexternal = \"hs:T\"\ndatetime = \"yyyy\"\ncode_table = \"st\"",
        ),
        "use one of date, datetime, code_table and type",
    );
    assert_problem(
        &with_field("canonical = \"/note\"\nexternal = [\"hs:A\", \"hs:B\"]"),
        "need join",
    );
}

#[test]
fn top_level_problems_are_all_listed() {
    let toml = HEAD
        .replace("name = \"test-adapter\"", "name = \"Test Adapter\"")
        .replace("member = \"000.00.00.H42\"", "member = \"H42\"")
        .replace("schema = \"dossier-status.v1\"", "schema = \"dossier.v1\"");
    let p = problems(&format!("{toml}\nfields = []\n"));
    assert!(p.iter().any(|m| m.starts_with("name:")), "{p:#?}");
    assert!(p.iter().any(|m| m.starts_with("member:")), "{p:#?}");
    assert!(
        p.iter().any(|m| m.contains("is for record type dossier")),
        "{p:#?}"
    );
}
