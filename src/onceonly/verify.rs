//! Dossier verification and enrichment: what a one-stop system typed about its applicant,
//! compared with the population register; the register's values filled in where the source
//! left them empty (`enrich`). Each difference is a finding; none blocks the dossier.

use serde::Serialize;
use serde_json::Value;

/// One thing found when a dossier's applicant was checked against the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `mismatch.full_name`, `mismatch.birth_date`, `filled.birth_date`,
    /// `unverified.not-in-register`, `unverified.register-unavailable`.
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
            _ => "unverified",
        }
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
    v.pointer(p)
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
}
