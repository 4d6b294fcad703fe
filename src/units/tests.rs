use super::*;
use std::sync::OnceLock;

fn units() -> &'static Units {
    static U: OnceLock<Units> = OnceLock::new();
    U.get_or_init(|| Units::embedded().unwrap())
}

#[test]
fn the_counts_are_those_of_the_reform() {
    let u = units();
    assert_eq!(u.provinces.len(), 34);
    assert_eq!(u.communes.len(), 3_321);
    assert_eq!(u.legacy_provinces.len(), 63);
    assert!((9_900..=10_700).contains(&u.legacy_communes.len()));
    for c in &u.legacy_communes {
        assert!(
            !u.successors(&c.code).is_empty(),
            "{} has no successor",
            c.code
        );
        for s in u.successors(&c.code) {
            assert!(
                u.commune(s).is_some(),
                "{} → {s}: not a 2025 commune",
                c.code
            );
        }
    }
    assert_eq!(u.source.package, "vietnamadminunits");
    assert_eq!(u.source.licence, "MIT");
}

#[test]
fn the_legacy_province_codes_are_those_personal_ids_use() {
    let mut codes: Vec<u8> = units()
        .legacy_provinces
        .iter()
        .map(|p| p.code.parse().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, crate::model::LEGACY_PROVINCE_CODES);
}

fn converted_to(r: &Resolution) -> (&str, &str) {
    match r {
        Resolution::Converted {
            commune_code,
            legacy,
            ..
        } => (commune_code.as_str(), legacy.commune_code.as_str()),
        other => panic!("expected converted, got {other:?}"),
    }
}

#[test]
fn an_old_three_tier_address_converts_to_its_2025_commune() {
    let u = units();
    let r = u.resolve_text("Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội");
    assert_eq!(converted_to(&r), ("00097", "00001"));
    if let Resolution::Converted {
        commune,
        province,
        legacy,
        ..
    } = &r
    {
        assert_eq!(commune, "Phường Hồng Hà");
        assert_eq!(province, "Thành phố Hà Nội");
        assert_eq!(legacy.district, "Quận Ba Đình");
    }
    // Structured, abbreviated, decomposed, upper case: the same.
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd("P. Phúc Xá").collect();
    let r2 = u.resolve("TP. HÀ NỘI", Some("Q. Ba Đình"), &nfd);
    assert_eq!(converted_to(&r2), ("00097", "00001"));
}

