//! Ingest: a member system pushes a record in its own format; the hub translates and validates
//! it and answers with the exchange id and the canonical record's digest, or with every error.
//!
//! For SOAP adapters the same paths speak SOAP 1.1/1.2: `GET …?wsdl` serves the WSDL of the
//! adapter's operations, a SOAP envelope (with its SOAPAction) is answered with a SOAP
//! response, and a refusal with a SOAP Fault carrying the same error details.

use super::{AppState, Auth, Problem, read_body};
use crate::auth::Role;
use crate::check::translate_validate;
use crate::config::adapter::Transport;
use crate::model::record_digest;
use crate::registry::{ActiveAdapter, AdapterRegistry};
use crate::store::ExchangeRecord;
use crate::translate::{INGEST_NS, soap_action};
use crate::validate::FieldError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use quick_xml::escape::escape;
use serde_json::json;
use std::sync::Arc;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/ingest/{adapter}", post(ingest_soap).get(wsdl_adapter))
        .route(
            "/v1/ingest/{adapter}/{record_type}",
            post(ingest_typed).get(wsdl_typed),
        )
}

const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";

/// How the request spoke, so that the answer speaks the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Plain,
    Soap11,
    Soap12,
}

fn face_of(adapter: &ActiveAdapter, headers: &HeaderMap) -> Face {
    if adapter.adapter.definition().transport != Transport::Soap {
        return Face::Plain;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/soap+xml") {
        Face::Soap12
    } else if headers.contains_key("soapaction") || ct.starts_with("text/xml") {
        Face::Soap11
    } else {
        Face::Plain
    }
}

/// The SOAPAction of a request (header for 1.1, `action` parameter for 1.2), unquoted.
fn soap_action_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("soapaction").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().trim_matches('"').to_string());
    }
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';')
        .filter_map(|p| p.trim().strip_prefix("action="))
        .map(|a| a.trim_matches('"').to_string())
        .next()
}

async fn ingest_typed(
    State(state): State<AppState>,
    Path((adapter, record_type)): Path<(String, String)>,
    auth: Result<Auth, Problem>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(state, adapter, Some(record_type), auth, headers, body).await
}

async fn ingest_soap(
    State(state): State<AppState>,
    Path(adapter): Path<String>,
    auth: Result<Auth, Problem>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(state, adapter, None, auth, headers, body).await
}

async fn ingest(
    state: AppState,
    adapter_name: String,
    record_type: Option<String>,
    auth: Result<Auth, Problem>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Credentials first: an unauthenticated caller learns nothing, not even which adapters
    // exist.
    let auth = match auth {
        Ok(a) => a,
        Err(p) => return p.into_response(),
    };
    let Some(active) = state.registry.get(&adapter_name) else {
        return Problem::not_found(format!(
            "no adapter {adapter_name:?}; GET /v1/adapters lists them"
        ))
        .into_response();
    };
    let face = face_of(&active, &headers);
    match ingest_inner(&state, &active, record_type, Ok(auth), &headers, body, face).await {
        Ok(resp) => resp,
        Err(p) if face == Face::Plain => p.into_response(),
        Err(p) => soap_fault(face, &p),
    }
}

