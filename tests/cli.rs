//! The command line as a user runs it: outputs and exit codes (0 success, 1 rejected input,
//! 2 usage or I/O error).

mod common;

use common::child::run;
use common::repo_path;

#[test]
fn schemas_list_names_every_schema() {
    let o = run(&["schemas", "list", "--format", "json"], b"");
    assert_eq!(o.code, 0);
    let list: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
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
    let o = run(&["validate", "--schema", "citizen.v1", golden], b"");
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.contains("valid (citizen.v1)"));

    let bad = br#"{"personal_id": "042192004518", "full_name": "A", "birth_date": "2001",
                   "sex": "female", "nationality": "VN"}"#;
    let o = run(
        &["validate", "--schema", "citizen", "-", "--format", "json"],
        bad,
    );
    assert_eq!(o.code, 1);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["code"], "cross.id-birth-year-mismatch");
    assert_eq!(report["errors"][0]["pointer"], "/birth_date");

    let o = run(&["validate", "--schema", "citizen", "-"], b"{not json");
    assert_eq!(o.code, 1, "a record that is not JSON is rejected input");

    let o = run(&["validate", "--schema", "nope", golden], b"");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unknown schema") && o.stderr.contains("citizen.v1"));

    let o = run(&["validate", "--schema", "citizen", "/no/such/file"], b"");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("/no/such/file"));

    let o = run(&["validate"], b"");
    assert_eq!(o.code, 2, "usage error");
}

#[test]
fn translate_inbound_prints_canonical_json_and_outbound_the_external_form() {
    let o = run(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier-status",
            "--in",
            "adapters/samples/motcua-hatinh/status-in-progress.xml",
        ],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let canonical: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(canonical["status"], "in_progress");

    let o = run(
        &[
            "translate",
            "--adapter",
            "adapters/national-portal.toml",
            "--record",
            "dossier-status",
            "--direction",
            "outbound",
        ],
        o.stdout.as_bytes(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let portal: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(portal["data"][0]["TrangThaiHoSo"], "4");
}

#[test]
fn translate_exits_1_on_a_rejected_document_and_2_on_usage() {
    let o = run(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier",
            "--format",
            "json",
        ],
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>",
    );
    assert_eq!(o.code, 1);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["errors"][0]["code"], "xml.doctype");

    let o = run(
        &[
            "translate",
            "--adapter",
            "adapters/motcua-hatinh.toml",
            "--record",
            "dossier",
            "--direction",
            "sideways",
        ],
        b"",
    );
    assert_eq!(o.code, 2);
    let o = run(
        &[
            "translate",
            "--adapter",
            "no-such.toml",
            "--record",
            "dossier",
        ],
        b"",
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no-such.toml"));
}

#[test]
fn adapter_check_passes_the_shipped_adapters_with_a_line_per_sample() {
    let o = run(
        &[
            "adapter",
            "check",
            "adapters/motcua-hatinh.toml",
            "adapters/population-registry.toml",
            "adapters/national-portal.toml",
        ],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let out = o.stdout;
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with("ok"))
            .count(),
        13,
        "{out}"
    );
    assert!(
        out.contains("3 adapter(s) checked, 3 passed, 0 failed, 0 warning(s)"),
        "{out}"
    );
}

/// What CI runs (`scripts/test`): every field of the shipped samples is mapped, and every
/// mapped place is in a sample.
#[test]
fn adapter_check_strict_passes_the_shipped_adapters() {
    let mut args = vec!["adapter", "check", "--strict"];
    let files = shipped_adapter_files();
    args.extend(files.iter().map(String::as_str));
    let o = run(&args, b"");
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.contains("0 failed, 0 warning(s)"), "{}", o.stdout);
    assert!(!o.stdout.contains("  warning"), "{}", o.stdout);
}

fn shipped_adapter_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_path("adapters"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    files
}

