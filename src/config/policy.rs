//! Disclosure policy (`config/policies.toml`): which member may read which fields of which
//! record type for which purpose, where each record type is read from and for how long an
//! answer is cached, and how many pulls a member may make. Deny by default.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The whole policy file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Purposes the hub knows, with what each means (a pull naming another is refused).
    #[serde(default)]
    pub purposes: BTreeMap<String, String>,
    /// Per record type, the adapter it is read from (e.g. `citizen = "population-registry"`).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Per record type, seconds an answer from the source is reused; 0 or absent: never.
    #[serde(default)]
    pub cache_ttl_secs: BTreeMap<String, u64>,
    /// Pull rate limits.
    #[serde(default)]
    pub limits: PullLimits,
    /// What each member may read.
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PullLimits {
    /// Pulls per minute per consumer member (each id of a batch counts).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    /// Per member, a different number.
    #[serde(default)]
    pub members: BTreeMap<String, u32>,
}

fn default_per_minute() -> u32 {
    6000
}

impl Default for PullLimits {
    fn default() -> Self {
        PullLimits {
            per_minute: default_per_minute(),
            members: BTreeMap::new(),
        }
    }
}

/// `[[grants]]`: a member may read these fields of a record type for a purpose.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub member: String,
    pub record_type: String,
    pub purpose: String,
    /// Top-level fields of the canonical record; `personal_id` is always among them.
    pub fields: Vec<String>,
}

/// Why a policy file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// The answer to "may this member read these fields for this purpose?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// `policy.allowed`, `policy.unknown-purpose`, `policy.no-grant`, `policy.no-field`.
    pub code: &'static str,
    pub reason: String,
    /// Fields that will be disclosed (of those the record has).
    pub granted: Vec<String>,
    /// Fields asked for that the grant does not cover (removed from the answer).
    pub withheld: Vec<String>,
}

