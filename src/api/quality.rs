//! `GET /v1/quality`: the service-quality indicators of Decision 766/QĐ-TTg as the hub sees
//! them; `POST /v1/quality/rebuild`: fold the audit log again and compare with the live figures.

use super::{AppState, Auth, Problem};
use crate::auth::Role;
use crate::quality::{Dim, Period, Query};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/quality", get(quality))
        .route("/v1/quality/rebuild", post(rebuild))
}

const NAMES: &str = "agency, province, procedure, field, period (day, month, quarter, year, \
                     all), by (agency, province, procedure, field), from, to (YYYY-MM-DD, \
                     Vietnam time), as_of (RFC 3339)";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct QualityQuery {
    pub agency: Option<String>,
    pub province: Option<String>,
    pub procedure: Option<String>,
    pub field: Option<String>,
    pub period: Option<String>,
    pub by: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub as_of: Option<String>,
}

fn bad(what: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "request.query", what)
}

/// A date in Vietnam time, as ms since the epoch of its start.
fn day_start(name: &str, d: &str) -> Result<i64, Problem> {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis() - 7 * 3_600_000)
        .ok_or_else(|| bad(format!("{name}={d:?} is not a date such as 2026-01-31")))
}

impl QualityQuery {
    /// The query the figures take; `as_of` defaults to now.
    pub(crate) fn to_query(&self) -> Result<Query, Problem> {
        let period = match self.period.as_deref() {
            None => Period::Month,
            Some(p) => Period::parse(p).ok_or_else(|| {
                bad(format!(
                    "period={p:?}: one of day, month, quarter, year, all"
                ))
            })?,
        };
        let by = match self.by.as_deref() {
            None => None,
            Some(b) => Some(Dim::parse(b).ok_or_else(|| {
                bad(format!(
                    "by={b:?}: one of agency, province, procedure, field"
                ))
            })?),
        };
        let as_of_ms = match self.as_of.as_deref() {
            None => crate::clock::now_ms() as i64,
            Some(t) => crate::quality::fold::time_ms(t).ok_or_else(|| {
                bad(format!(
                    "as_of={t:?} is not an RFC 3339 time such as 2026-01-31T17:00:00+07:00"
                ))
            })?,
        };
        let from_ms = self
            .from
            .as_deref()
            .map(|d| day_start("from", d))
            .transpose()?;
        // Up to the end of `to`'s day.
        let to_ms = self
            .to
            .as_deref()
            .map(|d| day_start("to", d).map(|t| t + 86_400_000))
            .transpose()?;
        if let Some(p) = &self.province
            && (p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad(format!(
                "province={p:?}: a 2025 province's two-digit code, such as 42"
            )));
        }
        Ok(Query {
            agency: self.agency.clone(),
            province: self.province.clone(),
            procedure: self.procedure.clone(),
            field: self.field.clone(),
            period,
            by,
            from_ms,
            to_ms,
            as_of_ms,
            scope: None,
        })
    }
}

fn live(state: &AppState) -> Result<&crate::quality::Live, Problem> {
    state.quality.as_deref().ok_or_else(|| {
        Problem::not_found(
            "the service-quality indicators are not kept by this hub ([quality] enabled = false)",
        )
    })
}

/// `GET /v1/quality`: auditors and admins see every agency; any other member sees its own
/// agencies only (the figures are narrowed to them, and naming another agency is 403).
async fn quality(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let live = live(&state)?;
    let asked: QualityQuery = super::query(q, NAMES)?;
    let mut q = asked.to_query()?;
    if !caller.has(Role::Auditor) && !caller.has(Role::Admin) {
        if let Some(a) = &q.agency
            && !crate::quality::figures::agency_of_member(a, &caller.member)
        {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "auth.member",
                format!(
                    "member {} may read the indicators of its own agencies only, not of {a}",
                    caller.member
                ),
            ));
        }
        q.scope = Some(caller.member.clone());
    }
    let quality = live.quality.clone();
    let size = live.log_size();
    let report = tokio::task::spawn_blocking(move || {
        let mark = quality.mark();
        (quality.report(&q), mark)
    })
    .await
    .map_err(Problem::internal)?;
    let (report, mark) = report;
    let mut body = serde_json::to_value(&report).map_err(Problem::internal)?;
    body["folded"] = json!({ "audit_entries": mark, "audit_log_size": size });
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RebuildBody {
    #[serde(default)]
    replace: bool,
}

/// `POST /v1/quality/rebuild` (admin): folds the whole audit log again and compares the result
/// with the live indicators, dossier by dossier; with `{"replace": true}` the rebuilt ones
/// take their place. Audited.
async fn rebuild(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let live = live(&state)?;
    let body: RebuildBody = if body.is_empty() {
        RebuildBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "request.body",
                format!("the body: {e} (expected {{\"replace\": true|false}})"),
            )
        })?
    };
    let (quality, to) = (live.quality.clone(), live.log_size());
    let rebuilt =
        tokio::task::spawn_blocking(move || quality.rebuild_and_compare(to, body.replace))
            .await
            .map_err(Problem::internal)?
            .map_err(Problem::internal)?;
    let mut act = super::admin_act(&caller, "quality-rebuild");
    act.outcome = if rebuilt.differ.is_empty() {
        "ok"
    } else {
        "differ"
    }
    .into();
    state.record(act).await?;
    let mut v = serde_json::to_value(&rebuilt).map_err(Problem::internal)?;
    v["equal"] = json!(rebuilt.differ.is_empty());
    v["replaced"] = json!(body.replace);
    Ok(axum::Json(v).into_response())
}
