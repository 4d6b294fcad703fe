//! The store's vocabulary: what the stages hand to a store and get back from it, whatever
//! the backend. No engine type or key encoding here.

use crate::merkle::Hash;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A record waiting in a destination's outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboxItem {
    pub seq: u64,
    pub destination: String,
    pub exchange_id: String,
    pub record_type: String,
    /// Records with the same order key are delivered in `seq` order; empty: not ordered.
    pub order_key: String,
    pub source_adapter: String,
    pub member: String,
    pub record: Value,
    /// When it was accepted, milliseconds since the Unix epoch.
    pub accepted_at_ms: u64,
    pub attempts: u32,
    /// Not before this time (milliseconds since the Unix epoch).
    #[serde(default)]
    pub next_attempt_ms: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The destination's answers to the failed attempts, oldest first, the last
    /// `Answer::KEPT` of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
}

/// What a destination answered to one failed attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Answer {
    /// When, RFC 3339.
    pub at: String,
    /// Why the attempt failed, as the hub read the answer (or the lack of one).
    pub reason: String,
    /// The answer's status and the start of its body, when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl Answer {
    /// Answers an item keeps.
    pub const KEPT: usize = 10;
}

impl OutboxItem {
    /// Notes a failed attempt's answer, keeping the last `Answer::KEPT`.
    pub fn note_answer(&mut self, reason: &str, response: Option<&str>) {
        if self.answers.len() >= Answer::KEPT {
            self.answers.remove(0);
        }
        self.answers.push(Answer {
            at: crate::clock::now_rfc3339(),
            reason: reason.to_string(),
            response: response.map(str::to_string),
        });
    }
}

/// What a delivery worker's queue keeps of an outbox item (its record stays in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingItem {
    pub seq: u64,
    pub order_key: String,
    pub accepted_at_ms: u64,
    pub next_attempt_ms: u64,
}

/// Which hub node delivers a destination's records now (a store shared by several nodes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryClaim {
    pub destination: String,
    pub node: String,
    /// Milliseconds left before the claim runs out unless renewed (by the database's clock).
    pub ms_left: i64,
}

/// A record parked because it could not be delivered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetter {
    pub item: OutboxItem,
    pub reason: String,
    /// The destination's last answer (status and the start of its body), when it answered.
    #[serde(default)]
    pub last_response: Option<String>,
    pub parked_at: String,
}

/// What one piece of work for a group commit writes besides its audit entries (which the
/// committer numbers and hands to `GroupCommit::commit` apart): an ingest's idempotency key, outbox
/// items and once-only writes, or the records of deliveries.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub exchange_id: String,
    pub dedup_key: Option<String>,
    /// Shared, not copied, with the outbox in memory and the deliveries that read it.
    pub items: Vec<Arc<OutboxItem>>,
    /// Issued documents to index, written with the submission unless it is a repeat.
    pub onceonly: Vec<IssuedDocument>,
    /// Once-only report counts to add to, likewise.
    pub counts: Vec<ReportCount>,
    /// Outbox items delivered (destination, sequence), removed by this commit: a delivery is
    /// durable before the next record of its order key is sent, so that a crash sends again
    /// only what was in flight, never a record older than one the destination accepted.
    pub delivered: Vec<(String, u64)>,
}

/// What a commit did with one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Written: the exchange id and the index of its first audit entry.
    New {
        exchange_id: String,
        audit_index: u64,
    },
    /// Its idempotency key was seen before: the original exchange id; only the audit entry
    /// of the repeat was written.
    Duplicate { original: String, audit_index: u64 },
}

impl Accepted {
    /// The exchange id the caller is told (the original one for a duplicate).
    pub fn exchange_id(&self) -> &str {
        match self {
            Accepted::New { exchange_id, .. } => exchange_id,
            Accepted::Duplicate { original, .. } => original,
        }
    }
}

