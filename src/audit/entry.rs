//! Audit entries: what a stage reports (`AuditDraft`), what the log commits to (`AuditEntry`,
//! hashed as RFC 8785 canonical JSON) and what is kept apart from it (`Sealed`: the subject in
//! clear, the payload and the salt that opens both commitments), so that a payload or a subject
//! can be purged while the log still verifies.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What happened, as a stage reports it; the log gives it an index, a time and commitments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditDraft {
    /// The exchange this act belongs to (a new one for administrative acts).
    pub exchange_id: String,
    /// The member that acted (agency code), or `hub` for the hub's own acts.
    pub actor: String,
    /// The other side: an adapter or a member, when there is one.
    pub counterparty: Option<String>,
    /// `ingest`, `deliver`, `park`, `pull`, `deny`, `register`, `replay`, `discard`, …
    pub operation: String,
    pub record_type: Option<String>,
    /// The personal ID the record is about, when there is one.
    pub subject: Option<String>,
    pub purpose: Option<String>,
    /// The fields disclosed (pulls).
    pub fields: Vec<String>,
    /// `accepted`, `rejected`, `duplicate`, `delivered`, `parked`, `allowed`, `denied`, `ok`, …
    pub outcome: String,
    pub error_code: Option<String>,
    pub latency_ms: u64,
    /// Another exchange this act refers to (the original of a duplicate, a replayed record).
    pub refers_to: Option<String>,
    /// The record exchanged, committed to and kept apart.
    pub payload: Option<Value>,
}

/// An entry of the log. Serialised with its keys in lexicographic order and integers only, so
/// `serde_json` writes it exactly as RFC 8785 does (a test checks this against a JCS library);
/// the leaf hash is over those bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub actor: String,
    pub counterparty: Option<String>,
    pub error_code: Option<String>,
    pub exchange_id: String,
    pub fields: Vec<String>,
    pub index: u64,
    pub latency_ms: u64,
    pub operation: String,
    pub outcome: String,
    /// `SHA-256(salt ‖ RFC 8785 payload)` in hex, when there is a payload.
    pub payload_commitment: Option<String>,
    pub purpose: Option<String>,
    pub record_type: Option<String>,
    pub refers_to: Option<String>,
    /// `SHA-256(salt ‖ "subject:" ‖ personal ID)` in hex, when there is a subject.
    pub subject_commitment: Option<String>,
    /// RFC 3339 UTC with milliseconds; never earlier than the entry before.
    pub time: String,
    /// The entry format.
    pub v: u32,
}

/// What is kept beside an entry and can be purged: the salt, the subject, the payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sealed {
    /// 16 random bytes, base64.
    pub salt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// Why an entry could not be opened or checked.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("the salt is not base64 of 16 bytes")]
    Salt,
    #[error("the payload cannot be canonicalised: {0}")]
    Canonical(String),
}

impl AuditEntry {
    /// The bytes the leaf hash is over.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // A struct of strings, integers and options always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn salt_bytes(salt: &str) -> Result<[u8; 16], EntryError> {
    use base64::Engine as _;
    let v = base64::engine::general_purpose::STANDARD
        .decode(salt)
        .map_err(|_| EntryError::Salt)?;
    v.try_into().map_err(|_| EntryError::Salt)
}

/// A fresh random salt, base64.
pub fn new_salt() -> String {
    use base64::Engine as _;
    let salt: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(salt)
}

