//! `lienthong token create|list|revoke`: bearer tokens for members.
//!
//! Against the store directly (`--config`, the hub stopped: the store is locked while it runs)
//! or against a running hub (`--hub URL` with an admin token).

use super::Outcome;
use super::client::HubClient;
use crate::auth::{Role, create_token_until, expiry_in, revoke_token};
use crate::config::hub::HubConfig;
use crate::store::{Store, TokenRecord};

use anyhow::{Context as _, bail};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a token for a member acting in one role; the token is printed once.
    Create {
        /// The member's agency code.
        #[arg(long)]
        member: String,
        /// admin, provider, consumer, auditor or observer.
        #[arg(long)]
        role: String,
        /// Refuse the token after this long: a number with s, m, h or d (e.g. 90d, 12h); without
        /// it the token does not expire (until revoked).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires_in: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// List tokens (ids, members, roles, state; never the secrets).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (the part after `lt_`, before the second `_`).
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// The hub configuration (its store is opened directly; the hub must be stopped).
    #[arg(long, value_name = "FILE", default_value = "config/hub.toml")]
    config: PathBuf,
    /// A running hub to ask instead, e.g. http://127.0.0.1:8080 (needs an admin token).
    #[arg(long, value_name = "URL")]
    hub: Option<String>,
    /// Admin bearer token for --hub.
    #[arg(long, env = "LIENTHONG_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn open_store(config: &HubConfig) -> anyhow::Result<Store> {
    Store::open_configured(config).with_context(|| {
        format!(
            "opening the store at {} (is the hub running? stop it, or use --hub URL)",
            config.server.data_dir.display()
        )
    })
}

/// A token's state as `token list` prints it: revoked, expired, or active (until when).
fn state_of(t: &serde_json::Value, now: &str) -> String {
    if let Some(r) = t["revoked_at"].as_str() {
        return format!("revoked {r}");
    }
    match t["expires_at"].as_str() {
        // The hub's times are fixed-width UTC text: text order is time order.
        Some(e) if e <= now => format!("EXPIRED {e}"),
        Some(e) => format!("active, expires {e}"),
        None => "active".into(),
    }
}

/// `90d`, `12h`, `30m`, `45s` or plain seconds, as seconds (at least 1).
fn parse_duration(s: &str) -> Result<u64, String> {
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: a number followed by s, m, h or d (e.g. 90d)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    if secs == 0 {
        return Err("a token that expires at once is of no use; leave --expires-in out for one that does not expire".into());
    }
    Ok(secs)
}

pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Create {
            member,
            role,
            expires_in,
            target,
        } => {
            let Some(r) = Role::parse(&role) else {
                bail!("--role {role:?}: admin, provider, consumer, auditor or observer");
            };
            if let Some(url) = &target.hub {
                let client = HubClient::new(url, target.token.clone())?;
                let body = client.post_json(
                    "/v1/tokens",
                    &serde_json::json!({"member": member, "role": role, "expires_in_secs": expires_in}),
                )?;
                println!("{}", body["token"].as_str().unwrap_or_default());
                eprintln!(
                    "token {} created for {member} as {role}; it is shown only once",
                    body["id"].as_str().unwrap_or_default()
                );
                return Ok(Outcome::Ok);
            }
            let config = HubConfig::load(&target.config)?;
            let store = open_store(&config)?;
            // The members in force: the config file's and those added through a hub's API.
            let directory = crate::auth::Directory::open(store.clone(), &config.members)?;
            let members = directory.current();
            let Some(m) = members.get(&member) else {
                bail!(
                    "member {member} is not a member in force (members: {})",
                    members.codes().join(", ")
                );
            };
            if !m.roles.iter().any(|x| x == &role) {
                bail!(
                    "member {member} does not have the role {role} (it has: {})",
                    m.roles.join(", ")
                );
            }
            let t = create_token_until(&store, &member, r, expires_in.map(expiry_in))?;
            println!("{}", t.bearer());
            eprintln!(
                "token {} created for {member} as {role}; it is shown only once",
                t.id
            );
            Ok(Outcome::Ok)
        }
        Command::List { target } => {
            let rows: Vec<serde_json::Value> = if let Some(url) = &target.hub {
                let client = HubClient::new(url, target.token.clone())?;
                let body = client.get_json("/v1/tokens")?;
                body["tokens"].as_array().cloned().unwrap_or_default()
            } else {
                let config = HubConfig::load(&target.config)?;
                let store = open_store(&config)?;
                store.tokens()?.iter().map(TokenRecord::row).collect()
            };
            for t in rows {
                println!(
                    "{}  {:<16} {:<9} created {}  {}",
                    t["id"].as_str().unwrap_or_default(),
                    t["member"].as_str().unwrap_or_default(),
                    t["role"].as_str().unwrap_or_default(),
                    t["created_at"].as_str().unwrap_or_default(),
                    state_of(&t, &crate::clock::now_rfc3339())
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Revoke { id, target } => {
            if let Some(url) = &target.hub {
                let client = HubClient::new(url, target.token.clone())?;
                client.delete(&format!("/v1/tokens/{id}"))?;
            } else {
                let config = HubConfig::load(&target.config)?;
                let store = open_store(&config)?;
                if !revoke_token(&store, &id)? {
                    bail!("no token {id}");
                }
            }
            eprintln!("token {id} revoked");
            Ok(Outcome::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, state_of};
    use serde_json::json;

    #[test]
    fn an_expired_token_is_listed_as_expired() {
        let now = "2026-12-05T10:00:00.000Z";
        let t = json!({"expires_at": "2026-12-05T09:59:59.000Z"});
        assert_eq!(state_of(&t, now), "EXPIRED 2026-12-05T09:59:59.000Z");
        let t = json!({"expires_at": "2026-12-06T00:00:00.000Z"});
        assert_eq!(
            state_of(&t, now),
            "active, expires 2026-12-06T00:00:00.000Z"
        );
        assert_eq!(state_of(&json!({}), now), "active");
        let t = json!({"revoked_at": "2026-12-01T00:00:00.000Z", "expires_at": "2026-12-02T00:00:00.000Z"});
        assert_eq!(state_of(&t, now), "revoked 2026-12-01T00:00:00.000Z");
    }

    #[test]
    fn durations_have_units_and_are_never_zero() {
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("45s"), Ok(45));
        assert_eq!(parse_duration("3600"), Ok(3600));
        for bad in ["0", "0d", "d", "12w", "1.5h", "-3h", ""] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
