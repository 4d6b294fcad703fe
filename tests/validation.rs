//! Domain validation through the schema registry: each custom format and cross-field rule with
//! valid and invalid records, and the shape of the errors (every error, pointer, stable code).

use lienthong::model::AgencyCodeRule;
use lienthong::validate::{FieldError, SchemaRegistry, ValidationOptions};
use serde_json::{Value, json};

fn registry() -> SchemaRegistry {
    SchemaRegistry::embedded(&ValidationOptions::default()).unwrap()
}

fn citizen() -> Value {
    json!({
        "personal_id": "042192004518",
        "full_name": "Nguyễn Thị Hồng Nhung",
        "birth_date": "1992-05-14",
        "sex": "female",
        "nationality": "VN"
    })
}

fn status() -> Value {
    json!({
        "dossier_code": "000.00.10.H42-250915-0001",
        "procedure_code": "1.001612",
        "receiving_agency": "000.00.10.H42",
        "status": "in_progress",
        "event_at": "2025-09-15T14:10:00+07:00",
        "received_at": "2025-09-15T08:42:10+07:00",
        "due_at": "2025-09-18T17:00:00+07:00",
        "channel": "online"
    })
}

fn errors(schema: &str, record: &Value) -> Vec<FieldError> {
    match registry().get(schema).unwrap().validate(record) {
        Ok(()) => Vec::new(),
        Err(r) => r.errors,
    }
}

fn codes(schema: &str, record: &Value) -> Vec<(String, String)> {
    errors(schema, record)
        .into_iter()
        .map(|e| (e.pointer, e.code))
        .collect()
}

fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = value;
    v
}

fn pair(p: &str, c: &str) -> (String, String) {
    (p.to_string(), c.to_string())
}

#[test]
fn a_consistent_citizen_is_valid() {
    assert_eq!(codes("citizen.v1", &citizen()), []);
}

#[test]
fn personal_id_format_refuses_bad_length_province_and_digits() {
    for (id, why) in [
        ("04219200451", "12 digits"),
        ("003192004518", "province code"),
        ("097192004518", "province code"),
        ("04219200451x", "12 digits"),
    ] {
        let errs = errors("citizen.v1", &with(citizen(), "/personal_id", json!(id)));
        let e = errs
            .iter()
            .find(|e| e.code == "format.vn-personal-id")
            .unwrap_or_else(|| panic!("{id}: {errs:?}"));
        assert_eq!(e.pointer, "/personal_id");
        assert!(
            e.message.contains(why) || e.message.contains("digit"),
            "{id}: {}",
            e.message
        );
    }
}

#[test]
fn personal_id_must_agree_with_sex_and_birth_year() {
    // "female, born 1985" by the ID, but the record says male.
    let rec = with(citizen(), "/sex", json!("male"));
    assert_eq!(
        codes("citizen.v1", &rec),
        [pair("/sex", "cross.id-sex-mismatch")]
    );
    // The ID says 1992; the record says 2001.
    let rec = with(citizen(), "/birth_date", json!("2001-05-14"));
    assert_eq!(
        codes("citizen.v1", &rec),
        [pair("/birth_date", "cross.id-birth-year-mismatch")]
    );
    // The century digit counts: 3 is female born 2000-2099.
    let rec = json!({"personal_id": "001303000001", "full_name": "Lê Na", "birth_date": "2003",
                     "sex": "female", "nationality": "VN"});
    assert_eq!(codes("citizen.v1", &rec), []);
    let rec = with(rec, "/birth_date", json!("1903"));
    assert_eq!(
        codes("citizen.v1", &rec),
        [pair("/birth_date", "cross.id-birth-year-mismatch")]
    );
}

#[test]
fn partial_dates_must_exist() {
    for ok in ["1992", "1992-05", "1992-05-14", "2000-02-29"] {
        let rec = with(citizen(), "/birth_date", json!(ok));
        let rec = if ok.starts_with("2000") {
            with(rec, "/personal_id", json!("042300004518"))
        } else {
            rec
        };
        assert_eq!(codes("citizen.v1", &rec), [], "{ok}");
    }
    for bad in ["1992-02-30", "1992-13", "1900-02-29", "14/05/1992"] {
        let rec = with(citizen(), "/birth_date", json!(bad));
        let got = codes("citizen.v1", &rec);
        assert!(
            got.iter().any(
                |(p, c)| p == "/birth_date" && c.starts_with("format.vn-partial-date")
                    || c == "schema.pattern"
            ),
            "{bad}: {got:?}"
        );
    }
}

#[test]
fn agency_codes_follow_the_configured_pattern() {
    let bad = with(status(), "/receiving_agency", json!("H42"));
    assert_eq!(
        codes("dossier-status.v1", &bad),
        [pair("/receiving_agency", "format.vn-agency-code")]
    );
    let custom = ValidationOptions {
        agency_code: AgencyCodeRule::new(r"^H[0-9]{2}$").unwrap(),
        ..ValidationOptions::default()
    };
    let reg = SchemaRegistry::embedded(&custom).unwrap();
    let schema = reg.get("dossier-status.v1").unwrap();
    assert!(schema.validate(&bad).is_ok());
    assert!(schema.validate(&status()).is_err());
}

