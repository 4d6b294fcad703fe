//! Canonical identifiers and value types of the domain.
//!
//! Every identifier that crosses the hub is parsed once, at the edge, into one of these types
//! (`PersonalId::parse`, `PartialDate::parse`, `AgencyCodeRule::check`), so the stages inside
//! the hub never handle an unchecked string. Each parse error says what was wrong and where.

mod agency;
mod digest;
pub(crate) mod json_out;
mod partial_date;
mod personal_id;
mod pointer;
mod role;

pub use agency::{AgencyCodeRule, DEFAULT_AGENCY_CODE_PATTERN};
pub use digest::{canonical_json, digest_of_canonical, record_digest};
pub use partial_date::{PartialDate, PartialDateError, Precision};
pub use personal_id::{LEGACY_PROVINCE_CODES, PersonalId, PersonalIdError, Sex};
pub use pointer::pointer;
pub use role::Role;

/// Arbitrary JSON values for property tests: every kind of value, integers at both ends of their
/// range, floats, strings with control characters, quotes, backslashes, U+2028 and Vietnamese
/// letters, object keys in and beyond ASCII, nested four deep.
#[cfg(test)]
pub(crate) fn json_values() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        "[\\x00-\\x1f\\x7f\"\\\\/\\u{2028}a-zà-ỹ]{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[\\x00-\\x7f]{0,10}|\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
