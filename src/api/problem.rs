//! The one error type of the API: RFC 9457 problem details (`application/problem+json`) with a
//! stable `code`, a human `detail`, and the field errors where there are any.

use crate::validate::FieldError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A problem answer (boxed, so that `Result<_, Problem>` stays small).
#[derive(Debug, Clone)]
pub struct Problem(Box<Details>);

/// The members of a problem answer.
#[derive(Debug, Clone)]
pub struct Details {
    pub status: StatusCode,
    pub code: String,
    pub title: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// More members of the problem object (e.g. a registration report).
    pub extra: Option<Value>,
    pub retry_after: Option<u64>,
    /// The request's body is left unread: on HTTP/1.1 the connection ends after the answer,
    /// and `Connection: close` says so, so that no client sends its next request on it.
    pub body_unread: bool,
}

impl Problem {
    /// A problem with a status, a stable code and a detail.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem(Box::new(Details {
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status,
            code: code.into(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: None,
            retry_after: None,
            body_unread: false,
        }))
    }

    /// Answered with the request's body left unread (see `Details::body_unread`).
    pub fn leaving_body_unread(mut self) -> Problem {
        self.body_unread = true;
        self
    }

    /// With field errors.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = errors;
        self
    }

    /// With more members.
    pub fn with_extra(mut self, extra: Value) -> Problem {
        self.extra = Some(extra);
        self
    }

    /// 404 for a thing that does not exist.
    pub fn not_found(what: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", what)
    }

    /// 500 for a failure of the hub itself (the store), without internals in the answer.
    pub fn internal<E: std::fmt::Display + 'static>(e: E) -> Problem {
        // A database backend that cannot be reached is not the hub's fault: 503, try again.
        // So is a store that refuses writes since one failed (a database that went away in
        // the middle of a commit, until this node has read its state again).
        if let Some(s) = store_error_in(&e as &dyn std::any::Any)
            && let Some(p) = store_for_now(s)
        {
            tracing::warn!("{s}");
            return p;
        }
        tracing::error!("internal error: {e}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the hub could not complete the request; the operator's log has the cause",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("urn:lienthong:problem:{}", self.code),
            "title": self.title,
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        if !self.errors.is_empty() {
            body["errors"] = json!(self.errors);
        }
        if let (Some(Value::Object(extra)), Value::Object(obj)) = (&self.extra, &mut body) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl std::ops::Deref for Problem {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut Details {
        &mut self.0
    }
}

/// A store that fails: 503 when it refuses writes after a failed one (the hub stays up and
/// says so), a 500 logged once for anything else.
impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Problem {
        store_for_now(&e).unwrap_or_else(|| Problem::internal(e))
    }
}

/// What the relay's refusals mean to the caller.
impl From<crate::relay::RelayError> for Problem {
    fn from(e: crate::relay::RelayError) -> Problem {
        use crate::relay::RelayError;
        match e {
            RelayError::Stopped => {
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "relay.stopping",
                    "the hub is shutting down; nothing was accepted, try again shortly",
                );
                p.retry_after = Some(5);
                p
            }
            RelayError::Backpressure { .. } => {
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "relay.backpressure",
                    e.to_string(),
                );
                p.retry_after = Some(5);
                p
            }
            // A commit that could not be written (a full disk, an I/O error), or a store that
            // refuses writes since one failed: the outcome is unknown.
            RelayError::Store(crate::store::StoreError::Unavailable { .. }) => unavailable(&e),
            RelayError::Store(_) | RelayError::Commit(_) => unwritable(&e),
            other => Problem::internal(other),
        }
    }
}

/// What an ingest's refusals mean to the caller.
impl From<crate::ingest::IngestError> for Problem {
    fn from(e: crate::ingest::IngestError) -> Problem {
        use crate::ingest::IngestError;
        match e {
            IngestError::Disabled { .. } => {
                Problem::new(StatusCode::CONFLICT, "adapter.disabled", e.to_string())
            }
            IngestError::NotProvided { .. } => {
                Problem::new(StatusCode::NOT_FOUND, "ingest.record-type", e.to_string())
            }
            IngestError::IdempotencyKey => Problem::new(
                StatusCode::BAD_REQUEST,
                "ingest.idempotency-key",
                e.to_string(),
            ),
            IngestError::Relay(e) => e.into(),
        }
    }
}

