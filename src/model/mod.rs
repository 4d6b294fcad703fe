//! Canonical identifiers and value types of the domain.
//!
//! Every identifier that crosses the hub is parsed once, at the edge, into one of these types
//! (`PersonalId::parse`, `PartialDate::parse`, `AgencyCodeRule::check`), so the stages inside
//! the hub never handle an unchecked string. Each parse error says what was wrong and where.

mod agency;
mod digest;
mod json_out;
mod partial_date;
mod personal_id;
mod pointer;

pub use agency::{AgencyCodeRule, DEFAULT_AGENCY_CODE_PATTERN};
pub use digest::{canonical_json, digest_of_canonical, record_digest};
pub use json_out::{
    to_vec as json_to_vec, write_str as json_write_str, write_u64 as json_write_u64,
    write_value as json_write_value,
};
pub use partial_date::{PartialDate, PartialDateError, Precision};
pub use personal_id::{LEGACY_PROVINCE_CODES, PersonalId, PersonalIdError, Sex};
pub use pointer::pointer;
