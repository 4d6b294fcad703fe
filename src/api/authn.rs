//! Who a request comes from: a bearer token, a client certificate (both must then name the same
//! member), or the console's session cookie, which stands for one of them and asks for its CSRF
//! token on every request that changes something.

use super::console::session::{self, Credential, Refusal};
use super::{AppState, ClientAddr, PeerCertificate, Problem, guard};
use crate::auth::{AuthError, Caller, verify_token};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use std::net::IpAddr;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, Problem> {
        authenticate(parts, state).await.map(Auth)
    }
}

/// The console session a request without an `Authorization` header carries, if any; refused
/// when it has ended, or when a request that changes something lacks its CSRF token.
fn console_session(parts: &Parts, state: &AppState) -> Result<Option<session::Session>, Problem> {
    let id = match super::console::session_id(state, &parts.headers) {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(None),
        Err(p) => return Err(p),
    };
    let s = state.sessions.touch(id).map_err(|r| {
        let detail = match r {
            Refusal::Expired => "the console session has expired: sign in again",
            Refusal::Unknown => "the console session is unknown or has ended: sign in again",
        };
        fail(state, "session", detail)
    })?;
    if !parts.method.is_safe() {
        let sent = parts
            .headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session::same_secret(sent, &s.csrf) {
            state
                .metrics
                .inc("lienthong_auth_failures_total", &[("reason", "csrf")]);
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "auth.csrf",
                "a request made with the console's session must carry its CSRF token \
                 (X-CSRF-Token) when it changes something",
            ));
        }
    }
    Ok(Some(s))
}

/// A request a browser made for a page of another site (or of a sibling subdomain): refused
/// whatever its credentials. Browsers say so (`Sec-Fetch-Site`, `Origin`); a client
/// certificate held by a browser, which it presents to any page's request, must not act for a
/// page the hub did not serve. Clients other than browsers send neither header.
fn cross_site(parts: &Parts) -> Option<Problem> {
    let site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let foreign_site = matches!(site, Some("cross-site" | "same-site"));
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let foreign_origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| {
            // `null`: a sandboxed page or a redirect from another site.
            let authority = o.split_once("://").map_or(o, |(_, rest)| rest);
            o == "null" || host.is_some_and(|h| !authority.eq_ignore_ascii_case(h))
        });
    (foreign_site || foreign_origin).then(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "auth.cross-site",
            "a request from a page of another site is refused: use the hub's own console, or a \
             client that is not a browser",
        )
    })
}

/// 429 when the address has guessed too often (a valid member certificate is never refused
/// for it).
pub(super) fn refuse_if_blocked(state: &AppState, ip: Option<IpAddr>) -> Result<(), Problem> {
    if let Some(ip) = ip
        && let Some(secs) = state.auth_guard.blocked(ip)
    {
        state.metrics.inc(
            "lienthong_auth_failures_total",
            &[("reason", "too-many-failures")],
        );
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.too-many-failures",
            format!("too many failed authentications from this address; retry in {secs} s"),
        );
        p.retry_after = Some(secs);
        return Err(p);
    }
    Ok(())
}

pub(super) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, Problem> {
    if let Some(p) = cross_site(parts) {
        state
            .metrics
            .inc("lienthong_auth_failures_total", &[("reason", "cross-site")]);
        return Err(p);
    }
    let ip = parts.extensions.get::<ClientAddr>().map(|a| a.0);
    let cert = parts
        .extensions
        .get::<PeerCertificate>()
        .filter(|c| !c.names.is_empty());
    let members = state.members.current();
    let header_bearer = parts.headers.get(header::AUTHORIZATION).map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(AuthError::Malformed)
    });
    let session = if header_bearer.is_none() {
        console_session(parts, state)?
    } else {
        None
    };
    // A session signed in with a certificate holds only while the same certificate comes.
    if let Some(s) = &session
        && let Credential::Certificate(names) = &s.credential
        && cert.map(|c| &c.names) != Some(names)
    {
        return Err(fail(
            state,
            "session",
            "the console session was opened with another client certificate: sign in again",
        ));
    }
    let from_cert = cert.map(|c| members.by_certificate(&c.names));
    // An address that has guessed too often is refused before any token it sends is
    // checked; a valid member certificate is never refused for it.
    let certified = matches!(from_cert, Some(Ok(_)));
    if !certified {
        refuse_if_blocked(state, ip)?;
    }
    let bearer = match header_bearer {
        Some(b) => Some(b),
        None => match session.as_ref().map(|s| &s.credential) {
            Some(Credential::Token(t)) => Some(Ok(t.as_str())),
            _ => None,
        },
    };
    let result = match (bearer, from_cert) {
        (None, None) => {
            return Err(fail(
                state,
                "missing",
                "authentication required: a bearer token (Authorization: Bearer lt_…) or a \
                 member client certificate",
            ));
        }
        (Some(Err(e)), _) => Err(e),
        (None, Some(c)) => c,
        (Some(Ok(token)), cert) => {
            // A token read: the store answers it from memory after the first read of each
            // token (`Catalogue::token`), so there is no blocking I/O to hand off.
            let by_token = verify_token(&state.store, &members, token);
            match (by_token, cert) {
                (Ok(t), Some(Ok(c))) if t.member != c.member => Err(AuthError::Mismatch {
                    token: t.member,
                    cert: c.member,
                }),
                (Ok(_), Some(Err(e))) => Err(e),
                (r, _) => r,
            }
        }
    };
    match result {
        Ok(c) => Ok(c),
        Err(e) => Err(refused(state, ip, e).await),
    }
}

/// The answer to a credential refused: counted, audited (the first failure of an address and
/// the one that blocks it), and the address's failures counted towards its block.
pub(super) async fn refused(state: &AppState, ip: Option<IpAddr>, e: AuthError) -> Problem {
    let reason = match &e {
        AuthError::Store(_) => return Problem::internal(e),
        AuthError::Malformed => "malformed",
        AuthError::Unknown => "unknown",
        AuthError::Revoked => "revoked",
        AuthError::Expired(_) => "expired",
        AuthError::MemberGone(_) => "member",
        AuthError::UnknownCertificate(_) => "certificate",
        AuthError::Mismatch { .. } => "mismatch",
    };
    if let Some(ip) = ip {
        let blocked = state.auth_guard.failed(ip);
        let mut d = crate::audit::AuditDraft {
            exchange_id: uuid::Uuid::now_v7().to_string(),
            actor: "unauthenticated".into(),
            counterparty: Some(ip.to_string()),
            operation: "authenticate".into(),
            outcome: "denied".into(),
            error_code: Some(format!("auth.{reason}")),
            ..Default::default()
        };
        let record = match blocked {
            guard::Failure::First => true,
            guard::Failure::Counted => false,
            guard::Failure::Blocked { secs } => {
                d.outcome = "blocked".into();
                tracing::warn!(%ip, secs, "too many failed authentications: address refused");
                true
            }
        };
        // Not waited for: a refusal promises the caller nothing.
        if record && let Err(e) = state.relay.record_unawaited(vec![d]).await {
            tracing::error!("recording a failed authentication: {e}");
        }
    }
    fail(state, reason, &e.to_string())
}

fn fail(state: &AppState, reason: &str, detail: &str) -> Problem {
    state
        .metrics
        .inc("lienthong_auth_failures_total", &[("reason", reason)]);
    Problem::new(
        StatusCode::UNAUTHORIZED,
        format!("auth.{reason}"),
        detail.to_string(),
    )
}
