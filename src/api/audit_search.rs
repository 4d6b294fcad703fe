//! The audit searches that name a person, asked with a POST so that the personal ID travels in
//! the body: a query string lands in access logs, proxies' logs and browsers' histories. The
//! console uses these; the GET forms stay for scripts.

use super::audit::{EntriesQuery, search, subject_report};
use super::{AppState, Auth, Problem};
use crate::auth::Role;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/search", post(search_posted))
        .route("/v1/audit/subjects/report", post(report_posted))
}

const AUDITORS: &[Role] = &[Role::Admin, Role::Auditor];

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8], shape: &str) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!("the body is not {shape}: {e}"),
        )
    })
}

/// `GET /v1/audit/entries` with its criteria in a JSON body.
async fn search_posted(
    State(state): State<AppState>,
    Auth(caller): Auth,
    bytes: axum::body::Bytes,
) -> Result<Response, Problem> {
    super::require(&caller, AUDITORS)?;
    let q: EntriesQuery = body(
        &bytes,
        "a search ({\"subject\", \"member\", \"exchange_id\", \"operation\", \"outcome\", \
         \"purpose\", \"from\", \"to\", \"after\", \"limit\"}, each optional)",
    )?;
    search(&state, q).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    personal_id: String,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /v1/audit/subjects/{personal_id}/report` with the personal ID in a JSON body.
async fn report_posted(
    State(state): State<AppState>,
    Auth(caller): Auth,
    bytes: axum::body::Bytes,
) -> Result<Response, Problem> {
    super::require(&caller, AUDITORS)?;
    let q: ReportBody = body(
        &bytes,
        "a report request ({\"personal_id\", \"from\", \"to\"})",
    )?;
    subject_report(&state, q.personal_id, q.from, q.to).await
}