async fn ingest_inner(
    state: &AppState,
    active: &Arc<ActiveAdapter>,
    record_type: Option<String>,
    auth: Result<Auth, Problem>,
    headers: &HeaderMap,
    body: Body,
    face: Face,
) -> Result<Response, Problem> {
    let Auth(caller) = auth?;
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let adapter = &active.adapter;
    let name = adapter.name().to_string();
    if !AdapterRegistry::may_manage(&caller, &adapter.definition().member) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "auth.owner",
            format!(
                "adapter {name} belongs to member {}; member {} may not push through it",
                adapter.definition().member,
                caller.member
            ),
        ));
    }
    if !active.enabled {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "adapter.disabled",
            format!(
                "adapter {name} is disabled; an admin or its own member can enable it \
                 (POST /v1/adapters/{name}/enable)"
            ),
        ));
    }
    let action = soap_action_of(headers);
    let record_type = match (record_type, &action) {
        (Some(t), _) => t,
        (None, Some(a)) => a
            .strip_prefix(&format!("urn:lienthong:ingest:{name}:"))
            .map(str::to_string)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "soap.action",
                    format!(
                        "SOAPAction {a:?} is not an operation of {name} \
                         (urn:lienthong:ingest:{name}:<record type>)"
                    ),
                )
            })?,
        (None, None) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "ingest.record-type",
                format!(
                    "name the record type in the path (/v1/ingest/{name}/<record type>) or, \
                     for SOAP, in the SOAPAction"
                ),
            ));
        }
    };
    let provides = &adapter.definition().provides;
    if adapter.schema_of(&record_type).is_none()
        || (!provides.is_empty() && !provides.contains(&record_type))
    {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "ingest.record-type",
            format!(
                "adapter {name} does not provide {record_type:?} (it provides: {})",
                provides.join(", ")
            ),
        ));
    }
    if let Some(a) = &action
        && face != Face::Plain
        && *a != soap_action(&name, &record_type)
        && !a.is_empty()
    {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "soap.action",
            format!(
                "SOAPAction {a:?} does not match the record type {record_type} (expected {:?})",
                soap_action(&name, &record_type)
            ),
        ));
    }
    check_content_type(adapter, headers)?;
    let bytes = read_body(state, body).await?;
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let result = translate_validate(adapter, &state.schemas, &record_type, &bytes);
    let mut exchange = ExchangeRecord {
        id: exchange_id.clone(),
        at: crate::clock::now_rfc3339(),
        member: caller.member.clone(),
        operation: "ingest".into(),
        adapter: name.clone(),
        record_type: record_type.clone(),
        outcome: String::new(),
        digest: None,
        error_codes: Vec::new(),
    };
    match result {
        Ok(record) => {
            let digest = record_digest(&record);
            exchange.outcome = "accepted".into();
            exchange.digest = Some(digest.clone());
            let routed = state.relay.route(&record_type, &name, &record);
            let names: Vec<String> = routed.iter().map(|(d, _)| d.clone()).collect();
            let dedup_key = dedup_key(
                adapter,
                &caller.member,
                &record_type,
                &record,
                &digest,
                headers,
            )?;
            // A repeat is answered with its original exchange even when the outbox is full.
            if let Some(original) = state.store.seen(&dedup_key).map_err(Problem::internal)? {
                state
                    .metrics
                    .inc("lienthong_ingest_duplicates_total", &[("adapter", &name)]);
                let schema = adapter
                    .schema_of(&record_type)
                    .unwrap_or_default()
                    .to_string();
                return Ok(match face {
                    Face::Plain => axum::Json(json!({
                        "exchange_id": original,
                        "adapter": name,
                        "record_type": record_type,
                        "schema": schema,
                        "digest": digest,
                        "destinations": names,
                        "duplicate": true,
                    }))
                    .into_response(),
                    _ => soap_response(face, &original, &digest, &record_type, &schema),
                });
            }
            if let Err(e) = state.relay.check_backpressure(&names) {
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "relay.backpressure",
                    e.to_string(),
                );
                p.retry_after = Some(5);
                return Err(p);
            }
            let accepted_at_ms = crate::relay::now_ms();
            let mut items = Vec::with_capacity(routed.len());
            for (destination, order_key) in &routed {
                items.push(crate::store::OutboxItem {
                    seq: state.relay.next_seq().map_err(Problem::internal)?,
                    destination: destination.clone(),
                    exchange_id: exchange_id.clone(),
                    record_type: record_type.clone(),
                    order_key: order_key.clone(),
                    source_adapter: name.clone(),
                    member: caller.member.clone(),
                    record: record.clone(),
                    accepted_at_ms,
                    attempts: 0,
                    next_attempt_ms: 0,
                    last_error: None,
                });
            }
            let accepted = state
                .relay
                .submit(crate::store::Submission {
                    exchange,
                    dedup_key: Some(dedup_key),
                    items,
                })
                .await
                .map_err(Problem::internal)?;
            let schema = adapter
                .schema_of(&record_type)
                .unwrap_or_default()
                .to_string();
            let (id, duplicate) = match accepted {
                crate::store::Accepted::New(id) => {
                    state.metrics.inc(
                        "lienthong_ingest_accepted_total",
                        &[("adapter", &name), ("record_type", &record_type)],
                    );
                    (id, false)
                }
                crate::store::Accepted::Duplicate(id) => {
                    state
                        .metrics
                        .inc("lienthong_ingest_duplicates_total", &[("adapter", &name)]);
                    (id, true)
                }
            };
            Ok(match face {
                Face::Plain => {
                    let status = if duplicate {
                        StatusCode::OK
                    } else {
                        StatusCode::ACCEPTED
                    };
                    (
                        status,
                        axum::Json(json!({
                            "exchange_id": id,
                            "adapter": name,
                            "record_type": record_type,
                            "schema": schema,
                            "digest": digest,
                            "destinations": names,
                            "duplicate": duplicate,
                        })),
                    )
                        .into_response()
                }
                _ => soap_response(face, &id, &digest, &record_type, &schema),
            })
        }
        Err(errors) => {
            exchange.outcome = "rejected".into();
            exchange.error_codes = errors.iter().map(|e| e.code.clone()).collect();
            state
                .store
                .record_exchange(&exchange)
                .map_err(Problem::internal)?;
            for e in errors.iter().take(5) {
                state.metrics.inc(
                    "lienthong_ingest_rejected_total",
                    &[("adapter", &name), ("reason", &e.code)],
                );
            }
            Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ingest.rejected",
                format!(
                    "the {record_type} record was rejected with {} error(s); nothing was \
                     accepted (exchange {exchange_id})",
                    errors.len()
                ),
            )
            .with_errors(errors)
            .with_extra(json!({"exchange_id": exchange_id})))
        }
    }
}

