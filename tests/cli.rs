//! The command line as a user runs it: outputs and exit codes (0 success, 1 rejected input,
//! 2 usage or I/O error).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lienthong(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn schemas_list_names_every_schema() {
    let o = lienthong(&["schemas", "list", "--format", "json"], None);
    assert_eq!(code(&o), 0);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "citizen.v1",
            "citizen.v2",
            "document.v1",
            "dossier.v1",
            "dossier.v2",
            "dossier-status.v1",
            "payment.v1"
        ]
    );
}

#[test]
fn validate_exits_0_1_and_2() {
    let golden = "adapters/samples/population-registry/citizen.json.canonical.json";
    let o = lienthong(&["validate", "--schema", "citizen.v1", golden], None);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("valid (citizen.v1)"));

    let bad = br#"{"personal_id": "042192004518", "full_name": "A", "birth_date": "2001",
                   "sex": "female", "nationality": "VN"}"#;
    let o = lienthong(
        &["validate", "--schema", "citizen", "-", "--format", "json"],
        Some(bad),
    );
    assert_eq!(code(&o), 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["code"], "cross.id-birth-year-mismatch");
    assert_eq!(report["errors"][0]["pointer"], "/birth_date");

    let o = lienthong(
        &["validate", "--schema", "citizen", "-"],
        Some(b"{not json"),
    );
    assert_eq!(code(&o), 1, "a record that is not JSON is rejected input");

    let o = lienthong(&["validate", "--schema", "nope", golden], None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown schema") && stderr(&o).contains("citizen.v1"));

    let o = lienthong(&["validate", "--schema", "citizen", "/no/such/file"], None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/no/such/file"));

    let o = lienthong(&["validate"], None);
    assert_eq!(code(&o), 2, "usage error");
}

#[test]
fn translate_inbound_prints_canonical_json_and_outbound_the_external_form() {
    let o = lienthong(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier-status",
            "--in",
            "adapters/samples/motcua-hatinh/status-in-progress.xml",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let canonical: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(canonical["status"], "in_progress");

    let o = lienthong(
        &[
            "translate",
            "--adapter",
            "adapters/national-portal.toml",
            "--record",
            "dossier-status",
            "--direction",
            "outbound",
        ],
        Some(&o.stdout),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let portal: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(portal["data"][0]["TrangThaiHoSo"], "4");
}

#[test]
fn translate_exits_1_on_a_rejected_document_and_2_on_usage() {
    let o = lienthong(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier",
            "--format",
            "json",
        ],
        Some(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"),
    );
    assert_eq!(code(&o), 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["errors"][0]["code"], "xml.doctype");

    let o = lienthong(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier",
            "--direction",
            "sideways",
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    let o = lienthong(
        &[
            "translate",
            "--adapter",
            "no-such.toml",
            "--record",
            "dossier",
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no-such.toml"));
}

#[test]
fn adapter_check_passes_the_shipped_adapters_with_a_line_per_sample() {
    let o = lienthong(
        &[
            "adapter",
            "check",
            "adapters/motcua-hatinh.toml",
            "adapters/population-registry.toml",
            "adapters/national-portal.toml",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with("ok"))
            .count(),
        11,
        "{out}"
    );
    assert!(
        out.contains("3 adapter(s) checked, 3 passed, 0 failed"),
        "{out}"
    );
}

#[test]
fn adapter_check_names_an_unknown_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("adapters/population-registry.toml"))
        .unwrap()
        .replace(
            "timezone = \"+07:00\"",
            "timezone = \"+07:00\"\nretries = 3",
        );
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let o = lienthong(&["adapter", "check", file.to_str().unwrap()], None);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("unknown field `retries`"), "{out}");
}
