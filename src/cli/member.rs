//! `lienthong member list|show|add|change|retire`: the members connected to a running hub.
//!
//! Against a running hub only (`--hub URL` or `LIENTHONG_HUB`, an admin token for changes): a change is in force
//! for the hub's next request and is an audit entry the hub writes. The config file's
//! `[[members]]` are the starting set.

use super::Outcome;
use super::adapter::HubArgs;
use anyhow::bail;
use serde_json::{Map, Value, json};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List the members, retired ones marked.
    List {
        #[command(flatten)]
        hub: HubArgs,
    },
    /// One member, as JSON.
    Show {
        /// The member's agency code.
        code: String,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Add a member (a province or ministry joining); in force at once.
    Add {
        /// The member's agency code, e.g. 000.00.00.H42.
        code: String,
        /// Its name, e.g. "UBND tỉnh Hà Tĩnh".
        #[arg(long, default_value = "")]
        name: String,
        /// Roles, comma-separated: admin, provider, consumer, auditor, observer.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Client certificate names (subject common name or DNS name) that identify it over
        /// mutual TLS, comma-separated.
        #[arg(long = "tls-names", value_delimiter = ',')]
        tls_names: Vec<String>,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Change a member's name, roles or certificate names (what is not given stays).
    Change {
        code: String,
        #[arg(long)]
        name: Option<String>,
        /// The new roles, comma-separated (replacing the old ones).
        #[arg(long, value_delimiter = ',')]
        roles: Option<Vec<String>>,
        /// The new certificate names, comma-separated (replacing the old ones; "" for none).
        #[arg(long = "tls-names", value_delimiter = ',')]
        tls_names: Option<Vec<String>>,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Retire a member: its tokens and certificates stop working at once; its record and its
    /// audit entries stay.
    Retire {
        code: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

fn line(m: &Value) -> String {
    let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    let list = |k: &str| {
        m[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let state = match m["retired_at"].as_str() {
        Some(r) => format!("retired {r}"),
        None => "in force".into(),
    };
    // The name last: it is free text of any length.
    format!(
        "{:<16} {:<26} {:<28} {}",
        s("code"),
        list("roles"),
        state,
        s("name")
    )
}

pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::List { hub } => {
            let body = hub.client()?.get_json("/v1/members")?;
            println!("{:<16} {:<26} {:<28} NAME", "CODE", "ROLES", "STATE");
            for m in body["members"].as_array().into_iter().flatten() {
                println!("{}", line(m));
            }
        }
        Command::Show { code, hub } => {
            let body = hub.client()?.get_json(&format!("/v1/members/{code}"))?;
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
        Command::Add {
            code,
            name,
            roles,
            tls_names,
            hub,
        } => {
            let body = json!({
                "code": code, "name": name, "roles": roles,
                "tls_names": tls_names.into_iter().filter(|n| !n.is_empty()).collect::<Vec<_>>(),
            });
            let m = hub.client()?.post_json("/v1/members", &body)?;
            eprintln!("member {code} added; in force now");
            println!("{}", line(&m));
        }
        Command::Change {
            code,
            name,
            roles,
            tls_names,
            hub,
        } => {
            let mut body = Map::new();
            if let Some(n) = name {
                body.insert("name".into(), json!(n));
            }
            if let Some(r) = roles {
                body.insert("roles".into(), json!(r));
            }
            if let Some(t) = tls_names {
                let t: Vec<String> = t.into_iter().filter(|n| !n.is_empty()).collect();
                body.insert("tls_names".into(), json!(t));
            }
            if body.is_empty() {
                bail!("nothing to change: give --name, --roles or --tls-names");
            }
            let m = hub
                .client()?
                .put_json(&format!("/v1/members/{code}"), &Value::Object(body))?;
            eprintln!("member {code} changed; in force now");
            println!("{}", line(&m));
        }
        Command::Retire { code, hub } => {
            hub.client()?.delete(&format!("/v1/members/{code}"))?;
            eprintln!("member {code} retired: its tokens and certificates no longer work");
        }
    }
    Ok(Outcome::Ok)
}
