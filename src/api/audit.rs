//! The audit API: the hub's keys, signed checkpoints, inclusion and consistency proofs, queries,
//! the subject report, and exports for offline verification.

use super::{AppState, Auth, Problem};
use crate::audit::export::{self, FORMAT, Header};
use crate::audit::{AuditError, AuditLog, Query, normalise_time};
use crate::auth::Role;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/keys", get(keys))
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/checkpoints", get(checkpoints))
        .route("/v1/audit/proof/inclusion", get(inclusion))
        .route("/v1/audit/proof/consistency", get(consistency))
        .route("/v1/audit/entries", get(entries))
        .route("/v1/audit/subjects/{personal_id}/report", get(report))
        .route("/v1/audit/export", get(export_slice))
        .route(
            "/v1/audit/entries/{index}/sealed",
            axum::routing::delete(purge),
        )
}

const EVERY_ROLE: &[Role] = &[Role::Admin, Role::Auditor, Role::Provider, Role::Consumer];
const AUDITORS: &[Role] = &[Role::Admin, Role::Auditor];

use super::query;

fn audit_problem(e: AuditError) -> Problem {
    match e {
        AuditError::BadRequest(m) => Problem::new(StatusCode::BAD_REQUEST, "audit.request", m),
        AuditError::Merkle(
            m @ (crate::audit::merkle::MerkleError::IndexOutOfRange { .. }
            | crate::audit::merkle::MerkleError::BadSizes { .. }
            | crate::audit::merkle::MerkleError::BeyondLog { .. }),
        ) => Problem::new(StatusCode::BAD_REQUEST, "audit.proof", m.to_string()),
        other => Problem::internal(other),
    }
}

