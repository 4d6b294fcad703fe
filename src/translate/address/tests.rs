use super::*;
use serde_json::json;

fn units() -> &'static Units {
    crate::units::shared().expect("embedded data")
}

fn rule(ambiguous: AddressPolicy, unknown: AddressPolicy, outbound: AddressScheme) -> AddressRule {
    AddressRule {
        at: "/applicant/address".into(),
        tokens: vec!["applicant".into(), "address".into()],
        def: AddressDef {
            at: "/applicant/address".into(),
            ambiguous,
            unknown,
            free_text: true,
            outbound,
        },
    }
}

fn strict() -> AddressRule {
    rule(
        AddressPolicy::Error,
        AddressPolicy::Error,
        AddressScheme::Current,
    )
}

fn with(address: Value) -> Value {
    json!({ "applicant": { "address": address } })
}

#[test]
fn an_old_form_address_becomes_the_2025_form_with_the_old_one_kept() {
    let mut r = with(json!({
        "street": "Số 3 Hàng Bông",
        "commune": "P. Phúc Xá",
        "legacy": { "district": "Q. Ba Đình" },
        "province": "TP. Hà Nội",
    }));
    let note = inbound(units(), &strict(), &mut r).unwrap().unwrap();
    assert_eq!(note.code, "address.converted");
    assert!(note.message.contains("Phường Hồng Hà"), "{note}");
    let a = &r["applicant"]["address"];
    assert_eq!(a["commune"], "Phường Hồng Hà");
    assert_eq!(a["commune_code"], "00097");
    assert_eq!(a["province_code"], "01");
    assert_eq!(a["street"], "Số 3 Hàng Bông");
    assert_eq!(a["legacy"]["commune"], "Phường Phúc Xá");
    assert_eq!(a["legacy"]["district"], "Quận Ba Đình");
    assert_eq!(a["legacy"]["commune_code"], "00001");
    // By codes alone, the same.
    let mut c = with(json!({
        "commune": "", "commune_code": "00001",
        "legacy": { "district_code": "001" }, "province_code": "01",
    }));
    assert!(inbound(units(), &strict(), &mut c).is_ok());
    assert_eq!(c["applicant"]["address"]["commune_code"], "00097");
}

#[test]
fn a_2025_address_is_written_with_official_names_and_codes() {
    let mut r = with(json!({"commune": "thành sen", "province": "Hà Tĩnh"}));
    assert_eq!(inbound(units(), &strict(), &mut r), Ok(None));
    let a = &r["applicant"]["address"];
    assert_eq!(a["commune"], "Phường Thành Sen");
    assert_eq!(a["province"], "Tỉnh Hà Tĩnh");
    assert_eq!(a["province_code"], "42");
    assert!(a.get("legacy").is_none());
}

#[test]
fn free_text_in_the_street_field_is_resolved_and_the_street_kept() {
    let mut r = with(json!({
        "street": "Số 3 Hàng Bông, Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"
    }));
    let note = inbound(units(), &strict(), &mut r).unwrap().unwrap();
    assert_eq!(note.code, "address.converted");
    let a = &r["applicant"]["address"];
    assert_eq!(a["street"], "Số 3 Hàng Bông");
    assert_eq!(a["commune_code"], "00097");
    assert_eq!(a["legacy"]["district"], "Quận Ba Đình");
}

#[test]
fn a_street_named_like_a_ward_is_not_taken_for_the_ward() {
    // "Trần Phú" is a street here and a ward of Hà Tĩnh too; the ward is Thành Sen.
    let mut r = with(json!({"street": "Số 12, Trần Phú, Phường Thành Sen, Hà Tĩnh"}));
    assert_eq!(inbound(units(), &strict(), &mut r), Ok(None));
    let a = &r["applicant"]["address"];
    assert_eq!(a["commune"], "Phường Thành Sen", "{a}");
    assert_eq!(a["street"], "Số 12, Trần Phú", "{a}");
}

