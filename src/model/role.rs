//! The roles a member acts in, as the config, the tokens and the API name them.

/// A role a member acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Registers adapters, routes, policies; replays dead letters.
    Admin,
    /// Pushes records (one-stop systems, the register).
    Provider,
    /// Pulls verified data (ministries).
    Consumer,
    /// Reads and exports the audit log.
    Auditor,
}

impl Role {
    /// Parses `admin`, `provider`, `consumer` or `auditor`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "provider" => Some(Role::Provider),
            "consumer" => Some(Role::Consumer),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Provider => "provider",
            Role::Consumer => "consumer",
            Role::Auditor => "auditor",
        }
    }
}
