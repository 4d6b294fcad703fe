//! `lienthong member list|show|add|change|retire`: the members connected to a running hub.
//!
//! Against a running hub only (`--hub URL`, an admin token for changes): a change is in force
//! for the hub's next request and is an audit entry the hub writes. The config file's
//! `[[members]]` are the starting set.

use super::Outcome;
use super::client::HubClient;
use anyhow::bail;
use serde_json::{Map, Value, json};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List the members, retired ones marked.
    List {
        #[command(flatten)]
        hub: Hub,
    },
    /// One member, as JSON.
    Show {
        /// The member's agency code.
        code: String,
        #[command(flatten)]
        hub: Hub,
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
        hub: Hub,
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
        hub: Hub,
    },
    /// Retire a member: its tokens and certificates stop working at once; its record and its
    /// audit entries stay.
    Retire {
        code: String,
        #[command(flatten)]
        hub: Hub,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct Hub {
    /// The running hub, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", env = "LIENTHONG_HUB")]
    hub: String,
    /// Bearer token (an admin's for add, change and retire).
    #[arg(long, env = "LIENTHONG_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn client(h: &Hub) -> anyhow::Result<HubClient> {
    HubClient::new(&h.hub, h.token.clone())
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
    format!(
        "{:<16} {:<34} {:<32} {}",
        s("code"),
        s("name"),
        list("roles"),
        state
    )
}

pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::List { hub } => {
            let body = client(&hub)?.get_json("/v1/members")?;
            println!("{:<16} {:<34} {:<32} STATE", "CODE", "NAME", "ROLES");
            for m in body["members"].as_array().into_iter().flatten() {
                println!("{}", line(m));
            }
        }
        Command::Show { code, hub } => {
            let body = client(&hub)?.get_json(&format!("/v1/members/{code}"))?;
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
            let m = client(&hub)?.post_json("/v1/members", &body)?;
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
            let m = client(&hub)?.put_json(&format!("/v1/members/{code}"), &Value::Object(body))?;
            eprintln!("member {code} changed; in force now");
            println!("{}", line(&m));
        }
        Command::Retire { code, hub } => {
            client(&hub)?.delete(&format!("/v1/members/{code}"))?;
            eprintln!("member {code} retired: its tokens and certificates no longer work");
        }
    }
    Ok(Outcome::Ok)
}
