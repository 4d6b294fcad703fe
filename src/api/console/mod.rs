//! The web console (`/console`): a page and its scripts, served from inside the binary (no
//! CDN, no build step), and its sessions. The console's pages call the same API as every other
//! client, with the session cookie in place of a token (see `Auth`): the same roles, the same
//! audit entries.

pub mod session;

use super::{AppState, Problem};
use crate::auth::{AuthError, verify_token};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use session::{COOKIE, Credential, Session};
use std::time::Instant;

/// The console's files: (name, media type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "core.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/core.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/i18n.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/pages.js"),
    ),
    (
        "audit.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/audit.js"),
    ),
    (
        "proof.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/proof.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/admin.js"),
    ),
];
const INDEX: &str = include_str!("assets/index.html");

/// Scripts and styles only from the hub itself, nothing inline, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(index))
        .route(
            "/console/",
            get(|| async { Redirect::permanent("/console") }),
        )
        .route("/console/assets/{file}", get(asset))
        .route(
            "/console/session",
            get(whoami).post(sign_in).delete(sign_out),
        )
}

/// The headers of every console answer.
fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn index() -> Response {
    secured(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response())
}

async fn asset(Path(file): Path<String>) -> Result<Response, Problem> {
    let (_, media, text) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| Problem::not_found(format!("console file {file}")))?;
    Ok(secured(
        ([(header::CONTENT_TYPE, *media)], *text).into_response(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    /// A bearer token; absent to sign in with the connection's client certificate.
    #[serde(default)]
    token: Option<String>,
}

fn session_body(state: &AppState, session: &Session, caller: &crate::auth::Caller) -> Response {
    let roles: Vec<&str> = caller.roles.iter().map(|r| r.as_str()).collect();
    let title = state
        .members
        .current()
        .get(&caller.member)
        .map(|m| m.name.clone());
    secured(
        axum::Json(json!({
            "member": caller.member,
            "title": title,
            "roles": roles,
            "csrf": session.csrf,
            "expires_in": session.expires_in(Instant::now()),
            "tls": !state.config.tls.allow_plain_http,
        }))
        .into_response(),
    )
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.tls.allow_plain_http {
        ""
    } else {
        "; Secure"
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        cookie_name(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Signs in: checks the token (or the client certificate) as the API would and opens a
/// session. Only JSON is taken, which a page of another site cannot send without the hub's
/// consent (a login CSRF).
async fn sign_in(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let json_body = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            "send application/json: {\"token\": \"lt_…\"}",
        ));
    }
    let req: SignIn = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!("the body is not a sign-in ({{\"token\": \"lt_…\"}}): {e}"),
        )
    })?;
    let ip = parts.extensions.get::<super::ClientAddr>().map(|a| a.0);
    let names = parts
        .extensions
        .get::<super::PeerCertificate>()
        .map(|c| c.names.clone())
        .filter(|n| !n.is_empty());
    let members = state.members.current();
    let by_cert = names.as_ref().map(|n| members.by_certificate(n));
    // As for any request: a guessing address is refused before its token is looked at.
    if !matches!(by_cert, Some(Ok(_))) {
        super::authn::refuse_if_blocked(&state, ip)?;
    }
    let (credential, caller) = match req.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => {
            let caller = match verify_token(&state.store, &members, token) {
                Ok(c) => c,
                Err(AuthError::Store(e)) => return Err(Problem::internal(e)),
                Err(e) => return Err(super::authn::refused(&state, ip, e).await),
            };
            // A certificate of another member beside the token would refuse every request of
            // the session: refused now, as any request with both would be.
            if let Some(Ok(c)) = &by_cert
                && c.member != caller.member
            {
                let e = AuthError::Mismatch {
                    token: caller.member,
                    cert: c.member.clone(),
                };
                return Err(super::authn::refused(&state, ip, e).await);
            }
            (Credential::Token(token.to_string()), caller)
        }
        _ => match (names, by_cert) {
            (Some(names), Some(Ok(caller))) => (Credential::Certificate(names), caller),
            (_, Some(Err(e))) => return Err(super::authn::refused(&state, ip, e).await),
            _ => {
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "auth.missing",
                    "sign in with a token, or over TLS with a member's client certificate",
                ));
            }
        },
    };
    // Recorded before the session exists: a sign-in the log cannot hold does not happen.
    let mut draft = super::admin_act(&caller, "console-sign-in");
    draft.outcome = "ok".into();
    state.record(draft).await?;
    // A session this browser had ends: one browser, one session.
    if let Ok(Some(old)) = session_id(&state, &parts.headers) {
        state.sessions.close(old);
    }
    let (id, session) = state.sessions.open(credential);
    let mut resp = session_body(&state, &session, &caller);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&state, &id, session::ABSOLUTE.as_secs()),
    );
    Ok(resp)
}

/// Who the session is, and its CSRF token (readable by the console's own scripts only: the
/// answer carries no CORS header, so another site's page cannot read it).
async fn whoami(
    State(state): State<AppState>,
    super::Auth(caller): super::Auth,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = session_id(&state, &headers)?.ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "auth.session",
            "no console session: sign in at /console",
        )
    })?;
    let session = state.sessions.touch(id).map_err(|_| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "auth.session",
            "the console session has ended: sign in again",
        )
    })?;
    Ok(session_body(&state, &session, &caller))
}

/// Signs out (the CSRF token is asked for, as for every change).
async fn sign_out(
    State(state): State<AppState>,
    super::Auth(_caller): super::Auth,
    headers: HeaderMap,
) -> Response {
    if let Ok(Some(id)) = session_id(&state, &headers) {
        state.sessions.close(id);
    }
    let mut resp = secured(StatusCode::NO_CONTENT.into_response());
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", 0));
    resp
}

/// The name of the session cookie on this hub: `__Host-` prefixed under TLS.
pub(super) fn cookie_name(state: &AppState) -> &'static str {
    if state.config.tls.allow_plain_http {
        COOKIE
    } else {
        session::COOKIE_TLS
    }
}

/// The session id a request's cookie carries, if any; two of them (one planted beside the
/// hub's own) are refused.
pub(super) fn session_id<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, Problem> {
    let name = cookie_name(state);
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| session::cookies(h, name))
        .filter(|v| !v.is_empty());
    let first = found.next();
    if found.next().is_some() {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "auth.session",
            "the request carries two session cookies: sign out, clear the site's cookies, and \
             sign in again",
        ));
    }
    Ok(first)
}
