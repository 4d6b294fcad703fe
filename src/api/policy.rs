//! The disclosure policy, managed through the registry: `GET /v1/policy` (admin, auditor)
//! shows the policy in force and where it came from; `PUT /v1/policy` (admin) checks a new one
//! (TOML, as `config/policies.toml`), stores it as the next version and puts it in force at
//! once, recorded in the audit log. A stored policy is in force over the file after a restart.

use super::{AppState, Auth, Problem, admin_act};
use crate::auth::Role;
use crate::config::policy::PolicyConfig;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/policy", get(show).put(set))
        .route("/v1/policy/grants", get(grants))
}

async fn show(State(state): State<AppState>, Auth(caller): Auth) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Auditor])?;
    let store = state.store.clone();
    let stored = tokio::task::spawn_blocking(move || store.latest_policy())
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    let p = state.onceonly.policy();
    let summary = json!({
        "purposes": p.purposes.keys().collect::<Vec<_>>(),
        "grants": p.grants.len(),
    });
    Ok(axum::Json(match stored {
        Some(s) => json!({
            "source": "registry", "version": s.version, "set_at": s.at, "set_by": s.by,
            "text": s.text, "summary": summary,
        }),
        None => json!({
            "source": "file", "version": 0, "file": state.config.server.policies_file.display().to_string(),
            "summary": summary,
        }),
    })
    .into_response())
}

async fn set(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let bytes = super::read_body(&state, body).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "policy.invalid",
            format!("the policy is not UTF-8: {e}"),
        )
    })?;
    let policy = PolicyConfig::parse("the policy sent", &text)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "policy.invalid", e.to_string()))?;
    // One change at a time: stored as the next version, recorded, then in force.
    let _one = state.onceonly.policy_change.lock().await;
    let store = state.store.clone();
    let at = crate::clock::now_rfc3339();
    let by = caller.member.clone();
    let (t, a) = (text.clone(), at.clone());
    let version = tokio::task::spawn_blocking(move || store.put_policy(&t, &a, &by))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    let mut d = admin_act(&caller, "policy");
    d.fields = vec![format!("version {version}")];
    if let Err(p) = state.record(d).await {
        // Stored but not recorded: it is not put in force now (a restart would); say so.
        tracing::error!(
            version,
            "policy stored but its audit entry failed; not in force"
        );
        return Err(p);
    }
    state.onceonly.set_policy(Arc::new(policy));
    tracing::info!(version, member = %caller.member, "a new disclosure policy is in force");
    Ok((
        StatusCode::OK,
        axum::Json(json!({"version": version, "set_at": at, "in_force": true})),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsQuery {
    /// Whose grants (default: the caller's); a consumer reads only its own.
    #[serde(default)]
    member: Option<String>,
}

/// A member's grants: what it may pull, of which record type, for which purposes, with the
/// purposes' legal bases and its rate limit. A consumer reads its own; admins and auditors any.
async fn grants(
    State(state): State<AppState>,
    Auth(caller): Auth,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Auditor, Role::Consumer])?;
    let q: GrantsQuery = super::query(q, "member?")?;
    let member = super::member_asked(&caller, q.member.as_deref())?;
    let p = state.onceonly.policy();
    let grants: Vec<serde_json::Value> = p
        .grants
        .iter()
        .filter(|g| g.member == member)
        .map(|g| {
            json!({
                "record_type": g.record_type,
                "purpose": g.purpose,
                "legal_basis": p.purposes.get(&g.purpose),
                "fields": g.fields,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "member": member,
        "grants": grants,
        "rate_limit_per_minute": p.per_minute(&member),
    }))
    .into_response())
}
