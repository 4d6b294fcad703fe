use super::*;

fn vn() -> FixedOffset {
    parse_offset("+07:00").unwrap()
}

#[test]
fn nfc_composes_decomposed_text_and_borrows_composed_text() {
    let nfd = "Nguye\u{302}\u{303}n"; // "Nguyễn" decomposed
    assert_eq!(nfc(nfd), "Nguyễn");
    assert!(matches!(nfc("Nguyễn"), Cow::Borrowed(_)));
}

#[test]
fn the_fast_nfc_ranges_agree_with_the_unicode_tables() {
    use unicode_normalization::char::canonical_combining_class;
    let ranges = (0u32..0x300).chain(0x1E00..=0x1EFF);
    let mut checked = 0;
    for c in ranges.filter_map(char::from_u32) {
        let one = c.to_string();
        assert!(surely_nfc(&one), "{c:?}");
        assert_eq!(canonical_combining_class(c), 0, "{c:?} combines");
        assert_eq!(one.nfc().collect::<String>(), one, "{c:?} is not NFC");
        // Quick-check "yes" with combining class 0 for every character is what makes a
        // string quick-check "yes" as a whole: the library would answer the same.
        assert_eq!(
            is_nfc_quick(std::iter::once(c)),
            unicode_normalization::IsNormalized::Yes,
            "{c:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 0x300 + 0x100);
    // Outside the ranges: a combining mark is not taken as NFC.
    assert!(!surely_nfc("Nguye\u{302}\u{303}n"));
    assert!(surely_nfc("Nguyễn Thị Ánh, Đường Hà Huy Tập"));
    // A mark after a run of ASCII longer than the eight-byte step, at each offset.
    for pad in 0..17 {
        let text = format!("{}e\u{302}", "a".repeat(pad));
        assert!(!surely_nfc(&text), "{pad}");
        assert!(surely_nfc(&format!("{}ễ", "a".repeat(pad))), "{pad}");
    }
    // Just outside each range, and lead bytes of each other kind (three bytes other than
    // 0xE1, four bytes).
    for c in [
        '\u{300}', '\u{1DFF}', '\u{1F00}', '\u{2126}', '\u{FB1D}', '中', '😀',
    ] {
        assert!(!surely_nfc(&format!("a{c}")), "{c:?}");
    }
}

#[test]
fn case_transforms_handle_vietnamese_letters() {
    assert_eq!(apply_case("nguyễn thị ánh", Case::Title), "Nguyễn Thị Ánh");
    assert_eq!(apply_case("ĐỖ VĂN ĐỨC", Case::Title), "Đỗ Văn Đức");
    assert_eq!(apply_case("H'HEN NIÊ", Case::Title), "H'Hen Niê");
    assert_eq!(apply_case("đỗ", Case::Upper), "ĐỖ");
    assert_eq!(apply_case("ĐỖ", Case::Lower), "đỗ");
}

#[test]
fn split_words_is_the_inverse_of_joining_name_parts() {
    assert_eq!(
        split_words("Nguyễn Thị Hồng Nhung", " ", 3),
        ["Nguyễn", "Thị Hồng", "Nhung"]
    );
    assert_eq!(split_words("Lê Na", " ", 3), ["Lê", "", "Na"]);
    assert_eq!(
        split_words("Nguyễn Thị Hồng Nhung", " ", 2),
        ["Nguyễn Thị Hồng", "Nhung"]
    );
    assert_eq!(split_words("Na", " ", 3), ["", "", "Na"]);
    assert_eq!(split_words("", " ", 2), ["", ""]);
}

#[test]
fn offsets_parse_and_bad_ones_are_refused() {
    assert_eq!(parse_offset("+07:00").unwrap().local_minus_utc(), 7 * 3600);
    assert_eq!(
        parse_offset("-03:30").unwrap().local_minus_utc(),
        -(3 * 3600 + 1800)
    );
    assert_eq!(parse_offset("Z").unwrap().local_minus_utc(), 0);
    for bad in ["07:00", "+7:00", "+25:00", "+07:60", ""] {
        assert!(parse_offset(bad).is_none(), "{bad}");
    }
}

#[test]
fn date_patterns_parse_partial_dates_and_refuse_impossible_ones() {
    let full = Pattern::parse("dd/MM/yyyy").unwrap();
    assert_eq!(
        full.parse_date("05/09/1985").unwrap().to_string(),
        "1985-09-05"
    );
    assert!(
        full.parse_date("31/02/1985")
            .unwrap_err()
            .contains("no day 31")
    );
    assert!(full.parse_date("5/9/1985").is_err());
    assert!(full.parse_date("05/09/1985 ").is_err());
    let month = Pattern::parse("MM/yyyy").unwrap();
    assert_eq!(month.parse_date("09/1985").unwrap().to_string(), "1985-09");
    assert_eq!(month.precision(), Precision::Month);
    let d = PartialDate::parse("1985-09-05").unwrap();
    assert_eq!(full.format_date(&d), "05/09/1985");
}

#[test]
fn datetime_patterns_apply_the_zone_both_ways() {
    let p = Pattern::parse("dd/MM/yyyy HH:mm:ss").unwrap();
    let t = p.parse_datetime("15/09/2025 08:30:00", vn()).unwrap();
    assert_eq!(rfc3339(&t), "2025-09-15T08:30:00+07:00");
    let compact = Pattern::parse("yyyyMMddHHmmss").unwrap();
    assert_eq!(compact.format_datetime(&t, vn()), "20250915083000");
    // A UTC instant is written in the adapter's zone.
    let utc = DateTime::parse_from_rfc3339("2025-09-15T01:30:00Z").unwrap();
    assert_eq!(compact.format_datetime(&utc, vn()), "20250915083000");
    assert!(p.parse_datetime("15/09/2025 24:00:00", vn()).is_err());
    assert!(p.parse_datetime("2025-09-15T08:30:00", vn()).is_err());
}

#[test]
fn rfc3339_is_written_as_chrono_writes_it() {
    for text in [
        "2025-09-15T08:30:00+07:00",
        "0999-01-02T03:04:05-09:30",
        "1900-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59+14:00",
    ] {
        let t = DateTime::parse_from_rfc3339(text).unwrap();
        assert_eq!(rfc3339(&t), text);
        assert_eq!(rfc3339(&t), t.format("%Y-%m-%dT%H:%M:%S%:z").to_string());
    }
    let far = FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .with_ymd_and_hms(12345, 1, 2, 3, 4, 5)
        .unwrap();
    assert_eq!(rfc3339(&far), "12345-01-02T03:04:05+07:00");
}

#[test]
fn patterns_with_unknown_letters_or_no_year_are_refused() {
    assert!(Pattern::parse("dd/MM/yy").unwrap_err().contains("\"y\""));
    assert!(Pattern::parse("dd/MM").unwrap_err().contains("no year"));
    assert!(Pattern::parse("yyyy-dd").unwrap_err().contains("no month"));
    assert!(Pattern::parse("yyyy-MM-MM").is_err());
}

#[test]
fn code_tables_map_both_ways_and_name_unknown_codes() {
    let mut map = IndexMap::new();
    map.insert("1".to_string(), "male".to_string());
    map.insert("2".to_string(), "female".to_string());
    map.insert("M".to_string(), "male".to_string());
    let t = CodeTable::new("sex", &map);
    assert_eq!(t.to_canonical("M").unwrap(), "male");
    assert_eq!(
        t.to_external("male").unwrap(),
        "1",
        "first code listed wins"
    );
    let err = t.to_canonical("3").unwrap_err();
    assert!(
        err.contains("code table sex") && err.contains("1, 2, M"),
        "{err}"
    );
    assert!(t.to_external("other").is_err());
}

#[test]
fn padded_numbers_are_what_format_writes() {
    for n in [
        0,
        1,
        9,
        10,
        99,
        100,
        999,
        1000,
        2026,
        9999,
        10000,
        123_456,
        u32::MAX,
    ] {
        for width in [2, 4] {
            let mut out = String::from("x");
            super::push_padded(&mut out, n, width);
            assert_eq!(out, format!("x{n:0width$}"), "{n} in {width}");
        }
    }
}
