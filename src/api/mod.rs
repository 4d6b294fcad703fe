//! The HTTP API, composed per audience: ingest (one-stop systems), admin (adapters), health and
//! metrics (operators). Edge limits (concurrency, request time), request metrics and logging
//! are layers here; authentication is an extractor (`Auth`).

mod adapters;
mod audit;
mod audit_search;
mod authn;
mod citizens;
mod console;
mod documents;
mod exchanges;
mod guard;
mod health;
mod ingest;
mod members;
mod onceonly_report;
mod policy;
mod problem;
mod quality;
mod relay;
mod routes;
mod soap;
mod tokens;
mod units;

pub use authn::Auth;
pub use problem::Problem;

use crate::auth::Caller;
use crate::config::hub::HubConfig;
use crate::metrics::Metrics;
use crate::registry::AdapterRegistry;
use crate::store::Store;
use crate::validate::SchemaRegistry;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What every handler can reach. Cheap to clone (one shared part): the router clones it for
/// every request.
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

/// What the state is made of.
#[doc(hidden)]
pub struct StateParts {
    pub config: Arc<HubConfig>,
    pub store: Store,
    pub schemas: Arc<SchemaRegistry>,
    pub registry: Arc<AdapterRegistry>,
    /// The members in force (`current()`), and their catalogue.
    pub members: Arc<crate::auth::Directory>,
    pub metrics: Arc<Metrics>,
    pub relay: crate::relay::Relay,
    pub onceonly: Arc<crate::onceonly::OnceOnly>,
    /// The ingest pipeline, over the same parts.
    pub pipeline: Arc<crate::ingest::Pipeline>,
    /// The service-quality indicators, unless `[quality] enabled = false`.
    pub quality: Option<Arc<crate::quality::Live>>,
    /// The console's signed-in browsers.
    pub sessions: Arc<console::session::Sessions>,
    concurrency: Arc<Semaphore>,
    auth_guard: Arc<guard::AuthGuard>,
}

impl std::ops::Deref for AppState {
    type Target = StateParts;
    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl AppState {
    /// Assembles the state from its parts; the members in force are read from the store's
    /// catalogue, the config file's `[[members]]` being the starting set.
    pub fn new(
        config: Arc<HubConfig>,
        store: Store,
        schemas: Arc<SchemaRegistry>,
        registry: Arc<AdapterRegistry>,
        relay: crate::relay::Relay,
        onceonly: Arc<crate::onceonly::OnceOnly>,
        metrics: Arc<Metrics>,
    ) -> Result<AppState, crate::store::StoreError> {
        let members = Arc::new(crate::auth::Directory::open(
            store.clone(),
            &config.members,
        )?);
        let pipeline = Arc::new(crate::ingest::Pipeline {
            store: store.clone(),
            schemas: schemas.clone(),
            registry: registry.clone(),
            relay: relay.clone(),
            onceonly: onceonly.clone(),
            metrics: metrics.clone(),
        });
        let quality =
            crate::quality::Live::start(&config.quality, store.clone(), relay.audit().clone())?
                .map(Arc::new);
        Ok(AppState(Arc::new(StateParts {
            pipeline,
            quality,
            onceonly,
            members,
            metrics,
            relay,
            sessions: Arc::default(),
            concurrency: Arc::new(Semaphore::new(config.limits.max_concurrency)),
            auth_guard: Arc::new(guard::AuthGuard::new(
                config.limits.auth_failures_per_minute,
            )),
            config,
            store,
            schemas,
            registry,
        })))
    }
}

/// A draft audit entry for an administrative act of `caller` (a fresh exchange id, outcome
/// `ok`).
pub(crate) fn admin_act(caller: &Caller, operation: &str) -> crate::audit::AuditDraft {
    crate::audit::AuditDraft {
        exchange_id: uuid::Uuid::now_v7().to_string(),
        actor: caller.member.clone(),
        operation: operation.into(),
        outcome: "ok".into(),
        ..Default::default()
    }
}

impl AppState {
    /// Records an audit entry durably before the caller is answered.
    pub(crate) async fn record(&self, draft: crate::audit::AuditDraft) -> Result<(), Problem> {
        self.relay
            .record(vec![draft])
            .await
            .map(|_| ())
            .map_err(Problem::internal)
    }
}

pub use guard::ClientAddr;

/// The names in the client certificate of the connection a request came on (mutual TLS),
/// set by the server per connection.
#[derive(Debug, Clone, Default)]
pub struct PeerCertificate {
    pub names: Vec<String>,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(adapters::routes())
        .merge(ingest::routes())
        .merge(tokens::routes())
        .merge(relay::routes())
        .merge(exchanges::routes())
        .merge(members::routes())
        .merge(routes::routes())
        .merge(units::routes())
        .merge(policy::routes())
        .merge(audit::routes())
        .merge(audit_search::routes())
        .merge(citizens::routes())
        .merge(documents::routes())
        .merge(quality::routes())
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::not_found("no such route; the routes are listed at /openapi.json")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not take that method; see /openapi.json",
    )
}

