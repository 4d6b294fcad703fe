//! Once-only pulls for consumers: `GET /v1/citizens/{personal_id}?purpose=…[&fields=…]`,
//! `POST /v1/citizens:batch`, and `GET /v1/policy/explain` for operators. Every answer is
//! signed (Ed25519 over its RFC 8785 bytes, header `Lienthong-Signature`, key named in
//! `Lienthong-Key`; public keys at `/v1/keys`); every pull and denial is audited before the
//! answer.

use super::{AppState, Auth, Problem};
use crate::audit::AuditDraft;
use crate::auth::{Caller, Role};
use crate::config::policy::Decision;
use crate::model::PersonalId;
use crate::onceonly::{Fetched, OnceOnly, PullError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Instant;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/citizens/{personal_id}", get(pull_one))
        .route("/v1/citizens:batch", post(pull_batch))
        .route("/v1/policy/explain", get(explain))
        .route(
            "/v1/onceonly/report",
            get(super::onceonly_report::onceonly_report),
        )
}

const RECORD_TYPE: &str = "citizen";
const MAX_BATCH: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullQuery {
    purpose: Option<String>,
    fields: Option<String>,
}

pub(super) fn fields_list(s: Option<&str>) -> Option<Vec<String>> {
    s.map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn draft(caller: &Caller, exchange_id: &str, purpose: &str, subject: &str) -> AuditDraft {
    draft_of(RECORD_TYPE, caller, exchange_id, purpose, subject)
}

pub(super) fn draft_of(
    record_type: &str,
    caller: &Caller,
    exchange_id: &str,
    purpose: &str,
    subject: &str,
) -> AuditDraft {
    AuditDraft {
        exchange_id: exchange_id.to_string(),
        actor: caller.member.clone(),
        operation: "pull".into(),
        record_type: Some(record_type.into()),
        // A malformed number is no one's: it is not written as a subject.
        subject: PersonalId::parse(subject).ok().map(|_| subject.to_string()),
        purpose: Some(purpose.to_string()),
        ..Default::default()
    }
}

/// The granted part of a fetched record and what was withheld; the pull's audit entry says
/// what was disclosed, from where.
fn disclosed(
    d: &mut AuditDraft,
    f: &Fetched,
    decision: &Decision,
    named: bool,
) -> (Value, Vec<String>) {
    let (data, withheld) = OnceOnly::redact(&f.record, decision, named);
    d.counterparty = Some(f.source.clone());
    d.outcome = "allowed".into();
    d.fields = data
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    d.payload = Some(data.clone());
    (data, withheld)
}

/// The pull's audit entry when nothing was disclosed.
fn refused(d: &mut AuditDraft, e: &PullError) {
    d.outcome = match e {
        PullError::NotFound { .. } => "not-found",
        PullError::Malformed(..) => "refused",
        _ => "failed",
    }
    .into();
    d.error_code = Some(e.code().into());
}

fn denied(d: &Decision) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, d.code, d.reason.clone())
}

fn pull_problem(e: &PullError) -> Problem {
    // The database away (failing over): 503, send again shortly; not the hub's fault.
    if let PullError::Store(s) = e
        && let Some(p) = super::problem::store_for_now(s)
    {
        tracing::warn!("{s}");
        return p;
    }
    let status = match e {
        PullError::NotFound { .. } => StatusCode::NOT_FOUND,
        PullError::Upstream { .. } | PullError::NoSource(_) | PullError::SourceUnusable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        PullError::Invalid { .. } => StatusCode::BAD_GATEWAY,
        PullError::Malformed(..) => StatusCode::BAD_REQUEST,
        PullError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut p = Problem::new(status, e.code(), e.to_string());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        p.retry_after = Some(10);
    }
    if let PullError::Invalid { errors, .. } = e {
        p = p.with_errors(errors.clone());
    }
    p
}

pub(super) fn provenance(
    f: &Fetched,
    exchange_id: &str,
    purpose: &str,
    caller: &Caller,
    key: &str,
) -> Value {
    json!({
        "source": f.source,
        "schema": f.schema,
        "retrieved_at": f.retrieved_at,
        "from_cache": f.from_cache,
        "exchange_id": exchange_id,
        "purpose": purpose,
        "consumer": caller.member,
        "signed_by": key,
    })
}