#[test]
fn a_2025_address_is_current() {
    let u = units();
    let r = u.resolve_text("Số 25 ngõ 68 Cầu Giấy, Phường Cầu Giấy, Thành phố Hà Nội");
    assert_eq!(r.status(), "current", "{r:?}");
    let r = u.resolve("42", None, "Thành Sen");
    match r {
        Resolution::Current {
            commune, province, ..
        } => {
            assert_eq!(commune, "Phường Thành Sen");
            assert_eq!(province, "Tỉnh Hà Tĩnh");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_split_commune_is_ambiguous_with_every_candidate() {
    let u = units();
    let r = u.resolve_text("Phường Cống Vị, Quận Ba Đình, Hà Nội");
    match r {
        Resolution::Ambiguous { candidates, legacy } => {
            assert_eq!(legacy.commune_code, "00007");
            let codes: Vec<&str> = candidates.iter().map(|c| c.commune_code.as_str()).collect();
            assert_eq!(codes, ["00008", "00025"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tone_mark_placement_and_type_changes_do_not_matter() {
    let u = units();
    // "Hoà"/"Hòa" in the province of Khánh Hòa, written the old way, as a city.
    let a = u.resolve("Tỉnh Khánh Hoà", None, "Nha Trang");
    let b = u.resolve("Thành phố Khánh Hòa", None, "Nha Trang");
    assert_eq!(a, b);
    assert_ne!(a.status(), "unknown", "{a:?}");
}

#[test]
fn number_wards_resolve() {
    let u = units();
    let r = u.resolve_text("Phường 01, Quận 3, TP. Hồ Chí Minh");
    assert_ne!(r.status(), "unknown", "{r:?}");
    let r2 = u.resolve_text("P.1, Q.3, Thành phố Hồ Chí Minh");
    assert_eq!(r, r2);
}

#[test]
fn unknown_units_come_with_suggestions() {
    let u = units();
    match u.resolve("Hà Nội", None, "Hồng Hàa") {
        Resolution::Unknown {
            suggestions,
            reason,
        } => {
            assert!(reason.contains("Hồng Hàa"));
            assert!(
                suggestions.iter().any(|s| s == "Phường Hồng Hà"),
                "{suggestions:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    match u.resolve("Hà Nộii", None, "Hồng Hà") {
        Resolution::Unknown { suggestions, .. } => {
            assert!(
                suggestions.iter().any(|s| s.ends_with("Hà Nội")),
                "{suggestions:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_legacy_commune_written_as_free_text_converts_or_is_ambiguous() {
    let u = units();
    let mut failures = Vec::new();
    for c in &u.legacy_communes {
        let d = u.legacy_district(&c.parent).unwrap();
        let p = u.legacy_province(&d.parent).unwrap();
        let text = format!("{}, {}, {}", c.full_name(), d.full_name(), p.full_name());
        let r = u.resolve_text(&text);
        let ok = match &r {
            Resolution::Converted {
                commune_code,
                legacy,
                ..
            } => legacy.commune_code == c.code && u.successors(&c.code) == [commune_code.clone()],
            Resolution::Ambiguous { candidates, legacy } => {
                legacy.commune_code == c.code
                    && u.successors(&c.code)
                        .iter()
                        .all(|s| candidates.iter().any(|x| &x.commune_code == s))
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{text} → {r:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed, e.g. {:#?}",
        failures.len(),
        u.legacy_communes.len(),
        &failures[..failures.len().min(5)]
    );
}

#[test]
fn every_2025_commune_resolves_to_itself() {
    let u = units();
    let mut failures = Vec::new();
    for c in &u.communes {
        let p = u.province(&c.parent).unwrap();
        for r in [
            u.resolve_text(&format!("{}, {}", c.full_name(), p.full_name())),
            u.resolve(&p.code, None, &c.code),
        ] {
            match &r {
                Resolution::Current { commune_code, .. } if *commune_code == c.code => {}
                other => failures.push(format!("{} {} → {other:?}", c.code, c.full_name())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed, e.g. {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

fn nfd(s: &str) -> String {
    unicode_normalization::UnicodeNormalization::nfd(s).collect()
}

fn commune_of(r: &Resolution) -> Option<&str> {
    match r {
        Resolution::Current { commune_code, .. } | Resolution::Converted { commune_code, .. } => {
            Some(commune_code)
        }
        _ => None,
    }
}

#[test]
fn decomposed_text_resolves_exactly_as_composed_text() {
    let u = units();
    let mut failures = Vec::new();
    for c in &u.legacy_communes {
        let d = u.legacy_district(&c.parent).unwrap();
        let p = u.legacy_province(&d.parent).unwrap();
        let (cn, dn, pn) = (c.full_name(), d.full_name(), p.full_name());
        let text = format!("{cn}, {dn}, {pn}");
        let composed = u.resolve(&pn, Some(&dn), &cn);
        for (what, r) in [
            (
                "structured",
                u.resolve(&nfd(&pn), Some(&nfd(&dn)), &nfd(&cn)),
            ),
            ("text", u.resolve_text(&nfd(&text))),
            ("text, composed", u.resolve_text(&text)),
        ] {
            if r != composed {
                failures.push(format!("{what}: {text} → {r:?}, composed: {composed:?}"));
            }
        }
    }
    for c in &u.communes {
        let p = u.province(&c.parent).unwrap();
        let text = format!("{}, {}", c.full_name(), p.full_name());
        if u.resolve_text(&nfd(&text)) != u.resolve_text(&text) {
            failures.push(text);
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ, e.g. {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

#[test]
fn a_commune_not_in_the_district_written_is_unknown_never_another_unit() {
    let u = units();
    // Hông Gai is a misspelling of Hồng Gai (a ward of Hạ Long); the 2025 Phường Hạ Long
    // (06688) is another ward and must not be taken for it.
    for text in [
        "Phường Hông Gai, Thành phố Hạ Long, Tỉnh Quảng Ninh",
        "Phường Xyz Abc, Thành phố Hạ Long, Tỉnh Quảng Ninh",
        "Số 3, Phường Hông Gai, Thành phố Hạ Long, Quảng Ninh",
    ] {
        for t in [text.to_string(), nfd(text)] {
            match u.resolve_text(&t) {
                Resolution::Unknown { reason, .. } => {
                    assert!(reason.contains("Hạ Long"), "{t}: {reason}")
                }
                other => panic!("{t} → {other:?}"),
            }
        }
    }
    match u.resolve(
        "Tỉnh Quảng Ninh",
        Some("Thành phố Hạ Long"),
        "Phường Hông Gai",
    ) {
        Resolution::Unknown { suggestions, .. } => {
            assert_eq!(
                suggestions.first().map(String::as_str),
                Some("Phường Hồng Gai")
            )
        }
        other => panic!("{other:?}"),
    }
    // A district that is not in the province written, and a commune code from elsewhere.
    assert_eq!(
        u.resolve("Tỉnh Hà Tĩnh", Some("Thành phố Hạ Long"), "Phường Hồng Gai")
            .status(),
        "unknown"
    );
    assert_eq!(u.resolve("Tỉnh Hà Tĩnh", None, "06685").status(), "unknown");
    assert_eq!(
        u.resolve("Tỉnh Quảng Ninh", None, "06685").status(),
        "current"
    );
    // The ward of a district-level type word ("Thành phố Hạ Long") is never the ward named
    // like it ("Phường Hạ Long").
    assert_eq!(
        u.resolve("Tỉnh Quảng Ninh", None, "Thành phố Hạ Long")
            .status(),
        "unknown"
    );
}

#[test]
fn spelling_variants_between_official_sources_resolve_when_one_unit_matches() {
    let u = units();
    let by_code = |code: &str| commune_of(&u.resolve("", None, code)).map(str::to_string);
    let cases: &[(&str, &str)] = &[
        // Đắk / Đăk / Đak; names with and without spaces or apostrophes.
        ("Xã Ea Bar, Huyện Buôn Đôn, Tỉnh Đắk Lắk", "24250"),
        ("Xã EaBar, Huyện Buôn Đôn, Tỉnh Đăk Lăk", "24250"),
        ("Xã Ea Bar, Huyện Buôn Đôn, Tỉnh Đak Lak", "24250"),
        ("Xã Ea Hleo, Huyện EaH'leo, Tỉnh Đắk Lắk", "24184"),
        ("Xã Đăk RMoan, Thành phố Gia Nghĩa, Tỉnh Đắk Nông", "24618"),
        // "NT" for "Nông trường"; Roman and Arabic numerals.
        (
            "Thị trấn NT Phong Hải, Huyện Bảo Thắng, Tỉnh Lào Cai",
            "02902",
        ),
        ("Xã Tam Xuân 2, Huyện Núi Thành, Tỉnh Quảng Nam", "20971"),
        ("Phường IV, Quận 3, TP.HCM", "27148"),
        // Clerks' shorthand: TP.HCM, T. for Tỉnh, doubled spaces, a trailing comma or stop.
        ("Phường Phúc  Xá,  Quận Ba Đình, TP.HN,", "00001"),
        ("Xã Cẩm Thạch, Huyện Cẩm Xuyên, T. Hà Tĩnh.", "18706"),
        ("Xã Cẩm Thạch, H. Cẩm Xuyên, Hà Tĩnh, Việt Nam", "18706"),
    ];
    for (text, legacy_code) in cases {
        for t in [text.to_string(), nfd(text)] {
            let r = u.resolve_text(&t);
            assert_ne!(r.status(), "unknown", "{t} → {r:?}");
            if !legacy_code.is_empty() {
                let want = by_code(legacy_code);
                if u.successors(legacy_code).len() == 1 {
                    assert_eq!(commune_of(&r).map(str::to_string), want, "{t} → {r:?}");
                } else {
                    assert_eq!(r.status(), "ambiguous", "{t} → {r:?}");
                }
            }
        }
    }
    assert_eq!(
        u.resolve_text("Phường IV, Quận 3, TP.HCM"),
        u.resolve_text("Phường 4, Quận 3, Thành phố Hồ Chí Minh")
    );
    // A variant is known, not guessed: a misspelt Vietnamese syllable stays unknown.
    assert_eq!(
        u.resolve_text("Phường Hông Gai, Tỉnh Quảng Ninh").status(),
        "unknown"
    );
    assert_eq!(
        u.resolve_text("Xã Cẩm Thach, Huyện Cẩm Xuyên, Tỉnh Hà Tĩnh")
            .status(),
        "unknown"
    );
}

#[test]
fn roman_numerals_and_variant_keys() {
    use super::names::variant;
    assert_eq!(variant("Tam Xuân II"), variant("Tam Xuân 2"));
    assert_ne!(variant("Tam Xuân I"), variant("Tam Xuân II"));
    assert_eq!(variant("IV"), variant("4"));
    assert_eq!(variant("iv"), variant("04"));
    // Only capitals inside a name: "Vi" is a syllable.
    assert_ne!(variant("Tường Vi"), variant("Tường 6"));
    assert_eq!(variant("Ea Bar"), variant("EaBar"));
    assert_eq!(variant("Ea H'Leo"), variant("Ea Hleo"));
    assert_eq!(variant("Sỹ Bình"), variant("Sĩ Bình"));
    assert_eq!(variant("Quý Quân"), variant("Quí Quân"));
    assert_eq!(variant("Thạnh Qưới"), variant("Thạnh Quới"));
    assert_ne!(variant("Thúy"), variant("Thúi"));
    // Names of minority languages: marks, spaces and doubled letters aside, both ways.
    use super::names::{loose, minority};
    for (a, b) in [
        ("Đắk Lắk", "Đăk Lăk"),
        ("Đắk Lắk", "Đak Lak"),
        ("Ia Krăi", "Ia KRai"),
        ("Buôn Choáh", "Buôn Choah"),
        ("Bha Lêê", "Bha Lê"),
        ("Đa Krông", "Đakrông"),
        ("Cư K Róa", "Cư Króa"),
        ("Ea Chà Rang", "Eachà Rang"),
    ] {
        assert!(minority(a) && minority(b), "{a} / {b}");
        assert_eq!(loose(a), loose(b));
    }
    for vietnamese in [
        "Hồng Gai",
        "Hồng Hà",
        "Nghĩa Đô",
        "Quỳnh Lưu",
        "Khuê Trung",
        "Ngọc Thụy",
    ] {
        assert!(!minority(vietnamese), "{vietnamese}");
    }
    // A typo does not make a Vietnamese name loose.
    assert!(minority("Hồng Hàa"));
    assert_eq!(
        units().resolve("Hà Nội", None, "Hồng Hàa").status(),
        "unknown"
    );
    assert_eq!(variant("Nông trường Mộc Châu"), variant("NT Mộc Châu"));
    assert_ne!(variant("Hồng Gai"), variant("Hông Gai"));
    assert_ne!(variant("Hà Long"), variant("Hạ Long"));
}
