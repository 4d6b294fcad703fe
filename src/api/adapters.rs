//! Admin routes of the adapter registry: register (a new version), list, show, disable, enable.

use super::{AppState, Auth, Problem, read_body};
use crate::auth::Role;
use crate::registry::AdapterRegistry;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/adapters", get(list).post(register))
        .route("/v1/adapters/{name}", get(show))
        .route("/v1/adapters/{name}/versions/{version}", get(show_version))
        .route("/v1/adapters/{name}/disable", post(disable))
        .route("/v1/adapters/{name}/enable", post(enable))
        .route("/v1/adapters/{name}/probe", post(probe))
}

/// A registration request in JSON: the definition (TOML text) and the samples it names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    definition: String,
    #[serde(default)]
    samples: BTreeMap<String, String>,
    /// The check's warnings (places of the samples no mapping reads, mapped places no sample
    /// has) refuse the definition, as `adapter check --strict` fails.
    #[serde(default)]
    strict: bool,
    /// Only check: nothing is registered; the report shows each sample's canonical record.
    #[serde(default)]
    dry_run: bool,
}

async fn register(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let bytes = read_body(&state, body).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let submission = if content_type.starts_with("application/json") {
        serde_json::from_slice::<Submission>(&bytes).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "request.json",
                format!(
                    "the body is not a registration ({{\"definition\": \"<TOML>\", \"samples\": \
                     {{\"<path>\": \"<content>\"}}, \"strict\": false}}): {e}"
                ),
            )
        })?
    } else if content_type.starts_with("application/toml") || content_type.starts_with("text/plain")
    {
        Submission {
            definition: String::from_utf8(bytes.to_vec()).map_err(|_| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "request.utf8",
                    "the definition is not UTF-8",
                )
            })?,
            samples: BTreeMap::new(),
            strict: false,
            dry_run: false,
        }
    } else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            "send application/json ({\"definition\", \"samples\"}) or application/toml",
        ));
    };
    if submission.dry_run {
        return Ok(dry_run(&state, submission));
    }
    let reg = state
        .registry
        .register(
            &submission.definition,
            &submission.samples,
            submission.strict,
            &caller,
        )
        .await
        .map_err(Problem::internal)?;
    let body = serde_json::to_value(&reg).unwrap_or_default();
    let mut draft = super::admin_act(&caller, "register");
    draft.counterparty = body
        .get("name")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    draft.outcome = if reg.accepted { "accepted" } else { "refused" }.into();
    draft.payload = Some(json!({ "definition": submission.definition, "registration": body }));
    state.record(draft).await?;
    if reg.accepted {
        let status = if reg.unchanged {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((status, axum::Json(body)).into_response());
    }
    let forbidden = !reg.problems.is_empty() && reg.check.ok();
    let (status, code, detail) = if forbidden {
        (
            StatusCode::FORBIDDEN,
            "adapter.refused",
            reg.problems.join("; "),
        )
    } else if reg.unreachable && reg.check.ok() {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "adapter.unreachable",
            "the adapter's endpoint did not answer the probe and probe.required is set".into(),
        )
    } else if reg.check.definition.is_empty() && reg.check.samples.iter().all(|s| s.ok) {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "adapter.invalid",
            format!(
                "the check found {} warning(s) and strict is set; the report lists them \
                 (check.warnings)",
                reg.check.warning_count()
            ),
        )
    } else {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "adapter.invalid",
            "the definition or its samples did not pass the check; the report says why".into(),
        )
    };
    Err(Problem::new(status, code, detail).with_extra(json!({ "registration": body })))
}

async fn list(State(state): State<AppState>, Auth(_caller): Auth) -> impl IntoResponse {
    axum::Json(json!({ "adapters": state.registry.list() }))
}

async fn show(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    show_inner(&state, &name, None)
}

async fn show_version(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let v: u32 = version.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.version",
            format!("{version:?} is not a version number"),
        )
    })?;
    show_inner(&state, &name, Some(v))
}

fn show_inner(state: &AppState, name: &str, version: Option<u32>) -> Result<Response, Problem> {
    let found = state
        .registry
        .show(name, version)
        .map_err(Problem::internal)?;
    let Some((v, st, versions)) = found else {
        return Err(Problem::not_found(match version {
            Some(n) => format!("adapter {name} has no version {n}"),
            None => format!("no adapter {name}"),
        }));
    };
    Ok(axum::Json(json!({
        "name": v.name,
        "version": v.version,
        "latest": st.latest,
        "enabled": st.enabled,
        "versions": versions,
        "source": v.source,
        "registered_at": v.registered_at,
        "definition": v.definition,
        "samples": v.samples.keys().collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn disable(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let r = set_enabled(&state, &caller, &name, false)?;
    let mut draft = super::admin_act(&caller, "disable");
    draft.counterparty = Some(name);
    state.record(draft).await?;
    Ok(r)
}

async fn enable(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let r = set_enabled(&state, &caller, &name, true)?;
    let mut draft = super::admin_act(&caller, "enable");
    draft.counterparty = Some(name);
    state.record(draft).await?;
    Ok(r)
}

/// Probes an adapter's endpoint now (admin, or its own member as provider); audited.
async fn probe(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let Some(active) = state.registry.get(&name) else {
        return Err(Problem::not_found(format!("no adapter {name}")));
    };
    if !AdapterRegistry::may_manage(&caller, &active.adapter.definition().member) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "auth.role",
            format!(
                "member {} may not probe adapter {name} (admin, or its own member as provider)",
                caller.member
            ),
        ));
    }
    let report = state.registry.probe(&name).await.ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            "adapter.no-endpoint",
            format!("adapter {name} has no endpoint to probe (it only sends to the hub)"),
        )
    })?;
    let mut draft = super::admin_act(&caller, "probe");
    draft.counterparty = Some(name);
    draft.outcome = if report.reachable { "ok" } else { "failed" }.into();
    state.record(draft).await?;
    Ok(axum::Json(report).into_response())
}

fn set_enabled(
    state: &AppState,
    caller: &crate::auth::Caller,
    name: &str,
    enabled: bool,
) -> Result<Response, Problem> {
    super::require(caller, &[Role::Admin, Role::Provider])?;
    let Some(active) = state.registry.get(name) else {
        return Err(Problem::not_found(format!("no adapter {name}")));
    };
    if !AdapterRegistry::may_manage(caller, &active.adapter.definition().member) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "auth.role",
            format!(
                "member {} may not change adapter {name} (admin, or its own member as provider)",
                caller.member
            ),
        ));
    }
    state
        .registry
        .set_enabled(name, enabled)
        .map_err(Problem::internal)?;
    tracing::info!(adapter = %name, enabled, member = %caller.member, "adapter state changed");
    Ok(axum::Json(json!({"name": name, "enabled": enabled})).into_response())
}

/// The check of a definition and its samples, nothing registered: 200 with the report (its
/// `ok` says whether a registration would pass the check).
fn dry_run(state: &AppState, s: Submission) -> Response {
    let (report, _) = crate::check::check_adapter(
        "submitted definition",
        &s.definition,
        &s.samples,
        &state.schemas,
        crate::check::CheckOptions {
            write_golden: false,
            strict: s.strict,
            canonical: true,
        },
    );
    axum::Json(json!({ "dry_run": true, "ok": report.ok(), "check": report })).into_response()
}