/// The signed answer: the body's canonical bytes, with the signature and key in headers.
pub(super) fn signed(ou: &OnceOnly, status: StatusCode, body: &Value) -> Response {
    let (bytes, sig) = ou.sign(body);
    let mut r = (status, Body::from(bytes)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&sig) {
        h.insert("lienthong-signature", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ou.key().verifier().encode()) {
        h.insert("lienthong-key", v);
    }
    r
}

/// Checks role, purpose and rate before anything is read; denials are audited.
pub(super) async fn admit(
    state: &AppState,
    caller: &Caller,
    record_type: &str,
    purpose: Option<&str>,
    fields: Option<&[String]>,
    subjects: &[String],
    exchange_id: &str,
) -> Result<Decision, Problem> {
    let refuse = |purpose: &str, outcome: &str, code: &str| -> Vec<AuditDraft> {
        subjects
            .iter()
            .map(|s| AuditDraft {
                operation: "deny".into(),
                outcome: outcome.into(),
                error_code: Some(code.to_string()),
                fields: fields.map(<[String]>::to_vec).unwrap_or_default(),
                ..draft_of(record_type, caller, exchange_id, purpose, s)
            })
            .collect()
    };
    // Refusals before the policy (a member that is not a consumer, no purpose) are audited
    // too: they are attempts to read data about these people.
    if let Err(p) = super::require(caller, &[Role::Consumer]) {
        state
            .relay
            .record(refuse(purpose.unwrap_or(""), "denied", "auth.role"))
            .await
            .map_err(Problem::internal)?;
        return Err(p);
    }
    let Some(purpose) = purpose.filter(|p| !p.is_empty()) else {
        state
            .relay
            .record(refuse("", "denied", "pull.purpose"))
            .await
            .map_err(Problem::internal)?;
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "pull.purpose",
            "say why: purpose=<a purpose of the policy> is required",
        ));
    };
    let ou = &state.onceonly;
    let decision = ou
        .policy()
        .decide(&caller.member, record_type, purpose, fields);
    if !decision.allowed {
        state
            .relay
            .record(refuse(purpose, "denied", decision.code))
            .await
            .map_err(Problem::internal)?;
        state.metrics.inc(
            "lienthong_pulls_total",
            &[("outcome", "denied"), ("member", &caller.member)],
        );
        return Err(denied(&decision));
    }
    let allowance = ou.policy().per_minute(&caller.member);
    if subjects.len() as u64 > u64::from(allowance) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "pull.batch-over-limit",
            format!(
                "member {} may make {allowance} pulls a minute; a batch of {} can never be \
                 answered: split it",
                caller.member,
                subjects.len()
            ),
        ));
    }
    if let Err(wait) = ou.take(&caller.member, subjects.len() as u32) {
        state
            .relay
            .record(refuse(purpose, "rate-limited", "pull.rate-limited"))
            .await
            .map_err(Problem::internal)?;
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "pull.rate-limited",
            format!(
                "member {} has used its pulls for now ({} per minute); retry in {wait} s",
                caller.member,
                ou.policy().per_minute(&caller.member)
            ),
        );
        p.retry_after = Some(wait);
        return Err(p);
    }
    Ok(decision)
}

pub(super) fn check_id(id: &str) -> Result<(), Problem> {
    PersonalId::parse(id).map(|_| ()).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "pull.personal-id",
            format!("{id:?} is not a personal ID number: {e}"),
        )
    })
}