/// The store's error inside the error a route met, if it is one: the store's own, or carried by
/// the relay (a store call, or a group commit), the audit log, or authentication (a token or
/// member read while the database fails over).
fn store_error_in(any: &dyn std::any::Any) -> Option<&crate::store::StoreError> {
    use crate::audit::AuditError;
    use crate::relay::RelayError;
    if let Some(s) = any.downcast_ref::<crate::store::StoreError>() {
        return Some(s);
    }
    match any.downcast_ref::<RelayError>() {
        Some(RelayError::Store(s)) => return Some(s),
        Some(RelayError::Commit(a)) => {
            if let AuditError::Store(s) = a.as_ref() {
                return Some(s);
            }
        }
        _ => {}
    }
    if let Some(AuditError::Store(s)) = any.downcast_ref::<AuditError>() {
        return Some(s);
    }
    match any.downcast_ref::<crate::auth::AuthError>() {
        Some(crate::auth::AuthError::Store(s)) => Some(s),
        _ => None,
    }
}

/// 503 while the database of a database backend cannot be reached: nothing was done, the
/// caller tries again shortly.
/// The 503 for a store that cannot be reached or refuses writes for now (a database failing
/// over, say), if `e` is one: the caller sends again shortly.
pub(crate) fn store_for_now(e: &crate::store::StoreError) -> Option<Problem> {
    match e {
        crate::store::StoreError::Unavailable { .. } => Some(unavailable(e)),
        crate::store::StoreError::Unwritable(_) => Some(unwritable(e)),
        _ => None,
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> Problem {
    let mut p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store.unavailable",
        format!("the hub cannot reach its database ({e}); send the request again shortly"),
    );
    p.retry_after = Some(5);
    p
}

/// 503 for a write whose outcome is unknown: the hub stays up, the caller sends again later.
fn unwritable(e: &dyn std::fmt::Display) -> Problem {
    let mut p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store.unwritable",
        format!(
            "the hub cannot write its store ({e}); the outcome is unknown: send the record \
             again later (a repeat is answered with its original exchange)"
        ),
    );
    p.retry_after = Some(30);
    p
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.body_unread {
            // HTTP/2 ends only the stream; hyper drops the header there.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lienthong\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn away() -> crate::store::StoreError {
        crate::store::StoreError::Unavailable {
            action: "read a token",
            source: Box::new(std::io::Error::other("connection closed")),
        }
    }

    /// A database away is a 503 with Retry-After, whichever error carries it: the store's,
    /// the relay's or authentication's (a token read while the primary fails over).
    #[test]
    fn a_database_away_is_503_whoever_met_it() {
        for p in [
            Problem::internal(away()),
            Problem::internal(crate::relay::RelayError::Store(away())),
            Problem::internal(crate::auth::AuthError::Store(away())),
            Problem::internal(crate::relay::RelayError::Commit(std::sync::Arc::new(
                crate::audit::AuditError::Store(away()),
            ))),
        ] {
            assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.detail);
            assert_eq!(p.code, "store.unavailable");
            assert_eq!(p.retry_after, Some(5));
        }
        // A store that refuses writes since one failed, met by a pull's audit entry.
        let p = Problem::internal(crate::relay::RelayError::Commit(std::sync::Arc::new(
            crate::audit::AuditError::Store(crate::store::StoreError::Unwritable(
                "commit a group: the database cannot be reached".into(),
            )),
        )));
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.detail);
        assert_eq!(p.code, "store.unwritable");
        assert!(p.retry_after.is_some());
        let p = Problem::internal(crate::auth::AuthError::Store(
            crate::store::StoreError::Format("bad row".into()),
        ));
        assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
