//! Operators' routes: liveness, readiness, metrics, and the OpenAPI document.

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

/// The OpenAPI 3.1 description of every route.
const OPENAPI: &str = include_str!("openapi.json");

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/traffic", get(traffic))
}

/// The last hour of traffic a minute at a time, and the latest errors, as this node counted
/// them (the console's overview). Any member.
async fn traffic(
    State(state): State<AppState>,
    super::Auth(_caller): super::Auth,
) -> impl IntoResponse {
    axum::Json(state.metrics.traffic())
}

/// Alive: the process answers.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Ready: the store answers and adapters are loaded.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.clone();
    let store_ok = tokio::task::spawn_blocking(move || store.adapter_states().is_ok())
        .await
        .unwrap_or(false);
    let adapters = state.registry.list().len();
    // Reads may still work when writes do not (a full disk): the last commit says.
    let write_error = state.relay.write_error();
    let ready = store_ok && adapters > 0 && write_error.is_none();
    let mut body = json!({
        "status": if ready { "ready" } else { "not-ready" },
        "store": if store_ok && write_error.is_none() { "ok" } else { "failing" },
        "adapters": adapters,
    });
    if let Some(e) = write_error {
        body["store_error"] = json!(e);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    // Gauges read at the time of the scrape.
    text.push_str(&format!(
        "# HELP lienthong_audit_entries Entries in the audit log (durable).\n\
         # TYPE lienthong_audit_entries gauge\n\
         lienthong_audit_entries {}\n",
        state.relay.audit().size()
    ));
    if let Some(q) = state.quality.clone() {
        let gauges = tokio::task::spawn_blocking(move || {
            q.quality
                .gauges(crate::clock::now_ms() as i64, q.log_size())
        })
        .await;
        if let Ok(g) = gauges {
            text.push_str(&g);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
