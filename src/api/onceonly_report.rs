//! `GET /v1/onceonly/report`: the once-only compliance report.

use super::{AppState, Auth, Problem};
use crate::auth::Role;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    since: Option<String>,
}

/// `GET /v1/onceonly/report[?since=RFC 3339]` (auditor, admin): per receiving agency and
/// procedure, dossiers received, fields filled from the register, mismatches, documents
/// requested again though available, documents reused. The hub keeps counts per day (Vietnam
/// time), so the report counts from the start of `since`'s day (`counted_from`).
pub(super) async fn onceonly_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Auditor, Role::Admin])?;
    let q: ReportQuery = super::query(q, "since")?;
    let since_ms = match q.since.as_deref() {
        None => 0,
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis().max(0) as u64)
            .map_err(|e| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "request.query",
                    format!("since={t:?} is not an RFC 3339 time: {e}"),
                )
            })?,
    };
    let store = state.store.clone();
    let (groups, from_ms) = tokio::task::spawn_blocking(move || store.report_counts(since_ms))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    let mut r = crate::onceonly::documents::report(&groups);
    r["since"] = json!(q.since);
    // Counts are kept by the day: the report starts at the beginning of since's day.
    r["counted_from"] = json!(q.since.as_ref().and_then(|_| {
        let vn = chrono::FixedOffset::east_opt(7 * 3600)?;
        let t = chrono::DateTime::from_timestamp_millis(from_ms as i64)?;
        Some(
            t.with_timezone(&vn)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        )
    }));
    Ok(axum::Json(r).into_response())
}
