//! Cross-field rules beyond JSON Schema, run after the schema passes.
//!
//! - `citizen`: the personal ID's sex digit agrees with `sex`, its century and year digits with
//!   `birth_date`; the household head's ID is a personal ID.
//! - `dossier`: the applicant's ID agrees with the applicant's birth date when both are given;
//!   `due_at` is not before `received_at`.
//! - `dossier-status`: `due_at` is not before `received_at`; `event_at` not before `received_at`.
//! - every record: text is in Unicode NFC.

use super::FieldError;
use crate::model::{PartialDate, PersonalId, Sex};
use chrono::DateTime;
use serde_json::Value;
use unicode_normalization::{IsNormalized, is_nfc_quick};

/// Runs the domain rules of `record_type` and appends what fails to `errors`.
/// `text_is_nfc`: the record's writer guarantees NFC (the translator), so the texts are not
/// searched again.
pub(crate) fn check(
    record_type: &str,
    version: u32,
    record: &Value,
    text_is_nfc: bool,
    errors: &mut Vec<FieldError>,
) {
    if !text_is_nfc && !all_nfc(record) {
        nfc_everywhere(record, &mut String::new(), errors);
    }
    // Version 2 of citizen and dossier carries 2025-form addresses with checked codes.
    if version >= 2 {
        for at in [
            "/permanent_address",
            "/current_address",
            "/applicant/address",
        ] {
            if let Some(address) = value_at(record, at) {
                units_agree(at, address, errors);
            }
        }
    }
    match record_type {
        "citizen" => {
            id_agrees(record, "/personal_id", Some("/sex"), "/birth_date", errors);
        }
        "dossier" => {
            if value_at(record, "/applicant/type").and_then(Value::as_str) == Some("citizen") {
                id_agrees(
                    record,
                    "/applicant/personal_id",
                    None,
                    "/applicant/birth_date",
                    errors,
                );
            }
            not_before(record, "/due_at", "/received_at", errors);
        }
        "dossier-status" => {
            not_before(record, "/due_at", "/received_at", errors);
            not_before(record, "/event_at", "/received_at", errors);
        }
        _ => {}
    }
}

/// Every text in `value` is in NFC (the common case, checked without building pointers).
fn all_nfc(value: &Value) -> bool {
    match value {
        Value::String(s) => is_nfc(s),
        Value::Array(items) => items.iter().all(all_nfc),
        Value::Object(map) => map.values().all(all_nfc),
        _ => true,
    }
}

/// The value at a JSON Pointer written in this file: the pointers here have no escaped
/// characters, so the tokens are taken as they are (serde_json's `pointer` unescapes every
/// token into a new string).
///
/// Tokens are cut at each `/` with a byte search (a `split('/')` costs more than the look-ups
/// themselves on these short pointers).
fn value_at<'v>(record: &'v Value, pointer: &str) -> Option<&'v Value> {
    let mut value = record;
    let Some(mut rest) = pointer.strip_prefix('/') else {
        return pointer.is_empty().then_some(record);
    };
    loop {
        let (token, next) = match rest.bytes().position(|b| b == b'/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        value = match value {
            Value::Object(m) => m.get(token)?,
            Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
        match next {
            Some(n) => rest = n,
            None => return Some(value),
        }
    }
}

/// Text inside the hub is stored in Unicode NFC; translation normalises what arrives, so a
/// canonical record with decomposed text was written by hand or by a faulty producer.
fn nfc_everywhere(value: &Value, at: &mut String, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(s) if !s.is_ascii() && !is_nfc(s) => {
            errors.push(FieldError::new(
                at.clone(),
                "text.not-nfc",
                "text must be in Unicode NFC (composed); this value is decomposed (NFD)",
            ));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                nfc_everywhere(v, at, errors);
                at.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&super::escape_token(k));
                nfc_everywhere(v, at, errors);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// In a 2025-form address (schema v2), the commune's code belongs to the province's code, and
/// the legacy commune to the legacy district and province.
fn units_agree(at: &str, address: &Value, errors: &mut Vec<FieldError>) {
    let Some(units) = crate::units::shared() else {
        return;
    };
    let get = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if let (Some(cc), Some(pc)) = (get(address, "commune_code"), get(address, "province_code"))
        && let Some(c) = units.commune(&cc)
        && c.parent != pc
    {
        errors.push(FieldError::new(
            format!("{at}/commune_code"),
            "cross.commune-province",
            format!(
                "commune {cc} ({}) is in province {}, not {pc}",
                c.full_name(),
                c.parent
            ),
        ));
    }
    if let Some(legacy) = address.get("legacy") {
        if let (Some(cc), Some(dc)) = (get(legacy, "commune_code"), get(legacy, "district_code"))
            && let Some(c) = units.legacy_commune(&cc)
            && c.parent != dc
        {
            errors.push(FieldError::new(
                format!("{at}/legacy/commune_code"),
                "cross.commune-district",
                format!(
                    "legacy commune {cc} ({}) is in district {}, not {dc}",
                    c.full_name(),
                    c.parent
                ),
            ));
        }
        if let (Some(dc), Some(pc)) = (get(legacy, "district_code"), get(legacy, "province_code"))
            && let Some(d) = units.legacy_district(&dc)
            && d.parent != pc
        {
            errors.push(FieldError::new(
                format!("{at}/legacy/district_code"),
                "cross.district-province",
                format!(
                    "legacy district {dc} ({}) is in province {}, not {pc}",
                    d.full_name(),
                    d.parent
                ),
            ));
        }
    }
}

fn is_nfc(s: &str) -> bool {
    if crate::translate::transforms::surely_nfc(s) {
        return true;
    }
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => unicode_normalization::is_nfc(s),
    }
}

