//! The documents the state issued to a person, for reuse under the once-only rule:
//! `GET /v1/citizens/{personal_id}/documents`, admitted, signed and audited as a citizen pull
//! is (`citizens.rs`), the hub's own index of issued documents its source.

use super::citizens::{admit, check_id, draft_of, fields_list, provenance, signed};
use super::{AppState, Auth, Problem};
use crate::onceonly::{Fetched, OnceOnly};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/citizens/{personal_id}/documents", get(documents))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsQuery {
    purpose: Option<String>,
    #[serde(rename = "type")]
    document_type: Option<String>,
    fields: Option<String>,
}

/// `GET /v1/citizens/{personal_id}/documents?purpose=…[&type=…][&fields=…]`: the documents
/// the state issued to a person that can be reused (not revoked, not expired), under the
/// policy's grants for record type `document`; signed and audited like a citizen pull.
async fn documents(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(personal_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let q: DocumentsQuery = super::query(q, "purpose, type, fields")?;
    check_id(&personal_id)?;
    let fields = fields_list(q.fields.as_deref());
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let decision = admit(
        &state,
        &caller,
        "document",
        q.purpose.as_deref(),
        fields.as_deref(),
        std::slice::from_ref(&personal_id),
        &exchange_id,
    )
    .await?;
    let purpose = q.purpose.unwrap_or_default();
    let today = crate::clock::now_rfc3339();
    let type_key = q.document_type.as_deref().map(crate::units::names::key);
    let store = state.store.clone();
    let id = personal_id.clone();
    let found =
        tokio::task::spawn_blocking(move || store.issued_documents(&id, type_key.as_deref()))
            .await
            .map_err(Problem::internal)?
            .map_err(Problem::internal)?;
    let mut withheld: Vec<String> = Vec::new();
    let docs: Vec<Value> = found
        .iter()
        .filter(|d| crate::onceonly::documents::valid_on(d, &today[..10.min(today.len())]))
        .map(|d| {
            let (data, w) = OnceOnly::redact(d, &decision, fields.is_some());
            withheld = w;
            data
        })
        .collect();
    let mut d = draft_of("document", &caller, &exchange_id, &purpose, &personal_id);
    d.outcome = "allowed".into();
    d.counterparty = Some("hub".into());
    d.fields = decision.granted.clone();
    d.payload = Some(Value::Array(docs.clone()));
    state.record(d).await?;
    let ou = state.onceonly.clone();
    // The hub's own index is the source.
    let from = Fetched {
        record: std::sync::Arc::new(Value::Null),
        source: "hub".into(),
        schema: "document.v1".into(),
        retrieved_at: today,
        from_cache: false,
    };
    let body = json!({
        "data": docs,
        "withheld": withheld,
        "provenance": provenance(&from, &exchange_id, &purpose, &caller, ou.key().name()),
    });
    Ok(signed(&ou, StatusCode::OK, &body))
}