impl OutboxItem {
    /// Its stored form: what `serde_json::to_vec` writes of it, byte for byte (a test checks),
    /// written without serde's machinery: every accepted record is written so once.
    pub(crate) fn encode(&self) -> Vec<u8> {
        use crate::model::json_out::{write_str as text, write_u64 as number, write_value};
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"{\"seq\":");
        number(&mut out, self.seq);
        for (name, value) in [
            (&b",\"destination\":"[..], &self.destination),
            (b",\"exchange_id\":", &self.exchange_id),
            (b",\"record_type\":", &self.record_type),
            (b",\"order_key\":", &self.order_key),
            (b",\"source_adapter\":", &self.source_adapter),
            (b",\"member\":", &self.member),
        ] {
            out.extend_from_slice(name);
            text(&mut out, value);
        }
        out.extend_from_slice(b",\"record\":");
        write_value(&mut out, &self.record);
        out.extend_from_slice(b",\"accepted_at_ms\":");
        number(&mut out, self.accepted_at_ms);
        out.extend_from_slice(b",\"attempts\":");
        number(&mut out, u64::from(self.attempts));
        out.extend_from_slice(b",\"next_attempt_ms\":");
        number(&mut out, self.next_attempt_ms);
        out.extend_from_slice(b",\"last_error\":");
        match &self.last_error {
            Some(e) => text(&mut out, e),
            None => out.extend_from_slice(b"null"),
        }
        // Only items that failed have answers: serde writes them (a rare path).
        if !self.answers.is_empty() {
            out.extend_from_slice(b",\"answers\":");
            out.extend_from_slice(&serde_json::to_vec(&self.answers).unwrap_or_default());
        }
        out.push(b'}');
        out
    }
}

/// One stored version of an adapter definition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdapterVersion {
    pub name: String,
    pub version: u32,
    /// The definition as submitted (TOML).
    pub definition: String,
    /// Sample documents submitted with it, by the path the definition names.
    #[serde(default)]
    pub samples: std::collections::BTreeMap<String, String>,
    /// Where it came from: `api:<member>` or `file:<path>`.
    pub source: String,
    pub registered_at: String,
}

/// The current state of an adapter: its latest version and whether it is enabled.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdapterState {
    pub latest: u32,
    pub enabled: bool,
}

/// A bearer token as stored: never the secret, only its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub member: String,
    pub role: String,
    pub secret_sha256: String,
    pub created_at: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// After this time (RFC 3339 UTC, the hub's format) the token is refused; none: it does
    /// not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TokenRecord {
    /// What a token list shows of it (never the secret's hash).
    pub fn row(&self) -> serde_json::Value {
        let now = crate::clock::now_rfc3339();
        // Fixed-width UTC text: text order is time order.
        let state = match (&self.revoked_at, &self.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if *e <= now => "expired",
            _ => "active",
        };
        serde_json::json!({"id": self.id, "member": self.member, "role": self.role,
                           "created_at": self.created_at, "revoked_at": self.revoked_at,
                           "expires_at": self.expires_at, "state": state})
    }
}

/// An issued document to index, written with the ingest it comes from: found again by its
/// subject and document type (`OnceOnlyStore::issued_documents`).
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedDocument {
    pub subject: String,
    /// The document type's name key (`units::names::key`).
    pub type_key: String,
    pub document_id: String,
    /// The `document` record.
    pub record: Value,
}

/// What a received dossier adds to the once-only report: its day's counts for its receiving
/// agency and procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCount {
    /// Days since 1970-01-01, Vietnam time (`report_day`).
    pub day: u32,
    pub agency: String,
    pub procedure: String,
    pub counts: ReportCounts,
}

/// How many counts a report key holds, and their order.
pub const REPORT_COUNTS: usize = 5;
pub type ReportCounts = [u64; REPORT_COUNTS];

const DAY_MS: u64 = 86_400_000;
/// Vietnam time, UTC+7: report days start at local midnight.
const ZONE_MS: u64 = 7 * 3_600_000;

/// The report day (days since 1970-01-01, Vietnam time) of a time in ms since the epoch.
pub fn report_day(at_ms: u64) -> u32 {
    u32::try_from((at_ms + ZONE_MS) / DAY_MS).unwrap_or(u32::MAX)
}

