//! The once-only stages of an ingest: the checks the routes ask for, what a route with a
//! purpose shares with each destination, the audit entries of the findings, and the once-only
//! writes that go into the ingest's commit.

use super::Pipeline;
use crate::audit::AuditDraft;
use crate::config::hub::OnceOnlyMode;
use crate::onceonly::verify::{self, Finding};
use crate::onceonly::{OnceOnly, PullError};
use crate::store::{IssuedDocument, ReportCount};
use serde_json::Value;

/// What the once-only checks found.
pub(super) struct Checked {
    pub findings: Vec<Finding>,
    /// The register was asked, answered, and agreed with the dossier on everything compared
    /// (no finding of its own): the exchange's audit entries say so too (`verify`, `matched`).
    pub matched: bool,
}

/// Once-only checks of a dossier's applicant, in the mode the routes ask for: compared with
/// the population register (and, in `enrich`, completed from it). Never blocks the ingest: a
/// register that cannot be asked is itself a finding. `None` when no route asks (the record is
/// then untouched).
pub(super) async fn checks(
    state: &Pipeline,
    mode: OnceOnlyMode,
    record: &mut serde_json::Value,
) -> Option<Checked> {
    if mode == OnceOnlyMode::Off {
        return None;
    }
    // Uploads of documents the state already issued (a local look-up, register or not).
    let today = crate::clock::now_rfc3339();
    let mut findings = match crate::onceonly::documents::reuse(
        &state.store,
        record,
        &today[..10.min(today.len())],
    ) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("looking up issued documents: {e}");
            Vec::new()
        }
    };
    let Some(id) = crate::model::pointer(record, "/applicant/personal_id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
    else {
        return Some(Checked {
            findings,
            matched: false,
        });
    };
    let mut matched = false;
    findings.extend(match state.onceonly.fetch("citizen", &id).await {
        Ok(f) => {
            let found = verify::check(record, &f.record, mode == OnceOnlyMode::Enrich);
            matched = found.is_empty();
            found
        }
        Err(e @ PullError::NotFound { .. }) => {
            vec![verify::unverified(
                "unverified.not-in-register",
                e.to_string(),
            )]
        }
        Err(e) => vec![verify::unverified(
            "unverified.register-unavailable",
            e.to_string(),
        )],
    });
    Some(Checked { findings, matched })
}

/// What a route with `purpose` shares with `destination`: the record reduced to what the policy
/// grants the destination's member (`None`: nothing, no grant), and the `share` audit entry
/// (its exchange and subject are the caller's to fill).
pub(super) fn share(
    state: &Pipeline,
    record_type: &str,
    record: &Value,
    destination: &str,
    purpose: &str,
) -> (Option<Value>, AuditDraft) {
    let member = state
        .registry
        .get(destination)
        .map(|a| a.adapter.definition().member.clone())
        .unwrap_or_default();
    let decision = state
        .onceonly
        .policy()
        .decide(&member, record_type, purpose, None);
    let mut entry = AuditDraft {
        actor: "hub".into(),
        counterparty: Some(member),
        operation: "share".into(),
        record_type: Some(record_type.to_string()),
        purpose: Some(purpose.to_string()),
        ..Default::default()
    };
    if !decision.allowed {
        entry.outcome = "denied".into();
        entry.error_code = Some(decision.code.to_string());
        return (None, entry);
    }
    let granted = OnceOnly::redact(record, &decision, false).0;
    entry.outcome = "allowed".into();
    entry.fields = granted
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    (Some(granted), entry)
}

/// The audit entries of an ingest's findings: address warnings come from translating the
/// source's record, the rest from checking it against the register.
pub(super) fn finding_entries(
    state: &Pipeline,
    (findings, matched): (&[Finding], bool),
    exchange_id: &str,
    record_type: &str,
    adapter: &str,
    subject: Option<String>,
) -> Vec<AuditDraft> {
    let register = state.onceonly.policy().sources.get("citizen").cloned();
    // The register agreed: that it was asked is itself an act on the citizen's data.
    let agreed = matched.then(|| AuditDraft {
        exchange_id: exchange_id.to_string(),
        actor: "hub".into(),
        counterparty: register.clone(),
        operation: "verify".into(),
        record_type: Some(record_type.to_string()),
        subject: subject.clone(),
        fields: vec!["/applicant".into()],
        outcome: "matched".into(),
        ..Default::default()
    });
    findings
        .iter()
        .map(|f| {
            let (operation, counterparty) = if f.code.starts_with("address.") {
                ("translate", Some(adapter.to_string()))
            } else {
                ("verify", register.clone())
            };
            AuditDraft {
                exchange_id: exchange_id.to_string(),
                actor: "hub".into(),
                counterparty,
                operation: operation.into(),
                record_type: Some(record_type.to_string()),
                subject: subject.clone(),
                fields: vec![f.field.clone()],
                outcome: f.outcome().into(),
                error_code: Some(f.code.clone()),
                ..Default::default()
            }
        })
        .chain(agreed)
        .collect()
}

/// Issued documents to index and report counts to add.
pub(super) type IndexWrites = (Vec<IssuedDocument>, Vec<ReportCount>);

/// The once-only index writes of an accepted record, for its commit: an issued document; and
/// what a received dossier adds to the report's counts.
pub(super) fn index_writes(
    record_type: &str,
    record: &Value,
    findings: &[Finding],
    accepted_at_ms: u64,
) -> IndexWrites {
    use crate::onceonly::documents::{index_write, report_count};
    match record_type {
        "document" => (index_write(record).into_iter().collect(), Vec::new()),
        "dossier" => (
            Vec::new(),
            vec![report_count(record, findings, accepted_at_ms)],
        ),
        _ => (Vec::new(), Vec::new()),
    }
}
