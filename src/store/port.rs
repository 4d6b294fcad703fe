//! The storage port: what the stages ask of a store, by role, in domain types. A backend (the
//! embedded sled store today, `store::sled`) implements every role; stages hold a `Store`, which
//! is any backend behind these traits, and never name the engine under it. The contract each
//! method states is what its callers rely on; `store/STORAGE.md` says how the embedded backend
//! keeps it, and the contract tests (`tests/store_contract.rs`) check it on every backend.
//!
//! Calls may block (a disk read, a sync). The group commit runs on the committer's thread of
//! its own; the administrative writes that flush (a park, a replay, a discard, a route, an
//! adapter) are rare and run where their caller is, the async runtime included.

use super::StoreError;
use super::types::{
    AdapterState, AdapterVersion, AuditWrites, DeadLetter, DeliveryClaim, IssuedDocument, Lookup,
    MemberRecord, OutboxItem, Renumber, ReportCount, ReportGroups, Stored, StoredAt, StoredPolicy,
    Submission, TokenRecord, WaitingItem,
};
use crate::config::hub::RouteConfig;
use crate::merkle::{Hash, MerkleError};
use serde_json::Value;
use std::sync::Arc;

/// The durable commit of a group: the committer's alone. Everything a group writes (its
/// audit entries, the idempotency keys, outbox items and once-only writes of its new
/// submissions, the removal of delivered items) is durable when `commit` returns, or, on an
/// error, in an unknown state: the caller then reloads the audit log's size
/// (`AuditLogStore::audit_reload`) and the store refuses every later commit (`failed_write`)
/// until it is sound again: the embedded backend until it is opened again; a database backend
/// once a reload succeeds (the database kept the whole transaction or none of it), so that a
/// hub rides out a database's restart or failover without a restart of its own.
pub trait GroupCommit: Send + Sync {
    /// Commits the submissions `new` (each not a repeat: the committer decided) with the
    /// audit entries of the whole group, `audit`, prepared from the log's current size.
    fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError>;

    /// `commit`, on a store other hub nodes append to as well. When the log's head is found
    /// past `audit.first` (another node appended since this one prepared), the commit keeps
    /// the head and calls `renumber` with what it found there; the writes it gives (the same
    /// entries, numbered after the head) are committed in place of `audit`, in the same
    /// transaction, so that a node that meets another at the head goes right after it rather
    /// than start again. With no `audit`, the head is kept first and `renumber` always called:
    /// a node that keeps meeting others there numbers each group once. `StoreError::Behind`
    /// when `renumber` fails. A store with one writer commits `audit` as `commit` does, and
    /// refuses to go without.
    fn commit_after_head(
        &self,
        new: &[&Submission],
        audit: Option<&AuditWrites>,
        renumber: Renumber,
    ) -> Result<(), StoreError> {
        let _ = renumber;
        match audit {
            Some(audit) => self.commit(new, audit),
            None => Err(StoreError::Format(
                "this store takes a group's audit entries as prepared".into(),
            )),
        }
    }

    /// Why commits are refused, if one failed: the cause, until the store is opened again.
    fn failed_write(&self) -> Option<String>;

    /// A new outbox sequence number, greater than every one given before (across restarts).
    fn next_seq(&self) -> Result<u64, StoreError>;

    /// The exchange an idempotency key was first accepted as, if it was and is still kept. A
    /// key this returns is durable.
    fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError>;

    /// `seen` for several keys at once: those found, with their exchanges (a backend over a
    /// network answers in one round trip).
    fn seen_many(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for k in keys {
            if let Some(x) = self.seen(k)? {
                found.insert(k.clone(), x);
            }
        }
        Ok(found)
    }

    /// `n` new sequence numbers, ascending (`next_seq` `n` times, in one round trip where the
    /// backend is over a network).
    fn next_seqs(&self, n: usize) -> Result<Vec<u64>, StoreError> {
        (0..n).map(|_| self.next_seq()).collect()
    }

