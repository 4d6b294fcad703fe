//! Admin routes of the relay's routing table: list, add, remove. Routes from the config file
//! are listed with `"source": "config"` and are changed by editing the file.

use super::{AppState, Auth, Problem, read_body};
use crate::auth::Role;
use crate::config::hub::RouteConfig;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/routes", get(list).post(add))
        .route("/v1/routes/{id}", delete(remove))
}

async fn list(State(state): State<AppState>, Auth(_caller): Auth) -> impl IntoResponse {
    let rows: Vec<_> = state
        .relay
        .routes()
        .into_iter()
        .map(|(id, r)| {
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["id"] = json!(id);
            v["source"] = json!(if id.is_some() { "registry" } else { "config" });
            v
        })
        .collect();
    axum::Json(json!({ "routes": rows }))
}

async fn add(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let bytes = read_body(&state, body).await?;
    let route: RouteConfig = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!(
                "expected {{\"record_type\", \"to\": [..], \"from_adapters\"?, \"agencies\"?, \
                 \"order_key\"?, \"once_only\"?, \"purpose\"?}}: {e}"
            ),
        )
    })?;
    let mut problems = state.relay.check_route(&route);
    if let Some(p) = &route.purpose
        && !state.onceonly.policy().purposes.contains_key(p)
    {
        let known: Vec<String> = state.onceonly.policy().purposes.keys().cloned().collect();
        problems.push(format!(
            "purpose {p:?} is not one the policy knows ({})",
            known.join(", ")
        ));
    }
    if route.agencies.iter().any(|a| a.trim().is_empty()) {
        problems.push("agencies has an empty code".to_string());
    }
    if !problems.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "route.invalid",
            problems.join("; "),
        ));
    }
    let payload = serde_json::to_value(&route).unwrap_or_default();
    let id = state.relay.add_route(route).map_err(Problem::internal)?;
    tracing::info!(route = id, by = %caller.member, "route added");
    let mut draft = super::admin_act(&caller, "route-add");
    draft.payload = Some(json!({ "id": id, "route": payload }));
    state.record(draft).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let id: u64 = id.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.id",
            format!("{id:?} is not a route id"),
        )
    })?;
    if !state.relay.remove_route(id).map_err(Problem::internal)? {
        return Err(Problem::not_found(format!(
            "no stored route {id} (routes of the config file are changed in the file)"
        )));
    }
    tracing::info!(route = id, by = %caller.member, "route removed");
    let mut draft = super::admin_act(&caller, "route-remove");
    draft.payload = Some(json!({ "id": id }));
    state.record(draft).await?;
    Ok(axum::Json(json!({ "id": id, "removed": true })).into_response())
}