#[test]
fn a_split_commune_is_refused_warned_or_defaulted_as_the_adapter_says() {
    let split = || {
        with(json!({
            "commune": "Phường Cống Vị", "legacy": {"district": "Quận Ba Đình"}, "province": "Hà Nội"
        }))
    };
    let e = inbound(units(), &strict(), &mut split()).unwrap_err();
    assert_eq!(e.code, "address.ambiguous");
    assert_eq!(e.pointer, "/applicant/address");
    assert!(
        e.message.contains("00008") && e.message.contains("00025"),
        "{e}"
    );

    let mut r = split();
    let first = rule(
        AddressPolicy::First,
        AddressPolicy::Error,
        AddressScheme::Current,
    );
    let w = inbound(units(), &first, &mut r).unwrap().unwrap();
    assert_eq!(w.code, "address.default-successor");
    assert_eq!(r["applicant"]["address"]["commune_code"], "00008");
    assert_eq!(r["applicant"]["address"]["legacy"]["commune_code"], "00007");

    let mut r = split();
    let warn = rule(
        AddressPolicy::Warn,
        AddressPolicy::Error,
        AddressScheme::Current,
    );
    let w = inbound(units(), &warn, &mut r).unwrap().unwrap();
    assert_eq!(w.code, "address.ambiguous");
    let a = &r["applicant"]["address"];
    assert_eq!(a["commune"], "Phường Cống Vị");
    assert_eq!(a["province_code"], "01");
    assert!(a.get("commune_code").is_none(), "{a}");
}

#[test]
fn an_unknown_unit_is_refused_with_suggestions_or_kept_as_written() {
    let typo = || with(json!({"commune": "Phường Phúc Xa Xa", "province": "Hà Nội"}));
    let e = inbound(units(), &strict(), &mut typo()).unwrap_err();
    assert_eq!(e.code, "address.unknown");
    let warn = rule(
        AddressPolicy::Error,
        AddressPolicy::Warn,
        AddressScheme::Current,
    );
    let mut r = typo();
    let w = inbound(units(), &warn, &mut r).unwrap().unwrap();
    assert_eq!(w.code, "address.unknown");
    assert_eq!(r["applicant"]["address"]["commune"], "Phường Phúc Xa Xa");
}

#[test]
fn a_code_that_names_another_unit_than_the_names_is_refused() {
    // 18142 is Xã Sơn Tiến (Huyện Hương Sơn); the names say Phường Bắc Hồng (18115).
    let mut r = with(json!({
        "commune": "Phường Bắc Hồng", "commune_code": "18142",
        "legacy": {"district": "Thị xã Hồng Lĩnh", "district_code": "437"},
        "province": "Tỉnh Hà Tĩnh", "province_code": "42",
    }));
    let e = inbound(units(), &strict(), &mut r).unwrap_err();
    assert_eq!(e.code, "address.code-name-mismatch");
    assert!(
        e.message.contains("Sơn Tiến") && e.message.contains("Bắc Hồng"),
        "{e}"
    );
}

#[test]
fn no_address_is_left_alone() {
    let mut r = json!({"applicant": {"full_name": "A"}});
    assert_eq!(inbound(units(), &strict(), &mut r), Ok(None));
    assert_eq!(r, json!({"applicant": {"full_name": "A"}}));
}

#[test]
fn outbound_to_a_2025_system_leaves_the_old_form_out() {
    let mut r = with(json!({
        "commune": "Phường Hồng Hà", "commune_code": "00097",
        "province": "Thành phố Hà Nội", "province_code": "01",
        "legacy": {"commune": "Phường Phúc Xá", "commune_code": "00001"},
    }));
    outbound(units(), &strict(), &mut r).unwrap();
    assert!(r["applicant"]["address"].get("legacy").is_none());
}

#[test]
fn outbound_to_an_old_scheme_system_uses_the_kept_form_or_a_unique_predecessor() {
    let old = rule(
        AddressPolicy::Error,
        AddressPolicy::Error,
        AddressScheme::Legacy,
    );
    let u = units();
    // From the kept form.
    let mut r = with(json!({
        "street": "Số 3",
        "commune": "Phường Hồng Hà", "commune_code": "00097",
        "province": "Thành phố Hà Nội", "province_code": "01",
        "legacy": {"commune_code": "00001"},
    }));
    outbound(u, &old, &mut r).unwrap();
    let a = &r["applicant"]["address"];
    assert_eq!(a["commune"], "Phường Phúc Xá");
    assert_eq!(a["commune_code"], "00001");
    assert_eq!(a["legacy"]["district"], "Quận Ba Đình");
    assert_eq!(a["street"], "Số 3");
    // No kept form: a 2025 commune made of several old ones cannot be written the old way.
    let mut r = with(json!({
        "commune": "Phường Hồng Hà", "commune_code": "00097",
        "province": "Thành phố Hà Nội", "province_code": "01",
    }));
    let e = outbound(u, &old, &mut r).unwrap_err();
    assert_eq!(e.code, "address.no-legacy-form");
    // One made of exactly one old commune can.
    let single = u
        .communes
        .iter()
        .find(|c| u.predecessors(&c.code).len() == 1)
        .expect("a 2025 commune with one predecessor");
    let mut r = with(json!({
        "commune": single.full_name(), "commune_code": single.code,
        "province_code": single.parent, "province": "x",
    }));
    outbound(u, &old, &mut r).unwrap();
    let before = u.predecessors(&single.code)[0];
    assert_eq!(
        r["applicant"]["address"]["commune_code"],
        before.code.as_str()
    );
}

