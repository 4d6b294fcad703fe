//! Custom `format` checks registered with the JSON Schema compiler.

use crate::model::{AgencyCodeRule, PartialDate, PersonalId};

/// A custom format: its name in schemas and the check.
pub(crate) struct CustomFormat {
    pub name: &'static str,
    pub check: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// Explains why a value fails, for the error message.
    pub explain: Box<dyn Fn(&str) -> String + Send + Sync>,
}

/// A format that checks a code exists in the administrative-units data.
fn code_format(
    name: &'static str,
    what: &'static str,
    exists: fn(&crate::units::Units, &str) -> bool,
) -> CustomFormat {
    CustomFormat {
        name,
        check: Box::new(move |s| crate::units::shared().is_some_and(|u| exists(u, s))),
        explain: Box::new(move |s| {
            format!(
                "{s:?} is not the code of {what} (administrative units of the 2025 reform data)"
            )
        }),
    }
}

/// The custom formats of the hub, under the given options.
pub(crate) fn custom_formats(agency: &AgencyCodeRule) -> Vec<CustomFormat> {
    let agency_check = agency.clone();
    let agency_pattern = agency.pattern().to_string();
    vec![
        CustomFormat {
            name: "vn-personal-id",
            check: Box::new(|s| PersonalId::parse(s).is_ok()),
            explain: Box::new(|s| match PersonalId::parse(s) {
                Ok(_) => "valid".into(),
                Err(e) => e.to_string(),
            }),
        },
        CustomFormat {
            name: "vn-agency-code",
            check: Box::new(move |s| agency_check.check(s)),
            explain: Box::new(move |s| {
                format!("{s:?} is not an agency code (expected the pattern {agency_pattern})")
            }),
        },
        code_format("vn-province-code", "a 2025 province", |u, s| {
            u.province(s).is_some()
        }),
        code_format("vn-commune-code", "a 2025 commune", |u, s| {
            u.commune(s).is_some()
        }),
        code_format("vn-legacy-province-code", "a legacy province", |u, s| {
            u.legacy_province(s).is_some()
        }),
        code_format("vn-legacy-district-code", "a legacy district", |u, s| {
            u.legacy_district(s).is_some()
        }),
        code_format("vn-legacy-commune-code", "a legacy commune", |u, s| {
            u.legacy_commune(s).is_some()
        }),
        CustomFormat {
            name: "vn-partial-date",
            check: Box::new(|s| PartialDate::parse(s).is_ok()),
            explain: Box::new(|s| match PartialDate::parse(s) {
                Ok(_) => "valid".into(),
                Err(e) => e.to_string(),
            }),
        },
    ]
}