    /// One bounded step of forgetting idempotency keys accepted before `cutoff_ms`: looks at
    /// up to `limit` keys after `after` (from the first when `None`); returns how many it
    /// forgot and where to go on (`None`: done). Not durable: a key whose removal is lost is
    /// swept again.
    fn sweep_dedup_step(
        &self,
        cutoff_ms: u64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(u64, Option<Vec<u8>>), StoreError>;

    /// Makes every write so far durable (at shutdown, before a backup, after an administrative
    /// act that is not a commit).
    fn flush(&self) -> Result<(), StoreError>;

    /// Idempotency keys in key order after `after` (from the first when `None`), at most
    /// `limit`, each with the exchange it was accepted as (moving a store: `store::copy`).
    fn dedup_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Makes every later `next_seq` greater than `n` (moving a store's outbox in).
    fn reserve_seqs_past(&self, n: u64) -> Result<(), StoreError>;
}

/// The outbox of every destination and the dead letters. Items are written by group commits;
/// a delivery worker reads them, rewrites one after a failed attempt (not durable: a lost
/// attempt count is only an attempt more), parks one (durable) or sees it removed by the
/// commit that records its delivery.
pub trait OutboxStore: Send + Sync {
    /// Every item of a destination's outbox, in sequence order.
    fn outbox_items(&self, destination: &str) -> Result<Vec<OutboxItem>, StoreError>;
    /// What a delivery queue keeps of every item of a destination's outbox, in sequence order,
    /// without the records: cheap enough to read twice a second (a shared store's outbox, for
    /// the items other nodes accepted).
    fn outbox_waiting(&self, destination: &str) -> Result<Vec<WaitingItem>, StoreError>;
    /// `outbox_waiting`, or `None` when no other hub node queued items for the destination
    /// since this node last asked (the backend keeps track): what the node delivering a
    /// destination of a shared store reads before each round. Must never answer `None` while
    /// another node's items lie below one of this node's that it returned a commit for (they
    /// go out first); items of other nodes above all of this node's may be seen a little
    /// later (the PostgreSQL backend looks every 50 ms).
    fn outbox_waiting_if_changed(
        &self,
        destination: &str,
    ) -> Result<Option<Vec<WaitingItem>>, StoreError> {
        self.outbox_waiting(destination).map(Some)
    }
    /// The destinations whose outbox holds items.
    fn outbox_destinations(&self) -> Result<Vec<String>, StoreError>;
    /// One item (shared with the store while it waits in memory).
    fn outbox_item(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<Arc<OutboxItem>>, StoreError>;
    /// Rewrites an item after a failed attempt (attempts, next attempt, last error).
    fn update_item(&self, item: &OutboxItem) -> Result<(), StoreError>;
    /// Moves an item from the outbox to the dead letters, at once and durably.
    fn park(&self, dead: &DeadLetter) -> Result<(), StoreError>;
    /// Dead letters in order, of every destination or one.
    fn dead_letters(&self, destination: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;
    /// One dead letter.
    fn dead_letter(&self, destination: &str, seq: u64) -> Result<Option<DeadLetter>, StoreError>;
    /// Puts a dead letter back in the outbox under `new_seq`, attempts reset, at once and
    /// durably; `None` when it is no longer a dead letter (replayed or discarded meanwhile).
    fn replay(&self, dead: &DeadLetter, new_seq: u64) -> Result<Option<OutboxItem>, StoreError>;
    /// Discards a dead letter, durably; false if there is none.
    fn discard(&self, destination: &str, seq: u64) -> Result<bool, StoreError>;

    /// Whether other hub nodes share this store (and so its outboxes): then a destination's
    /// records are delivered by the node that holds its claim (`claim_delivery`), which reads
    /// the outbox for items the others accepted.
    fn is_shared(&self) -> bool;
    /// Claims, or renews, the right to deliver `destination`'s records for `ttl_ms` as `node`;
    /// true while this node holds it. One node holds a destination at a time; a claim not
    /// renewed in time passes to the next node that asks. An embedded store has one node:
    /// always true.
    fn claim_delivery(
        &self,
        destination: &str,
        node: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError>;
    /// Gives up every claim of `node` (at shutdown), so that another node takes over at once.
    fn release_deliveries(&self, node: &str) -> Result<(), StoreError>;
    /// The claims held now, by destination (none for an embedded store, whose one node
    /// delivers everything).
    fn delivery_claims(&self) -> Result<Vec<DeliveryClaim>, StoreError>;
    /// How far this node's clock is ahead of the store's, in milliseconds (negative: behind),
    /// where several nodes share a store that keeps time of its own (claims run out by the
    /// store's clock; audit entries, token expiries and the indicators read the node's). None
    /// for an embedded store: one node, one clock.
    fn clock_offset_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

/// The audit log's storage: entries and the Merkle tree's hashes (appended by group commits),
/// signed checkpoints, the look-ups by subject, member and exchange, purges. Readers see an
/// entry once the commit that appended it is durable.
pub trait AuditLogStore: Send + Sync {
    /// The number of entries (one past the last index).
    fn audit_size(&self) -> Result<u64, StoreError>;
    /// Takes the log's size from durable state again, after a commit whose outcome is unknown;
    /// returns it.
    fn audit_reload(&self) -> Result<u64, StoreError>;
    /// The log's size as the store holds it now, which other hub nodes sharing the store may
    /// have grown; a cheap read (the embedded store: `audit_size`).
    fn audit_shared_size(&self) -> Result<u64, StoreError>;
    /// A hash of the Merkle tree, by level and index.
    fn audit_node(&self, level: u8, index: u64) -> Result<Hash, MerkleError>;
    /// Entries `[from, to)` in order, as `(index, canonical bytes, sealed part unless purged)`.
    fn audit_entries(
        &self,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<StoredAt, StoreError>> + Send>;
    /// Entry `index`'s canonical bytes.
    fn audit_entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entry `index`'s canonical bytes and sealed part (unless purged), in one read.
    fn audit_record(&self, index: u64) -> Result<Option<Stored>, StoreError>;
    /// Purges an entry's sealed part and its look-up by subject, durably; the log still
    /// verifies. False if there was nothing to purge.
    fn audit_purge(&self, index: u64, subject: Option<&str>) -> Result<bool, StoreError>;
    /// Stores a signed checkpoint of `size` entries, durably.
    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError>;
    /// The checkpoint of a size, if one was made.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError>;
    /// The latest checkpoint `(size, note)`.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;
    /// Checkpoints with a size above `after`, ascending, at most `limit`.
    fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;
    /// Appends audit writes outside a group commit, durably (the log's own tools and tests).
    fn apply_audit_writes(&self, writes: &AuditWrites) -> Result<(), StoreError>;
    /// The indexes of the entries whose `lookup` field is `value`, ascending, from `from` on.
    fn audit_lookup(
        &self,
        lookup: Lookup,
        value: &str,
        from: u64,
    ) -> Box<dyn Iterator<Item = Result<u64, StoreError>> + Send>;
    /// How many entries the look-ups cover (the index's high-water mark).
    fn audit_indexed(&self) -> Result<u64, StoreError>;
    /// Adds look-ups (kind, value, entry index) and moves the high-water mark to `upto`; a
    /// look-up repeated within the call is written once.
    fn put_audit_lookups(
        &self,
        lookups: Vec<(Lookup, String, u64)>,
        upto: u64,
    ) -> Result<(), StoreError>;
    /// Where entry `index`'s bytes are kept (file, offset, length): for tamper tests and
    /// offline tools of a backend that keeps files.
    fn audit_entry_location(
        &self,
        index: u64,
    ) -> Result<(std::path::PathBuf, u64, u64), StoreError>;
    /// Empties the log: for tamper tests that rewrite a log as a holder of the key could.
    fn audit_erase(&self) -> Result<(), StoreError>;
}

/// The hub's catalogue: members' tokens, adapter versions and their state, routes and
/// disclosure policies added through the API. Routes are durable when their write returns;
/// tokens, adapters and policies once the store is flushed (`GroupCommit::flush`), which their
/// callers do before they answer.
pub trait Catalogue: Send + Sync {
    fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Stores a new adapter version and makes it the latest.
    fn put_adapter_version(
        &self,
        version: &AdapterVersion,
        enabled: bool,
    ) -> Result<(), StoreError>;
    fn adapter_state(&self, name: &str) -> Result<Option<AdapterState>, StoreError>;
    /// Sets whether an adapter is enabled; false if there is no such adapter.
    fn set_adapter_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError>;
    fn adapter_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<AdapterVersion>, StoreError>;
    fn adapter_states(&self) -> Result<Vec<(String, AdapterState)>, StoreError>;
    /// The version numbers of an adapter, ascending.
    fn adapter_version_numbers(&self, name: &str) -> Result<Vec<u32>, StoreError>;

    /// Stores a route under a new id; returns the id.
    fn add_route(&self, route: &RouteConfig) -> Result<u64, StoreError>;
    /// Removes a route; false if there is none.
    fn remove_route(&self, id: u64) -> Result<bool, StoreError>;
    /// Every stored route with its id.
    fn routes(&self) -> Result<Vec<(u64, RouteConfig)>, StoreError>;

    /// Stores a member (added, changed or retired), durably.
    fn put_member(&self, member: &MemberRecord) -> Result<(), StoreError>;
    /// Every member the catalogue keeps, retired ones included, by agency code.
    fn members(&self) -> Result<Vec<MemberRecord>, StoreError>;

    /// Stores a new version of the disclosure policy; returns its version.
    fn put_policy(&self, text: &str, at: &str, by: &str) -> Result<u64, StoreError>;
    fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError>;
    /// Every stored version of the policy, oldest first.
    fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError>;
}

/// Answers of the authoritative sources kept for a while (once-only pulls). Not durable: a
/// lost entry is fetched again.
pub trait PullCache: Send + Sync {
    /// A cached answer: `(fetched at, ms since the epoch; record)`.
    fn cache_get(&self, record_type: &str, key: &str) -> Result<Option<(u64, Value)>, StoreError>;
    fn cache_put(
        &self,
        record_type: &str,
        key: &str,
        at_ms: u64,
        record: &Value,
    ) -> Result<(), StoreError>;
}

/// What the once-only checks wrote with the ingests they came from: issued documents by
/// subject and type, and the report's daily counts.
pub trait OnceOnlyStore: Send + Sync {
    /// The issued documents of a person, of one type (by its name key) or all.
    fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError>;
    /// The report's counts per receiving agency and procedure from the start of the day
    /// (Vietnam time) of `since_ms` on; also that start.
    fn report_counts(&self, since_ms: u64) -> Result<(ReportGroups, u64), StoreError>;
    /// Every issued document with its keys (moving a store).
    fn issued_document_rows(&self) -> Result<Vec<IssuedDocument>, StoreError>;
    /// Every day's report counts (moving a store).
    fn report_count_rows(&self) -> Result<Vec<ReportCount>, StoreError>;
}

/// What the service-quality indicators keep: each dossier as folded from the audit log, and
/// the index of the log up to which they are folded (`crate::quality`). Derived data: lost
/// rows are folded again from the log.
pub trait QualityStore: Send + Sync {
    /// The mark and every dossier's row.
    fn quality_rows(&self) -> Result<(u64, Vec<Vec<u8>>), StoreError>;
    /// Writes `rows` (dossier code, row) and moves the mark to `mark`; with `replace`, the rows
    /// written are all there are. `QualitySaved::Behind` (nothing written) when the stored mark
    /// is past `mark`, or at it unless `replace`: another node of a cluster saved a later fold.
    /// `QualitySaved::Overtaken` (the mark not moved, some rows perhaps written) when another
    /// node's save of a later fold is under way: the caller saves its changes again. A store
    /// that writes a save whole never answers it. `dossiers` is how many dossiers the stored
    /// rows hold once these are written (the ledger's count): a store that appends rows knows
    /// from it how many it holds are stale.
    fn put_quality_rows(
        &self,
        rows: &[(String, Vec<u8>)],
        mark: u64,
        replace: bool,
        dossiers: u64,
    ) -> Result<crate::store::QualitySaved, StoreError>;
}

/// A storage backend: every role.
pub trait Backend:
    GroupCommit + OutboxStore + AuditLogStore + Catalogue + PullCache + OnceOnlyStore + QualityStore
{
}

impl<T> Backend for T where
    T: GroupCommit
        + OutboxStore
        + AuditLogStore
        + Catalogue
        + PullCache
        + OnceOnlyStore
        + QualityStore
{
}
