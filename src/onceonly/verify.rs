//! Dossier verification and enrichment: what a one-stop system typed about its applicant,
//! compared with the population register; the register's values filled in where the source
//! left them empty (`enrich`). Each difference is a finding; none blocks the dossier.

use serde::Serialize;
use serde_json::Value;

/// One thing found when a dossier's applicant was checked against the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `mismatch.full_name`, `mismatch.birth_date`, `mismatch.address`, `filled.birth_date`,
    /// `unverified.not-in-register`, `unverified.register-unavailable`; from the adapter,
    /// `address.ambiguous`, `address.unknown`, `address.default-successor`.
    pub code: String,
    /// The applicant field, as a JSON Pointer into the dossier.
    pub field: String,
    /// What the dossier says (absent when it said nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    /// What the register says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    pub detail: String,
}

impl Finding {
    /// The audit outcome of a finding.
    pub fn outcome(&self) -> &'static str {
        match self.code.split('.').next() {
            Some("mismatch") => "mismatch",
            Some("filled") => "filled",
            Some("address") if self.code == "address.converted" => "converted",
            Some("address") => "warning",
            Some("requested-again") => "requested-again",
            _ => "unverified",
        }
    }
}

/// A warning of the adapter's translation (an ambiguous or unknown address it accepted as
/// written, or a default successor it took) as a finding.
pub fn warning(w: &crate::validate::FieldError) -> Finding {
    Finding {
        code: w.code.clone(),
        field: w.pointer.clone(),
        given: None,
        register: None,
        detail: w.message.clone(),
    }
}

/// A finding when the register could not be asked, or does not know the person.
pub fn unverified(code: &str, detail: String) -> Finding {
    Finding {
        code: code.to_string(),
        field: "/applicant/personal_id".into(),
        given: None,
        register: None,
        detail,
    }
}