/// Edge layer: concurrency limit, request time limit, metrics and a log line per request.
/// The log names the route template, never the raw path (which may hold a personal ID) nor
/// any header (which may hold a token).
async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let method = req.method().clone();
    let limits = state.config.limits;
    let resp = match state.concurrency.clone().try_acquire_owned() {
        Err(_) => {
            state.metrics.inc(
                "lienthong_limit_breaches_total",
                &[("limit", "max_concurrency")],
            );
            let mut p = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "limits.max-concurrency",
                format!(
                    "the hub is handling its limit of {} requests at once \
                     (limits.max_concurrency); retry shortly",
                    limits.max_concurrency
                ),
            );
            p.retry_after = Some(1);
            p.into_response()
        }
        Ok(_permit) => {
            let budget = Duration::from_millis(limits.request_timeout_ms);
            match tokio::time::timeout(budget, next.run(req)).await {
                Ok(r) => r,
                Err(_) => {
                    state.metrics.inc(
                        "lienthong_limit_breaches_total",
                        &[("limit", "request_timeout_ms")],
                    );
                    Problem::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "limits.request-timeout",
                        format!(
                            "the request took longer than {} ms (limits.request_timeout_ms); \
                             if its body was complete it may still have been accepted: send it \
                             again, a repeat is answered with the original exchange",
                            limits.request_timeout_ms
                        ),
                    )
                    .into_response()
                }
            }
        }
    };
    let resp = as_problem(resp).await;
    let status = resp.status();
    let elapsed = start.elapsed();
    state.metrics.inc(
        "lienthong_http_requests_total",
        &[
            ("route", &route),
            ("method", method.as_str()),
            ("status", status.as_str()),
        ],
    );
    state.metrics.observe(
        "lienthong_http_request_duration_seconds",
        &[("route", &route)],
        elapsed.as_secs_f64(),
    );
    if status.is_server_error() {
        tracing::warn!(%method, %route, status = status.as_u16(), ms = elapsed.as_millis() as u64, "request failed");
    } else {
        tracing::debug!(%method, %route, status = status.as_u16(), ms = elapsed.as_millis() as u64, "request");
    }
    resp
}

/// Turns the framework's own plain-text refusals (a path segment that is not UTF-8, a query
/// that does not parse) into problem+json, so that every error has the same shape.
async fn as_problem(resp: Response) -> Response {
    let plain = resp.status().is_client_error()
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/plain"));
    if !plain {
        return resp;
    }
    let status = resp.status();
    let text = axum::body::to_bytes(resp.into_body(), 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Problem::new(status, "request.invalid", text).into_response()
}

/// A route's query string, or 400 `request.query` naming the parameters it takes.
pub(crate) fn query<T: serde::de::DeserializeOwned>(
    q: Option<String>,
    names: &str,
) -> Result<T, Problem> {
    serde_urlencoded::from_str(q.as_deref().unwrap_or("")).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.query",
            format!("query: {e} (parameters: {names})"),
        )
    })
}

/// The member a request asks about: the caller itself unless it names another, which only
/// admins and auditors may (403 `auth.member` otherwise).
pub(crate) fn member_asked(caller: &Caller, asked: Option<&str>) -> Result<String, Problem> {
    use crate::auth::Role;
    match asked {
        None => Ok(caller.member.clone()),
        Some(m) if m == caller.member => Ok(m.to_string()),
        Some(m) if caller.has(Role::Admin) || caller.has(Role::Auditor) => Ok(m.to_string()),
        Some(m) => Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "auth.member",
            format!(
                "member {} may ask only about itself, not about member {m}",
                caller.member
            ),
        )),
    }
}

/// 403 unless the caller acts in one of `roles`.
pub(crate) fn require(caller: &Caller, roles: &[crate::auth::Role]) -> Result<(), Problem> {
    if roles.iter().any(|r| caller.has(*r)) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(Problem::new(
        StatusCode::FORBIDDEN,
        "auth.role",
        format!(
            "member {} acts here as {}; this needs the role {}",
            caller.member,
            caller
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            names.join(" or ")
        ),
    ))
}

/// Reads a request body up to the configured limit (413 beyond, naming the limit).
pub(crate) async fn read_body(state: &AppState, body: Body) -> Result<bytes::Bytes, Problem> {
    let limit = state.config.limits.max_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        state.metrics.inc(
            "lienthong_limit_breaches_total",
            &[("limit", "max_body_bytes")],
        );
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "limits.max-body-bytes",
            format!("the request body is over {limit} bytes (limits.max_body_bytes)"),
        )
        .leaving_body_unread()
    })
}
