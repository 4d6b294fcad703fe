//! Operators' routes of the relay: status per destination, and the dead letters (list,
//! inspect, replay one or all matching, discard). Replays and discards are recorded as
//! exchanges.

use super::{AppState, Auth, Problem};
use crate::auth::{Caller, Role};
use crate::store::DeadLetter;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/relay/status", get(status))
        .route("/v1/dead", get(list))
        .route("/v1/dead/replay", post(replay_matching))
        .route("/v1/dead/{destination}/{seq}", get(show).delete(discard))
        .route("/v1/dead/{destination}/{seq}/replay", post(replay_one))
}

async fn status(State(state): State<AppState>, Auth(caller): Auth) -> Result<Response, Problem> {
    super::require(&caller, &Role::ALL)?;
    let store = state.store.clone();
    let mut claims = tokio::task::spawn_blocking(move || store.delivery_claims())
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    // The claim on writing the audit log's look-ups lives beside the destinations' (one node
    // at a time holds either), but it delivers nothing: shown on its own.
    let lookups = claims
        .iter()
        .position(|c| c.destination == crate::relay::INDEX_CLAIM)
        .map(|i| claims.remove(i));
    Ok(axum::Json(json!({
        "node": state.relay.node(),
        "shared": state.store.is_shared(),
        "clock_offset_ms": state.relay.clock_offset_ms(),
        "claims": claims,
        "audit_lookups": lookups.map(|c| json!({"node": c.node, "ms_left": c.ms_left})),
        "destinations": state.relay.status(),
    }))
    .into_response())
}

/// Filters of the dead-letter list and of a replay of many.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    destination: Option<String>,
    record_type: Option<String>,
    exchange_id: Option<String>,
    limit: Option<usize>,
}

fn filter(query: Option<String>) -> Result<Filter, Problem> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.query",
            format!("query: {e} (destination, record_type, exchange_id, limit)"),
        )
    })
}

fn matches(d: &DeadLetter, f: &Filter) -> bool {
    f.record_type
        .as_ref()
        .is_none_or(|t| *t == d.item.record_type)
        && f.exchange_id
            .as_ref()
            .is_none_or(|x| *x == d.item.exchange_id)
}

fn summary(d: &DeadLetter) -> Value {
    json!({
        "destination": d.item.destination,
        "seq": d.item.seq,
        "exchange_id": d.item.exchange_id,
        "record_type": d.item.record_type,
        "order_key": d.item.order_key,
        "source_adapter": d.item.source_adapter,
        "attempts": d.item.attempts,
        "reason": d.reason,
        "last_response": d.last_response,
        "parked_at": d.parked_at,
    })
}

/// Whether a dead letter is a provider's own: its member pushed the record, or owns the
/// adapter it could not be delivered to.
fn owns(state: &AppState, caller: &Caller, d: &DeadLetter) -> bool {
    caller.member == d.item.member
        || state
            .registry
            .get(&d.item.destination)
            .is_some_and(|a| a.adapter.definition().member == caller.member)
}

/// Who may see and act on dead letters: admins on all, auditors see all, providers see and
/// act on their own (`owns`).
fn may_see(state: &AppState, caller: &Caller, d: &DeadLetter) -> bool {
    caller.has(Role::Admin) || caller.has(Role::Auditor) || owns(state, caller, d)
}

fn may_act(state: &AppState, caller: &Caller, d: &DeadLetter) -> bool {
    caller.has(Role::Admin) || (caller.has(Role::Provider) && owns(state, caller, d))
}

/// 403 for a dead letter that is another member's.
fn not_yours(caller: &Caller, d: &DeadLetter) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "auth.owner",
        format!(
            "dead letter {}/{} is not member {}'s: it did not push the record and does not own \
             the destination",
            d.item.destination, d.item.seq, caller.member
        ),
    )
}

/// The dead letters matching a filter that the caller may see.
fn dead_letters(state: &AppState, caller: &Caller, f: &Filter) -> Result<Vec<DeadLetter>, Problem> {
    Ok(state
        .store
        .dead_letters(f.destination.as_deref())
        .map_err(Problem::internal)?
        .into_iter()
        .filter(|d| matches(d, f) && may_see(state, caller, d))
        .collect())
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Auditor, Role::Provider])?;
    let f = filter(query)?;
    let all = dead_letters(&state, &caller, &f)?;
    let total = all.len();
    let shown: Vec<Value> = all
        .iter()
        .take(f.limit.unwrap_or(1000))
        .map(summary)
        .collect();
    Ok(axum::Json(json!({ "total": total, "dead_letters": shown })).into_response())
}