/// The idempotency key of an ingest: the caller's `Idempotency-Key` header (scoped to its
/// member), else the adapter's natural key (its pointers' values), else the record's digest.
fn dedup_key(
    adapter: &crate::translate::Adapter,
    member: &str,
    record_type: &str,
    record: &serde_json::Value,
    digest: &str,
    headers: &HeaderMap,
) -> Result<String, Problem> {
    if let Some(v) = headers.get("idempotency-key") {
        let v = v.to_str().unwrap_or("");
        if v.is_empty() || v.len() > 200 {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "ingest.idempotency-key",
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            ));
        }
        return Ok(format!("idem\u{1f}{member}\u{1f}{v}"));
    }
    let name = adapter.name();
    let pointers = adapter
        .definition()
        .records
        .get(record_type)
        .map(|r| r.natural_key.clone())
        .unwrap_or_default();
    if !pointers.is_empty() {
        let values: Option<Vec<String>> = pointers
            .iter()
            .map(|p| {
                record.pointer(p).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .collect();
        if let Some(values) = values {
            return Ok(format!(
                "nat\u{1f}{name}\u{1f}{record_type}\u{1f}{}",
                values.join("\u{1f}")
            ));
        }
    }
    Ok(format!("dig\u{1f}{name}\u{1f}{record_type}\u{1f}{digest}"))
}

/// The body must be in the adapter's format: a JSON adapter takes `…json…` content types, an
/// XML adapter `…xml…` ones; no content type at all is taken as the adapter's format.
fn check_content_type(
    adapter: &crate::translate::Adapter,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let (wanted, ok) = match adapter.definition().format {
        crate::config::adapter::Format::Json => ("JSON (application/json)", ct.contains("json")),
        crate::config::adapter::Format::Xml => (
            "XML (application/xml, text/xml, application/soap+xml)",
            ct.contains("xml"),
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ingest.content-type",
            format!(
                "adapter {} takes {wanted}; the request says {ct:?}",
                adapter.name()
            ),
        ))
    }
}

fn envelope(face: Face, body: &str) -> Response {
    let (ns, ct) = match face {
        Face::Soap12 => (SOAP12_ENV, "application/soap+xml; charset=utf-8"),
        _ => (SOAP11_ENV, "text/xml; charset=utf-8"),
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{ns}\">\
         <soap:Body>{body}</soap:Body></soap:Envelope>"
    );
    ([(header::CONTENT_TYPE, ct)], text).into_response()
}