fn text(v: &Value, p: &str) -> Option<String> {
    crate::model::pointer(v, p)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

/// Compares the dossier's applicant with the register's citizen record; with `enrich`, fills
/// the applicant's empty birth date from the register.
pub fn check(dossier: &mut Value, citizen: &Value, enrich: bool) -> Vec<Finding> {
    use crate::units::names::{key, plain};
    let mut out = Vec::new();
    if let (Some(given), Some(reg)) = (
        text(dossier, "/applicant/full_name"),
        text(citizen, "/full_name"),
    ) && key(&given) != key(&reg)
    {
        // Same letters, other marks: typed without (or with wrong) diacritics.
        let detail = if plain(&given) == plain(&reg) {
            "the name differs from the register's only in its diacritics"
        } else {
            "the name differs from the register's"
        };
        out.push(Finding {
            code: "mismatch.full_name".into(),
            field: "/applicant/full_name".into(),
            given: Some(given),
            register: Some(reg),
            detail: detail.into(),
        });
    }
    if let Some(f) = address_finding(dossier, citizen) {
        out.push(f);
    }
    let reg_birth = text(citizen, "/birth_date");
    match (text(dossier, "/applicant/birth_date"), reg_birth) {
        // Registers hold partial dates: a full date agrees with the year (and month) it has.
        (Some(given), Some(reg)) if !given.starts_with(&reg) && !reg.starts_with(&given) => {
            out.push(Finding {
                code: "mismatch.birth_date".into(),
                field: "/applicant/birth_date".into(),
                given: Some(given),
                register: Some(reg),
                detail: "the birth date differs from the register's".into(),
            });
        }
        (None, Some(reg)) if enrich => {
            if let Some(applicant) = dossier
                .pointer_mut("/applicant")
                .and_then(Value::as_object_mut)
            {
                applicant.insert("birth_date".into(), Value::String(reg.clone()));
                out.push(Finding {
                    code: "filled.birth_date".into(),
                    field: "/applicant/birth_date".into(),
                    given: None,
                    register: Some(reg),
                    detail: "filled from the population register".into(),
                });
            }
        }
        _ => {}
    }
    out
}

/// One side's address as units: the 2025 communes it may be, and how it was written.
struct Place {
    codes: Vec<String>,
    /// `2025`, or `legacy` (an old three-tier address, converted or still ambiguous).
    scheme: &'static str,
    written: String,
}

fn place(a: &Value) -> Option<Place> {
    use crate::units::Resolution;
    let units = crate::units::shared()?;
    let t = |p: &str| text(a, p);
    let legacy = a.get("legacy");
    let district = t("/district").or_else(|| t("/legacy/district"));
    let written = [t("/commune"), district.clone(), t("/province")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let scheme = if legacy.is_some() || district.is_some() {
        "legacy"
    } else {
        "2025"
    };
    // Converted by the adapter: its 2025 code says it.
    if let Some(code) =
        t("/commune_code").filter(|c| district.is_none() && units.commune(c).is_some())
    {
        return Some(Place {
            codes: vec![code],
            scheme,
            written,
        });
    }
    // An old commune kept as written: any of its successors.
    if let Some(old) = t("/legacy/commune_code") {
        let codes = units.successors(&old).to_vec();
        if !codes.is_empty() {
            return Some(Place {
                codes,
                scheme,
                written,
            });
        }
    }
    let commune = t("/commune_code").or_else(|| t("/commune"))?;
    let province = t("/province_code")
        .or_else(|| t("/province"))
        .unwrap_or_default();
    let codes = match units.resolve(&province, district.as_deref(), &commune) {
        Resolution::Current { commune_code, .. } | Resolution::Converted { commune_code, .. } => {
            vec![commune_code]
        }
        Resolution::Ambiguous { candidates, .. } => {
            candidates.into_iter().map(|c| c.commune_code).collect()
        }
        Resolution::Unknown { .. } => return None,
    };
    Some(Place {
        codes,
        scheme,
        written,
    })
}

/// Compares the applicant's address with the register's permanent and current addresses by
/// administrative unit, across the 2025 reform: an old commune matches a 2025 commune that
/// is its successor (or one of them, when it was split). Addresses that cannot be placed on
/// either side are not compared.
fn address_finding(dossier: &Value, citizen: &Value) -> Option<Finding> {
    let given = place(crate::model::pointer(dossier, "/applicant/address")?)?;
    let registered: Vec<Place> = ["/permanent_address", "/current_address"]
        .iter()
        .filter_map(|p| crate::model::pointer(citizen, p).and_then(place))
        .collect();
    let first = registered.first()?;
    if registered
        .iter()
        .any(|r| r.codes.iter().any(|c| given.codes.contains(c)))
    {
        return None;
    }
    Some(Finding {
        code: "mismatch.address".into(),
        field: "/applicant/address".into(),
        given: Some(given.written.clone()),
        register: Some(first.written.clone()),
        detail: format!(
            "the address is in another commune than the register's: the dossier's ({} form) \
             is commune {}, the register's ({} form) {}",
            given.scheme,
            given.codes.join(" or "),
            first.scheme,
            registered
                .iter()
                .flat_map(|r| r.codes.iter().cloned())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dossier(name: &str, birth: Option<&str>) -> Value {
        let mut a = json!({"type": "citizen", "full_name": name, "personal_id": "042192004518"});
        if let Some(b) = birth {
            a["birth_date"] = json!(b);
        }
        json!({ "applicant": a })
    }

    #[test]
    fn each_kind_of_mismatch_and_a_fill() {
        let reg = json!({"full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1992-05-14"});
        // Case, spacing and tone-mark placement are not differences.
        for same in ["NGUYỄN THỊ HỒNG NHUNG", "nguyễn  thị hồng nhung"] {
            assert!(check(&mut dossier(same, Some("1992-05-14")), &reg, false).is_empty());
        }
        let f = check(
            &mut dossier("Nguyen Thi Hong Nhung", Some("1992-05-14")),
            &reg,
            false,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "mismatch.full_name");
        assert!(f[0].detail.contains("diacritics"));
        let f = check(
            &mut dossier("Trần Thị Hồng Nhung", Some("1992-05-14")),
            &reg,
            false,
        );
        assert_eq!(f[0].detail, "the name differs from the register's");
        let f = check(
            &mut dossier("Nguyễn Thị Hồng Nhung", Some("1992-06-14")),
            &reg,
            false,
        );
        assert_eq!(
            (f[0].code.as_str(), f[0].outcome()),
            ("mismatch.birth_date", "mismatch")
        );
        // A partial date in the register agrees with a full one in its year.
        let partial = json!({"full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1992"});
        assert!(
            check(
                &mut dossier("Nguyễn Thị Hồng Nhung", Some("1992-05-14")),
                &partial,
                false
            )
            .is_empty()
        );
        // verify does not fill; enrich does, and says so.
        let mut d = dossier("Nguyễn Thị Hồng Nhung", None);
        assert!(check(&mut d, &reg, false).is_empty());
        let f = check(&mut d, &reg, true);
        assert_eq!(
            (f[0].code.as_str(), f[0].outcome()),
            ("filled.birth_date", "filled")
        );
        assert_eq!(d["applicant"]["birth_date"], "1992-05-14");
    }

    fn with_address(address: Value) -> Value {
        let mut d = dossier("Nguyễn Thị Hồng Nhung", Some("1992-05-14"));
        d["applicant"]["address"] = address;
        d
    }

    #[test]
    fn addresses_are_compared_by_unit_across_the_reform() {
        let reg = json!({
            "full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1992-05-14",
            "permanent_address": {"commune": "Phường Hồng Hà", "commune_code": "00097",
                                  "province": "Thành phố Hà Nội", "province_code": "01"},
        });
        // The old form of a ward that became part of Hồng Hà: not a mismatch, typed in any way.
        for old in [
            json!({"commune": "Phường Phúc Xá", "district": "Quận Ba Đình", "province": "Hà Nội"}),
            json!({"commune": "Phường Hồng Hà", "commune_code": "00097", "province": "Thành phố Hà Nội",
                   "province_code": "01", "legacy": {"commune_code": "00001", "district": "Quận Ba Đình"}}),
            json!({"commune": "Hồng Hà", "province": "Hà Nội"}),
        ] {
            let f = check(&mut with_address(old.clone()), &reg, false);
            assert!(f.is_empty(), "{old}: {f:?}");
        }
        // A split ward kept as written matches any of its successors.
        let split = json!({"commune": "Phường Cống Vị", "province": "Hà Nội",
                           "legacy": {"commune_code": "00007", "district": "Quận Ba Đình"}});
        let reg_split = json!({"permanent_address": {"commune": "x", "commune_code": "00025",
                                                     "province": "x", "province_code": "01"}});
        assert!(check(&mut with_address(split.clone()), &reg_split, false).is_empty());
        // A real difference is a mismatch that says which scheme each side used.
        let f = check(&mut with_address(split), &reg, false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].code.as_str(), f[0].outcome()),
            ("mismatch.address", "mismatch")
        );
        assert!(
            f[0].detail.contains("legacy form") && f[0].detail.contains("2025 form"),
            "{}",
            f[0].detail
        );
        let f = check(
            &mut with_address(json!({"commune": "Phường Thành Sen", "province": "Hà Tĩnh"})),
            &reg,
            false,
        );
        assert_eq!(f[0].code, "mismatch.address");
        assert!(f[0].detail.contains("(2025 form)"), "{}", f[0].detail);
        // Nothing to place on one side: not compared.
        let f = check(
            &mut with_address(json!({"commune": "Nowhere", "province": "Nowhere"})),
            &reg,
            false,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
