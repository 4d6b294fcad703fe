//! The address resolver against a second, independent list of the legacy units: the statistics
//! office's own spellings (its Excel export of 2025-01-04, as published in the PyPI package
//! `vietnam-provinces` 0.6.0, GPL-3.0-or-later; `tests/data/SOURCE-gso.md`), where the hub's
//! reference data comes from `vietnamadminunits`, which respelled some of them. Every legacy
//! commune of that list, written in the old three-tier form, structured and as free text, in
//! NFC and in NFD, either resolves to the unit its code resolves to or answers that it cannot
//! (`ambiguous` for a split commune, `unknown` for a spelling the resolver does not know as a
//! variant); none resolves to another unit.
//!
//! The list is not kept in the repository (its licence is not the project's): `scripts/test`
//! writes it with `scripts/gen-units-gso.py` under `target/` and runs this test with
//! `LIENTHONG_GSO_UNITS` naming it.

use lienthong::units::{Resolution, Units};
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

/// The 2025 commune(s) an answer leads to, and the old commune it read.
fn outcome(r: &Resolution) -> Option<(Vec<String>, String)> {
    match r {
        Resolution::Converted {
            commune_code,
            legacy,
            ..
        } => Some((vec![commune_code.clone()], legacy.commune_code.clone())),
        Resolution::Ambiguous { legacy, candidates } => {
            let mut c: Vec<String> = candidates.iter().map(|c| c.commune_code.clone()).collect();
            c.sort();
            Some((c, legacy.commune_code.clone()))
        }
        Resolution::Current { commune_code, .. } => {
            Some((vec![commune_code.clone()], String::new()))
        }
        Resolution::Unknown { .. } => None,
    }
}

#[test]
#[ignore = "needs the statistics office's list in LIENTHONG_GSO_UNITS; scripts/test writes it"]
fn every_legacy_commune_of_the_second_source_resolves_to_its_unit_or_says_it_cannot() {
    let path = std::env::var("LIENTHONG_GSO_UNITS")
        .expect("LIENTHONG_GSO_UNITS names the list scripts/gen-units-gso.py writes");
    let text = std::fs::read_to_string(&path).expect("the list reads");
    let units = Units::embedded().unwrap();
    let nfd = |s: &str| -> String { s.nfd().collect() };
    // (shape, form) → outcome → count
    let mut table: BTreeMap<(&str, &str), BTreeMap<&str, usize>> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    let mut forms_differ = Vec::new();
    let (mut rows, mut not_in_reference) = (0usize, 0usize);
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 6, "{line}");
        let (code, commune, district, province) = (f[0], f[1], f[3], f[5]);
        rows += 1;
        // The legacy commune of that code, and its 2025 successors.
        if units.legacy_commune(code).is_none() {
            not_in_reference += 1;
            continue;
        }
        let mut successors = units.successors(code).to_vec();
        successors.sort();
        let expected = (successors, code.to_string());
        let free = format!("{commune}, {district}, {province}");
        for shape in ["structured", "free text"] {
            let mut answers = Vec::new();
            for form in ["NFC", "NFD"] {
                let w = |s: &str| if form == "NFC" { s.to_string() } else { nfd(s) };
                let r = match shape {
                    "structured" => units.resolve(&w(province), Some(&w(district)), &w(commune)),
                    _ => units.resolve_text(&w(&free)),
                };
                let kind = match outcome(&r) {
                    Some(o) if o == expected && o.0.len() == 1 => "resolved to its unit",
                    Some(o) if o == expected => "ambiguous (split), every candidate",
                    Some(_) => {
                        wrong.push(format!("{shape} {form}: {free} ({code}) → {r:?}"));
                        "resolved to another unit"
                    }
                    None => {
                        let ours = units.legacy_commune(code).map(|c| c.full_name());
                        let suggested = matches!(&r, Resolution::Unknown { suggestions, .. }
                            if ours.as_ref().is_some_and(|o| suggestions.contains(o)));
                        if form == "NFC" && shape == "structured" {
                            unknown.push(format!("{free} ({code}): {r:?}"));
                        }
                        if suggested {
                            "unknown, its unit among the suggestions"
                        } else {
                            "unknown, its unit not suggested"
                        }
                    }
                };
                *table
                    .entry((shape, form))
                    .or_default()
                    .entry(kind)
                    .or_default() += 1;
                answers.push(r);
            }
            if answers[0] != answers[1] {
                forms_differ.push(format!("{shape}: {free}"));
            }
        }
    }
    let checked = rows - not_in_reference;
    eprintln!(
        "{rows} legacy communes in the second list, {not_in_reference} of them with a code the \
         reference data does not have (changes of early 2025), {checked} checked"
    );
    for ((shape, form), kinds) in &table {
        let line: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{k}: {n} ({:.2}%)", 100.0 * *n as f64 / checked as f64))
            .collect();
        eprintln!("{shape}, {form}: {}", line.join("; "));
    }
    eprintln!("unknown (structured, NFC), {}:", unknown.len());
    for u in &unknown {
        eprintln!("  {u}");
    }
    assert!(
        wrong.is_empty(),
        "{} resolved to another unit: {wrong:#?}",
        wrong.len()
    );
    assert!(
        forms_differ.is_empty(),
        "NFC and NFD differ: {forms_differ:#?}"
    );
    // What it leaves unknown differs by a letter or a mark of a Vietnamese syllable, which
    // the resolver takes for a misspelling (as "Hông Gai" for "Hồng Gai"), or is a unit
    // renamed between the two lists (70 of 10,025 when this was written); the share is kept
    // from growing.
    assert!(
        unknown.len() * 100 <= checked,
        "{} of {checked} unknown: more than 1%",
        unknown.len()
    );
}