/// The hub's public keys: open to anyone, so that signatures can be checked by whoever holds
/// a signed checkpoint or a signed answer.
async fn keys(State(state): State<AppState>) -> Response {
    let key = state.relay.audit().key().clone();
    let v = key.verifier();
    axum::Json(json!({
        "keys": [{
            "name": key.name(),
            "algorithm": "Ed25519",
            "verifier_key": v.encode(),
            "public_key": B64.encode(v.key().as_bytes()),
            "use": ["audit-checkpoint", "response-signature"],
        }]
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeQuery {
    size: Option<u64>,
}

/// A signed checkpoint covering every durable entry (made now if the log grew since the last
/// one), or the one of `size`; as a signed note in text.
async fn checkpoint(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, EVERY_ROLE)?;
    let q: SizeQuery = query(q, "size")?;
    let log = state.relay.audit().clone();
    let note = match q.size {
        Some(size) => log
            .checkpoint_at(size)
            .map_err(audit_problem)?
            .ok_or_else(|| Problem::not_found(format!("a checkpoint of size {size}")))?,
        // Auditors may ask for a fresh one; others get the latest made (one is made at least
        // every `checkpoint_secs` while the log grows).
        None if AUDITORS.iter().any(|r| caller.has(*r)) => {
            state
                .relay
                .checkpoint_now()
                .await
                .map_err(Problem::internal)?
                .1
        }
        None => match log.latest_checkpoint().map_err(audit_problem)? {
            Some((_, n)) => n,
            None => {
                state
                    .relay
                    .checkpoint_now()
                    .await
                    .map_err(Problem::internal)?
                    .1
            }
        },
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

/// Checkpoints made so far, oldest first.
async fn checkpoints(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, EVERY_ROLE)?;
    let q: ListQuery = query(q, "after, limit")?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = state
        .relay
        .audit()
        .checkpoints(q.after.unwrap_or(0), limit)
        .map_err(audit_problem)?;
    let next = (list.len() == limit).then(|| list.last().map(|(s, _)| *s));
    Ok(axum::Json(json!({
        "checkpoints": list.iter().map(|(size, note)| json!({"size": size, "note": note})).collect::<Vec<_>>(),
        "next": next.flatten(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// The proof that entry `index` is in the tree of `size` entries (default: the latest
/// checkpoint's size).
async fn inclusion(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, EVERY_ROLE)?;
    let q: InclusionQuery = query(q, "index, size")?;
    let log = state.relay.audit().clone();
    let size = match q.size {
        Some(s) => s,
        None => log
            .latest_checkpoint()
            .map_err(audit_problem)?
            .map(|(s, _)| s)
            .unwrap_or(0),
    };
    let (proof, entry) = tokio::task::spawn_blocking(move || {
        let proof = log.inclusion_proof(q.index, size)?;
        let entry = log.store().audit_entry_bytes(q.index)?;
        Ok::<_, AuditError>((proof, entry))
    })
    .await
    .map_err(Problem::internal)?
    .map_err(audit_problem)?;
    // The proof is for everyone; the entry itself (who did what) only for auditors.
    // The entry's bytes as hashed into the leaf, so that a verifier (the console's page)
    // can hash them itself.
    let bytes = entry.filter(|_| AUDITORS.iter().any(|r| caller.has(*r)));
    let entry: Option<serde_json::Value> =
        bytes.as_ref().and_then(|b| serde_json::from_slice(b).ok());
    Ok(axum::Json(json!({
        "index": q.index,
        "size": size,
        "entry": entry,
        "entry_bytes": bytes.map(|b| B64.encode(b)),
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// The proof that the tree of `to` entries (default: the latest checkpoint's) extends the
/// tree of `from` entries.
async fn consistency(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, EVERY_ROLE)?;
    let q: ConsistencyQuery = query(q, "from, to")?;
    let log = state.relay.audit().clone();
    let to = match q.to {
        Some(t) => t,
        None => log
            .latest_checkpoint()
            .map_err(audit_problem)?
            .map(|(s, _)| s)
            .unwrap_or(0),
    };
    let proof = tokio::task::spawn_blocking(move || log.consistency_proof(q.from, to))
        .await
        .map_err(Problem::internal)?
        .map_err(audit_problem)?;
    Ok(axum::Json(json!({
        "from": q.from,
        "to": to,
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntriesQuery {
    subject: Option<String>,
    member: Option<String>,
    exchange_id: Option<String>,
    operation: Option<String>,
    outcome: Option<String>,
    purpose: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
}

async fn run_query(log: Arc<AuditLog>, q: Query) -> Result<crate::audit::Page, Problem> {
    tokio::task::spawn_blocking(move || log.query(&q))
        .await
        .map_err(Problem::internal)?
        .map_err(audit_problem)
}

/// Entries matching every given criterion, oldest first, a page at a time.
async fn entries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, AUDITORS)?;
    let q: EntriesQuery = query(
        q,
        "subject, member, exchange_id, operation, outcome, purpose, from, to, after, limit",
    )?;
    search(&state, q).await
}

/// The entries of a query (the caller's role already checked).
pub(super) async fn search(state: &AppState, q: EntriesQuery) -> Result<Response, Problem> {
    let page = run_query(
        state.relay.audit().clone(),
        Query {
            subject: q.subject,
            member: q.member,
            exchange_id: q.exchange_id,
            operation: q.operation,
            outcome: q.outcome,
            purpose: q.purpose,
            from: q.from,
            to: q.to,
            after: q.after,
            limit: q.limit.unwrap_or(100),
        },
    )
    .await?;
    Ok(axum::Json(page).into_response())
}

/// Purges the subject, payload and salt kept beside an entry (admin); the entry stays and the
/// log still verifies. The purge is itself recorded, without the subject.
async fn purge(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(index): Path<String>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin])?;
    let index: u64 = index.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.index",
            format!("{index:?} is not an entry index"),
        )
    })?;
    let log = state.relay.audit().clone();
    let purged = tokio::task::spawn_blocking(move || log.purge(index))
        .await
        .map_err(Problem::internal)?
        .map_err(audit_problem)?
        .ok_or_else(|| Problem::not_found(format!("audit entry {index}")))?;
    let mut draft = super::admin_act(&caller, "purge");
    draft.refers_to = Some(purged.exchange_id.clone());
    draft.record_type = purged.record_type.clone();
    state.record(draft).await?;
    Ok(
        axum::Json(json!({ "index": index, "purged": true, "exchange_id": purged.exchange_id }))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
}

/// What was done with data about one person: who, when, why, what and with what outcome, in
/// words a citizen can read.
async fn report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(personal_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, AUDITORS)?;
    let q: ReportQuery = query(q, "from, to")?;
    subject_report(&state, personal_id, q.from, q.to).await
}

/// The report on one person (the caller's role already checked).
pub(super) async fn subject_report(
    state: &AppState,
    personal_id: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<Response, Problem> {
    let q = ReportQuery { from, to };
    // A malformed number would find nothing and read as "no one accessed it": refused instead.
    crate::model::PersonalId::parse(&personal_id).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "audit.subject",
            format!("{personal_id:?} is not a personal ID number: {e}"),
        )
    })?;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = run_query(
            state.relay.audit().clone(),
            Query {
                subject: Some(personal_id.clone()),
                from: q.from.clone(),
                to: q.to.clone(),
                after,
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
        let members = state.members.current();
        for f in page.entries {
            let e = f.entry;
            let who = |code: &str| {
                members
                    .get(code)
                    .map(|m| format!("{} ({code})", m.name))
                    .unwrap_or_else(|| code.to_string())
            };
            rows.push(json!({
                "time": e.time,
                "who": who(&e.actor),
                "what": describe(&e.operation, e.record_type.as_deref(), e.counterparty.as_deref().map(who).as_deref()),
                "purpose": e.purpose,
                "fields": e.fields,
                "outcome": e.outcome,
                "exchange_id": e.exchange_id,
                "entry_index": e.index,
            }));
        }
        match page.next {
            Some(n) if rows.len() < 100_000 => after = Some(n),
            _ => break,
        }
    }
    Ok(axum::Json(json!({
        "subject": personal_id,
        "from": q.from,
        "to": q.to,
        "count": rows.len(),
        "events": rows,
        "note": "Every access to and exchange of data about this person through the hub, \
                 from the hub's audit log. Each event's entry_index can be proven to be in \
                 the signed log (GET /v1/audit/proof/inclusion).",
    }))
    .into_response())
}

fn describe(operation: &str, record_type: Option<&str>, counterparty: Option<&str>) -> String {
    let what = record_type.unwrap_or("record");
    let to = counterparty.map(|c| format!(" ({c})")).unwrap_or_default();
    match operation {
        "ingest" => format!("sent a {what} to the hub{to}"),
        "deliver" => format!("the hub delivered a {what}{to}"),
        "park" => format!("the hub could not deliver a {what}{to}; it was set aside"),
        "pull" => format!("read {what} data{to}"),
        "deny" => format!("asked for {what} data{to} and was refused"),
        "replay" => format!("resent a {what}{to}"),
        "discard" => format!("discarded an undeliverable {what}{to}"),
        other => format!("{other} {what}{to}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    pseudonymise: bool,
}

/// A slice of the log as JSON Lines, every entry with its inclusion proof against a fresh
/// checkpoint (see `audit::export`).
async fn export_slice(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, AUDITORS)?;
    let q: ExportQuery = query(q, "from, to, pseudonymise")?;
    for t in [&q.from, &q.to].into_iter().flatten() {
        normalise_time(t).map_err(audit_problem)?;
    }
    let (size, note) = state
        .relay
        .checkpoint_now()
        .await
        .map_err(Problem::internal)?;
    let log = state.relay.audit().clone();
    let (lo, hi) = {
        let log = log.clone();
        let (f, t) = (q.from.clone(), q.to.clone());
        tokio::task::spawn_blocking(move || log.index_range(f.as_deref(), t.as_deref()))
            .await
            .map_err(Problem::internal)?
            .map_err(audit_problem)?
    };
    let hi = hi.min(size);
    let lo = lo.min(hi);
    let header = Header {
        format: FORMAT.into(),
        checkpoint: note,
        from_index: lo,
        to_index: hi,
        pseudonymised: q.pseudonymise,
        exported_at: crate::audit::now_time(),
        from_time: q
            .from
            .as_deref()
            .map(normalise_time)
            .transpose()
            .map_err(audit_problem)?,
        to_time: q
            .to
            .as_deref()
            .map(normalise_time)
            .transpose()
            .map_err(audit_problem)?,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    let member = caller.member.clone();
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::with_capacity(64 * 1024, ChannelWriter(tx.clone()));
        let store = log.store().clone();
        let entries = store.audit_entries(lo, hi).map(|r| {
            let (index, bytes, sealed) = r.map_err(|e| export::ExportError::Entry {
                index: 0,
                message: e.to_string(),
            })?;
            let sealed = sealed.and_then(|b| serde_json::from_slice(&b).ok());
            Ok((index, bytes, sealed))
        });
        if let Err(e) = export::write(out, log.store(), &header, size, entries, |_| {}) {
            tracing::error!(by = %member, "audit export failed: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = Body::from_stream(tokio_stream(rx));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// Writes into a channel of byte chunks (a streamed response body).
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