/// The commitment to a subject.
pub fn subject_commitment(salt: &str, subject: &str) -> Result<String, EntryError> {
    let mut h = Sha256::new();
    h.update(salt_bytes(salt)?);
    h.update(b"subject:");
    h.update(subject.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// RFC 8785 canonical JSON (`crate::model::canonical_json`, which writes it with `serde_json`
/// when that is already canonical).
pub fn canonical_json(v: &Value) -> Result<Vec<u8>, EntryError> {
    Ok(crate::model::canonical_json(v))
}

/// The commitment to a payload: `SHA-256(salt ‖ RFC 8785 canonical JSON)`.
pub fn payload_commitment(salt: &str, payload: &Value) -> Result<String, EntryError> {
    let canonical = canonical_json(payload)?;
    let mut h = Sha256::new();
    h.update(salt_bytes(salt)?);
    h.update(&canonical);
    Ok(hex::encode(h.finalize()))
}

/// A draft with its commitments made and its sealed part written: the costly part of an
/// append, done by the caller (in parallel) rather than by the committer.
#[derive(Debug, Clone)]
pub struct SealedDraft {
    /// The draft, without its payload (now in `sealed_bytes`).
    pub draft: AuditDraft,
    pub subject_commitment: Option<String>,
    pub payload_commitment: Option<String>,
    /// The JSON of the sealed part (salt, subject, payload), as stored.
    pub sealed_bytes: Vec<u8>,
    /// What a follower of the log reads of the payload, taken from it by the caller (in
    /// parallel) so that the follower need not parse the sealed part again (`follow.rs`).
    pub facts: Option<Box<crate::quality::fold::Record<'static>>>,
}

/// What a sealed draft keeps beside its entry (`SealedDraft::into_entry`).
pub struct Apart {
    pub subject: Option<String>,
    pub sealed_bytes: Vec<u8>,
    pub facts: Option<Box<crate::quality::fold::Record<'static>>>,
}

impl AuditDraft {
    /// Makes the commitments with a fresh salt and writes the sealed part.
    pub fn seal(mut self) -> Result<SealedDraft, EntryError> {
        let canonical = match self.payload.take() {
            Some(p) => Some(canonical_json(&p)?),
            None => None,
        };
        self.seal_canonical(canonical.as_deref())
    }

    /// Seals with the payload given as its RFC 8785 canonical JSON (`canonical_json` of it,
    /// which the caller may have written already, for a digest say) in place of `payload`,
    /// which is dropped. The same entry and sealed part as `seal` of the payload.
    pub(crate) fn seal_canonical(
        mut self,
        payload: Option<&[u8]>,
    ) -> Result<SealedDraft, EntryError> {
        self.payload = None;
        if payload.is_some_and(|p| p.is_empty()) {
            return Err(EntryError::Canonical(
                "the payload's canonical JSON is empty".into(),
            ));
        }
        let salt = new_salt();
        let subject_commitment = match &self.subject {
            Some(s) => Some(subject_commitment(&salt, s)?),
            None => None,
        };
        let payload_commitment = match payload {
            Some(p) => {
                let mut h = Sha256::new();
                h.update(salt_bytes(&salt)?);
                h.update(p);
                Some(hex::encode(h.finalize()))
            }
            None => None,
        };
        let sealed_bytes = sealed_json(&salt, self.subject.as_deref(), payload);
        Ok(SealedDraft {
            draft: self,
            subject_commitment,
            payload_commitment,
            sealed_bytes,
            facts: None,
        })
    }
}

/// The JSON of a sealed part, `{"salt":…,"subject":…,"payload":…}` with absent parts left
/// out, as `Sealed` reads it; the payload's bytes (JSON written by the hub's own serialiser)
/// go in as they are.
fn sealed_json(salt: &str, subject: Option<&str>, payload: Option<&[u8]>) -> Vec<u8> {
    use crate::model::json_out::write_str;
    let mut out = Vec::with_capacity(64 + payload.map_or(0, <[u8]>::len));
    out.extend_from_slice(b"{\"salt\":");
    write_str(&mut out, salt);
    if let Some(s) = subject {
        out.extend_from_slice(b",\"subject\":");
        write_str(&mut out, s);
    }
    if let Some(p) = payload {
        out.extend_from_slice(b",\"payload\":");
        out.extend_from_slice(p);
    }
    out.push(b'}');
    out
}

impl SealedDraft {
    /// The entry at `index` of time `time`, its parts moved out of the draft rather than
    /// copied, and what the draft keeps apart: its subject, its sealed part and its facts.
    pub fn into_entry(self, index: u64, time: String) -> (AuditEntry, Apart) {
        let d = self.draft;
        let entry = AuditEntry {
            actor: d.actor,
            counterparty: d.counterparty,
            error_code: d.error_code,
            exchange_id: d.exchange_id,
            fields: d.fields,
            index,
            latency_ms: d.latency_ms,
            operation: d.operation,
            outcome: d.outcome,
            payload_commitment: self.payload_commitment,
            purpose: d.purpose,
            record_type: d.record_type,
            refers_to: d.refers_to,
            subject_commitment: self.subject_commitment,
            time,
            v: 1,
        };
        let apart = Apart {
            subject: d.subject,
            sealed_bytes: self.sealed_bytes,
            facts: self.facts,
        };
        (entry, apart)
    }

    /// The entry, at `index` and `time`, its parts copied from the draft.
    pub fn entry(&self, index: u64, time: String) -> AuditEntry {
        let d = &self.draft;
        AuditEntry {
            actor: d.actor.clone(),
            counterparty: d.counterparty.clone(),
            error_code: d.error_code.clone(),
            exchange_id: d.exchange_id.clone(),
            fields: d.fields.clone(),
            index,
            latency_ms: d.latency_ms,
            operation: d.operation.clone(),
            outcome: d.outcome.clone(),
            payload_commitment: self.payload_commitment.clone(),
            purpose: d.purpose.clone(),
            record_type: d.record_type.clone(),
            refers_to: d.refers_to.clone(),
            subject_commitment: self.subject_commitment.clone(),
            time,
            v: 1,
        }
    }
}

/// Seals a draft: the entry the log commits to and what is kept apart.
pub fn seal(
    draft: AuditDraft,
    index: u64,
    time: String,
) -> Result<(AuditEntry, Sealed), EntryError> {
    let sealed = draft.seal()?;
    let entry = sealed.entry(index, time);
    let kept: Sealed = serde_json::from_slice(&sealed.sealed_bytes)
        .map_err(|e| EntryError::Canonical(e.to_string()))?;
    Ok((entry, kept))
}

/// Checks what is kept apart against an entry's commitments. Parts already purged (absent)
/// are not checked; a part present without its commitment is an error.
pub fn check_sealed(entry: &AuditEntry, sealed: &Sealed) -> Result<(), String> {
    if let Some(s) = &sealed.subject {
        let c = subject_commitment(&sealed.salt, s).map_err(|e| e.to_string())?;
        if entry.subject_commitment.as_deref() != Some(c.as_str()) {
            return Err("the subject does not match the entry's subject commitment".into());
        }
    }
    if let Some(p) = &sealed.payload {
        let c = payload_commitment(&sealed.salt, p).map_err(|e| e.to_string())?;
        if entry.payload_commitment.as_deref() != Some(c.as_str()) {
            return Err("the payload does not match the entry's payload commitment".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(s: String, n: u64) -> AuditEntry {
        AuditEntry {
            actor: s.clone(),
            counterparty: Some(format!("{s}\u{1}\"\\")),
            error_code: None,
            exchange_id: "0195".into(),
            fields: vec![s.clone(), "full_name".into()],
            index: n,
            latency_ms: n / 3,
            operation: "pull".into(),
            outcome: "allowed".into(),
            payload_commitment: None,
            purpose: Some("Nguyễn Thị Ánh \u{7f}\u{2028}".into()),
            record_type: Some("citizen".into()),
            refers_to: None,
            subject_commitment: Some(s),
            time: "2026-11-24T01:02:03.456Z".into(),
            v: 1,
        }
    }

    proptest! {
        #[test]
        fn serde_json_writes_entries_as_rfc8785(s in "\\PC{0,40}", n in 0u64..(1 << 53)) {
            let e = entry(s, n);
            let ours = e.canonical_bytes();
            let jcs = serde_json_canonicalizer::to_vec(&serde_json::to_value(&e).unwrap()).unwrap();
            prop_assert_eq!(ours, jcs);
        }
    }

    proptest! {
        /// The sealed part written by hand is what serde writes of the same three fields (the
        /// payload as its canonical JSON), and opens as `Sealed` with what went in.
        #[test]
        fn sealed_parts_are_serde_json_of_their_fields(
            salt in "[A-Za-z0-9+/]{22}==",
            subject in proptest::option::of("\\PC{0,16}"),
            payload in proptest::option::of(
                proptest::collection::btree_map("\\PC{0,6}", "\\PC{0,10}", 0..5)
            ),
        ) {
            #[derive(Serialize)]
            struct Fields<'a> {
                salt: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                subject: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                payload: Option<&'a serde_json::value::RawValue>,
            }
            let payload = payload.map(|m| serde_json::to_value(m).unwrap());
            let canonical = payload.as_ref().map(|p| canonical_json(p).unwrap());
            let ours = sealed_json(&salt, subject.as_deref(), canonical.as_deref());
            let raw = canonical.as_ref().map(|c| {
                serde_json::value::RawValue::from_string(String::from_utf8(c.clone()).unwrap())
                    .unwrap()
            });
            let serde = serde_json::to_vec(&Fields {
                salt: &salt,
                subject: subject.as_deref(),
                payload: raw.as_deref(),
            })
            .unwrap();
            prop_assert_eq!(&ours, &serde);
            let kept: Sealed = serde_json::from_slice(&ours).unwrap();
            prop_assert_eq!(kept, Sealed { salt, subject, payload });
        }
    }

    /// Sealing with the canonical bytes made by the caller gives the same entry as sealing the
    /// payload; empty bytes are refused, never stored as a payload.
    #[test]
    fn sealing_canonical_bytes_is_sealing_the_payload() {
        let payload = serde_json::json!({"full_name": "Lê Văn A", "b": [1, "x"]});
        let draft = AuditDraft {
            exchange_id: "x".into(),
            actor: "000.00.00.G07".into(),
            operation: "ingest".into(),
            outcome: "accepted".into(),
            subject: Some("001099012345".into()),
            payload: Some(payload.clone()),
            ..Default::default()
        };
        let canonical = canonical_json(&payload).unwrap();
        let sealed = draft.clone().seal_canonical(Some(&canonical)).unwrap();
        assert_eq!(sealed.draft.payload, None);
        let e = sealed.entry(3, "t".into());
        let kept: Sealed = serde_json::from_slice(&sealed.sealed_bytes).unwrap();
        assert_eq!(kept.payload.as_ref(), Some(&payload));
        check_sealed(&e, &kept).unwrap();
        assert_eq!(
            e.payload_commitment,
            Some(payload_commitment(&kept.salt, &payload).unwrap())
        );
        assert!(matches!(
            draft.seal_canonical(Some(b"")),
            Err(EntryError::Canonical(_))
        ));
    }

    #[test]
    fn commitments_open_and_detect_changes() {
        let draft = AuditDraft {
            exchange_id: "x".into(),
            actor: "000.00.00.G07".into(),
            operation: "pull".into(),
            outcome: "allowed".into(),
            subject: Some("001099012345".into()),
            payload: Some(serde_json::json!({"full_name": "Lê Văn A", "b": 1})),
            ..Default::default()
        };
        let (e, sealed) = seal(draft, 7, "t".into()).unwrap();
        check_sealed(&e, &sealed).unwrap();
        let mut other = sealed.clone();
        other.subject = Some("001099012346".into());
        assert!(check_sealed(&e, &other).unwrap_err().contains("subject"));
        let mut other = sealed.clone();
        other.payload = Some(serde_json::json!({"full_name": "Lê Văn B", "b": 1}));
        assert!(check_sealed(&e, &other).unwrap_err().contains("payload"));
        // Purged parts are not checked, and the entry itself is unchanged by a purge.
        let purged = Sealed {
            salt: sealed.salt.clone(),
            subject: None,
            payload: None,
        };
        check_sealed(&e, &purged).unwrap();
        // Key order of the payload does not matter (RFC 8785).
        let reordered: Value = serde_json::from_str(r#"{"b":1,"full_name":"Lê Văn A"}"#).unwrap();
        assert_eq!(
            payload_commitment(&sealed.salt, &reordered).unwrap(),
            e.payload_commitment.clone().unwrap()
        );
    }
}
