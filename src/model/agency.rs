//! Agency codes (mã định danh điện tử của cơ quan, Decision 20/2020/QĐ-TTg).

use regex::Regex;

/// The default pattern of an agency code, the dotted form `000.00.00.H42`.
pub const DEFAULT_AGENCY_CODE_PATTERN: &str = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$";

/// The rule an agency code must follow: a configurable regular expression.
#[derive(Debug, Clone)]
pub struct AgencyCodeRule {
    regex: Regex,
}

impl AgencyCodeRule {
    /// Compiles a pattern; the error names the pattern and what is wrong with it.
    pub fn new(pattern: &str) -> Result<AgencyCodeRule, regex::Error> {
        Ok(AgencyCodeRule {
            regex: Regex::new(pattern)?,
        })
    }

    /// The pattern this rule checks.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether `code` is an agency code under this rule.
    pub fn check(&self, code: &str) -> bool {
        self.regex.is_match(code)
    }
}

impl Default for AgencyCodeRule {
    fn default() -> Self {
        AgencyCodeRule {
            regex: Regex::new(DEFAULT_AGENCY_CODE_PATTERN).expect("the built-in pattern compiles"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_accepts_the_dotted_form_only() {
        let rule = AgencyCodeRule::default();
        assert!(rule.check("000.00.00.H42"));
        assert!(rule.check("000.00.10.H42"));
        for bad in [
            "000.00.00.h42",
            "00.00.00.H42",
            "000.00.00.H4",
            "000-00-00-H42",
            "",
        ] {
            assert!(!rule.check(bad), "{bad}");
        }
    }

    #[test]
    fn a_custom_pattern_replaces_the_default() {
        let rule = AgencyCodeRule::new(r"^G[0-9]{2}$").unwrap();
        assert!(rule.check("G01"));
        assert!(!rule.check("000.00.00.H42"));
        assert!(AgencyCodeRule::new("(").is_err());
    }
}
