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
    /// Watches the hub: health, metrics, the relay's state, adapters and routes; never
    /// personal data.
    Observer,
}

impl Role {
    /// Every role, in the order the docs list them.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Provider,
        Role::Consumer,
        Role::Auditor,
        Role::Observer,
    ];

    /// Parses `admin`, `provider`, `consumer`, `auditor` or `observer`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "provider" => Some(Role::Provider),
            "consumer" => Some(Role::Consumer),
            "auditor" => Some(Role::Auditor),
            "observer" => Some(Role::Observer),
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
            Role::Observer => "observer",
        }
    }
}