#[test]
fn canonical_to_the_old_scheme_and_back_keeps_the_unit() {
    let u = units();
    let old = rule(
        AddressPolicy::Error,
        AddressPolicy::Error,
        AddressScheme::Legacy,
    );
    let mut kept = 0;
    // Every old commune with one successor, as a converted canonical address.
    for c in u.legacy_communes.iter().step_by(7) {
        let [succ] = u.successors(&c.code) else {
            continue;
        };
        let new = u.commune(succ).expect("successor exists");
        let canonical = with(json!({
            "commune": new.full_name(), "commune_code": new.code,
            "province_code": new.parent, "province": u.province(&new.parent).unwrap().full_name(),
            "legacy": legacy_object(&u.legacy_form(&c.code).unwrap()),
        }));
        let mut out = canonical.clone();
        outbound(u, &old, &mut out).unwrap();
        // What an old-scheme system holds: old names and codes, the district beside them.
        let a = &out["applicant"]["address"];
        assert_eq!(a["commune_code"], c.code.as_str());
        let mut back = out.clone();
        assert_eq!(inbound(u, &strict(), &mut back), Ok(None), "{a}");
        assert_eq!(back, canonical, "{}", c.code);
        kept += 1;
    }
    assert!(kept > 1000, "{kept}");
}

#[test]
fn free_text_naming_a_ward_outside_its_district_is_refused_not_taken_for_another() {
    // Hông Gai is not a ward of Hạ Long (Hồng Gai is); Phường Hạ Long (06688) is another ward.
    for text in [
        "Số 1, Phường Hông Gai, Thành phố Hạ Long, Tỉnh Quảng Ninh",
        "Phường Không Có, Thành phố Hạ Long, Tỉnh Quảng Ninh",
    ] {
        let nfd: String = unicode_normalization::UnicodeNormalization::nfd(text).collect();
        for t in [text.to_string(), nfd] {
            let mut r = with(json!({ "street": t }));
            let e = inbound(units(), &strict(), &mut r).unwrap_err();
            assert_eq!(e.code, "address.unknown", "{t}: {e}");
            let warn = rule(
                AddressPolicy::Error,
                AddressPolicy::Warn,
                AddressScheme::Current,
            );
            let mut r = with(json!({ "street": t }));
            let w = inbound(units(), &warn, &mut r).unwrap().unwrap();
            assert_eq!(w.code, "address.unknown", "{t}");
            assert!(r["applicant"]["address"].get("commune_code").is_none());
        }
    }
}

#[test]
fn a_decomposed_old_form_address_converts_as_the_composed_one() {
    let nfd = |s: &str| -> String { unicode_normalization::UnicodeNormalization::nfd(s).collect() };
    let mut a = with(json!({
        "commune": "Xã Cẩm Thạch", "legacy": {"district": "Huyện Cẩm Xuyên"}, "province": "Tỉnh Hà Tĩnh"
    }));
    let mut b = with(json!({
        "commune": nfd("Xã Cẩm Thạch"), "legacy": {"district": nfd("Huyện Cẩm Xuyên")},
        "province": nfd("Tỉnh Hà Tĩnh")
    }));
    let na = inbound(units(), &strict(), &mut a).unwrap().unwrap();
    let nb = inbound(units(), &strict(), &mut b).unwrap().unwrap();
    assert_eq!(na.code, "address.converted");
    assert_eq!(nb.code, "address.converted");
    assert_eq!(
        a["applicant"]["address"]["commune_code"],
        b["applicant"]["address"]["commune_code"]
    );
}