#[test]
fn adapter_check_warns_about_a_misspelt_place_and_strict_makes_it_fail() {
    let file = common::MISSPELT_ADAPTER;

    // Without --strict: the sample passes, with the two warnings, and the exit code is 0.
    let o = run(&["adapter", "check", file], b"");
    assert_eq!(o.code, 0, "{}", o.stdout);
    let out = o.stdout;
    let warnings: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("warning"))
        .collect();
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(
        warnings[0].contains("nop-ho-so dossier /nguoiNop/soCCCD: in samples/ho-so.json")
            && warnings[0].ends_with("[sample.unmapped]"),
        "{out}"
    );
    assert!(
        warnings[1].contains("nop-ho-so dossier /nguoiNop/soCCD: mapped to /applicant/personal_id")
            && warnings[1].contains("samples/ho-so.json")
            && warnings[1].ends_with("[mapping.not-in-samples]"),
        "{out}"
    );
    assert!(out.contains("1 passed, 0 failed, 2 warning(s)"), "{out}");

    // --strict: the warnings fail the check.
    let o = run(&["adapter", "check", "--strict", file], b"");
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout
            .contains("0 passed, 1 failed, 2 warning(s) (--strict"),
        "{}",
        o.stdout
    );

    // And for a machine.
    let o = run(
        &["adapter", "check", "--strict", "--format", "json", file],
        b"",
    );
    assert_eq!(o.code, 1);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report[0]["strict"], true);
    let warnings = report[0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{report}");
    assert_eq!(warnings[0]["code"], "sample.unmapped");
    assert_eq!(warnings[0]["adapter"], "nop-ho-so");
    assert_eq!(warnings[0]["record_type"], "dossier");
    assert_eq!(
        warnings[0]["samples"],
        serde_json::json!(["samples/ho-so.json"])
    );
    assert_eq!(warnings[0]["path"], "/nguoiNop/soCCCD");
    assert_eq!(warnings[1]["code"], "mapping.not-in-samples");
    assert_eq!(warnings[1]["path"], "/nguoiNop/soCCD");
    assert_eq!(warnings[1]["canonical"], "/applicant/personal_id");

    // Fixed, it passes under --strict.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("samples")).unwrap();
    std::fs::copy(
        repo_path("tests/adapters/samples/ho-so.json"),
        dir.path().join("samples/ho-so.json"),
    )
    .unwrap();
    let fixed = dir.path().join("nop.toml");
    let text = std::fs::read_to_string(repo_path(file)).unwrap();
    std::fs::write(&fixed, text.replace("soCCD\"", "soCCCD\"")).unwrap();
    let o = run(
        &["adapter", "check", "--strict", fixed.to_str().unwrap()],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// The same for XML: element and attribute paths as the adapter writes them, the SOAP
/// envelope and namespace declarations not counted, repeated items once.
#[test]
fn adapter_check_names_xml_places_no_mapping_reads_by_element_and_attribute_path() {
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("samples/motcua-hatinh");
    std::fs::create_dir_all(&samples).unwrap();
    // The samples without their golden files: nothing else would notice the ID missing.
    for e in std::fs::read_dir(repo_path("adapters/samples/motcua-hatinh")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|e| e == "xml") {
            std::fs::copy(&path, samples.join(path.file_name().unwrap())).unwrap();
        }
    }
    let shipped = std::fs::read_to_string(repo_path("adapters/motcua-hatinh.toml")).unwrap();
    let without_version =
        "[[records.dossier.fields]]\nexternal = \"@phienBan\"\nconstant = \"1\"\n";
    assert!(shipped.contains(without_version));
    let text = shipped
        .replace(without_version, "")
        .replace(
            "\"hs:ChuHoSo/hs:SoDinhDanh\"",
            "\"hs:ChuHoSo/hs:SoDinhDan\"",
        )
        .replace(
            "external = \"hs:KichThuoc\"\ntype = \"integer\"\n",
            "external = \"hs:KichThuoc\"\ntype = \"integer\"\n\n\
             [[records.dossier.fields.fields]]\ncanonical = \"/origin\"\nexternal = \"@nguon\"\n",
        );
    let file = dir.path().join("motcua.toml");
    std::fs::write(&file, text).unwrap();
    let o = run(
        &[
            "adapter",
            "check",
            "--format",
            "json",
            file.to_str().unwrap(),
        ],
        b"",
    );
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let warnings: Vec<(String, String, usize)> = report[0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["code"].as_str().unwrap().to_string(),
                w["path"].as_str().unwrap().to_string(),
                w["samples"].as_array().unwrap().len(),
            )
        })
        .collect();
    let expected = [
        ("sample.unmapped", "@phienBan", 2),
        ("sample.unmapped", "hs:ChuHoSo/hs:SoDinhDanh", 2),
        ("mapping.not-in-samples", "hs:ChuHoSo/hs:SoDinhDan", 3),
        (
            "mapping.not-in-samples",
            "hs:DanhSachGiayTo/hs:GiayTo/@nguon",
            3,
        ),
    ];
    let expected: Vec<(String, String, usize)> = expected
        .iter()
        .map(|(c, p, n)| (c.to_string(), p.to_string(), *n))
        .collect();
    assert_eq!(warnings, expected, "{report}");
    assert_eq!(o.code, 0, "warnings alone do not fail: {report}");
}

#[test]
fn adapter_check_names_an_unknown_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_path("adapters/population-registry.toml"))
        .unwrap()
        .replace(
            "timezone = \"+07:00\"",
            "timezone = \"+07:00\"\nretries = 3",
        );
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let o = run(&["adapter", "check", file.to_str().unwrap()], b"");
    assert_eq!(o.code, 1);
    let out = o.stdout;
    assert!(out.contains("unknown field `retries`"), "{out}");
}

#[test]
fn store_copy_names_a_half_given_client_certificate_by_its_options() {
    // Refused before any connection (nothing listens at the URL's port 1), naming the options
    // as given here and the config keys they stand for.
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy");
    let to = to.to_str().unwrap();
    let url = "postgresql://lienthong@127.0.0.1:1/lienthong";
    let cases: [(&[&str], &str); 2] = [
        (
            &["--ca-file", "ca.pem", "--cert-file", "hub.pem"],
            "--cert-file (store.cert_file) is given without --key-file (store.key_file)",
        ),
        (
            &["--cert-file", "hub.pem", "--key-file", "hub.key"],
            "--cert-file (store.cert_file) is given without --ca-file (store.ca_file)",
        ),
    ];
    for (files, said) in cases {
        let mut args = vec!["store", "copy", "--from", url, "--to", to];
        args.extend_from_slice(files);
        let o = run(&args, b"");
        assert_eq!(o.code, 2, "{files:?}: {}", o.stderr);
        assert!(o.stderr.contains(said), "{files:?}: {}", o.stderr);
    }
    assert!(!std::path::Path::new(to).exists(), "nothing copied into");
}