async fn pull_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(personal_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let started = Instant::now();
    let q: PullQuery = super::query(q, "purpose, fields")?;
    check_id(&personal_id)?;
    let fields = fields_list(q.fields.as_deref());
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let subjects = [personal_id.clone()];
    let decision = admit(
        &state,
        &caller,
        RECORD_TYPE,
        q.purpose.as_deref(),
        fields.as_deref(),
        &subjects,
        &exchange_id,
    )
    .await?;
    let purpose = q.purpose.unwrap_or_default();
    let ou = state.onceonly.clone();
    let mut d = draft(&caller, &exchange_id, &purpose, &personal_id);
    let fetched = ou.fetch(RECORD_TYPE, &personal_id).await;
    d.latency_ms = started.elapsed().as_millis() as u64;
    match fetched {
        Ok(f) => {
            let (data, withheld) = disclosed(&mut d, &f, &decision, fields.is_some());
            state.record(d).await?;
            state.metrics.inc(
                "lienthong_pulls_total",
                &[
                    ("outcome", "allowed"),
                    ("member", &caller.member),
                    ("cache", if f.from_cache { "hit" } else { "miss" }),
                ],
            );
            let body = json!({
                "data": data,
                "withheld": withheld,
                "provenance": provenance(&f, &exchange_id, &purpose, &caller, ou.key().name()),
            });
            Ok(signed(&ou, StatusCode::OK, &body))
        }
        Err(e) => {
            refused(&mut d, &e);
            state.record(d).await?;
            state.metrics.inc(
                "lienthong_pulls_total",
                &[("outcome", e.code()), ("member", &caller.member)],
            );
            Err(pull_problem(&e))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    purpose: Option<String>,
    ids: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

async fn pull_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: Body,
) -> Result<Response, Problem> {
    let started = Instant::now();
    let bytes = super::read_body(&state, body).await?;
    let req: BatchBody = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!(
                "expected {{\"purpose\": \"…\", \"ids\": [\"<personal ID>\", …], \"fields\"?: \
                 [\"…\"]}}: {e}"
            ),
        )
    })?;
    if req.ids.is_empty() || req.ids.len() > MAX_BATCH {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "pull.batch-size",
            format!(
                "a batch holds 1 to {MAX_BATCH} ids; this one {}",
                req.ids.len()
            ),
        ));
    }
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let decision = admit(
        &state,
        &caller,
        RECORD_TYPE,
        req.purpose.as_deref(),
        req.fields.as_deref(),
        &req.ids,
        &exchange_id,
    )
    .await?;
    let purpose = req.purpose.clone().unwrap_or_default();
    let ou = state.onceonly.clone();
    let results: Vec<(usize, Result<Fetched, PullError>)> =
        futures_util::stream::iter(req.ids.clone().into_iter().enumerate().map(|(i, id)| {
            let ou = ou.clone();
            async move {
                if let Err(e) = PersonalId::parse(&id) {
                    return (i, Err(PullError::Malformed(id, e.to_string())));
                }
                let r = ou.fetch(RECORD_TYPE, &id).await;
                (i, r)
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let latency = started.elapsed().as_millis() as u64;
    let mut drafts = Vec::with_capacity(results.len());
    let mut rows = Vec::with_capacity(results.len());
    let (mut ok, mut failed) = (0u64, 0u64);
    for ((_, r), id) in results.into_iter().zip(&req.ids) {
        let mut d = draft(&caller, &exchange_id, &purpose, id);
        d.latency_ms = latency;
        match r {
            Ok(f) => {
                let (data, withheld) = disclosed(&mut d, &f, &decision, req.fields.is_some());
                ok += 1;
                rows.push(json!({
                    "personal_id": id,
                    "data": data,
                    "withheld": withheld,
                    "source": f.source,
                    "schema": f.schema,
                    "retrieved_at": f.retrieved_at,
                    "from_cache": f.from_cache,
                }));
            }
            Err(e) => {
                refused(&mut d, &e);
                failed += 1;
                rows.push(json!({
                    "personal_id": id,
                    "error": { "code": e.code(), "detail": e.to_string(), "status": pull_problem(&e).status.as_u16() },
                }));
            }
        }
        drafts.push(d);
    }
    state
        .relay
        .record(drafts)
        .await
        .map_err(Problem::internal)?;
    let body = json!({
        "results": rows,
        "summary": { "asked": req.ids.len(), "answered": ok, "failed": failed },
        "provenance": {
            "exchange_id": exchange_id,
            "purpose": purpose,
            "consumer": caller.member,
            "signed_by": ou.key().name(),
        },
    });
    Ok(signed(&ou, StatusCode::OK, &body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainQuery {
    /// The member asking (default: the caller); a consumer asks only for itself.
    #[serde(default)]
    member: Option<String>,
    purpose: String,
    #[serde(default)]
    fields: Option<String>,
    #[serde(default)]
    record_type: Option<String>,
}

/// Why a pull would be allowed or denied: for operators about any member, for a consumer
/// about itself.
async fn explain(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Auditor, Role::Consumer])?;
    let q: ExplainQuery = super::query(q, "member?, purpose, fields?, record_type?")?;
    let member = super::member_asked(&caller, q.member.as_deref())?;
    let q = ExplainQuery {
        member: Some(member),
        ..q
    };
    let member = q.member.clone().unwrap_or_default();
    let record_type = q.record_type.unwrap_or_else(|| RECORD_TYPE.into());
    let fields = fields_list(q.fields.as_deref());
    let d = state
        .onceonly
        .policy()
        .decide(&member, &record_type, &q.purpose, fields.as_deref());
    let grants: Vec<_> = state
        .onceonly
        .policy()
        .grants
        .iter()
        .filter(|g| g.member == member && g.record_type == record_type)
        .cloned()
        .collect();
    Ok(axum::Json(json!({
        "member": member,
        "record_type": record_type,
        "purpose": q.purpose,
        "decision": if d.allowed { "allowed" } else { "denied" },
        "code": d.code,
        "reason": d.reason,
        "granted": d.granted,
        "withheld": d.withheld,
        "grants_of_member": grants,
        "rate_limit_per_minute": state.onceonly.policy().per_minute(&member),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_pull_whose_database_is_away_is_503_to_send_again_and_other_store_failures_500() {
        let away = PullError::Store(StoreError::Unavailable {
            action: "read the pull cache",
            source: "connection refused".into(),
        });
        let p = pull_problem(&away);
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(p.code, "store.unavailable");
        assert!(p.retry_after.is_some());
        let refusing = PullError::Store(StoreError::Unwritable("a commit failed".into()));
        assert_eq!(
            pull_problem(&refusing).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let damaged = PullError::Store(StoreError::Format("a damaged entry".into()));
        assert_eq!(
            pull_problem(&damaged).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
