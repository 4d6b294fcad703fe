//! Ingest: a member system pushes a record in its own format; the hub translates and validates
//! it and answers with the exchange id and the canonical record's digest, or with every error.
//!
//! For SOAP adapters the same paths speak SOAP 1.1/1.2: `GET …?wsdl` serves the WSDL of the
//! adapter's operations, a SOAP envelope (with its SOAPAction) is answered with a SOAP
//! response, and a refusal with a SOAP Fault carrying the same error details.

mod onceonly;

use super::soap::{
    Answer, Face, face_of, soap_action_of, soap_fault, soap_response, wsdl_adapter, wsdl_typed,
};
use super::{AppState, Auth, Problem, read_body};
use crate::audit::{AuditDraft, subject_of};
use crate::auth::Role;
use crate::model::{canonical_json, digest_of_canonical};
use crate::registry::{ActiveAdapter, AdapterRegistry};
use crate::translate::soap_action;
use crate::validate::translated::translate_validate_with_warnings;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onceonly::{finding_entries, index_writes, once_only, share};
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
    let started = std::time::Instant::now();
    let bytes = read_body(state, body).await?;
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let result = translate_validate_with_warnings(adapter, &state.schemas, &record_type, &bytes);
    let mut draft = AuditDraft {
        exchange_id: exchange_id.clone(),
        actor: caller.member.clone(),
        counterparty: Some(name.clone()),
        operation: "ingest".into(),
        record_type: Some(record_type.clone()),
        ..Default::default()
    };
    match result {
        Ok((mut record, warnings)) => {
            // What the adapter accepted with a warning (an address it could not settle) is a
            // finding of the exchange, like the register checks.
            let mut findings: Vec<crate::onceonly::verify::Finding> = warnings
                .iter()
                .map(crate::onceonly::verify::warning)
                .collect();
            // A repeat is known by what the source sent, before the hub's own additions
            // (enrichment, document references), which depend on what the hub holds.
            // Its canonical JSON is written once, for the digest and the audit entry's payload.
            let canonical = canonical_json(&record);
            let source_digest = digest_of_canonical(&canonical);
            // The hub's additions change the record only when a route asked for checks.
            let (digest, canonical) = match once_only(state, &record_type, &name, &mut record).await
            {
                Some(found) => {
                    findings.extend(found);
                    let canonical = canonical_json(&record);
                    (digest_of_canonical(&canonical), canonical)
                }
                None => (source_digest.clone(), canonical),
            };
            draft.outcome = "accepted".into();
            draft.subject = subject_of(&record);
            let routed = state.relay.route(&record_type, &name, &record);
            let names: Vec<String> = routed.iter().map(|r| r.destination.clone()).collect();
            let dedup_key = dedup_key(
                adapter,
                &caller.member,
                &record_type,
                &record,
                &source_digest,
                headers,
            )?;
            // A repeat is answered with its original exchange even when the outbox is full.
            if let Some(original) = state
                .store
                .seen(&dedup_key)
                // The store failing (sled stops reading too after a failed write of its own):
                // the same answer as a commit that cannot be written.
                .map_err(|e| relay_problem(crate::relay::RelayError::Store(e)))?
            {
                // The original may belong to a group commit still being flushed: answer once
                // it is durable. The repeat's own entry promises the caller nothing, so it rides
                // the next group commit without holding the answer.
                state.relay.wait_durable().await.map_err(relay_problem)?;
                draft.outcome = "duplicate".into();
                draft.refers_to = Some(original.clone());
                draft.latency_ms = started.elapsed().as_millis() as u64;
                state
                    .relay
                    .record_unawaited(vec![draft])
                    .await
                    .map_err(relay_problem)?;
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
                    _ => soap_response(
                        face,
                        &Answer {
                            exchange_id: &original,
                            digest: &digest,
                            record_type: &record_type,
                            schema: &schema,
                            duplicate: true,
                            findings: &[],
                        },
                    ),
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
            let accepted_at_ms = crate::clock::now_ms();
            let mut items = Vec::with_capacity(routed.len());
            let mut shared = Vec::new();
            // The items that take the whole record: it goes into them last, moved into one.
            let mut whole = Vec::new();
            for to in routed {
                // A route with a purpose shares only what the policy grants the destination.
                let record = match &to.purpose {
                    None => {
                        whole.push(items.len());
                        serde_json::Value::Null
                    }
                    Some(purpose) => {
                        let (granted, entry) =
                            share(state, &record_type, &record, &to.destination, purpose);
                        shared.push(AuditDraft {
                            exchange_id: exchange_id.clone(),
                            subject: draft.subject.clone(),
                            ..entry
                        });
                        match granted {
                            Some(r) => r,
                            None => continue,
                        }
                    }
                };
                items.push(crate::store::OutboxItem {
                    // Given by the committer, in the order of acceptance.
                    seq: 0,
                    destination: to.destination,
                    exchange_id: exchange_id.clone(),
                    record_type: record_type.clone(),
                    order_key: to.order_key,
                    source_adapter: name.clone(),
                    member: caller.member.clone(),
                    record,
                    accepted_at_ms,
                    attempts: 0,
                    next_attempt_ms: 0,
                    last_error: None,
                });
            }
            // The destinations that take it (a route with a purpose may have refused some).
            let names: Vec<String> = items.iter().map(|i| i.destination.clone()).collect();
            draft.latency_ms = started.elapsed().as_millis() as u64;
            let (onceonly, counts) = index_writes(&record_type, &record, &findings, accepted_at_ms);
            let subject = draft.subject.clone();
            // The record is its payload, sealed with the canonical JSON written above.
            let sealed = draft
                .seal_canonical(Some(&canonical))
                .map_err(|e| relay_problem(crate::relay::sealing_failed(e)))?;
            if let Some((last, rest)) = whole.split_last() {
                for &i in rest {
                    items[i].record = record.clone();
                }
                items[*last].record = record;
            }
            let items = items.into_iter().map(Arc::new).collect();
            // The findings and what was shared under a purpose, in the same commit as the
            // ingest they are about.
            let mut audit = shared;
            audit.extend(finding_entries(
                state,
                &findings,
                &exchange_id,
                &record_type,
                &name,
                subject,
            ));
            let accepted = state
                .relay
                .submit(
                    crate::store::Submission {
                        exchange_id: exchange_id.clone(),
                        dedup_key: Some(dedup_key),
                        items,
                        onceonly,
                        counts,
                        delivered: Vec::new(),
                    },
                    vec![sealed],
                    audit,
                )
                .await
                .map_err(relay_problem)?;
            let schema = adapter
                .schema_of(&record_type)
                .unwrap_or_default()
                .to_string();
            let (id, duplicate) = match accepted {
                crate::store::Accepted::New {
                    exchange_id: id, ..
                } => {
                    state.metrics.inc(
                        "lienthong_ingest_accepted_total",
                        &[("adapter", &name), ("record_type", &record_type)],
                    );
                    (id, false)
                }
                crate::store::Accepted::Duplicate { original: id, .. } => {
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
                            "findings": findings,
                        })),
                    )
                        .into_response()
                }
                _ => soap_response(
                    face,
                    &Answer {
                        exchange_id: &id,
                        digest: &digest,
                        record_type: &record_type,
                        schema: &schema,
                        duplicate,
                        findings: &findings,
                    },
                ),
            })
        }
        Err(errors) => {
            draft.outcome = "rejected".into();
            draft.error_code = errors.first().map(|e| e.code.clone());
            draft.latency_ms = started.elapsed().as_millis() as u64;
            state
                .relay
                .record(vec![draft])
                .await
                .map_err(relay_problem)?;
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

/// The answer when the relay cannot take work.
fn relay_problem(e: crate::relay::RelayError) -> Problem {
    match e {
        crate::relay::RelayError::Stopped => {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "relay.stopping",
                "the hub is shutting down; nothing was accepted, try again shortly",
            );
            p.retry_after = Some(5);
            p
        }
        crate::relay::RelayError::Store(e) => {
            // A commit that could not be written (a full disk, an I/O error): the hub stays up
            // and says so. It may have reached the store before the flush failed, so the outcome
            // is unknown: a repeat is answered with the original exchange.
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store.unwritable",
                format!(
                    "the hub cannot write its store ({e}); the outcome is unknown: send the \
                     record again later (a repeat is answered with its original exchange)"
                ),
            );
            p.retry_after = Some(30);
            p
        }
        other => Problem::internal(other),
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
                crate::model::pointer(record, p).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .collect();
        if let Some(values) = values {
            // Length-prefixed, so that no value can imitate a separator.
            let joined: String = values.iter().map(|v| format!("{}:{v}", v.len())).collect();
            return Ok(format!("nat\u{1f}{name}\u{1f}{record_type}\u{1f}{joined}"));
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