fn id_agrees(
    record: &Value,
    id_ptr: &str,
    sex_ptr: Option<&str>,
    birth_ptr: &str,
    errors: &mut Vec<FieldError>,
) {
    let Some(Ok(id)) = value_at(record, id_ptr)
        .and_then(Value::as_str)
        .map(PersonalId::parse)
    else {
        return; // absent, or already reported by the format check
    };
    if let Some(sex_ptr) = sex_ptr
        && let Some(sex) = value_at(record, sex_ptr)
            .and_then(Value::as_str)
            .and_then(Sex::parse)
        && sex != id.sex()
    {
        errors.push(FieldError::new(
            sex_ptr,
            "cross.id-sex-mismatch",
            format!(
                "the record says {sex} but the personal ID's fourth digit says {}",
                id.sex()
            ),
        ));
    }
    if let Some(Ok(birth)) = value_at(record, birth_ptr)
        .and_then(Value::as_str)
        .map(PartialDate::parse)
        && birth.year != id.birth_year()
    {
        errors.push(FieldError::new(
            birth_ptr,
            "cross.id-birth-year-mismatch",
            format!(
                "the record says born in {} but the personal ID's century and year digits say {}",
                birth.year,
                id.birth_year()
            ),
        ));
    }
}

fn not_before(record: &Value, later: &str, earlier: &str, errors: &mut Vec<FieldError>) {
    let text = |p: &str| value_at(record, p).and_then(Value::as_str);
    let (Some(l), Some(e)) = (text(later), text(earlier)) else {
        return;
    };
    if in_order_as_written(l, e) {
        return;
    }
    if let (Ok(l), Ok(e)) = (
        DateTime::parse_from_rfc3339(l),
        DateTime::parse_from_rfc3339(e),
    ) && l < e
    {
        errors.push(FieldError::new(
            later,
            "cross.time-order",
            format!(
                "{} ({l}) is before {} ({e})",
                later.trim_start_matches('/'),
                earlier.trim_start_matches('/')
            ),
        ));
    }
}

/// Two date-times written `YYYY-MM-DDTHH:MM:SS` with the same offset (as the translator writes
/// them) are in order when their texts are: `later` is not before `earlier`. `false` says
/// nothing; the caller then parses both.
fn in_order_as_written(later: &str, earlier: &str) -> bool {
    let (l, e) = (later.as_bytes(), earlier.as_bytes());
    l.len() == 25
        && e.len() == 25
        && l[10] == b'T'
        && e[10] == b'T'
        && l[19..] == e[19..]
        && l[..19] >= e[..19]
}

#[cfg(test)]
mod tests {
    use super::{in_order_as_written, value_at};
    use serde_json::json;

    #[test]
    fn value_at_follows_objects_and_arrays() {
        let r = json!({"a": {"b": [10, {"c": "x"}]}, "": 1});
        assert_eq!(value_at(&r, ""), Some(&r));
        assert_eq!(value_at(&r, "/a/b/0"), Some(&json!(10)));
        assert_eq!(value_at(&r, "/a/b/1/c"), Some(&json!("x")));
        assert_eq!(value_at(&r, "/"), Some(&json!(1)));
        assert_eq!(value_at(&r, "/a/b/2"), None);
        assert_eq!(value_at(&r, "/a/b/x"), None);
        assert_eq!(value_at(&r, "/a/b/0/c"), None);
        assert_eq!(value_at(&r, "/a/z"), None);
        assert_eq!(value_at(&r, "a"), None);
    }

    #[test]
    fn date_times_with_one_offset_are_in_order_as_written() {
        let a = "2025-09-15T08:42:10+07:00";
        let b = "2025-09-18T17:00:00+07:00";
        assert!(in_order_as_written(b, a));
        assert!(in_order_as_written(a, a));
        assert!(
            !in_order_as_written(a, b),
            "out of order: the caller parses"
        );
        // Other offsets, fractions or separators say nothing.
        assert!(!in_order_as_written("2025-09-18T17:00:00+00:00", a));
        assert!(!in_order_as_written("2025-09-18T17:00:00.5+07:00", a));
        assert!(!in_order_as_written("2025-09-18t17:00:00+07:00", a));
        // Through the rule: in order passes, out of order is refused as before.
        let rule = |received: &str, due: &str| {
            let r = serde_json::json!({ "received_at": received, "due_at": due });
            let mut errors = Vec::new();
            super::not_before(&r, "/due_at", "/received_at", &mut errors);
            errors.into_iter().map(|e| e.code).collect::<Vec<_>>()
        };
        assert!(rule(a, b).is_empty());
        assert_eq!(rule(b, a), vec!["cross.time-order".to_string()]);
        assert_eq!(
            rule("2025-09-18T12:00:00+00:00", "2025-09-18T17:00:00+07:00"),
            vec!["cross.time-order".to_string()],
            "due 17:00 at +07:00 is before received 12:00 UTC"
        );
    }
}