#[test]
fn times_need_an_offset_and_order() {
    let rec = with(status(), "/event_at", json!("2025-09-15T14:10:00"));
    let got = codes("dossier-status.v1", &rec);
    assert!(got.iter().any(|(p, _)| p == "/event_at"), "{got:?}");
    let rec = with(status(), "/due_at", json!("2025-09-14T17:00:00+07:00"));
    assert_eq!(
        codes("dossier-status.v1", &rec),
        [pair("/due_at", "cross.time-order")]
    );
    // The same instant in another zone is fine.
    let rec = with(status(), "/received_at", json!("2025-09-15T01:42:10Z"));
    assert_eq!(codes("dossier-status.v1", &rec), []);
}

#[test]
fn every_error_is_reported_with_pointer_code_and_message() {
    let rec = json!({
        "personal_id": "123",
        "full_name": "",
        "birth_date": "1992-02-30",
        "sex": "x",
        "nationality": "vn",
        "nickname": "Nhung"
    });
    let errs = errors("citizen.v1", &rec);
    let pointers: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
    for p in [
        "/personal_id",
        "/full_name",
        "/birth_date",
        "/sex",
        "/nationality",
        "/nickname",
    ] {
        assert!(pointers.contains(&p), "{p} missing from {errs:#?}");
    }
    assert!(
        errs.iter()
            .all(|e| !e.message.is_empty() && e.code.contains('.'))
    );
    let missing = errors("citizen.v1", &json!({}));
    assert_eq!(
        missing
            .iter()
            .filter(|e| e.code == "schema.required")
            .count(),
        5,
        "{missing:#?}"
    );
    assert!(missing.iter().any(|e| e.pointer == "/personal_id"));
}

#[test]
fn errors_are_capped() {
    let options = ValidationOptions {
        max_errors: 2,
        ..ValidationOptions::default()
    };
    let reg = SchemaRegistry::embedded(&options).unwrap();
    let r = reg
        .get("citizen")
        .unwrap()
        .validate(&json!({}))
        .unwrap_err();
    assert_eq!(r.errors.len(), 2);
    assert!(r.truncated);
}

#[test]
fn dossier_applicant_id_is_checked_against_the_applicant_birth_date() {
    let dossier = &registry().get("dossier.v1").unwrap().document()["examples"][0].clone();
    assert_eq!(codes("dossier.v1", dossier), []);
    let bad = with(dossier.clone(), "/applicant/birth_date", json!("1995"));
    assert_eq!(
        codes("dossier.v1", &bad),
        [pair(
            "/applicant/birth_date",
            "cross.id-birth-year-mismatch"
        )]
    );
}

#[test]
fn decomposed_text_is_refused_in_canonical_records() {
    let nfd = with(
        citizen(),
        "/full_name",
        json!("Nguye\u{302}\u{303}n Thi\u{323} Hồng Nhung"),
    );
    assert_eq!(
        codes("citizen.v1", &nfd),
        [pair("/full_name", "text.not-nfc")]
    );
}

#[test]
fn version_2_addresses_need_codes_that_exist_and_agree() {
    let ok = json!({
        "personal_id": "042192004518", "full_name": "Nguyễn Thị Hồng Nhung",
        "birth_date": "1992-05-14", "sex": "female", "nationality": "VN",
        "permanent_address": {
            "street": "Số 12 đường Hà Huy Tập", "commune": "Phường Thành Sen",
            "commune_code": "18073", "province": "Tỉnh Hà Tĩnh", "province_code": "42",
            "legacy": {"commune": "Phường Bắc Hà", "commune_code": "18077",
                       "district": "Thành phố Hà Tĩnh", "district_code": "436",
                       "province": "Tỉnh Hà Tĩnh", "province_code": "42"}
        }
    });
    assert_eq!(codes("citizen.v2", &ok), []);
    // A code that does not exist in the 2025 list (02 was Hà Giang, merged into Tuyên Quang).
    let gone = with(ok.clone(), "/permanent_address/province_code", json!("02"));
    assert_eq!(
        codes("citizen.v2", &gone),
        [
            pair(
                "/permanent_address/province_code",
                "format.vn-province-code"
            ),
            pair("/permanent_address/commune_code", "cross.commune-province"),
        ]
    );
    // A commune of another province.
    let wrong = with(
        ok.clone(),
        "/permanent_address/commune_code",
        json!("00097"),
    );
    assert_eq!(
        codes("citizen.v2", &wrong),
        [pair(
            "/permanent_address/commune_code",
            "cross.commune-province"
        )]
    );
    // A legacy commune of another district.
    let wrong = with(
        ok.clone(),
        "/permanent_address/legacy/district_code",
        json!("437"),
    );
    assert_eq!(
        codes("citizen.v2", &wrong),
        [pair(
            "/permanent_address/legacy/commune_code",
            "cross.commune-district"
        )]
    );
    // The old three-tier form directly in the address is refused in v2 (it lives in `legacy`).
    let mut old = ok;
    old["permanent_address"]["district"] = json!("Thành phố Hà Tĩnh");
    assert_eq!(
        codes("citizen.v2", &old),
        [pair(
            "/permanent_address/district",
            "schema.additional-property"
        )]
    );
}
