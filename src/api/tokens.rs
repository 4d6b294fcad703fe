//! Admin routes for bearer tokens: create (the secret is in the answer, once), list, revoke.

use super::{AppState, Auth, Problem, read_body};
use crate::auth::{Role, create_token_until, expiry_in, revoke_token};
use crate::store::TokenRecord;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tokens", get(list).post(create))
        .route("/v1/tokens/{id}", delete(revoke))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    member: String,
    role: String,
    /// Seconds until the token is refused; absent: it does not expire.
    #[serde(default)]
    expires_in_secs: Option<u64>,
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            "send application/json: {\"member\": \"<agency code>\", \"role\": \"<role>\"}",
        ));
    }
    let bytes = read_body(&state, body).await?;
    let req: NewToken = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!("expected {{\"member\": \"<agency code>\", \"role\": \"<role>\"}}: {e}"),
        )
    })?;
    let Some(role) = Role::parse(&req.role) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.role",
            format!(
                "{:?} is not admin, provider, consumer, auditor or observer",
                req.role
            ),
        ));
    };
    let members = state.members.current();
    let Some(member) = members.get(&req.member) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.member",
            format!(
                "member {} is not a member in force (GET /v1/members)",
                req.member
            ),
        ));
    };
    if !member.roles.iter().any(|r| r == role.as_str()) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.role",
            format!(
                "member {} does not have the role {} (it has: {})",
                req.member,
                role.as_str(),
                member.roles.join(", ")
            ),
        ));
    }
    if req.expires_in_secs == Some(0) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.expiry",
            "expires_in_secs must be at least 1 (leave it out for a token that does not expire)",
        ));
    }
    let expires_at = req.expires_in_secs.map(expiry_in);
    let store = state.store.clone();
    let member_code = req.member.clone();
    let until = expires_at.clone();
    let issued =
        tokio::task::spawn_blocking(move || create_token_until(&store, &member_code, role, until))
            .await
            .map_err(Problem::internal)?
            .map_err(Problem::internal)?;
    tracing::info!(member = %req.member, role = role.as_str(), id = %issued.id, by = %caller.member, "token created");
    let mut draft = super::admin_act(&caller, "token-create");
    draft.counterparty = Some(req.member.clone());
    draft.payload =
        Some(json!({ "token_id": issued.id, "role": role.as_str(), "expires_at": expires_at }));
    state.record(draft).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": issued.id,
            "token": issued.bearer(),
            "member": req.member,
            "role": role.as_str(),
            "expires_at": expires_at,
        })),
    )
        .into_response())
}

async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let tokens = state.store.tokens().map_err(Problem::internal)?;
    let rows: Vec<_> = tokens.iter().map(TokenRecord::row).collect();
    Ok(axum::Json(json!({ "tokens": rows })).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let store = state.store.clone();
    let id2 = id.clone();
    let found = tokio::task::spawn_blocking(move || revoke_token(&store, &id2))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    if !found {
        return Err(Problem::not_found(format!("no token {id}")));
    }
    state.sessions.close_token(&id);
    tracing::info!(id = %id, by = %caller.member, "token revoked");
    let mut draft = super::admin_act(&caller, "token-revoke");
    draft.payload = Some(json!({ "token_id": id }));
    state.record(draft).await?;
    Ok(axum::Json(json!({"id": id, "revoked": true})).into_response())
}
