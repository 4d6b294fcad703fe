//! The delivery worker of one destination: picks what may go now (the first waiting record of
//! each order key, due, within the concurrency, the breaker and the rate limit), sends it with
//! the destination adapter's format, and settles the outcome: delivered (removed), failed
//! (retried later), or parked as a dead letter.

use super::breaker::backoff_ms;
use super::{Destination, RelayCore};
use crate::clock::now_ms;
use crate::config::adapter::{AdapterDef, DeliveryOptions, Format, SoapVersion, Transport};
use crate::registry::ActiveAdapter;
use crate::store::{DeadLetter, OutboxItem};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How one attempt ended.
enum Outcome {
    Delivered,
    /// Worth trying again: 5xx, 408, 429, a time-out, a connection error, a 200 that says no.
    Retry(String, Option<String>),
    /// Not worth trying again: the destination refused the record (4xx), or it cannot be
    /// written in the destination's format.
    Refused(String, Option<String>),
}

const WINDOW: usize = 4096;

/// Records a destination accepted that may wait for their delivery to be recorded, in
/// multiples of its `concurrency`: a group commit takes a few milliseconds (two syncs), in
/// which a destination answering in one accepts several rounds of requests.
pub(crate) const UNRECORDED: usize = 4;

pub(super) async fn worker(inner: Arc<RelayCore>, dest: Arc<Destination>) {
    let mut shutdown = inner.shutdown.clone();
    let mut limiter: Option<(u32, Arc<DefaultDirectRateLimiter>)> = None;
    let mut tasks = tokio::task::JoinSet::new();
    // The destination's adapter, looked up again only when the registry changed.
    let mut adapter: (u64, Option<Arc<ActiveAdapter>>) = (u64::MAX, None);
    let mut claim = super::claim::Claim::default();
    loop {
        if *shutdown.borrow() {
            // Let the deliveries under way finish (each is bounded by its time-out); what was
            // not delivered stays in the outbox for the next start.
            while tasks.join_next().await.is_some() {}
            return;
        }
        let generation = inner.registry.generation();
        if generation != adapter.0 {
            adapter = (generation, inner.registry.get(&dest.name));
        }
        let opts = adapter
            .1
            .as_ref()
            .map(|a| a.adapter.definition().delivery.clone())
            .unwrap_or_default();
        if opts.rate_per_sec > 0 && limiter.as_ref().map(|l| l.0) != Some(opts.rate_per_sec) {
            let q =
                Quota::per_second(NonZeroU32::new(opts.rate_per_sec).unwrap_or(NonZeroU32::MIN));
            limiter = Some((opts.rate_per_sec, Arc::new(RateLimiter::direct(q))));
        } else if opts.rate_per_sec == 0 {
            limiter = None;
        }
        let now = now_ms();
        // A store that refuses writes cannot record deliveries: nothing is sent until it takes
        // them again (a database backend whose database is back), so that no record is sent
        // twice for want of its record, and a node that lost its database stops delivering.
        let holds = claim.holds(&inner, &dest);
        let (picks, wake_at) = if inner.store.failed_write().is_some() || !holds {
            (Vec::new(), Some(now + 500))
        } else {
            pick(&dest, &opts, now)
        };
        for seq in picks {
            let inner = inner.clone();
            let dest = dest.clone();
            let opts = opts.clone();
            let limiter = limiter.as_ref().map(|l| l.1.clone());
            let active = adapter.1.clone();
            let mut stop = inner.shutdown.clone();
            tasks.spawn(async move {
                if let Some(l) = limiter {
                    // Stopping does not wait for the rate limiter: the record stays queued.
                    tokio::select! {
                        _ = l.until_ready() => {}
                        _ = stop.changed() => {
                            release(&dest, seq, None);
                            return;
                        }
                    }
                }
                attempt(&inner, &dest, active, seq, &opts).await;
                dest.notify.notify_one();
            });
        }
        let wait = wake_at
            .map(|t| t.saturating_sub(now_ms()).clamp(1, 1_000))
            .unwrap_or(1_000);
        tokio::select! {
            _ = dest.notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            changed = shutdown.changed() => {
                // The relay was dropped without stop(): stop as well.
                if changed.is_err() {
                    while tasks.join_next().await.is_some() {}
                    return;
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
}

/// Chooses the records that may start now; returns them and when to look again.
fn pick(dest: &Destination, opts: &DeliveryOptions, now: u64) -> (Vec<u64>, Option<u64>) {
    let Ok(mut q) = dest.queue.lock() else {
        return (Vec::new(), None);
    };
    let in_flight = q.in_flight;
    let (allowed, breaker_wake) = q.breaker.allowance(now, in_flight);
    let concurrency = opts.concurrency.max(1);
    // Requests on the wire, and besides them at most UNRECORDED times as many accepted
    // records waiting for their record: what a crash can send again stays under
    // (1 + UNRECORDED) times the concurrency.
    let mut room = concurrency
        .saturating_sub(in_flight)
        .min(((1 + UNRECORDED) * concurrency).saturating_sub(in_flight + q.unrecorded));
    if let Some(a) = allowed {
        room = room.min(a);
    }
    let mut picks = Vec::new();
    let mut wake: Option<u64> = breaker_wake;
    if room == 0 {
        return (picks, wake);
    }
    let mut blocked: HashSet<&str> = HashSet::new();
    for (seq, meta) in q.pending.iter().take(WINDOW) {
        if picks.len() >= room {
            break;
        }
        let key = meta.order_key.as_str();
        let ordered = !key.is_empty();
        if q.in_flight_seqs.contains(seq) {
            if ordered {
                blocked.insert(key);
            }
            continue;
        }
        if ordered && (blocked.contains(key) || q.in_flight_keys.contains(key)) {
            blocked.insert(key);
            continue;
        }
        if meta.next_attempt_ms > now {
            wake = Some(wake.map_or(meta.next_attempt_ms, |w| w.min(meta.next_attempt_ms)));
            if ordered {
                blocked.insert(key);
            }
            continue;
        }
        if ordered {
            blocked.insert(key);
        }
        picks.push(*seq);
    }
    let keys: Vec<String> = picks
        .iter()
        .filter_map(|s| q.pending.get(s).map(|m| m.order_key.clone()))
        .filter(|k| !k.is_empty())
        .collect();
    for k in keys {
        q.in_flight_keys.insert(k);
    }
    for s in &picks {
        q.in_flight_seqs.insert(*s);
    }
    q.in_flight += picks.len();
    (picks, wake)
}

async fn attempt(
    inner: &RelayCore,
    dest: &Destination,
    active: Option<Arc<ActiveAdapter>>,
    seq: u64,
    opts: &DeliveryOptions,
) {
    let item = match inner.store.outbox_item(&dest.name, seq) {
        Ok(Some(i)) => i,
        Ok(None) => {
            settle_gone(dest, seq);
            return;
        }
        Err(e) => {
            tracing::error!(destination = %dest.name, "reading the outbox: {e}");
            // Not before a second from now: a store that cannot be read (a database away) is
            // not asked again in a tight loop.
            if let Ok(mut q) = dest.queue.lock()
                && let Some(m) = q.pending.get_mut(&seq)
            {
                m.next_attempt_ms = m.next_attempt_ms.max(now_ms() + 1_000);
            }
            release(dest, seq, None);
            return;
        }
    };
    let outcome = send(inner, &dest.name, active, &item, opts).await;
    let now = now_ms();
    match outcome {
        Outcome::Delivered => {
            dest.delivered.fetch_add(1, Ordering::Relaxed);
            inner.metrics.inc(
                "lienthong_relay_delivered_total",
                &[
                    ("destination", &dest.name),
                    ("record_type", &item.record_type),
                ],
            );
            // The destination has it: its request slot is free for the next record at once;
            // its order key waits until the delivery is recorded durably, so that a crash
            // sends again only this one, never an older record after a newer one was accepted.
            if let Ok(mut q) = dest.queue.lock() {
                q.breaker.success();
                q.pending.remove(&seq);
                q.unrecorded += 1;
            }
            release(dest, seq, None);
            dest.notify.notify_one();
            let draft = outcome_draft(&dest.name, &item, "deliver", "delivered", None);
            match inner.record_delivery(draft, &dest.name, seq).await {
                Ok(()) => {
                    if let Ok(mut q) = dest.queue.lock() {
                        q.in_flight_keys.remove(&item.order_key);
                        q.unrecorded = q.unrecorded.saturating_sub(1);
                    }
                }
                // Not recorded: the item is still in the outbox and a restart sends it again,
                // so nothing of its order key may go before that (when the store failed, it
                // refuses every commit until then).
                // Not recorded: the item is still in the outbox. It goes back in the queue
                // ahead of the later records of its order key and is sent again once the
                // store takes writes (nothing is sent while it refuses them).
                Err(e) => {
                    tracing::error!(
                        destination = %dest.name,
                        exchange = %item.exchange_id,
                        "recording a delivery: {e}; it is sent again once the store takes writes"
                    );
                    if let Ok(mut q) = dest.queue.lock() {
                        q.pending.insert(seq, super::meta_of(&item));
                        q.in_flight_keys.remove(&item.order_key);
                        q.unrecorded = q.unrecorded.saturating_sub(1);
                    }
                }
            }
        }
        Outcome::Retry(reason, response) => {
            dest.failed.fetch_add(1, Ordering::Relaxed);
            inner.metrics.inc(
                "lienthong_relay_failed_total",
                &[("destination", &dest.name), ("kind", "retryable")],
            );
            if let Ok(mut q) = dest.queue.lock() {
                q.breaker.failure(now);
            }
            let attempts = item.attempts + 1;
            let age_secs = now.saturating_sub(item.accepted_at_ms) / 1000;
            if attempts >= opts.max_attempts || age_secs >= opts.max_age_secs {
                let why = format!(
                    "gave up after {attempts} attempt(s) over {age_secs} s (limits: {} attempts, \
                     {} s): {reason}",
                    opts.max_attempts, opts.max_age_secs
                );
                park(
                    inner,
                    dest,
                    Arc::unwrap_or_clone(item),
                    attempts,
                    why,
                    response,
                );
            } else {
                let mut item = Arc::unwrap_or_clone(item);
                item.attempts = attempts;
                item.note_answer(&reason, response.as_deref());
                item.next_attempt_ms = now.saturating_add(backoff_ms(
                    attempts,
                    opts.backoff_base_ms,
                    opts.backoff_max_ms,
                ));
                item.last_error = Some(reason);
                if let Err(e) = inner.store.update_item(&item) {
                    tracing::error!(destination = %dest.name, "recording a failed attempt: {e}");
                }
                if let Ok(mut q) = dest.queue.lock()
                    && let Some(m) = q.pending.get_mut(&seq)
                {
                    m.next_attempt_ms = item.next_attempt_ms;
                }
                release(dest, seq, Some(&item.order_key));
            }
        }
        Outcome::Refused(reason, response) => {
            dest.failed.fetch_add(1, Ordering::Relaxed);
            inner.metrics.inc(
                "lienthong_relay_failed_total",
                &[("destination", &dest.name), ("kind", "refused")],
            );
            let attempts = item.attempts + 1;
            park(
                inner,
                dest,
                Arc::unwrap_or_clone(item),
                attempts,
                reason,
                response,
            );
        }
    }
}

/// The audit entry of a delivery's outcome.
fn outcome_draft(
    destination: &str,
    item: &OutboxItem,
    operation: &str,
    outcome: &str,
    error_code: Option<&str>,
) -> crate::audit::AuditDraft {
    crate::audit::AuditDraft {
        exchange_id: item.exchange_id.clone(),
        actor: "hub".into(),
        counterparty: Some(destination.to_string()),
        operation: operation.into(),
        record_type: Some(item.record_type.clone()),
        subject: crate::audit::subject_of(&item.record),
        outcome: outcome.into(),
        error_code: error_code.map(str::to_string),
        latency_ms: now_ms().saturating_sub(item.accepted_at_ms),
        ..Default::default()
    }
}

fn park(
    inner: &RelayCore,
    dest: &Destination,
    mut item: OutboxItem,
    attempts: u32,
    reason: String,
    response: Option<String>,
) {
    let seq = item.seq;
    let key = item.order_key.clone();
    item.attempts = attempts;
    item.note_answer(&reason, response.as_deref());
    item.last_error = Some(reason.clone());
    tracing::warn!(destination = %dest.name, exchange = %item.exchange_id, "parked as a dead letter: {reason}");
    let dead = DeadLetter {
        item,
        reason,
        last_response: response,
        parked_at: crate::clock::now_rfc3339(),
    };
    if let Err(e) = inner.store.park(&dead) {
        tracing::error!(destination = %dest.name, "parking a dead letter: {e}");
        // Not parked durably: if the move failed it stays queued and is tried again in a
        // second; if only the flush failed it is a dead letter already, and the next attempt
        // finds it gone.
        if let Ok(mut q) = dest.queue.lock()
            && let Some(m) = q.pending.get_mut(&seq)
        {
            m.next_attempt_ms = now_ms() + 1_000;
        }
        release(dest, seq, Some(&key));
        return;
    }
    dest.dead.fetch_add(1, Ordering::Relaxed);
    inner.audit_later(outcome_draft(
        &dest.name,
        &dead.item,
        "park",
        "parked",
        Some(if dead.item.attempts >= 1 && dead.last_response.is_some() {
            "relay.undeliverable"
        } else {
            "relay.unreachable"
        }),
    ));
    inner
        .metrics
        .inc("lienthong_relay_dead_total", &[("destination", &dest.name)]);
    if let Ok(mut q) = dest.queue.lock() {
        q.pending.remove(&seq);
    }
    release(dest, seq, Some(&key));
}

fn settle_gone(dest: &Destination, seq: u64) {
    let key = dest
        .queue
        .lock()
        .ok()
        .and_then(|mut q| q.pending.remove(&seq).map(|m| m.order_key));
    release(dest, seq, key.as_deref());
}

fn release(dest: &Destination, seq: u64, key: Option<&str>) {
    let mut q = dest
        .queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if q.in_flight_seqs.remove(&seq) {
        q.in_flight = q.in_flight.saturating_sub(1);
    }
    // The key is released whatever happened, also when the item could not be read.
    let key = key
        .map(str::to_string)
        .or_else(|| q.pending.get(&seq).map(|m| m.order_key.clone()));
    if let Some(k) = key {
        q.in_flight_keys.remove(&k);
    }
}

async fn send(
    inner: &RelayCore,
    name: &str,
    active: Option<Arc<ActiveAdapter>>,
    item: &OutboxItem,
    opts: &DeliveryOptions,
) -> Outcome {
    let Some(active) = active else {
        return Outcome::Retry(format!("no adapter {name} is registered"), None);
    };
    if !active.enabled {
        return Outcome::Retry(format!("adapter {name} is disabled"), None);
    }
    let adapter = &active.adapter;
    let def = adapter.definition();
    let Some(endpoint) = def.endpoint.clone() else {
        return Outcome::Refused(format!("adapter {name} has no endpoint"), None);
    };
    let body = match adapter.outbound(&item.record_type, &item.record) {
        Ok(b) => b,
        Err(e) => {
            let details: Vec<String> = e.field_errors().iter().map(|f| f.to_string()).collect();
            return Outcome::Refused(
                format!("cannot write the record for {name}: {}", details.join("; ")),
                None,
            );
        }
    };
    // The URL parsed with the adapter, not again for every delivery.
    let mut req = match adapter.endpoint_url() {
        Some(url) => inner.http.post(url.clone()),
        None => inner.http.post(&endpoint),
    };
    req = req
        .timeout(Duration::from_millis(opts.timeout_ms))
        .header("content-type", content_type(def, &item.record_type))
        .header("idempotency-key", &item.exchange_id)
        .header("x-lienthong-record-type", &item.record_type)
        .body(body);
    // SOAP 1.1 names the action in a header of its own; SOAP 1.2 in the media type, and a
    // SOAP 1.2 server may refuse a request that carries SOAPAction.
    if def.transport == Transport::Soap && soap_version(def) == SoapVersion::V11 {
        req = req.header(
            "soapaction",
            format!("\"{}\"", delivery_action(&item.record_type)),
        );
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                format!("no answer within {} ms", opts.timeout_ms)
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else {
                format!("the request failed: {e}")
            };
            return Outcome::Retry(what, None);
        }
    };
    let status = resp.status();
    let redirect_to = crate::http::redirect_target(&resp);
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) => return Outcome::Retry(format!("the answer was cut: {e}"), None),
    };
    let shown = format!(
        "{} {}",
        status.as_u16(),
        text.chars().take(500).collect::<String>()
    );
    if status.is_success() {
        if let Some(ptr) = &opts.accept_pointer {
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| crate::model::pointer(&v, ptr).cloned())
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                });
            return match code {
                Some(c) if opts.accept.contains(&c) => Outcome::Delivered,
                Some(c) => Outcome::Retry(
                    format!(
                        "answered {} with {ptr} = {c:?}, not one of {:?}",
                        status.as_u16(),
                        opts.accept
                    ),
                    Some(shown),
                ),
                None => Outcome::Retry(
                    format!("answered {} without {ptr} in a JSON body", status.as_u16()),
                    Some(shown),
                ),
            };
        }
        return Outcome::Delivered;
    }
    let reason = format!("answered {}", status.as_u16());
    if let Some(redirect_to) = redirect_to {
        // Not followed (the client is built so): a followed 301/302 would turn the POST into
        // a GET, a 307 would send the record where the adapter does not say.
        return Outcome::Refused(
            format!(
                "{reason}, a redirect{redirect_to}: not followed; if the destination moved, change the \
                 adapter's endpoint"
            ),
            Some(shown),
        );
    }
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Outcome::Retry(reason, Some(shown))
    } else {
        Outcome::Refused(format!("{reason}: refused, not retried"), Some(shown))
    }
}

/// The action a delivery of this record type is sent under.
pub(crate) fn delivery_action(record_type: &str) -> String {
    format!("urn:lienthong:deliver:{record_type}")
}

fn soap_version(def: &AdapterDef) -> SoapVersion {
    def.soap.version
}

/// The media type of a delivery: JSON, plain XML, SOAP 1.1 (`text/xml`) or SOAP 1.2
/// (`application/soap+xml` with the action as a parameter, RFC 3902).
pub(crate) fn content_type(def: &AdapterDef, record_type: &str) -> String {
    match (def.format, def.transport) {
        (Format::Json, _) => "application/json".into(),
        (Format::Xml, Transport::Http) => "application/xml".into(),
        (Format::Xml, Transport::Soap) => match soap_version(def) {
            SoapVersion::V11 => "text/xml; charset=utf-8".into(),
            SoapVersion::V12 => format!(
                "application/soap+xml; charset=utf-8; action=\"{}\"",
                delivery_action(record_type)
            ),
        },
    }
}
