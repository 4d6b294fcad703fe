//! The exchange log as a transparency log (RFC 6962/9162 Merkle tree, C2SP signed
//! checkpoints).
//!
//! Every exchange and every administrative act is an `AuditDraft` handed to the relay's
//! committer with the work it belongs to; the committer numbers the sealed drafts, appends them
//! to the tree and writes them in the same group commit as the work (the entries synced in the
//! log's files, the log's size in the same synced journal record as the work, or in `size.dat`
//! for entries alone), so an exchange is acknowledged only once its entry is durable. The committer is the only writer:
//! the in-memory frontier (`merkle::Frontier`) changes only after a commit is durable.

pub mod entry;
pub mod export;
mod follow;
mod index;
/// The Merkle tree and the signed notes the log uses, from the layers below it.
pub use crate::merkle;
pub use crate::signing::note;
mod query;

pub use entry::{AuditDraft, AuditEntry, Sealed, SealedDraft};
pub use follow::{Handed, HandedBatch, Wanted};
pub use query::{Page, Query};

use crate::config::hub::AuditConfig;
use crate::signing::HubKey;
use crate::store::{AuditWrites, Store, StoreError};
use merkle::{Frontier, Hash, MerkleError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why the log could not do something.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    #[error("entry {index}: {message}")]
    Entry { index: u64, message: String },
    #[error("signing a checkpoint: {0}")]
    Sign(#[from] note::NoteError),
    #[error("{0}")]
    BadRequest(String),
}

#[derive(Debug)]
struct LogState {
    frontier: Frontier,
    last_time: String,
    checkpoint_size: u64,
    checkpoint_at: Instant,
}

/// Appends prepared for one group commit: the writes, and the log's state once they are
/// durable.
#[derive(Debug)]
pub struct Prepared {
    pub writes: AuditWrites,
    /// The index given to each draft, in order.
    pub indexes: Vec<u64>,
    frontier: Frontier,
    last_time: String,
    /// The look-ups of each entry, for the indexer (see `index.rs`).
    lookups: Vec<index::EntryLookups>,
    /// The entries a follower wants (see `follow.rs`).
    handed: Option<follow::HandedBatch>,
}

/// The log.
pub struct AuditLog {
    store: Store,
    key: Arc<HubKey>,
    every: u64,
    secs: u64,
    state: Mutex<LogState>,
    /// Entries below this index have their look-ups written (see `index.rs`).
    indexed: std::sync::atomic::AtomicU64,
    /// Held by the indexer while it writes look-ups and by a purge, so that a purge never
    /// races the look-up of what it purges.
    index_lock: Mutex<()>,
    /// The look-ups of entries committed and not yet indexed, handed over by the committer
    /// (see `index.rs`).
    fresh: Mutex<std::collections::VecDeque<index::EntryLookups>>,
    /// Entries purged and not yet indexed: their subjects' look-ups are left out when they
    /// are (the committer may hand over an entry's look-ups after a purge of it, since the
    /// store gives an entry back before the committer has taken its state).
    purged_unindexed: Mutex<Vec<u64>>,
    /// A follower the committer hands entries to (see `follow.rs`).
    follower: std::sync::OnceLock<follow::Follower>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// An entry from its stored bytes.
fn decode_entry(index: u64, bytes: &[u8]) -> Result<AuditEntry, AuditError> {
    serde_json::from_slice(bytes).map_err(|e| AuditError::Entry {
        index,
        message: format!("not readable: {e}"),
    })
}

/// Now, as the log writes times: RFC 3339 UTC with milliseconds, so that text order is time
/// order.
pub fn now_time() -> String {
    crate::clock::now_rfc3339()
}

/// Any RFC 3339 time, as the log writes times.
pub fn normalise_time(t: &str) -> Result<String, AuditError> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
        AuditError::BadRequest(format!(
            "{t:?} is not an RFC 3339 time such as 2026-11-24T08:00:00+07:00: {e}"
        ))
    })?;
    Ok(parsed
        .with_timezone(&chrono::Utc)
        .format(crate::clock::FORMAT)
        .to_string())
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl AuditLog {
    /// Opens the log in `store`: reads its size, its right edge and its last checkpoint
    /// (O(log n) reads; nothing is recomputed).
    pub fn open(store: Store, key: Arc<HubKey>, cfg: &AuditConfig) -> Result<AuditLog, AuditError> {
        let size = store.audit_size()?;
        let frontier = Frontier::load(&store, size)?;
        let last_time = Self::last_time(&store, size)?;
        let checkpoint_size = store.latest_checkpoint()?.map(|(s, _)| s).unwrap_or(0);
        let indexed = store.audit_indexed()?.min(size);
        Ok(AuditLog {
            indexed: std::sync::atomic::AtomicU64::new(indexed),
            index_lock: Mutex::new(()),
            fresh: Mutex::new(std::collections::VecDeque::new()),
            purged_unindexed: Mutex::default(),
            follower: std::sync::OnceLock::new(),
            store,
            key,
            every: cfg.checkpoint_every,
            secs: cfg.checkpoint_secs,
            state: Mutex::new(LogState {
                frontier,
                last_time,
                checkpoint_size,
                checkpoint_at: Instant::now(),
            }),
        })
    }

    /// The hub's key.
    pub fn key(&self) -> &Arc<HubKey> {
        &self.key
    }

    /// The number of durable entries.
    pub fn size(&self) -> u64 {
        guard(&self.state).frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        guard(&self.state).frontier.root()
    }

    fn read_entry(store: &Store, index: u64) -> Result<Option<AuditEntry>, AuditError> {
        store
            .audit_entry_bytes(index)?
            .map(|b| decode_entry(index, &b))
            .transpose()
    }

    /// Seals drafts into entries after the current end of the log. Only the committer calls
    /// this, and applies the result with `applied` once it is durable.
    pub fn prepare(&self, drafts: Vec<SealedDraft>) -> Result<Prepared, AuditError> {
        let (frontier, last_time) = {
            let s = guard(&self.state);
            (s.frontier.clone(), s.last_time.clone())
        };
        self.prepare_on(frontier, last_time, drafts)
    }

    /// `prepare` after the tree `frontier` and the time `last_time` of its last entry.
    fn prepare_on(
        &self,
        mut frontier: Frontier,
        mut last_time: String,
        drafts: Vec<SealedDraft>,
    ) -> Result<Prepared, AuditError> {
        // One time for the whole group commit, never earlier than the entry before.
        let now = now_time();
        if now > last_time {
            last_time = now;
        }
        let mut writes = AuditWrites {
            first: frontier.size(),
            records: Vec::with_capacity(drafts.len()),
            hashes: Vec::with_capacity(drafts.len() * 2),
        };
        let mut indexes = Vec::with_capacity(drafts.len());
        let mut lookups = Vec::with_capacity(drafts.len());
        let follower = self.follower.get();
        let mut handed = follower.map(|_| follow::HandedBatch {
            first: frontier.size(),
            count: drafts.len() as u64,
            time: last_time.clone(),
            wanted: Vec::new(),
        });
        for sealed in drafts {
            let index = frontier.size();
            let (mut entry, apart) = sealed.into_entry(index, last_time.clone());
            let bytes = entry.canonical_bytes();
            if let (Some(f), Some(h)) = (follower, handed.as_mut())
                && (f.wanted)(&entry)
            {
                let facts = apart.facts;
                // The parts the look-ups below do not read are moved, not copied.
                h.wanted.push(follow::Handed {
                    index,
                    exchange_id: entry.exchange_id.clone(),
                    operation: std::mem::take(&mut entry.operation),
                    outcome: std::mem::take(&mut entry.outcome),
                    record_type: entry.record_type.take(),
                    counterparty: entry.counterparty.clone(),
                    error_code: entry.error_code.take(),
                    // The sealed part is parsed only when the facts were not taken.
                    sealed: match facts {
                        Some(_) => Vec::new(),
                        None => apart.sealed_bytes.clone(),
                    },
                    facts,
                });
            }
            lookups.push(index::lookups_of(entry, apart.subject));
            let leaf = merkle::leaf_hash(&bytes);
            frontier.push(leaf, |_, _, h| writes.hashes.push(*h));
            writes.records.push(crate::store::AuditRecord {
                entry: bytes,
                sealed: apart.sealed_bytes,
            });
            indexes.push(index);
        }
        Ok(Prepared {
            writes,
            indexes,
            frontier,
            last_time,
            lookups,
            handed,
        })
    }

    /// `prepare`, after the head another node's appends left (`found`, read by a commit with
    /// the head kept: `GroupCommit::commit_after_head`): the drafts numbered after the head's
    /// right edge, timed no earlier than its last entry. The log's own state is left alone
    /// until the commit is applied (`applied`): until then the store may not read the entries
    /// it has not seen committed.
    pub fn prepare_after(
        &self,
        found: &crate::store::HeadFound,
        drafts: Vec<SealedDraft>,
    ) -> Result<Prepared, AuditError> {
        let frontier = Frontier::load(found, found.size)?;
        let last_time = match (&found.last_entry, found.size.checked_sub(1)) {
            (Some(bytes), Some(last)) => decode_entry(last, bytes)?.time,
            // Its time bounds the group's from below: numbered without it, the log could go
            // back in time.
            (None, Some(last)) => {
                return Err(AuditError::Entry {
                    index: last,
                    message: "the head's last entry was not found".into(),
                });
            }
            (_, None) => String::new(),
        };
        let own = guard(&self.state).last_time.clone();
        self.prepare_on(frontier, last_time.max(own), drafts)
    }

    /// What a group commit of `drafts` on a shared store calls to number them again after the
    /// head (`GroupCommit::commit_after_head`), and where it leaves that append, prepared (to
    /// apply in place of the first one's if the commit succeeds).
    pub fn renumber(
        self: &Arc<Self>,
        drafts: Arc<Vec<SealedDraft>>,
    ) -> (crate::store::Renumber, Arc<Mutex<Option<Prepared>>>) {
        let slot: Arc<Mutex<Option<Prepared>>> = Arc::default();
        let log = Arc::clone(self);
        let left = Arc::clone(&slot);
        let renumber = Box::new(move |found: &crate::store::HeadFound| {
            let p = log
                .prepare_after(found, (*drafts).clone())
                .map_err(|e| e.to_string())?;
            let writes = p.writes.clone();
            *guard(&left) = Some(p);
            Ok(writes)
        });
        (renumber, slot)
    }

    /// Reads the log's size and right edge from the store again (after a commit whose outcome
    /// is unknown).
    pub fn reload(&self) -> Result<(), AuditError> {
        let size = self.store.audit_reload()?;
        let frontier = Frontier::load(&self.store, size)?;
        let last_time = Self::last_time(&self.store, size)?;
        let mut s = guard(&self.state);
        s.frontier = frontier;
        // Entries appended elsewhere (another hub node) may carry a later time.
        if last_time > s.last_time {
            s.last_time = last_time;
        }
        Ok(())
    }

    /// The time of the last of `size` entries (empty for an empty log).
    fn last_time(store: &Store, size: u64) -> Result<String, AuditError> {
        Ok(match size.checked_sub(1) {
            Some(last) => Self::read_entry(store, last)?
                .map(|e| e.time)
                .unwrap_or_default(),
            None => String::new(),
        })
    }

    /// Whether the store holds more entries than this log knows of (another hub node on the
    /// same database appended): then its state is read again. Cheap when nothing changed.
    pub fn catch_up(&self) -> Result<bool, AuditError> {
        let durable = self.store.audit_shared_size()?;
        if durable > self.size() {
            self.reload()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Takes the state of a prepared append once its writes are durable.
    pub fn applied(&self, p: Prepared) {
        // The look-ups are there before the size that lets the indexer ask for them.
        self.hand_over(p.lookups);
        if let (Some(f), Some(h)) = (self.follower.get(), p.handed) {
            f.push(h);
        }
        let mut s = guard(&self.state);
        s.frontier = p.frontier;
        s.last_time = p.last_time;
    }

    /// Whether a checkpoint is due (enough new entries, or enough time with some).
    pub fn checkpoint_due(&self) -> bool {
        let s = guard(&self.state);
        let grown = s.frontier.size().saturating_sub(s.checkpoint_size);
        grown >= self.every || (grown > 0 && s.checkpoint_at.elapsed().as_secs() >= self.secs)
    }

    /// Signs and stores a checkpoint of the current tree unless the latest one already has its
    /// size; returns `(size, signed note)`. Only the committer calls this (or a tool with the
    /// hub stopped).
    pub fn checkpoint(&self) -> Result<(u64, String), AuditError> {
        let (size, root, last) = {
            let s = guard(&self.state);
            (s.frontier.size(), s.frontier.root(), s.checkpoint_size)
        };
        if size == last
            && let Some(note) = self.store.checkpoint_at(size)?
        {
            return Ok((size, note));
        }
        let c = note::Checkpoint {
            origin: self.key.name().to_string(),
            size,
            root,
        };
        let signed = note::sign(&c.text(), self.key.name(), self.key.signing_key())?;
        self.store.put_checkpoint(size, &signed)?;
        let mut s = guard(&self.state);
        s.checkpoint_size = size;
        s.checkpoint_at = Instant::now();
        Ok((size, signed))
    }

    /// The latest checkpoint `(size, note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, AuditError> {
        Ok(self.store.latest_checkpoint()?)
    }

    /// The checkpoint of a size, if one was made.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, AuditError> {
        Ok(self.store.checkpoint_at(size)?)
    }

    /// Checkpoints made after size `after`.
    pub fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, AuditError> {
        Ok(self.store.checkpoints(after, limit)?)
    }

    fn within(&self, size: u64) -> Result<(), AuditError> {
        let have = self.size();
        if size > have {
            return Err(MerkleError::BeyondLog { size, have }.into());
        }
        Ok(())
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        self.within(size)?;
        Ok(merkle::inclusion_proof(&self.store, index, size)?)
    }

    /// The consistency proof between the trees of `from` and `to` entries.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
        self.within(to)?;
        Ok(merkle::consistency_proof(&self.store, from, to)?)
    }

    /// The root of the tree of `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.within(size)?;
        Ok(merkle::root(&self.store, size)?)
    }

    /// Entry `index` and its sealed part (unless purged).
    pub fn entry(&self, index: u64) -> Result<Option<(AuditEntry, Option<Sealed>)>, AuditError> {
        let Some((e, s)) = self.store.audit_record(index)? else {
            return Ok(None);
        };
        let entry = decode_entry(index, &e)?;
        let sealed = match s {
            Some(b) => Some(serde_json::from_slice(&b).map_err(|e| AuditError::Entry {
                index,
                message: format!("sealed part not readable: {e}"),
            })?),
            None => None,
        };
        Ok(Some((entry, sealed)))
    }

    /// Purges what is kept apart for entry `index` (its subject, payload and salt), for
    /// retention or a data-protection request; the entry stays and the log still verifies.
    /// Returns the purged entry, or `None` if there is no such entry.
    pub fn purge(&self, index: u64) -> Result<Option<AuditEntry>, AuditError> {
        let _serial = guard(&self.index_lock);
        // The indexer reads the entries back from here on: a look-up handed over before the
        // purge would name the purged subject.
        guard(&self.fresh).clear();
        let Some((entry, sealed)) = self.entry(index)? else {
            return Ok(None);
        };
        let subject = sealed.and_then(|s| s.subject);
        self.store.audit_purge(index, subject.as_deref())?;
        if index >= self.indexed() {
            guard(&self.purged_unindexed).push(index);
        }
        Ok(Some(entry))
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// The personal ID a canonical record is about, if it names one (a citizen's own, or a
/// dossier's applicant).
pub fn subject_of(record: &serde_json::Value) -> Option<String> {
    ["/personal_id", "/applicant/personal_id"]
        .iter()
        .find_map(|p| crate::model::pointer(record, p).and_then(|v| v.as_str()))
        .map(str::to_string)
}
