//! The `address` transform: an address object of a canonical record, across the 2025 reform
//! of administrative units. Inbound, what the source wrote (the old three-tier form, the 2025
//! form, names or codes, or free text) becomes the 2025 form with the old form kept under
//! `legacy`; outbound, the object is written in the scheme the destination speaks.

use crate::config::adapter::{AddressDef, AddressPolicy, AddressScheme};
use crate::units::{Legacy, Resolution, Units};
use crate::validate::FieldError;
use serde_json::{Map, Value};

/// A compiled `[[records.X.addresses]]` entry.
#[derive(Debug, Clone)]
pub(crate) struct AddressRule {
    pub at: String,
    pub tokens: Vec<String>,
    pub def: AddressDef,
}

fn text(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn object_at<'v>(v: &'v mut Value, tokens: &[String]) -> Option<&'v mut Map<String, Value>> {
    let mut at = v;
    for t in tokens {
        at = at.as_object_mut()?.get_mut(t)?;
    }
    at.as_object_mut()
}

fn legacy_object(l: &Legacy) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("commune", &l.commune),
        ("commune_code", &l.commune_code),
        ("district", &l.district),
        ("district_code", &l.district_code),
        ("province", &l.province),
        ("province_code", &l.province_code),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), Value::String(v.clone()));
        }
    }
    Value::Object(m)
}

/// Rewrites `o` in the 2025 form: street kept, commune and province with their codes.
fn write_current(
    o: &mut Map<String, Value>,
    street: Option<String>,
    commune: (&str, &str),
    province: (&str, &str),
    legacy: Option<&Legacy>,
) {
    // The common case: the record already holds exactly the 2025 form (a one-stop system
    // wrote the code and its unit's names). It is left as it is.
    let held = |k: &str| o.get(k).and_then(Value::as_str);
    if legacy.is_none()
        && o.len() == 4 + usize::from(street.is_some())
        && held("commune") == Some(commune.0)
        && held("commune_code") == Some(commune.1)
        && held("province") == Some(province.0)
        && held("province_code") == Some(province.1)
        && street.as_deref().is_none_or(|s| held("street") == Some(s))
    {
        return;
    }
    o.clear();
    if let Some(s) = street {
        o.insert("street".into(), Value::String(s));
    }
    o.insert("commune".into(), Value::String(commune.0.into()));
    o.insert("commune_code".into(), Value::String(commune.1.into()));
    o.insert("province".into(), Value::String(province.0.into()));
    o.insert("province_code".into(), Value::String(province.1.into()));
    if let Some(l) = legacy {
        o.insert("legacy".into(), legacy_object(l));
    }
}

/// What was written, read from the object: its parts, and the resolution.
struct Written {
    street: Option<String>,
    resolution: Resolution,
    /// Codes and names that name different units.
    conflict: Option<String>,
    /// The commune, district and province as written, for an answer kept "as written".
    commune: String,
    district: Option<String>,
    province: String,
}

