//! Once-only indexes, written in the commit of the ingest they come from: issued documents
//! by subject and type (`d` ‖ subject ‖ 0 ‖ type key ‖ 0 ‖ document id → the document
//! record), and the once-only report's counts per day, receiving agency and procedure (`c` ‖
//! day, big-endian u32 days since 1970-01-01 in Vietnam time ‖ agency ‖ 0 ‖ procedure → five
//! big-endian u64 counts: dossiers, fields filled from the register, mismatches, documents
//! requested again, documents reused). Stores written before the counts kept one row per
//! dossier (`r` ‖ accepted at, ms big-endian ‖ exchange id → the row); opening such a store
//! folds those rows into the counts of their days and removes them, in one batch.
//!
//! Why counts: a row per dossier is a sled key per dossier for ever, and sled keeps about 40
//! bytes of memory per key (see BENCHMARKS.md); a day's counts for one agency and procedure
//! are one key however many dossiers it had.

use super::{SledStore, decode, sled_err};
use crate::store::StoreError;
use crate::store::types::{
    IssuedDocument, REPORT_COUNTS, ReportCount, ReportCounts, ReportGroups, StoredPolicy,
    add_counts, report_day, report_day_start_ms,
};
use serde_json::Value;

/// The first byte of an issued document's key.
const DOCUMENT_PREFIX: u8 = b'd';
/// The first byte of a day's report counts' key (sorted before the documents').
const REPORT_COUNT_PREFIX: u8 = b'c';
/// The first byte of a report row of stores written before the counts (folded at open).
const OLD_REPORT_ROW_PREFIX: u8 = b'r';

/// The key of an issued document; `type_key` is the document type's name key.
pub(crate) fn document_key(subject: &str, type_key: &str, document_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + subject.len() + type_key.len() + document_id.len());
    k.push(DOCUMENT_PREFIX);
    k.extend_from_slice(subject.as_bytes());
    k.push(0);
    k.extend_from_slice(type_key.as_bytes());
    k.push(0);
    k.extend_from_slice(document_id.as_bytes());
    k
}

/// The key of a report row (stores written before the counts; tests write such rows).
#[cfg(test)]
pub(crate) fn report_key(at_ms: u64, exchange_id: &str) -> Vec<u8> {
    let mut k = vec![OLD_REPORT_ROW_PREFIX];
    k.extend_from_slice(&at_ms.to_be_bytes());
    k.extend_from_slice(exchange_id.as_bytes());
    k
}

/// The key of a day's counts for one receiving agency and procedure.
pub(crate) fn report_count_key(day: u32, agency: &str, procedure: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(6 + agency.len() + procedure.len());
    k.push(REPORT_COUNT_PREFIX);
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(agency.as_bytes());
    k.push(0);
    k.extend_from_slice(procedure.as_bytes());
    k
}

pub(crate) fn encode_counts(c: &ReportCounts) -> Vec<u8> {
    c.iter().flat_map(|n| n.to_be_bytes()).collect()
}

pub(crate) fn decode_counts(v: &[u8]) -> ReportCounts {
    let mut c = [0u64; REPORT_COUNTS];
    for (i, chunk) in v.chunks_exact(8).take(REPORT_COUNTS).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        c[i] = u64::from_be_bytes(b);
    }
    c
}

impl SledStore {
    /// The issued documents of a person, of one type (by its name key) or all.
    pub fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let mut prefix = vec![DOCUMENT_PREFIX];
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

    /// The once-only report's counts per receiving agency and procedure, of the dossiers
    /// received from the start of the day (Vietnam time) of `since_ms` on; also that start.
    pub fn report_counts(&self, since_ms: u64) -> Result<(ReportGroups, u64), StoreError> {
        let day = report_day(since_ms);
        let mut groups = ReportGroups::new();
        for kv in self
            .onceonly
            .range(report_count_key(day, "", "")..vec![DOCUMENT_PREFIX])
        {
            let (k, v) = kv.map_err(sled_err("read the once-only report"))?;
            let names = k.get(5..).unwrap_or_default();
            let mut parts = names.splitn(2, |b| *b == 0);
            let agency = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let procedure = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let add = decode_counts(&v);
            let g = groups.entry((agency, procedure)).or_default();
            add_counts(g, &add);
        }
        Ok((groups, report_day_start_ms(day)))
    }
}

