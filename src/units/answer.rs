//! The resolver's answers.

use serde::Serialize;

/// A legacy (pre-2025) address as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Legacy {
    pub commune_code: String,
    pub commune: String,
    pub district_code: String,
    pub district: String,
    pub province_code: String,
    pub province: String,
}

/// One possible 2025 commune of a split old commune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub commune_code: String,
    pub commune: String,
    pub province_code: String,
}

/// The answer of the resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Resolution {
    /// A 2025 unit.
    Current {
        province_code: String,
        province: String,
        commune_code: String,
        commune: String,
    },
    /// An old unit with exactly one successor: the 2025 unit, and the old one kept.
    Converted {
        province_code: String,
        province: String,
        commune_code: String,
        commune: String,
        legacy: Legacy,
    },
    /// An old commune split among several 2025 communes: every candidate, no silent pick.
    Ambiguous {
        legacy: Legacy,
        candidates: Vec<Candidate>,
    },
    /// No such unit: what was not found, and the nearest names.
    Unknown {
        reason: String,
        suggestions: Vec<String>,
    },
}

impl Resolution {
    /// `current`, `converted`, `ambiguous` or `unknown`.
    pub fn status(&self) -> &'static str {
        match self {
            Resolution::Current { .. } => "current",
            Resolution::Converted { .. } => "converted",
            Resolution::Ambiguous { .. } => "ambiguous",
            Resolution::Unknown { .. } => "unknown",
        }
    }
}