fn soap_response(
    face: Face,
    exchange_id: &str,
    digest: &str,
    record_type: &str,
    schema: &str,
) -> Response {
    envelope(
        face,
        &format!(
            "<lt:IngestResponse xmlns:lt=\"{INGEST_NS}\"><lt:ExchangeId>{}</lt:ExchangeId>\
             <lt:Digest>{}</lt:Digest><lt:RecordType>{}</lt:RecordType>\
             <lt:Schema>{}</lt:Schema></lt:IngestResponse>",
            escape(exchange_id),
            escape(digest),
            escape(record_type),
            escape(schema)
        ),
    )
}

/// A SOAP Fault with the problem's code, detail and field errors, under the problem's HTTP
/// status (a refusal of the client's document is a 4xx, never a 5xx).
fn soap_fault(face: Face, p: &Problem) -> Response {
    let errors: String = p
        .errors
        .iter()
        .map(|e: &FieldError| {
            format!(
                "<lt:Error><lt:Pointer>{}</lt:Pointer><lt:Code>{}</lt:Code>\
                 <lt:Message>{}</lt:Message>{}</lt:Error>",
                escape(e.pointer.as_str()),
                escape(e.code.as_str()),
                escape(e.message.as_str()),
                e.source
                    .as_deref()
                    .map(|s| format!("<lt:Source>{}</lt:Source>", escape(s)))
                    .unwrap_or_default()
            )
        })
        .collect();
    let detail = format!(
        "<lt:Problem xmlns:lt=\"{INGEST_NS}\"><lt:Code>{}</lt:Code><lt:Detail>{}</lt:Detail>\
         <lt:Errors>{errors}</lt:Errors></lt:Problem>",
        escape(p.code.as_str()),
        escape(p.detail.as_str())
    );
    let server = p.status.is_server_error();
    let body = match face {
        Face::Soap12 => format!(
            "<soap:Fault><soap:Code><soap:Value>soap:{}</soap:Value></soap:Code>\
             <soap:Reason><soap:Text xml:lang=\"en\">{}</soap:Text></soap:Reason>\
             <soap:Detail>{detail}</soap:Detail></soap:Fault>",
            if server { "Receiver" } else { "Sender" },
            escape(p.detail.as_str())
        ),
        _ => format!(
            "<soap:Fault><faultcode>soap:{}</faultcode><faultstring>{}</faultstring>\
             <detail>{detail}</detail></soap:Fault>",
            if server { "Server" } else { "Client" },
            escape(p.detail.as_str())
        ),
    };
    let mut resp = envelope(face, &body);
    *resp.status_mut() = p.status;
    if let Some(secs) = p.retry_after
        && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

async fn wsdl_adapter(
    State(state): State<AppState>,
    Path(adapter): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    wsdl(&state, &adapter, query, &headers)
}

async fn wsdl_typed(
    State(state): State<AppState>,
    Path((adapter, record_type)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(active) = state.registry.get(&adapter) {
        let provides = &active.adapter.definition().provides;
        if active.adapter.schema_of(&record_type).is_none()
            || (!provides.is_empty() && !provides.contains(&record_type))
        {
            return Err(Problem::not_found(format!(
                "adapter {adapter} does not provide {record_type:?}"
            )));
        }
    }
    wsdl(&state, &adapter, query, &headers)
}

/// `GET /v1/ingest/{adapter}[/{record_type}]?wsdl`.
fn wsdl(
    state: &AppState,
    name: &str,
    query: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let asks_wsdl = query.as_deref().is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("wsdl"))
        })
    });
    if !asks_wsdl {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "ingest takes POST; GET only serves the WSDL of SOAP adapters (?wsdl)",
        ));
    }
    let Some(active) = state.registry.get(name) else {
        return Err(Problem::not_found(format!("no adapter {name:?}")));
    };
    if active.adapter.definition().transport != Transport::Soap {
        return Err(Problem::not_found(format!(
            "adapter {name} does not speak SOAP, so it has no WSDL"
        )));
    }
    let base = if state.config.server.public_url.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(&state.config.server.listen);
        let scheme = if state.config.tls.allow_plain_http {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    } else {
        state
            .config
            .server
            .public_url
            .trim_end_matches('/')
            .to_string()
    };
    let location = format!("{base}/v1/ingest/{name}");
    let text = active.adapter.wsdl(&location).map_err(|e| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "adapter.wsdl",
            format!("no WSDL: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], text).into_response())
}