fn read(units: &Units, rule: &AddressRule, o: &Map<String, Value>) -> Option<Written> {
    let legacy = o.get("legacy").and_then(Value::as_object);
    let district_name = legacy.and_then(|l| text(l, "district"));
    let district_code = legacy.and_then(|l| text(l, "district_code"));
    let commune_name = text(o, "commune");
    let commune_code = text(o, "commune_code");
    let province_name = text(o, "province");
    let province_code = text(o, "province_code");
    let street = text(o, "street");
    if commune_name.is_none() && commune_code.is_none() {
        // Free text in the street field: "…, commune, [district,] province".
        let whole = street.filter(|_| rule.def.free_text)?;
        let t = units.read_text(&whole);
        return Some(Written {
            street: t.street,
            resolution: t.resolution,
            conflict: None,
            commune: t.commune,
            district: t.district,
            province: t.province,
        });
    }
    // Codes go with codes: the resolver reads a district by name unless the commune is a code.
    let district = if commune_code.is_some() {
        district_code.clone().or(district_name.clone())
    } else {
        district_name.clone().or(district_code.clone())
    };
    let province = province_code
        .clone()
        .or(province_name.clone())
        .unwrap_or_default();
    let commune = commune_code
        .clone()
        .or(commune_name.clone())
        .unwrap_or_default();
    let mut resolution = units.resolve(&province, district.as_deref(), &commune);
    let mut conflict = None;
    if commune_code.is_some()
        && let Some(c) = &commune_name
        && !names_the_unit(
            &resolution,
            c,
            province_name.as_deref(),
            province_code.as_deref(),
            district_name.is_some(),
        )
    {
        let by_names = units.resolve(
            province_name.as_deref().unwrap_or(&province),
            district_name.as_deref().or(district.as_deref()),
            c,
        );
        // The code's own unit, wherever it is: the resolution above is `unknown` also for a
        // code of another province or district than the one written.
        let code_alone = units.resolve("", None, commune_code.as_deref().unwrap_or_default());
        match (identity(&code_alone), identity(&by_names)) {
            // A code that leads nowhere, with names beside it: the names decide.
            (None, Some(_)) => resolution = by_names,
            // Code and names agree, on a unit outside the codes written beside them.
            (Some(a), Some(b)) if a == b && identity(&resolution).is_none() => {
                resolution = by_names
            }
            // Code and names name two different units: neither is taken.
            (Some(a), Some(b)) if a != b => {
                conflict = Some(format!(
                    "the code {} is {}, but the names say {}",
                    commune_code.as_deref().unwrap_or_default(),
                    describe(&code_alone),
                    describe(&by_names)
                ));
            }
            _ => {}
        }
    }
    // A record already in the 2025 form that kept its old form (from another system that
    // converted it) keeps it, when the old commune did go into this one.
    let kept = legacy
        .and_then(|l| text(l, "commune_code"))
        .and_then(|c| units.legacy_form(&c));
    if let (Resolution::Current { .. }, Some(old)) = (&resolution, kept)
        && let Resolution::Current {
            province_code,
            province,
            commune_code,
            commune,
        } = resolution.clone()
        && units.successors(&old.commune_code).contains(&commune_code)
    {
        resolution = Resolution::Converted {
            province_code,
            province,
            commune_code,
            commune,
            legacy: old,
        };
    }
    Some(Written {
        street,
        resolution,
        conflict,
        commune: commune_name.or(commune_code).unwrap_or_default(),
        district: district_name.or(district_code),
        province: province_name.or(province_code).unwrap_or_default(),
    })
}

/// The names beside a commune code are, letter for letter, the official names of the 2025
/// unit the code found, and a province code beside them is that unit's (the common case: a
/// one-stop system writes the code and its unit's name). They then agree with the code and
/// need not be resolved again; any other spelling, or another province, goes through the
/// resolver.
fn names_the_unit(
    by_code: &Resolution,
    commune: &str,
    province: Option<&str>,
    province_code: Option<&str>,
    has_district: bool,
) -> bool {
    match by_code {
        Resolution::Current {
            commune: official,
            province: official_province,
            province_code: official_code,
            ..
        } => {
            !has_district
                && commune == official
                && province.is_none_or(|p| p == official_province)
                && province_code.is_none_or(|p| p == official_code)
        }
        _ => false,
    }
}

/// The unit an answer is about: the old commune when there was one, else the 2025 one.
fn identity(r: &Resolution) -> Option<&str> {
    match r {
        Resolution::Current { commune_code, .. } => Some(commune_code),
        Resolution::Converted { legacy, .. } | Resolution::Ambiguous { legacy, .. } => {
            Some(&legacy.commune_code)
        }
        Resolution::Unknown { .. } => None,
    }
}

