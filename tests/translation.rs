//! The shipped adapters on their samples: golden files, NFD input, and field errors that name
//! both the canonical pointer and the external place.

use lienthong::check::golden_path;
use lienthong::translate::{Adapter, TranslateError};
use lienthong::validate::translated::translate_validate;
use lienthong::validate::{SchemaRegistry, ValidationOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn registry() -> SchemaRegistry {
    SchemaRegistry::embedded(&ValidationOptions::default()).unwrap()
}

fn load(name: &str) -> Adapter {
    Adapter::load(&root().join(format!("adapters/{name}.toml")), &registry()).unwrap()
}

#[test]
fn every_shipped_sample_matches_its_golden_file() {
    let reg = registry();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("adapters")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let adapter = Adapter::load(&path, &reg).unwrap();
        for (record_type, rdef) in &adapter.definition().records {
            assert!(
                !rdef.samples.is_empty(),
                "{}: {record_type} has no sample",
                adapter.name()
            );
            for sample in &rdef.samples {
                let file = path.parent().unwrap().join(sample);
                let bytes = std::fs::read(&file).unwrap();
                let record = translate_validate(&adapter, &reg, record_type, &bytes)
                    .unwrap_or_else(|e| panic!("{}: {e:#?}", file.display()));
                let golden: Value = serde_json::from_str(
                    &std::fs::read_to_string(golden_path(&file))
                        .unwrap_or_else(|e| panic!("{}: no golden file: {e}", file.display())),
                )
                .unwrap();
                assert_eq!(record, golden, "{}", file.display());
                // The translator's records are validated without searching their text for
                // decomposed characters: the same document sent in NFD must give the same
                // record, and the record must pass the full validation, NFC rule included.
                let nfd: String = String::from_utf8(bytes).unwrap().nfd().collect();
                let from_nfd = translate_validate(&adapter, &reg, record_type, nfd.as_bytes())
                    .unwrap_or_else(|e| panic!("{} in NFD: {e:#?}", file.display()));
                assert_eq!(from_nfd, golden, "{} in NFD", file.display());
                let schema = reg.get(adapter.schema_of(record_type).unwrap()).unwrap();
                assert_eq!(schema.validate(&record), Ok(()), "{}", file.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} samples");
}

#[test]
fn decomposed_input_comes_out_composed() {
    let bytes =
        std::fs::read(root().join("adapters/samples/motcua-hatinh/dossier-business.xml")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("Cn\u{302}g") || text.contains("Co\u{302}ng"),
        "the sample is NFD"
    );
    let record =
        translate_validate(&load("motcua-hatinh"), &registry(), "dossier", &bytes).unwrap();
    assert_eq!(
        record["applicant"]["full_name"],
        "Công ty TNHH Xây dựng Hồng Lĩnh"
    );
}

#[test]
fn field_errors_name_the_canonical_pointer_and_the_external_place() {
    let adapter = load("motcua-hatinh");
    let doc = std::fs::read_to_string(root().join("adapters/samples/motcua-hatinh/dossier.xml"))
        .unwrap()
        .replace("15/09/2025 08:42:10", "31/09/2025 08:42:10")
        .replace(
            "<hs:TrangThai>MOI</hs:TrangThai>",
            "<hs:TrangThai>XYZ</hs:TrangThai>",
        )
        .replace(
            "<hs:MaHoSo>000.00.10.H42-250915-0001</hs:MaHoSo>",
            "<hs:MaHoSo>  </hs:MaHoSo>",
        );
    let Err(TranslateError::Fields(errors)) = adapter.inbound("dossier", doc.as_bytes()) else {
        panic!("expected field errors")
    };
    let find = |code: &str| {
        errors
            .iter()
            .find(|e| e.code == code)
            .unwrap_or_else(|| panic!("{code} not in {errors:#?}"))
    };
    let required = find("translate.required");
    assert_eq!(required.pointer, "/dossier_code");
    assert_eq!(required.source.as_deref(), Some("hs:MaHoSo"));
    let date = find("translate.datetime");
    assert_eq!(date.pointer, "/received_at");
    assert!(date.message.contains("31/09/2025"), "{}", date.message);
    let code = find("translate.code");
    assert_eq!(code.pointer, "/status");
    assert!(
        code.message.contains("XYZ") && code.message.contains("MOI"),
        "{}",
        code.message
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn translation_then_validation_reports_schema_errors_too() {
    let adapter = load("population-registry");
    let doc =
        std::fs::read_to_string(root().join("adapters/samples/population-registry/citizen.json"))
            .unwrap()
            .replace("\"gioiTinh\": \"2\"", "\"gioiTinh\": \"1\"");
    let errors = translate_validate(&adapter, &registry(), "citizen", doc.as_bytes()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].code, "cross.id-sex-mismatch");
    assert_eq!(errors[0].pointer, "/sex");
}

#[test]
fn outbound_writes_the_destination_format() {
    let canonical: Value = serde_json::from_str(
        &std::fs::read_to_string(golden_path(Path::new(
            &root().join("adapters/samples/motcua-hatinh/status-returned.xml"),
        )))
        .unwrap(),
    )
    .unwrap();
    let portal = load("national-portal");
    let out = portal.outbound("dossier-status", &canonical).unwrap();
    let body: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(body["service"], "DongBoHoSoMC");
    assert_eq!(body["isUpdating"], "True");
    assert_eq!(body["data"][0]["TrangThaiHoSo"], "10");
    assert_eq!(body["data"][0]["ThoiDiemXuLy"], "20250918091500");
    assert_eq!(body["data"][0]["DanhSachGiayToKetQua"][0]["NguonGoc"], "2");
    // And the province's own SOAP form of the same record.
    let motcua = load("motcua-hatinh");
    let xml = String::from_utf8(motcua.outbound("dossier-status", &canonical).unwrap()).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<hs:TrangThai>DATRA</hs:TrangThai>"), "{xml}");
    assert!(
        xml.contains("http://schemas.xmlsoap.org/soap/envelope/"),
        "{xml}"
    );
}

#[test]
fn an_unknown_record_type_is_named_with_the_known_ones() {
    let err = load("population-registry")
        .inbound("dossier", b"{}")
        .unwrap_err();
    assert!(
        err.to_string().contains("has no record type") && err.to_string().contains("citizen"),
        "{err}"
    );
}

/// The `address` transform through a real document: a one-stop system that still speaks the
/// old scheme gets the old ward, district and province, and what it sends back is the same
/// 2025 unit with the same old form kept.
#[test]
fn an_old_scheme_system_round_trips_a_converted_address_through_xml() {
    let path = root().join("adapters/motcua-hatinh.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("outbound = \"2025\""));
    let old_scheme = text.replace("outbound = \"2025\"", "outbound = \"legacy\"");
    let adapter = Adapter::from_toml("old-scheme.toml", &old_scheme, &registry()).unwrap();
    let sample = root().join("adapters/samples/motcua-hatinh/dossier-legacy-address.xml");
    let canonical = translate_validate(
        &adapter,
        &registry(),
        "dossier",
        &std::fs::read(&sample).unwrap(),
    )
    .unwrap();
    let address = &canonical["applicant"]["address"];
    assert_eq!(address["commune"], "Phường Thành Sen");
    assert_eq!(address["legacy"]["commune"], "Phường Bắc Hà");
    let xml = String::from_utf8(adapter.outbound("dossier", &canonical).unwrap()).unwrap();
    assert!(xml.contains(">Phường Bắc Hà</"), "{xml}");
    assert!(xml.contains("ma=\"436\">Thành phố Hà Tĩnh</"), "{xml}");
    assert!(!xml.contains("Thành Sen"), "{xml}");
    let back = translate_validate(&adapter, &registry(), "dossier", xml.as_bytes()).unwrap();
    assert_eq!(back, canonical);
    // The 2025-scheme adapter as shipped writes the 2025 unit and leaves the old form out.
    let shipped = load("motcua-hatinh");
    let xml = String::from_utf8(shipped.outbound("dossier", &canonical).unwrap()).unwrap();
    assert!(
        xml.contains("ma=\"18073\">Phường Thành Sen</") && !xml.contains("Bắc Hà"),
        "{xml}"
    );
}

/// An old ward split among several 2025 wards, pushed by the shipped one-stop adapter
/// (`ambiguous = "warn"`): accepted as written, with a warning that names the candidates.
#[test]
fn a_split_ward_is_accepted_with_a_warning_naming_the_candidates() {
    let adapter = load("motcua-hatinh");
    let sample = root().join("adapters/samples/motcua-hatinh/dossier-legacy-address.xml");
    let xml = std::fs::read_to_string(&sample)
        .unwrap()
        .replace(
            "<hs:PhuongXa ma=\"18077\">P. Bắc Hà</hs:PhuongXa>",
            "<hs:PhuongXa>Phường Cống Vị</hs:PhuongXa>",
        )
        .replace(
            "<hs:QuanHuyen ma=\"436\">TP. Hà Tĩnh</hs:QuanHuyen>",
            "<hs:QuanHuyen>Quận Ba Đình</hs:QuanHuyen>",
        )
        .replace(
            "<hs:TinhThanh ma=\"42\">Tỉnh Hà Tĩnh</hs:TinhThanh>",
            "<hs:TinhThanh>Hà Nội</hs:TinhThanh>",
        );
    let (record, warnings) = lienthong::validate::translated::translate_validate_with_warnings(
        &adapter,
        &registry(),
        "dossier",
        xml.as_bytes(),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].code, "address.ambiguous");
    assert!(warnings[0].message.contains("00008") && warnings[0].message.contains("00025"));
    assert_eq!(
        record["applicant"]["address"]["legacy"]["commune_code"],
        "00007"
    );
    // Not in either list: refused, with the nearest names.
    let typo = xml.replace("Phường Cống Vị", "Phường Cống Vịt Vịt");
    let errors = translate_validate(&adapter, &registry(), "dossier", typo.as_bytes()).unwrap_err();
    assert_eq!(errors[0].code, "address.unknown", "{errors:?}");
}

#[test]
fn text_from_the_adapter_file_and_changes_of_case_come_out_composed() {
    // An adapter file saved in NFD: its code table values, constants and defaults are written
    // into records in NFC, and so is a change of case of decomposed input.
    let toml = r#"
name = "nfd-file"
member = "000.00.00.G12"
format = "json"
transport = "http"
endpoint = "http://127.0.0.1:1/x"
timezone = "+07:00"
provides = ["citizen"]
consumes = []

[code_tables.sex]
1 = "male"
2 = "female"

[code_tables.ethnicity]
01 = "Kinh"
02 = "Mu\u031Bo\u031B\u0300ng"

[records.citizen]
schema = "citizen.v1"
root = ""

[[records.citizen.fields]]
canonical = "/personal_id"
external = "/id"

[[records.citizen.fields]]
canonical = "/full_name"
external = "/name"
case = "title"

[[records.citizen.fields]]
canonical = "/birth_date"
external = "/year"
date = ["yyyy"]

[[records.citizen.fields]]
canonical = "/sex"
external = "/sex"
code_table = "sex"

[[records.citizen.fields]]
canonical = "/ethnicity"
external = "/eth"
code_table = "ethnicity"

[[records.citizen.fields]]
canonical = "/religion"
constant = "Kho\u0302ng"

[[records.citizen.fields]]
canonical = "/nationality"
external = "/nat"
default = "VN"

[[records.citizen.fields]]
canonical = "/hometown"
external = "/home"
default = "Ha\u0300 Ti\u0303nh"
"#;
    let reg = registry();
    let adapter = Adapter::from_toml("nfd-file.toml", toml, &reg).unwrap();
    let doc = serde_json::json!({
        "id": "042192004518",
        "name": "nguye\u{302}\u{303}n thi\u{323} ho\u{302}\u{300}ng nhung",
        "year": "1992",
        "sex": "2",
        "eth": "02",
    });
    let record = translate_validate(&adapter, &reg, "citizen", doc.to_string().as_bytes()).unwrap();
    assert_eq!(record["full_name"], "Nguyễn Thị Hồng Nhung");
    assert_eq!(record["ethnicity"], "Mường");
    assert_eq!(record["religion"], "Không");
    assert_eq!(record["hometown"], "Hà Tĩnh");
    let schema = reg.get("citizen.v1").unwrap();
    assert_eq!(schema.validate(&record), Ok(()));
}
