//! Exchanges, for the members that made them: a provider finds its own pushes by exchange id,
//! by dossier code or by time, and sees the path each took through the hub (received,
//! translated, checked, delivered or parked), from the audit log. Admins and auditors find any
//! member's. A provider never sees another member's exchange.
//!
//! The answer names the person an exchange is about (its subject) when the log still keeps it:
//! personal data, so the reading is itself an audit entry, like a pull's.

use super::{AppState, Auth, Problem};
use crate::audit::{AuditLog, Query};
use crate::auth::{Caller, Role};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/exchanges", get(find))
        .route("/v1/exchanges/{exchange_id}", get(one))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindQuery {
    /// The dossier code the pushed record carries.
    #[serde(default)]
    dossier_code: Option<String>,
    /// RFC 3339: exchanges at or after.
    #[serde(default)]
    from: Option<String>,
    /// RFC 3339: exchanges before.
    #[serde(default)]
    to: Option<String>,
    /// Whose exchanges (admins and auditors; a provider's are its own).
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// The roles that look exchanges up.
const FINDERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Provider];

/// Most exchanges one answer lists.
const MOST: usize = 200;

/// A member's exchanges by dossier code or time, newest last, each with its path.
async fn find(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, FINDERS)?;
    let q: FindQuery = super::query(q, "dossier_code?, from?, to?, member?, limit?")?;
    let member = super::member_asked(&caller, q.member.as_deref())?;
    if q.dossier_code.is_none() && q.from.is_none() && q.to.is_none() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "request.query",
            "name a dossier code (dossier_code=) or a time range (from=, to=); \
             GET /v1/exchanges/{exchange_id} finds one exchange",
        ));
    }
    let log = state.relay.audit().clone();
    let limit = q.limit.unwrap_or(50).clamp(1, MOST);
    let wanted = q.dossier_code.clone();
    let found = tokio::task::spawn_blocking(move || {
        pushes_of(&log, &member, q.from, q.to, wanted.as_deref(), limit)
    })
    .await
    .map_err(Problem::internal)??;
    let mut exchanges = Vec::with_capacity(found.len());
    for id in found {
        exchanges.push(path_of(&state, &id).await?);
    }
    read_subjects(&state, &caller, &exchanges).await?;
    Ok(axum::Json(json!({ "exchanges": exchanges })).into_response())
}

/// One exchange and its path; a provider's own only.
async fn one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(exchange_id): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, FINDERS)?;
    let exchange = path_of(&state, &exchange_id).await?;
    let entries = exchange["path"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        return Err(Problem::not_found(format!(
            "no exchange {exchange_id} in the audit log"
        )));
    }
    let pushed_by = exchange["member"].as_str().unwrap_or_default();
    if !(caller.has(Role::Admin) || caller.has(Role::Auditor) || pushed_by == caller.member) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "auth.owner",
            format!(
                "exchange {exchange_id} is not member {}'s: it did not make it",
                caller.member
            ),
        ));
    }
    read_subjects(&state, &caller, std::slice::from_ref(&exchange)).await?;
    Ok(axum::Json(exchange).into_response())
}

/// The exchange ids of `member`'s pushes in a time range, those whose record carries
/// `dossier_code` when one is given, oldest first, at most `limit`.
fn pushes_of(
    log: &Arc<AuditLog>,
    member: &str,
    from: Option<String>,
    to: Option<String>,
    dossier_code: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = log
            .query(&Query {
                member: Some(member.to_string()),
                operation: Some("ingest".into()),
                from: from.clone(),
                to: to.clone(),
                after,
                limit: 500,
                ..Default::default()
            })
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "audit.query", e.to_string()))?;
        for f in &page.entries {
            if f.entry.actor != member {
                continue;
            }
            let carries = match dossier_code {
                None => true,
                Some(code) => log
                    .entry(f.entry.index)
                    .map_err(Problem::internal)?
                    .and_then(|(_, sealed)| sealed?.payload)
                    .is_some_and(|p| p.get("dossier_code").and_then(Value::as_str) == Some(code)),
            };
            if carries && !out.contains(&f.entry.exchange_id) {
                out.push(f.entry.exchange_id.clone());
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// An exchange: who made it, what, and its path through the hub, entry by entry.
async fn path_of(state: &AppState, exchange_id: &str) -> Result<Value, Problem> {
    let log = state.relay.audit().clone();
    let id = exchange_id.to_string();
    let page = tokio::task::spawn_blocking(move || {
        log.query(&Query {
            exchange_id: Some(id),
            limit: 1000,
            ..Default::default()
        })
    })
    .await
    .map_err(Problem::internal)?
    .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "audit.query", e.to_string()))?;
    let first = page.entries.iter().find(|f| f.entry.operation == "ingest");
    fn step(op: &str) -> &str {
        match op {
            "ingest" => "received",
            "translate" => "translated",
            "verify" => "checked against the register",
            "share" => "shared under a purpose",
            "deliver" => "delivered",
            "park" => "parked as a dead letter",
            "replay" => "replayed",
            "discard" => "discarded",
            other => other,
        }
    }
    let path: Vec<Value> = page
        .entries
        .iter()
        .map(|f| {
            let e = &f.entry;
            json!({
                "index": e.index,
                "time": e.time,
                "step": step(&e.operation),
                "operation": e.operation,
                "outcome": e.outcome,
                "counterparty": e.counterparty,
                "error_code": e.error_code,
                "fields": e.fields,
            })
        })
        .collect();
    Ok(json!({
        "exchange_id": exchange_id,
        "member": first.map(|f| f.entry.actor.clone()),
        "record_type": first.and_then(|f| f.entry.record_type.clone()),
        "received_at": first.map(|f| f.entry.time.clone()),
        "outcome": first.map(|f| f.entry.outcome.clone()),
        "subject": first.and_then(|f| f.subject.clone()),
        "path": path,
    }))
}

/// Records that the caller read the subjects of these exchanges, one entry per person.
async fn read_subjects(
    state: &AppState,
    caller: &Caller,
    exchanges: &[Value],
) -> Result<(), Problem> {
    let mut drafts = Vec::new();
    for x in exchanges {
        let Some(subject) = x["subject"].as_str() else {
            continue;
        };
        let mut d = super::admin_act(caller, "read");
        d.record_type = x["record_type"].as_str().map(str::to_string);
        d.subject = Some(subject.to_string());
        d.refers_to = x["exchange_id"].as_str().map(str::to_string);
        d.fields = vec!["subject".into()];
        d.outcome = "allowed".into();
        drafts.push(d);
    }
    if drafts.is_empty() {
        return Ok(());
    }
    state
        .relay
        .record(drafts)
        .await
        .map(|_| ())
        .map_err(Problem::from)
}
