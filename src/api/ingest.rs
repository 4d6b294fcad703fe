//! Ingest's REST and SOAP faces: the caller authenticated and allowed to push through the
//! adapter, the record type read from the path or the SOAPAction, the body read within its
//! limits; then the ingest pipeline (`crate::ingest`) and its outcome rendered: the exchange id
//! and the canonical record's digest, or every error.
//!
//! For SOAP adapters the same paths speak SOAP 1.1/1.2: `GET …?wsdl` serves the WSDL of the
//! adapter's operations, a SOAP envelope (with its SOAPAction) is answered with a SOAP
//! response, and a refusal with a SOAP Fault carrying the same error details.

use super::soap::{
    Answer, Protocol, protocol_of, soap_action_of, soap_fault, soap_response, wsdl_adapter,
    wsdl_typed,
};
use super::{AppState, Auth, Problem, read_body};
use crate::auth::Role;
use crate::ingest::{Outcome, Push, Receipt};
use crate::registry::{ActiveAdapter, AdapterRegistry};
use crate::translate::soap_action;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
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
    let protocol = protocol_of(&active, &headers);
    match ingest_inner(
        &state,
        &active,
        record_type,
        Ok(auth),
        &headers,
        body,
        protocol,
    )
    .await
    {
        Ok(resp) => resp,
        Err(p) if protocol == Protocol::Rest => p.into_response(),
        Err(p) => soap_fault(protocol, &p),
    }
}

async fn ingest_inner(
    state: &AppState,
    active: &Arc<ActiveAdapter>,
    record_type: Option<String>,
    auth: Result<Auth, Problem>,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
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
        return Err(crate::ingest::IngestError::Disabled { adapter: name }.into());
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
    if let Some(a) = &action
        && protocol != Protocol::Rest
        && *a != soap_action(&name, &record_type)
        && !a.is_empty()
        && adapter.provides(&record_type)
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
    let started = std::time::Instant::now();
    let bytes = read_body(state, body).await?;
    let outcome = state
        .pipeline
        .push(Push {
            adapter: active,
            record_type: &record_type,
            member: &caller.member,
            idempotency_key: headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap_or("")),
            document: &bytes,
            started,
        })
        .await?;
    match outcome {
        Outcome::Accepted(receipt) => Ok(accepted(protocol, &name, &record_type, receipt)),
        Outcome::Rejected {
            exchange_id,
            errors,
        } => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ingest.rejected",
            format!(
                "the {record_type} record was rejected with {} error(s); nothing was accepted \
                 (exchange {exchange_id})",
                errors.len()
            ),
        )
        .with_errors(errors)
        .with_extra(json!({"exchange_id": exchange_id}))),
    }
}

/// The answer to an accepted push (202, or 200 for a repeat), as JSON or as a SOAP response.
fn accepted(protocol: Protocol, adapter: &str, record_type: &str, r: Receipt) -> Response {
    match protocol {
        Protocol::Rest => {
            let status = if r.duplicate {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            let mut body = json!({
                "exchange_id": r.exchange_id,
                "adapter": adapter,
                "record_type": record_type,
                "schema": r.schema,
                "digest": r.digest,
                "destinations": r.destinations,
                "duplicate": r.duplicate,
            });
            // A repeat answered before it was checked again has no findings of its own.
            if let Some(findings) = &r.findings {
                body["findings"] = json!(findings);
            }
            (status, axum::Json(body)).into_response()
        }
        _ => soap_response(
            protocol,
            &Answer {
                exchange_id: &r.exchange_id,
                digest: &r.digest,
                record_type,
                schema: &r.schema,
                duplicate: r.duplicate,
                findings: r.findings.as_deref().unwrap_or_default(),
            },
        ),
    }
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
