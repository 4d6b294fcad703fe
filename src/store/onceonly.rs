//! Once-only indexes, written in the commit of the ingest they come from: issued documents
//! by subject and type (`d` ‖ subject ‖ 0 ‖ type key ‖ 0 ‖ document id → the document
//! record), and one row per received dossier for the once-only report (`r` ‖ accepted at, ms
//! big-endian ‖ exchange id → the row).

use super::{Store, StoreError, decode, sled_err};
use serde_json::Value;

/// The key of an issued document; `type_key` is the document type's name key.
pub fn document_key(subject: &str, type_key: &str, document_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + subject.len() + type_key.len() + document_id.len());
    k.push(b'd');
    k.extend_from_slice(subject.as_bytes());
    k.push(0);
    k.extend_from_slice(type_key.as_bytes());
    k.push(0);
    k.extend_from_slice(document_id.as_bytes());
    k
}

/// The key of a report row.
pub fn report_key(at_ms: u64, exchange_id: &str) -> Vec<u8> {
    let mut k = vec![b'r'];
    k.extend_from_slice(&at_ms.to_be_bytes());
    k.extend_from_slice(exchange_id.as_bytes());
    k
}

impl Store {
    /// The issued documents of a person, of one type (by its name key) or all.
    pub fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let mut prefix = vec![b'd'];
        prefix.extend_from_slice(subject.as_bytes());
        prefix.push(0);
        if let Some(t) = type_key {
            prefix.extend_from_slice(t.as_bytes());
            prefix.push(0);
        }
        let mut out = Vec::new();
        for kv in self.onceonly.scan_prefix(prefix) {
            let (_, v) = kv.map_err(sled_err("read issued documents"))?;
            out.push(decode("read an issued document", &v)?);
        }
        Ok(out)
    }

    /// The report rows of dossiers accepted at or after `since_ms`, in order.
    pub fn report_rows(&self, since_ms: u64) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::new();
        for kv in self.onceonly.range(report_key(since_ms, "")..vec![b's']) {
            let (_, v) = kv.map_err(sled_err("read the once-only report"))?;
            out.push(decode("read a report row", &v)?);
        }
        Ok(out)
    }
}

/// A disclosure policy set through the registry.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredPolicy {
    pub version: u64,
    /// The policy's TOML, as given.
    pub text: String,
    /// When it was set (RFC 3339) and by which member.
    pub at: String,
    pub by: String,
}

impl Store {
    /// Stores a new version of the policy and flushes; returns its version.
    pub fn put_policy(&self, text: &str, at: &str, by: &str) -> Result<u64, StoreError> {
        let version = self.latest_policy()?.map_or(1, |p| p.version + 1);
        let p = StoredPolicy {
            version,
            text: text.to_string(),
            at: at.to_string(),
            by: by.to_string(),
        };
        self.policies
            .insert(version.to_be_bytes(), super::encode(&p))
            .map_err(sled_err("write the policy"))?;
        self.flush()?;
        Ok(version)
    }

    /// The latest policy set through the registry, if any.
    pub fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        match self.policies.last().map_err(sled_err("read the policy"))? {
            Some((_, v)) => Ok(Some(decode("read the policy", &v)?)),
            None => Ok(None),
        }
    }
}