fn describe(r: &Resolution) -> String {
    match r {
        Resolution::Current {
            commune, province, ..
        } => format!("{commune}, {province}"),
        Resolution::Converted { legacy, .. } | Resolution::Ambiguous { legacy, .. } => {
            format!(
                "{}, {}, {}",
                legacy.commune, legacy.district, legacy.province
            )
        }
        Resolution::Unknown { reason, .. } => reason.clone(),
    }
}

/// Inbound: rewrites the address at the rule's place in the 2025 form. `Ok(Some(w))` is a
/// note for the exchange: `address.converted` (an old-form address converted), or a warning
/// (the policy said `warn` or `first`); `Err` refuses the record.
pub(crate) fn inbound(
    units: &Units,
    rule: &AddressRule,
    record: &mut Value,
) -> Result<Option<FieldError>, FieldError> {
    let Some(o) = object_at(record, &rule.tokens) else {
        return Ok(None);
    };
    let already = o
        .get("legacy")
        .and_then(|l| l.get("commune_code"))
        .is_some();
    let Some(w) = read(units, rule, o) else {
        return Ok(None);
    };
    if let Some(c) = w.conflict {
        return Err(FieldError::new(&rule.at, "address.code-name-mismatch", c));
    }
    match w.resolution {
        Resolution::Current {
            province_code,
            province,
            commune_code,
            commune,
        } => {
            write_current(
                o,
                w.street,
                (&commune, &commune_code),
                (&province, &province_code),
                None,
            );
            Ok(None)
        }
        Resolution::Converted {
            province_code,
            province,
            commune_code,
            commune,
            legacy,
        } => {
            let note = FieldError::new(
                &rule.at,
                "address.converted",
                format!(
                    "{}, {}, {} (old form) is {commune}, {province} since 1 July 2025; the old \
                     form is kept under legacy",
                    legacy.commune, legacy.district, legacy.province
                ),
            );
            write_current(
                o,
                w.street,
                (&commune, &commune_code),
                (&province, &province_code),
                Some(&legacy),
            );
            // A record that already carried its old form was converted before: nothing new.
            Ok((!already).then_some(note))
        }
        Resolution::Ambiguous { legacy, candidates } => {
            let listed = candidates
                .iter()
                .map(|c| format!("{} ({})", c.commune, c.commune_code))
                .collect::<Vec<_>>()
                .join(", ");
            let message = format!(
                "{} ({}, {}) was split among {} communes of the 2025 list: {listed}",
                legacy.commune,
                legacy.district,
                legacy.province,
                candidates.len()
            );
            match rule.def.ambiguous {
                AddressPolicy::Error => Err(FieldError::new(
                    &rule.at,
                    "address.ambiguous",
                    format!("{message}; give the 2025 commune"),
                )),
                AddressPolicy::First => {
                    let first = &candidates[0];
                    let province = units
                        .province(&first.province_code)
                        .map(|p| p.full_name())
                        .unwrap_or_default();
                    write_current(
                        o,
                        w.street,
                        (&first.commune, &first.commune_code),
                        (&province, &first.province_code),
                        Some(&legacy),
                    );
                    Ok(Some(FieldError::new(
                        &rule.at,
                        "address.default-successor",
                        format!("{message}; the default successor was taken"),
                    )))
                }
                AddressPolicy::Warn => {
                    // Accepted as written: the old commune's name, the 2025 province when
                    // every candidate is in one, no commune code.
                    let one_province = candidates
                        .iter()
                        .all(|c| c.province_code == candidates[0].province_code);
                    o.clear();
                    if let Some(s) = w.street {
                        o.insert("street".into(), Value::String(s));
                    }
                    o.insert("commune".into(), Value::String(legacy.commune.clone()));
                    match units
                        .province(&candidates[0].province_code)
                        .filter(|_| one_province)
                    {
                        Some(p) => {
                            o.insert("province".into(), Value::String(p.full_name()));
                            o.insert("province_code".into(), Value::String(p.code.clone()));
                        }
                        None => {
                            o.insert("province".into(), Value::String(legacy.province.clone()));
                        }
                    }
                    o.insert("legacy".into(), legacy_object(&legacy));
                    Ok(Some(FieldError::new(
                        &rule.at,
                        "address.ambiguous",
                        format!("{message}; kept as written"),
                    )))
                }
            }
        }
        Resolution::Unknown {
            reason,
            suggestions,
        } => {
            let mut message = format!("{reason} (neither in the 2025 list nor the old one)");
            if !suggestions.is_empty() {
                message.push_str(&format!("; nearest: {}", suggestions.join(", ")));
            }
            if rule.def.unknown != AddressPolicy::Warn {
                return Err(FieldError::new(&rule.at, "address.unknown", message));
            }
            o.clear();
            if let Some(s) = w.street {
                o.insert("street".into(), Value::String(s));
            }
            o.insert("commune".into(), Value::String(w.commune));
            o.insert("province".into(), Value::String(w.province));
            if let Some(d) = w.district {
                let mut l = Map::new();
                l.insert("district".into(), Value::String(d));
                o.insert("legacy".into(), Value::Object(l));
            }
            Ok(Some(FieldError::new(
                &rule.at,
                "address.unknown",
                format!("{message}; kept as written"),
            )))
        }
    }
}