/// The dead letter `destination/seq`, or the 400/404 that says why there is none.
fn dead_letter_or_404(
    state: &AppState,
    destination: &str,
    seq: &str,
) -> Result<(u64, DeadLetter), Problem> {
    let seq = seq_of(seq)?;
    match state
        .store
        .dead_letter(destination, seq)
        .map_err(Problem::internal)?
    {
        Some(d) => Ok((seq, d)),
        None => Err(Problem::not_found(format!(
            "no dead letter {destination}/{seq}"
        ))),
    }
}

fn seq_of(s: &str) -> Result<u64, Problem> {
    s.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.seq",
            format!("{s:?} is not a sequence number"),
        )
    })
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((destination, seq)): Path<(String, String)>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Auditor, Role::Provider])?;
    let (_, d) = dead_letter_or_404(&state, &destination, &seq)?;
    if !may_see(&state, &caller, &d) {
        return Err(not_yours(&caller, &d));
    }
    // The record is personal data: its reading is in the audit log, like a pull's.
    let mut draft = super::admin_act(&caller, "read");
    draft.counterparty = Some(d.item.destination.clone());
    draft.record_type = Some(d.item.record_type.clone());
    draft.subject = crate::audit::subject_of(&d.item.record);
    draft.refers_to = Some(d.item.exchange_id.clone());
    draft.fields = fields_of(&d.item.record);
    draft.outcome = "allowed".into();
    state.record(draft).await?;
    let mut body = summary(&d);
    body["answers"] = json!(d.item.answers);
    body["record"] = d.item.record.clone();
    body["member"] = json!(d.item.member);
    Ok(axum::Json(body).into_response())
}

/// Records a replay or a discard in the audit log (durably, before answering).
async fn record_act(
    state: &AppState,
    caller: &Caller,
    operation: &str,
    d: &DeadLetter,
) -> Result<(), Problem> {
    tracing::info!(destination = %d.item.destination, seq = d.item.seq, by = %caller.member, "dead letter {operation}");
    let mut draft = super::admin_act(caller, operation);
    draft.counterparty = Some(d.item.destination.clone());
    draft.record_type = Some(d.item.record_type.clone());
    draft.subject = crate::audit::subject_of(&d.item.record);
    draft.refers_to = Some(d.item.exchange_id.clone());
    state.record(draft).await
}

async fn replay_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((destination, seq)): Path<(String, String)>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let (seq, d) = dead_letter_or_404(&state, &destination, &seq)?;
    if !may_act(&state, &caller, &d) {
        return Err(not_yours(&caller, &d));
    }
    let item = state
        .relay
        .replay(&destination, seq)
        .map_err(Problem::internal)?;
    record_act(&state, &caller, "replay", &d).await?;
    Ok(axum::Json(json!({
        "replayed": 1,
        "destination": destination,
        "seq": item.map(|i| i.seq),
    }))
    .into_response())
}

async fn replay_matching(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let f = filter(query)?;
    let all = dead_letters(&state, &caller, &f)?;
    let mut n = 0;
    let mine = all.iter().filter(|d| may_act(&state, &caller, d));
    for d in mine.take(f.limit.unwrap_or(usize::MAX)) {
        if state
            .relay
            .replay(&d.item.destination, d.item.seq)
            .map_err(Problem::internal)?
            .is_some()
        {
            record_act(&state, &caller, "replay", d).await?;
            n += 1;
        }
    }
    Ok(axum::Json(json!({ "replayed": n })).into_response())
}

async fn discard(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((destination, seq)): Path<(String, String)>,
) -> Result<Response, Problem> {
    super::require(&caller, &[Role::Admin, Role::Provider])?;
    let (seq, d) = dead_letter_or_404(&state, &destination, &seq)?;
    if !may_act(&state, &caller, &d) {
        return Err(not_yours(&caller, &d));
    }
    state
        .relay
        .discard(&destination, seq)
        .map_err(Problem::internal)?;
    record_act(&state, &caller, "discard", &d).await?;
    Ok(
        axum::Json(json!({ "discarded": 1, "destination": destination, "seq": seq }))
            .into_response(),
    )
}

/// The top-level fields of a record, as an audit entry names what a read saw.
pub(super) fn fields_of(record: &Value) -> Vec<String> {
    record
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