/// When a report day starts, in ms since the epoch.
pub fn report_day_start_ms(day: u32) -> u64 {
    (u64::from(day) * DAY_MS).saturating_sub(ZONE_MS)
}

/// Adds `more` to `counts`, count by count.
pub fn add_counts(counts: &mut ReportCounts, more: &ReportCounts) {
    for (a, b) in counts.iter_mut().zip(more) {
        *a += b;
    }
}

/// Report counts per receiving agency and procedure.
pub type ReportGroups = std::collections::BTreeMap<(String, String), ReportCounts>;

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

/// Appends to the log, made by the log and applied by a group commit: the entries from index
/// `first` on, and the tree hashes they complete (post-order).
#[derive(Debug, Default, Clone)]
pub struct AuditWrites {
    pub first: u64,
    pub records: Vec<AuditRecord>,
    pub hashes: Vec<Hash>,
}

impl AuditWrites {
    /// The log's size once these are applied.
    pub fn end(&self) -> u64 {
        self.first + self.records.len() as u64
    }
}

/// The log's head as a commit found it, read with the head held, when another hub node had
/// appended first: what a log needs to number entries after it.
#[derive(Debug, Clone, Default)]
pub struct HeadFound {
    /// The log's size.
    pub size: u64,
    /// The stored tree hashes on its right edge (`merkle::Frontier::edge_of`), by their
    /// position (`merkle::stored_hash_index`).
    pub edge: std::collections::HashMap<u64, Hash>,
    /// The canonical bytes of its last entry (none for an empty log).
    pub last_entry: Option<Vec<u8>>,
}

impl crate::merkle::Nodes for HeadFound {
    fn node(&self, level: u8, index: u64) -> Result<Hash, crate::merkle::MerkleError> {
        self.edge
            .get(&crate::merkle::stored_hash_index(level, index))
            .copied()
            .ok_or(crate::merkle::MerkleError::MissingNode { level, index })
    }
}

/// Numbers a group's entries again after the head found (`GroupCommit::commit_after_head`):
/// the same entries, their writes from `HeadFound::size` on.
pub type Renumber = Box<dyn FnMut(&HeadFound) -> Result<AuditWrites, String> + Send>;

/// An entry's canonical bytes and its sealed part (none once purged), as read back.
pub type Stored = (Vec<u8>, Option<Vec<u8>>);
/// The same with the entry's index.
pub type StoredAt = (u64, Vec<u8>, Option<Vec<u8>>);

/// One entry as appended: its canonical bytes and its sealed part.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord {
    pub entry: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// Which look-up to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Subject,
    Member,
    Exchange,
}

/// A member as the catalogue keeps it: added from the config file or through the API, changed,
/// retired (kept, with when: its tokens and certificates stop working).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberRecord {
    /// Agency code, e.g. `000.00.00.H42`.
    pub code: String,
    pub name: String,
    /// `admin`, `provider`, `consumer`, `auditor`, `observer`.
    pub roles: Vec<String>,
    /// Client certificate names that identify it over mutual TLS.
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// Where its current form came from: `file` (the config) or `api:<member>`.
    pub source: String,
    /// When it was last written (RFC 3339).
    pub changed_at: String,
    /// When it was retired, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
}

/// What became of a save of the service-quality indicators (`QualityStore::put_quality_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualitySaved {
    /// The rows are written and the mark moved.
    Written,
    /// Refused, nothing written: the stored mark is past the save's (or at it, unless it
    /// replaces): another node of a cluster saved a later fold, which holds this one's changes.
    Behind,
    /// Stopped, the mark not moved: another node's save of a later fold was under way, or
    /// began while this one was written in parts. Some rows may be written; the changes are
    /// to be saved again, since that other save may never end.
    Overtaken,
}

impl QualitySaved {
    /// Whether the rows were written and the mark moved.
    pub fn written(self) -> bool {
        self == QualitySaved::Written
    }
}