/// Outbound: the address at the rule's place in the destination's scheme. For the 2025
/// scheme the kept old form is left out; for the old scheme the old names and codes are
/// written, with the district under `legacy` where the adapter maps it from.
pub(crate) fn outbound(
    units: &Units,
    rule: &AddressRule,
    record: &mut Value,
) -> Result<(), FieldError> {
    let Some(o) = object_at(record, &rule.tokens) else {
        return Ok(());
    };
    if rule.def.outbound == AddressScheme::Current {
        o.remove("legacy");
        return Ok(());
    }
    let kept = o
        .get("legacy")
        .and_then(Value::as_object)
        .and_then(|l| text(l, "commune_code"))
        .and_then(|code| units.legacy_form(&code));
    let old = match kept {
        Some(l) => l,
        None => {
            let code = match text(o, "commune_code") {
                Some(c) => c,
                None => {
                    let (p, c) = (
                        text(o, "province").unwrap_or_default(),
                        text(o, "commune").unwrap_or_default(),
                    );
                    match units.resolve(&p, None, &c) {
                        Resolution::Current { commune_code, .. } => commune_code,
                        _ => {
                            return Err(FieldError::new(
                                &rule.at,
                                "address.no-legacy-form",
                                format!(
                                    "{c:?} in {p:?} is not a 2025 commune, and the record kept \
                                     no old form for this old-scheme destination"
                                ),
                            ));
                        }
                    }
                }
            };
            let before = units.predecessors(&code);
            match before.as_slice() {
                [one] => units.legacy_form(&one.code).ok_or_else(|| {
                    FieldError::new(
                        &rule.at,
                        "address.no-legacy-form",
                        format!("old commune {} is not in the data", one.code),
                    )
                })?,
                _ => {
                    let names: Vec<String> = before
                        .iter()
                        .take(8)
                        .map(|u| format!("{} ({})", u.full_name(), u.code))
                        .collect();
                    return Err(FieldError::new(
                        &rule.at,
                        "address.no-legacy-form",
                        format!(
                            "the 2025 commune {code} came from {} old communes{}{}; this \
                             destination speaks the old scheme and the record kept no old form",
                            before.len(),
                            if names.is_empty() { "" } else { ": " },
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    let street = text(o, "street");
    o.clear();
    if let Some(s) = street {
        o.insert("street".into(), Value::String(s));
    }
    o.insert("commune".into(), Value::String(old.commune.clone()));
    o.insert(
        "commune_code".into(),
        Value::String(old.commune_code.clone()),
    );
    o.insert("province".into(), Value::String(old.province.clone()));
    o.insert(
        "province_code".into(),
        Value::String(old.province_code.clone()),
    );
    o.insert("legacy".into(), legacy_object(&old));
    Ok(())
}

#[cfg(test)]
mod tests;
