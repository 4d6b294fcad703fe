//! Members: the organisations connected to the hub. Admins add, change and retire them while
//! the hub runs (`/v1/members`, `lienthong member`); each change is an audit entry and is in
//! force for the next request. Every role reads the list, since members address one another
//! by agency code (a route's destination, a grant's member).

use super::{AppState, Auth, Problem, read_body};
use crate::auth::{Caller, Role};
use crate::store::MemberRecord;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/members", get(list).post(add))
        .route("/v1/members/{code}", get(one).put(change).delete(retire))
}

/// The body of an addition or a change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    /// Agency code (an addition; a change takes it from the path and may repeat it).
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    tls_names: Option<Vec<String>>,
}

const SHAPE: &str = "{\"code\": \"<agency code>\", \"name\": \"…\", \"roles\": [\"provider\", …], \
                     \"tls_names\": [\"…\"]}";

fn row(m: &MemberRecord) -> Value {
    json!({
        "code": m.code,
        "name": m.name,
        "roles": m.roles,
        "tls_names": m.tls_names,
        "source": m.source,
        "changed_at": m.changed_at,
        "retired_at": m.retired_at,
        "in_force": m.retired_at.is_none(),
    })
}

fn invalid(code: &str, detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

async fn body_of(state: &AppState, headers: &HeaderMap, body: Body) -> Result<MemberBody, Problem> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            format!("send application/json: {SHAPE}"),
        ));
    }
    let bytes = read_body(state, body).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!("expected {SHAPE}: {e}"),
        )
    })
}

/// Checks a member's form: the agency code by the configured pattern, known roles, at least
/// one role, certificate names not empty and not another member's.
fn check(state: &AppState, m: &MemberRecord) -> Result<(), Problem> {
    let rule = crate::model::AgencyCodeRule::new(&state.config.validation.agency_code_pattern)
        .map_err(Problem::internal)?;
    if !rule.check(&m.code) {
        return Err(invalid(
            "member.code",
            format!(
                "{:?} is not an agency code (validation.agency_code_pattern: {})",
                m.code,
                rule.pattern()
            ),
        ));
    }
    if m.roles.is_empty() {
        return Err(invalid(
            "member.roles",
            "a member acts in at least one role: admin, provider, consumer, auditor or observer"
                .into(),
        ));
    }
    for r in &m.roles {
        if Role::parse(r).is_none() {
            return Err(invalid(
                "member.roles",
                format!("{r:?} is not admin, provider, consumer, auditor or observer"),
            ));
        }
    }
    let members = state.members.current();
    for n in &m.tls_names {
        if n.trim().is_empty() {
            return Err(invalid(
                "member.tls_names",
                "a certificate name is not empty".into(),
            ));
        }
        if let Ok(other) = members.by_certificate(std::slice::from_ref(n))
            && other.member != m.code
        {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "member.tls_names",
                format!(
                    "the certificate name {n:?} already identifies member {}",
                    other.member
                ),
            ));
        }
    }
    Ok(())
}

async fn list(State(state): State<AppState>, Auth(_caller): Auth) -> Result<Response, Problem> {
    let members = state.members.clone();
    let records = tokio::task::spawn_blocking(move || members.records())
        .await
        .map_err(Problem::internal)??;
    let rows: Vec<Value> = records.iter().map(row).collect();
    Ok(axum::Json(json!({ "members": rows })).into_response())
}

async fn one(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    match find(&state, &code).await? {
        Some(m) => Ok(axum::Json(row(&m)).into_response()),
        None => Err(Problem::not_found(format!("no member {code}"))),
    }
}

async fn find(state: &AppState, code: &str) -> Result<Option<MemberRecord>, Problem> {
    let members = state.members.clone();
    let code = code.to_string();
    Ok(tokio::task::spawn_blocking(move || members.record(&code))
        .await
        .map_err(Problem::internal)??)
}

/// Writes the record, puts it in force and records who did it.
async fn write(
    state: &AppState,
    caller: &Caller,
    operation: &str,
    record: MemberRecord,
) -> Result<(), Problem> {
    let members = state.members.clone();
    let r = record.clone();
    tokio::task::spawn_blocking(move || members.put(&r))
        .await
        .map_err(Problem::internal)??;
    tracing::info!(member = %record.code, by = %caller.member, operation, "member written");
    let mut draft = super::admin_act(caller, operation);
    draft.counterparty = Some(record.code.clone());
    draft.payload = Some(json!({
        "name": record.name,
        "roles": record.roles,
        "tls_names": record.tls_names,
    }));
    state.record(draft).await
}

async fn add(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let b = body_of(&state, &headers, body).await?;
    let Some(code) = b.code else {
        return Err(invalid(
            "member.code",
            format!("name the member's agency code: {SHAPE}"),
        ));
    };
    let existing = find(&state, &code).await?;
    if let Some(m) = &existing
        && m.retired_at.is_none()
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "member.exists",
            format!("member {code} is in force already; change it with PUT /v1/members/{code}"),
        ));
    }
    let record = MemberRecord {
        code,
        name: b.name.unwrap_or_default(),
        roles: b.roles.unwrap_or_default(),
        tls_names: b.tls_names.unwrap_or_default(),
        source: format!("api:{}", caller.member),
        changed_at: crate::clock::now_rfc3339(),
        retired_at: None,
    };
    check(&state, &record)?;
    write(&state, &caller, "member-add", record.clone()).await?;
    Ok((StatusCode::CREATED, axum::Json(row(&record))).into_response())
}

async fn change(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let b = body_of(&state, &headers, body).await?;
    if let Some(c) = &b.code
        && *c != code
    {
        return Err(invalid(
            "member.code",
            format!(
                "a member's agency code does not change ({c} in the body, {code} in the path); \
                 add the new code and retire the old one"
            ),
        ));
    }
    let Some(mut record) = find(&state, &code)
        .await?
        .filter(|m| m.retired_at.is_none())
    else {
        return Err(Problem::not_found(format!(
            "no member {code} in force (POST /v1/members adds one)"
        )));
    };
    if let Some(n) = b.name {
        record.name = n;
    }
    if let Some(r) = b.roles {
        if code == caller.member && !r.iter().any(|x| x == Role::Admin.as_str()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "member.self",
                "an admin does not take the admin role from its own member; another admin can",
            ));
        }
        record.roles = r;
    }
    if let Some(t) = b.tls_names {
        record.tls_names = t;
    }
    record.source = format!("api:{}", caller.member);
    record.changed_at = crate::clock::now_rfc3339();
    check(&state, &record)?;
    write(&state, &caller, "member-change", record.clone()).await?;
    Ok(axum::Json(row(&record)).into_response())
}

async fn retire(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    if code == caller.member {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "member.self",
            "an admin does not retire its own member; another admin can",
        ));
    }
    let Some(mut record) = find(&state, &code)
        .await?
        .filter(|m| m.retired_at.is_none())
    else {
        return Err(Problem::not_found(format!("no member {code} in force")));
    };
    let now = crate::clock::now_rfc3339();
    record.source = format!("api:{}", caller.member);
    record.changed_at = now.clone();
    record.retired_at = Some(now);
    write(&state, &caller, "member-retire", record.clone()).await?;
    Ok(axum::Json(row(&record)).into_response())
}
