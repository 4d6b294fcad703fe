//! Document reuse and the once-only report. Issued documents (`document.v1` records the state
//! issued or digitised) are indexed by subject and type when they are ingested; a dossier that
//! carries a citizen's upload of a type for which a valid issued document exists gets the
//! finding `requested-again`, and its document entry is annotated with the reusable
//! document's id. Each received dossier adds to the once-only report's counts of its day, agency and
//! procedure.

use super::verify::Finding;
use crate::store::{
    IssuedDocument, ReportCount, ReportCounts, ReportGroups, add_counts, report_day,
};
use crate::store::{Store, StoreError};
use crate::units::names::key;
use serde_json::{Value, json};

fn text<'v>(v: &'v Value, p: &str) -> Option<&'v str> {
    crate::model::pointer(v, p)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The index write for an ingested `document` record (none when it names no subject).
pub fn index_write(document: &Value) -> Option<IssuedDocument> {
    Some(IssuedDocument {
        subject: text(document, "/subject_id")?.to_string(),
        type_key: key(text(document, "/document_type")?),
        document_id: text(document, "/document_id")?.to_string(),
        record: document.clone(),
    })
}

/// Whether an issued document can be reused on `today` (`YYYY-MM-DD`): not revoked, not
/// expired.
pub fn valid_on(document: &Value, today: &str) -> bool {
    let revoked = document
        .get("revoked")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expired = text(document, "/valid_until").is_some_and(|u| u.get(..10).unwrap_or(u) < today);
    !revoked && !expired
}

/// Finds the dossier's uploads that the state already issued; annotates each with the
/// reusable document's id and returns a `requested-again` finding for it.
pub fn reuse(store: &Store, dossier: &mut Value, today: &str) -> Result<Vec<Finding>, StoreError> {
    let Some(subject) = text(dossier, "/applicant/personal_id").map(str::to_string) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let Some(docs) = dossier.get_mut("documents").and_then(Value::as_array_mut) else {
        return Ok(out);
    };
    for (i, d) in docs.iter_mut().enumerate() {
        if text(d, "/origin") != Some("citizen-upload") {
            continue;
        }
        let Some(kind) = text(d, "/document_type").map(str::to_string) else {
            continue;
        };
        let mut issued: Vec<Value> = store
            .issued_documents(&subject, Some(&key(&kind)))?
            .into_iter()
            .filter(|x| valid_on(x, today))
            .collect();
        // The latest issued.
        issued.sort_by(|a, b| text(b, "/issued_at").cmp(&text(a, "/issued_at")));
        let Some(best) = issued.first() else {
            continue;
        };
        let id = text(best, "/document_id").unwrap_or_default().to_string();
        if let Some(o) = d.as_object_mut() {
            o.insert("reference".into(), Value::String(id.clone()));
        }
        out.push(Finding {
            code: "requested-again".into(),
            field: format!("/documents/{i}"),
            given: Some(kind),
            register: Some(id.clone()),
            detail: format!(
                "the applicant uploaded a document the state already issued: {id}, issued by \
                 {} on {}; it can be reused instead",
                text(best, "/issuing_agency").unwrap_or("?"),
                text(best, "/issued_at").unwrap_or("?")
            ),
        });
    }
    Ok(out)
}

/// What a received dossier adds to the once-only report: to its day's counts for its
/// receiving agency and procedure, one dossier, fields filled from the register, mismatches,
/// documents requested again, documents reused.
pub fn report_count(dossier: &Value, findings: &[Finding], at_ms: u64) -> ReportCount {
    let count = |prefix: &str| {
        findings
            .iter()
            .filter(|f| f.code.starts_with(prefix))
            .count() as u64
    };
    let reused = dossier
        .get("documents")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter(|x| text(x, "/origin") == Some("issued"))
                .count() as u64
        })
        .unwrap_or(0);
    ReportCount {
        day: report_day(at_ms),
        agency: text(dossier, "/receiving_agency").unwrap_or("").to_string(),
        procedure: text(dossier, "/procedure_code").unwrap_or("").to_string(),
        counts: [
            1,
            count("filled."),
            count("mismatch."),
            count("requested-again"),
            reused,
        ],
    }
}

/// The once-only report: per receiving agency and procedure, dossiers received, fields filled
/// from the register, mismatches, documents requested again though available, documents
/// reused.
pub fn report(groups: &ReportGroups) -> Value {
    let mut total = [0u64; 5];
    for c in groups.values() {
        add_counts(&mut total, c);
    }
    let row = |c: &ReportCounts| {
        json!({
            "dossiers": c[0], "filled_from_register": c[1], "mismatches": c[2],
            "requested_again": c[3], "reused": c[4],
        })
    };
    json!({
        "groups": groups.iter().map(|((agency, procedure), c)| {
            let mut v = row(c);
            v["receiving_agency"] = json!(agency);
            v["procedure_code"] = json!(procedure);
            v
        }).collect::<Vec<_>>(),
        "total": row(&total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_and_the_report_sums() {
        let d = json!({"revoked": false, "valid_until": "2026-01-01"});
        assert!(valid_on(&d, "2025-12-31"));
        assert!(valid_on(&d, "2026-01-01"));
        assert!(!valid_on(&d, "2026-01-02"));
        assert!(!valid_on(&json!({"revoked": true}), "2025-01-01"));
        let mut groups = ReportGroups::new();
        groups.insert(("A".into(), "P".into()), [2, 1, 2, 1, 1]);
        groups.insert(("B".into(), "P".into()), [1, 0, 1, 0, 0]);
        let r = report(&groups);
        assert_eq!(r["groups"].as_array().unwrap().len(), 2);
        assert_eq!(r["groups"][0]["dossiers"], 2);
        assert_eq!(r["groups"][0]["mismatches"], 2);
        assert_eq!(r["total"]["dossiers"], 3);
        assert_eq!(r["total"]["mismatches"], 3);
        assert_eq!(r["total"]["requested_again"], 1);
    }
}
