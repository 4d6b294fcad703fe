//! Custom `format` checks registered with the JSON Schema compiler.

use crate::model::{AgencyCodeRule, PartialDate, PersonalId};

/// A custom format: its name in schemas and the check.
pub(crate) struct CustomFormat {
    pub name: &'static str,
    pub check: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// Explains why a value fails, for the error message.
    pub explain: Box<dyn Fn(&str) -> String + Send + Sync>,
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