impl SledStore {
    /// Every issued document with its keys.
    pub fn issued_document_rows(&self) -> Result<Vec<IssuedDocument>, StoreError> {
        let mut out = Vec::new();
        for kv in self.onceonly.scan_prefix([DOCUMENT_PREFIX]) {
            let (k, v) = kv.map_err(sled_err("read issued documents"))?;
            let mut parts = k[1..].splitn(3, |b| *b == 0);
            let mut text =
                || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let (subject, type_key, document_id) = (text(), text(), text());
            out.push(IssuedDocument {
                subject,
                type_key,
                document_id,
                record: decode("read an issued document", &v)?,
            });
        }
        Ok(out)
    }

    /// Every day's report counts.
    pub fn report_count_rows(&self) -> Result<Vec<ReportCount>, StoreError> {
        let mut out = Vec::new();
        for kv in self.onceonly.scan_prefix([REPORT_COUNT_PREFIX]) {
            let (k, v) = kv.map_err(sled_err("read the once-only report"))?;
            let day = k
                .get(1..5)
                .and_then(|d| <[u8; 4]>::try_from(d).ok())
                .map(u32::from_be_bytes)
                .unwrap_or_default();
            let mut parts = k.get(5..).unwrap_or_default().splitn(2, |b| *b == 0);
            let mut text =
                || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let (agency, procedure) = (text(), text());
            out.push(ReportCount {
                day,
                agency,
                procedure,
                counts: decode_counts(&v),
            });
        }
        Ok(out)
    }
}

impl SledStore {
    /// Folds the per-dossier report rows of a store written before the counts into the counts
    /// of their days, and removes them: one atomic batch, flushed. Nothing to do otherwise.
    pub(crate) fn fold_report_rows(&self) -> Result<(), StoreError> {
        let mut add: std::collections::BTreeMap<Vec<u8>, ReportCounts> = Default::default();
        let mut batch = sled::Batch::default();
        let mut rows = 0usize;
        for kv in self.onceonly.scan_prefix([OLD_REPORT_ROW_PREFIX]) {
            let (k, v) = kv.map_err(sled_err("read old report rows"))?;
            let at_ms = k
                .get(1..9)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            let row: Value = decode("read an old report row", &v)?;
            let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("");
            let n = |k: &str| row.get(k).and_then(Value::as_u64).unwrap_or(0);
            let c = add
                .entry(report_count_key(
                    report_day(at_ms),
                    text("receiving_agency"),
                    text("procedure_code"),
                ))
                .or_default();
            let one = [
                1,
                n("filled"),
                n("mismatches"),
                n("requested_again"),
                n("reused"),
            ];
            add_counts(c, &one);
            batch.remove(k);
            rows += 1;
        }
        if rows == 0 {
            return Ok(());
        }
        for (k, mut c) in add {
            if let Some(v) = self
                .onceonly
                .get(&k)
                .map_err(sled_err("read report counts"))?
            {
                add_counts(&mut c, &decode_counts(&v));
            }
            batch.insert(k, encode_counts(&c));
        }
        self.onceonly
            .apply_batch(batch)
            .map_err(sled_err("fold old report rows"))?;
        self.flush()?;
        tracing::info!("folded {rows} once-only report rows into daily counts");
        Ok(())
    }
}

impl SledStore {
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
    /// Every stored version of the policy, oldest first.
    pub fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        self.policies
            .iter()
            .values()
            .map(|v| decode("read the policy", &v.map_err(sled_err("read the policy"))?))
            .collect()
    }

    pub fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        match self.policies.last().map_err(sled_err("read the policy"))? {
            Some((_, v)) => Ok(Some(decode("read the policy", &v)?)),
            None => Ok(None),
        }
    }
}
