//! The ingest pipeline: a document a member system pushed, stage by stage, to a typed
//! outcome. The API's REST and SOAP faces authenticate the caller, read the body and render
//! the outcome; everything between is here, in this order:
//!
//! 1. **translate and validate** (`validate::translated`): every error of the document in one
//!    answer, or the canonical record and the adapter's warnings;
//! 2. **repeat**: the idempotency key (the caller's header, else the adapter's natural key,
//!    else the digest of what the source sent) looked up once, before anything costly; a repeat
//!    is answered with its original exchange (the committer checks again atomically, for two
//!    pushes of one key at the same instant);
//! 3. **routing**, in one look at the routes: the destinations and the once-only mode;
//! 4. **once-only checks** the routes ask for (`onceonly`): documents the state already issued,
//!    the applicant against the population register; findings never block the record;
//! 5. **sharing** under a route's purpose: each destination gets what the policy grants it;
//! 6. **submit**: the outbox items, the once-only writes and the audit entries, in one group
//!    commit (`Relay::submit`).

mod onceonly;

use crate::audit::{AuditDraft, subject_of};
use crate::metrics::Metrics;
use crate::model::{canonical_json, digest_of_canonical};
use crate::onceonly::OnceOnly;
use crate::onceonly::verify::Finding;
use crate::registry::{ActiveAdapter, AdapterRegistry};
use crate::relay::{Relay, RelayError};
use crate::store::{Accepted, OutboxItem, Store, Submission};
use crate::validate::translated::translate_validate_with_warnings;
use crate::validate::{FieldError, SchemaRegistry};
use serde_json::Value;
use std::sync::Arc;

/// What the pipeline needs: the hub's parts it reads and writes through.
pub struct Pipeline {
    pub store: Store,
    pub schemas: Arc<SchemaRegistry>,
    pub registry: Arc<AdapterRegistry>,
    pub relay: Relay,
    pub onceonly: Arc<OnceOnly>,
    pub metrics: Arc<Metrics>,
}

/// One push, as the API read it.
pub struct Push<'a> {
    pub adapter: &'a Arc<ActiveAdapter>,
    pub record_type: &'a str,
    /// The member pushing (authenticated by the API).
    pub member: &'a str,
    /// The caller's `Idempotency-Key` header, if it sent one.
    pub idempotency_key: Option<&'a str>,
    pub document: &'a [u8],
    /// When the request started, for the audit entry's latency.
    pub started: std::time::Instant,
}

/// How a push ended.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted now, or a repeat of a record accepted before (`Receipt::duplicate`).
    Accepted(Receipt),
    /// Refused with every error of the document; the refusal is in the audit log.
    Rejected {
        exchange_id: String,
        errors: Vec<FieldError>,
    },
}

/// The receipt of an accepted record.
#[derive(Debug)]
pub struct Receipt {
    /// The exchange (the original one for a repeat).
    pub exchange_id: String,
    pub schema: String,
    /// The canonical record's digest.
    pub digest: String,
    /// The destinations that take it.
    pub destinations: Vec<String>,
    /// What the once-only checks and the adapter found; `None` for a repeat answered before it
    /// was checked again.
    pub findings: Option<Vec<Finding>>,
    /// A repeat, answered with the original exchange.
    pub duplicate: bool,
}

/// Why a push could not be taken (the document's own errors are an `Outcome::Rejected`).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "adapter {adapter} is disabled; an admin or its own member can enable it \
         (POST /v1/adapters/{adapter}/enable)"
    )]
    Disabled { adapter: String },
    #[error("adapter {adapter} does not provide {record_type:?} (it provides: {provides})")]
    NotProvided {
        adapter: String,
        record_type: String,
        provides: String,
    },
    #[error("Idempotency-Key must be 1 to 200 visible ASCII characters")]
    IdempotencyKey,
    /// The relay cannot take it: stopping, an outbox over its limit, a store that cannot be
    /// written.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