impl PolicyConfig {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<PolicyConfig, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            file: file.clone(),
            source,
        })?;
        PolicyConfig::parse(&file, &text)
    }

    /// Parses and checks policy text.
    pub fn parse(file: &str, text: &str) -> Result<PolicyConfig, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            file: file.to_string(),
            message,
        };
        let p: PolicyConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (i, g) in p.grants.iter().enumerate() {
            if !p.purposes.contains_key(&g.purpose) {
                return Err(invalid(format!(
                    "grants[{i}] ({}): purpose {:?} is not in [purposes]",
                    g.member, g.purpose
                )));
            }
            if g.fields.is_empty() {
                return Err(invalid(format!(
                    "grants[{i}] ({}): no fields; a grant without fields grants nothing",
                    g.member
                )));
            }
        }
        if p.limits.per_minute == 0 || p.limits.members.values().any(|n| *n == 0) {
            return Err(invalid("limits: per_minute must be above 0".into()));
        }
        Ok(p)
    }

    /// Pulls per minute allowed to `member`.
    pub fn per_minute(&self, member: &str) -> u32 {
        self.limits
            .members
            .get(member)
            .copied()
            .unwrap_or(self.limits.per_minute)
    }

    /// Seconds an answer for `record_type` may be reused.
    pub fn ttl(&self, record_type: &str) -> u64 {
        self.cache_ttl_secs.get(record_type).copied().unwrap_or(0)
    }

    /// Decides a pull. `fields`: the fields asked for (`None`: everything granted).
    pub fn decide(
        &self,
        member: &str,
        record_type: &str,
        purpose: &str,
        fields: Option<&[String]>,
    ) -> Decision {
        let denied = |code, reason: String| Decision {
            allowed: false,
            code,
            reason,
            granted: Vec::new(),
            withheld: fields.map(<[String]>::to_vec).unwrap_or_default(),
        };
        if !self.purposes.contains_key(purpose) {
            let known: Vec<&str> = self.purposes.keys().map(String::as_str).collect();
            return denied(
                "policy.unknown-purpose",
                format!(
                    "purpose {purpose:?} is not one the policy knows ({})",
                    known.join(", ")
                ),
            );
        }
        let granted: BTreeSet<&str> = self
            .grants
            .iter()
            .filter(|g| g.member == member && g.record_type == record_type && g.purpose == purpose)
            .flat_map(|g| g.fields.iter().map(String::as_str))
            .chain(std::iter::once("personal_id"))
            .collect();
        if granted.len() == 1 {
            return denied(
                "policy.no-grant",
                format!(
                    "member {member} has no grant to read {record_type} records for \
                     {purpose:?}"
                ),
            );
        }
        match fields {
            None => Decision {
                allowed: true,
                code: "policy.allowed",
                reason: format!(
                    "member {member} may read these {record_type} fields for {purpose:?}"
                ),
                granted: granted.iter().map(|s| s.to_string()).collect(),
                withheld: Vec::new(),
            },
            Some(asked) => {
                let (ok, not): (Vec<&String>, Vec<&String>) =
                    asked.iter().partition(|f| granted.contains(f.as_str()));
                let mut ok: Vec<String> = ok.into_iter().cloned().collect();
                if !ok.iter().any(|f| f == "personal_id") {
                    ok.insert(0, "personal_id".into());
                }
                let withheld: Vec<String> = not.into_iter().cloned().collect();
                if ok.len() == 1 && !asked.iter().all(|f| f == "personal_id") {
                    return Decision {
                        code: "policy.no-field",
                        ..denied(
                            "policy.no-field",
                            format!(
                                "none of the fields asked for is granted to member {member} \
                                 for {purpose:?} (granted: {})",
                                granted.iter().copied().collect::<Vec<_>>().join(", ")
                            ),
                        )
                    };
                }
                Decision {
                    allowed: true,
                    code: "policy.allowed",
                    reason: if withheld.is_empty() {
                        format!(
                            "every field asked for is granted to member {member} for {purpose:?}"
                        )
                    } else {
                        format!(
                            "some fields asked for are not granted to member {member} for \
                             {purpose:?} and are withheld"
                        )
                    },
                    granted: ok,
                    withheld,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[purposes]
employment-support = "Hỗ trợ việc làm"
dossier-processing = "Giải quyết thủ tục hành chính"

[[grants]]
member = "G07"
record_type = "citizen"
purpose = "employment-support"
fields = ["full_name", "birth_date"]
"#;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_policy_matrix() {
        let p = PolicyConfig::parse("p", POLICY).unwrap();
        let all = p.decide("G07", "citizen", "employment-support", None);
        assert!(all.allowed);
        assert_eq!(all.granted, s(&["birth_date", "full_name", "personal_id"]));
        let some = p.decide(
            "G07",
            "citizen",
            "employment-support",
            Some(&s(&["full_name", "religion"])),
        );
        assert!(some.allowed);
        assert_eq!(some.granted, s(&["personal_id", "full_name"]));
        assert_eq!(some.withheld, s(&["religion"]));
        let none = p.decide(
            "G07",
            "citizen",
            "employment-support",
            Some(&s(&["religion"])),
        );
        assert_eq!((none.allowed, none.code), (false, "policy.no-field"));
        let purpose = p.decide("G07", "citizen", "curiosity", None);
        assert_eq!(purpose.code, "policy.unknown-purpose");
        let other = p.decide("G22", "citizen", "employment-support", None);
        assert_eq!(other.code, "policy.no-grant");
        let other_purpose = p.decide("G07", "citizen", "dossier-processing", None);
        assert_eq!(other_purpose.code, "policy.no-grant");
    }

    #[test]
    fn bad_policies_are_refused_with_their_place() {
        let e = PolicyConfig::parse(
            "p",
            &POLICY.replace("purpose = \"employment-support\"", "purpose = \"x\""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("grants[0]") && e.contains("\"x\""), "{e}");
        let e = PolicyConfig::parse("p", "[purposes]\na = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p:"), "{e}");
    }
}