impl Pipeline {
    /// Runs a push through every stage.
    pub async fn push(&self, push: Push<'_>) -> Result<Outcome, IngestError> {
        let adapter = &push.adapter.adapter;
        let name = adapter.name();
        if !push.adapter.enabled {
            return Err(IngestError::Disabled {
                adapter: name.to_string(),
            });
        }
        if !adapter.provides(push.record_type) {
            return Err(IngestError::NotProvided {
                adapter: name.to_string(),
                record_type: push.record_type.to_string(),
                provides: adapter.definition().provides.join(", "),
            });
        }
        let exchange_id = uuid::Uuid::now_v7().to_string();
        let mut draft = AuditDraft {
            exchange_id: exchange_id.clone(),
            actor: push.member.to_string(),
            counterparty: Some(name.to_string()),
            operation: "ingest".into(),
            record_type: Some(push.record_type.to_string()),
            ..Default::default()
        };
        // 1. Translate and validate.
        let translated = translate_validate_with_warnings(
            adapter,
            &self.schemas,
            push.record_type,
            push.document,
        );
        let (record, warnings) = match translated {
            Ok(r) => r,
            Err(errors) => return self.reject(push, draft, errors).await,
        };
        // 2. A repeat, known by what the source sent, before the hub's own additions
        // (enrichment, document references), which depend on what the hub holds. Its
        // canonical JSON is written once, for the digest and the audit entry's payload.
        let canonical = canonical_json(&record);
        let source_digest = digest_of_canonical(&canonical);
        let dedup_key = dedup_key(&push, &record, &source_digest)?;
        draft.subject = subject_of(&record);
        // 3. Routing.
        let routing = self.relay.route(push.record_type, name, &record);
        if let Some(original) = self.store.seen(&dedup_key).map_err(RelayError::Store)? {
            // While the store refuses writes, the repeat's own entry could not be written
            // either: say so, as for any push.
            if let Some(cause) = self.store.failed_write() {
                return Err(RelayError::Store(crate::store::StoreError::Unwritable(cause)).into());
            }
            return self
                .repeat(push, draft, original, source_digest, &routing)
                .await;
        }
        let names: Vec<String> = routing
            .destinations
            .iter()
            .map(|r| r.destination.clone())
            .collect();
        self.relay.check_backpressure(&names)?;
        // 4. Once-only checks the routes ask for. What the adapter accepted with a warning (an
        // address it could not settle) is a finding of the exchange, like the register's.
        let mut record = record;
        let mut findings: Vec<Finding> = warnings
            .iter()
            .map(crate::onceonly::verify::warning)
            .collect();
        let mut matched = false;
        let (digest, canonical) = match onceonly::checks(self, routing.once_only, &mut record).await
        {
            Some(found) => {
                matched = found.matched;
                findings.extend(found.findings);
                let canonical = canonical_json(&record);
                (digest_of_canonical(&canonical), canonical)
            }
            None => (source_digest, canonical),
        };
        draft.outcome = "accepted".into();
        // 5. Sharing under a purpose, destination by destination.
        let accepted_at_ms = crate::clock::now_ms();
        let mut items = Vec::with_capacity(routing.destinations.len());
        let mut shared = Vec::new();
        // The items that take the whole record: it goes into them last, moved into one.
        let mut whole = Vec::new();
        for to in routing.destinations {
            let record = match &to.purpose {
                None => {
                    whole.push(items.len());
                    Value::Null
                }
                Some(purpose) => {
                    let (granted, entry) =
                        onceonly::share(self, push.record_type, &record, &to.destination, purpose);
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
            items.push(OutboxItem {
                // Given by the committer, in the order of acceptance.
                seq: 0,
                destination: to.destination,
                exchange_id: exchange_id.clone(),
                record_type: push.record_type.to_string(),
                order_key: to.order_key,
                source_adapter: name.to_string(),
                member: push.member.to_string(),
                record,
                accepted_at_ms,
                attempts: 0,
                next_attempt_ms: 0,
                last_error: None,
                answers: Vec::new(),
            });
        }
        // The destinations that take it (a route with a purpose may have refused some).
        let destinations: Vec<String> = items.iter().map(|i| i.destination.clone()).collect();
        // 6. Submit.
        draft.latency_ms = push.started.elapsed().as_millis() as u64;
        let (issued, counts) =
            onceonly::index_writes(push.record_type, &record, &findings, accepted_at_ms);
        let subject = draft.subject.clone();
        // The record is its payload, sealed with the canonical JSON written above.
        let mut sealed = draft
            .seal_canonical(Some(&canonical))
            .map_err(RelayError::Seal)?;
        // What the service-quality indicators read of it, taken here, on this request's
        // thread, rather than parsed again from the sealed part by their fold.
        if self.relay.audit().has_follower() && crate::quality::reads_record(push.record_type) {
            sealed.facts = crate::quality::fold::Record::taken_from(&record).map(Box::new);
        }
        if let Some((last, rest)) = whole.split_last() {
            for &i in rest {
                items[i].record = record.clone();
            }
            items[*last].record = record;
        }
        // The findings and what was shared under a purpose, in the same commit as the ingest
        // they are about.
        let mut audit = shared;
        audit.extend(onceonly::finding_entries(
            self,
            (&findings, matched),
            &exchange_id,
            push.record_type,
            name,
            subject,
        ));
        let submission = Submission {
            exchange_id: exchange_id.clone(),
            dedup_key: Some(dedup_key),
            items: items.into_iter().map(Arc::new).collect(),
            onceonly: issued,
            counts,
            delivered: Vec::new(),
        };
        let accepted = self.relay.submit(submission, vec![sealed], audit).await?;
        let (exchange_id, duplicate) = match accepted {
            Accepted::New { exchange_id, .. } => {
                self.metrics.inc(
                    "lienthong_ingest_accepted_total",
                    &[("adapter", name), ("record_type", push.record_type)],
                );
                (exchange_id, false)
            }
            // Pushed twice at the same instant: the committer took the first.
            Accepted::Duplicate { original, .. } => {
                self.metrics
                    .inc("lienthong_ingest_duplicates_total", &[("adapter", name)]);
                (original, true)
            }
        };
        Ok(Outcome::Accepted(Receipt {
            exchange_id,
            schema: schema_of(&push),
            digest,
            destinations,
            findings: Some(findings),
            duplicate,
        }))
    }

    /// A repeat of a record accepted before: answered with the original exchange, its own
    /// audit entry riding the next group commit (it promises the caller nothing).
    async fn repeat(
        &self,
        push: Push<'_>,
        mut draft: AuditDraft,
        original: String,
        digest: String,
        routing: &crate::relay::Routing,
    ) -> Result<Outcome, IngestError> {
        draft.outcome = "duplicate".into();
        draft.refers_to = Some(original.clone());
        draft.latency_ms = push.started.elapsed().as_millis() as u64;
        self.relay.record_unawaited(vec![draft]).await?;
        let name = push.adapter.adapter.name();
        self.metrics
            .inc("lienthong_ingest_duplicates_total", &[("adapter", name)]);
        Ok(Outcome::Accepted(Receipt {
            exchange_id: original,
            schema: schema_of(&push),
            digest,
            destinations: routing
                .destinations
                .iter()
                .map(|r| r.destination.clone())
                .collect(),
            findings: None,
            duplicate: true,
        }))
    }

    /// A document refused: the refusal in the audit log, durably, then every error.
    async fn reject(
        &self,
        push: Push<'_>,
        mut draft: AuditDraft,
        errors: Vec<FieldError>,
    ) -> Result<Outcome, IngestError> {
        draft.outcome = "rejected".into();
        draft.error_code = errors.first().map(|e| e.code.clone());
        draft.latency_ms = push.started.elapsed().as_millis() as u64;
        let exchange_id = draft.exchange_id.clone();
        self.relay.record(vec![draft]).await?;
        let name = push.adapter.adapter.name();
        for e in errors.iter().take(5) {
            self.metrics.inc(
                "lienthong_ingest_rejected_total",
                &[("adapter", name), ("reason", &e.code)],
            );
        }
        Ok(Outcome::Rejected {
            exchange_id,
            errors,
        })
    }
}

/// The schema a record type of the push's adapter validates against.
fn schema_of(push: &Push<'_>) -> String {
    push.adapter
        .adapter
        .schema_of(push.record_type)
        .unwrap_or_default()
        .to_string()
}

/// The idempotency key of a push: the caller's `Idempotency-Key` header (scoped to its
/// member), else the adapter's natural key (its pointers' values), else the digest of what the
/// source sent.
fn dedup_key(push: &Push<'_>, record: &Value, digest: &str) -> Result<String, IngestError> {
    if let Some(v) = push.idempotency_key {
        if v.is_empty() || v.len() > 200 {
            return Err(IngestError::IdempotencyKey);
        }
        return Ok(format!("idem\u{1f}{}\u{1f}{v}", push.member));
    }
    let adapter = &push.adapter.adapter;
    let name = adapter.name();
    let record_type = push.record_type;
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
                    Value::String(s) => s.clone(),
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
