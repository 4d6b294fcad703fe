//! The embedded backend: sled, a commit journal beside it and the audit log's files. The one
//! place that touches sled: trees, keys and encodings (`store/STORAGE.md` writes the protocol
//! down whole).
//!
//! Trees: `tokens` (token id → token record), `adapters` (name ‖ 0 ‖ version u32 BE → stored
//! version), `adapter_state` (name → latest version and enabled flag), the relay's `outbox`
//! and `dead` (destination ‖ 0 ‖ sequence u64 BE → item, dead letter) and `dedup` (idempotency
//! key → accepted at, ms u64 BE ‖ exchange id), `routes`, `policies`, `cache`, `onceonly`, and the audit log's `audit` and
//! `audit_side` (see `audit.rs`; its entries and Merkle tree are in append-only files beside
//! sled, `audit_files.rs`). Values are JSON unless a file says otherwise. Keys that must sort
//! (versions, sequences, indexes) are big-endian.

mod audit;
mod audit_files;
mod audit_lookups;
pub(crate) mod commit;
mod journal;
pub(crate) mod onceonly;
mod port;
mod quality;
mod relay;
mod tokens;

pub use audit_files::{FileError, stored_hash_count, stored_hash_index};
pub use journal::JournalError;
pub(crate) use tokens::TokenMemo;

use super::StoreError;
use super::types::{AdapterState, AdapterVersion};
use serde::{Serialize, de::DeserializeOwned};
use std::path::Path;

/// The embedded store. Cheap to clone (one shared part).
#[derive(Clone)]
pub struct SledStore(std::sync::Arc<Trees>);

/// What a store is made of: the database and its trees.
#[doc(hidden)]
pub struct Trees {
    db: ::sled::Db,
    tokens: ::sled::Tree,
    adapters: ::sled::Tree,
    adapter_state: ::sled::Tree,
    outbox: ::sled::Tree,
    dead: ::sled::Tree,
    dedup: ::sled::Tree,
    routes: ::sled::Tree,
    audit: ::sled::Tree,
    audit_side: ::sled::Tree,
    /// The audit log's entries and tree (`audit_files.rs`).
    audit_files: std::sync::Arc<audit_files::AuditFiles>,
    cache: ::sled::Tree,
    /// Issued documents by subject and type, and the once-only report's counts per day,
    /// agency and procedure (`onceonly.rs`); written in the commit of the ingest they come
    /// from.
    onceonly: ::sled::Tree,
    /// Disclosure policies set through the registry: version (u64 big-endian) → the version.
    policies: ::sled::Tree,
    /// The member catalogue: agency code → member record (JSON).
    members: ::sled::Tree,
    /// The service-quality indicators' dossiers (saves of packed, compressed rows: `quality.rs`)
    /// and their mark (`m`), in a database of their own (`quality/` in the data directory):
    /// derived data, written in large batches that the commit path's flushes must not wait for.
    quality: ::sled::Tree,
    _quality_db: ::sled::Db,
    /// What group commits and checkpoints wrote to sled since its last flush (`journal.rs`).
    journal: std::sync::Mutex<journal::Journal>,
    /// Outbox items of the commits since sled's last flush, by key, encoded: durable in the
    /// journal, written to sled only if still there at the next flush. Most are delivered and
    /// removed before that, and never cost a sled insert and remove (`relay.rs`).
    unwritten: std::sync::Mutex<std::collections::HashMap<Vec<u8>, relay::Waiting>>,
    /// Token records read, by id (`SledStore::token`).
    token_memo: std::sync::Mutex<TokenMemo>,
    /// Held by a flush from start to end: one at a time.
    flushing: std::sync::Mutex<()>,
    /// A flush started by a commit whose journal file is full is under way.
    flush_started: std::sync::atomic::AtomicBool,
    /// When the last flush ended (or the store opened), ms since the Unix epoch: a commit
    /// starts a flush once this is `commit::JOURNAL_FLUSH_AFTER_MS` old.
    flushed_at_ms: std::sync::atomic::AtomicU64,
    /// A commit's record is in the journal but writing it to sled failed: flushes no longer
    /// empty the journal, and the next open applies it.
    journal_unapplied: std::sync::atomic::AtomicBool,
    /// The cause of a failed commit: later ones are refused with it (`SledStore::commit`).
    write_failed: std::sync::Mutex<Option<String>>,
}

impl std::ops::Deref for SledStore {
    type Target = Trees;
    fn deref(&self) -> &Trees {
        &self.0
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

pub(crate) fn sled_err(action: &'static str) -> impl FnOnce(::sled::Error) -> StoreError {
    move |source| StoreError::Engine {
        action,
        source: Box::new(source),
    }
}

impl From<FileError> for StoreError {
    fn from(e: FileError) -> StoreError {
        StoreError::Backend(Box::new(e))
    }
}

impl From<JournalError> for StoreError {
    fn from(e: JournalError) -> StoreError {
        StoreError::Backend(Box::new(e))
    }
}

pub(crate) fn decode<T: DeserializeOwned>(
    action: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { action, source })
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own records always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

fn adapter_key(name: &str, version: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 5);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// How long opening waits for the data directory's lock. sled takes an exclusive lock on its
/// files, and after a store is dropped its I/O threads may hold the lock a little longer
/// (sled 0.34: closing does not wait for them), so an open right after a close in the same
/// process can find it taken; a directory held by a running process stays taken and is
/// reported after the wait.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// sled's own flush of the store's database (its default): the journal holds the commits
/// meanwhile.
const SLED_FLUSH_EVERY_MS: Option<u64> = Some(500);

fn open_db(
    dir: &Path,
    cache_bytes: u64,
    wait: std::time::Duration,
    flush_every_ms: Option<u64>,
) -> Result<::sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        let opened = ::sled::Config::new()
            .path(dir)
            .mode(::sled::Mode::HighThroughput)
            .cache_capacity(cache_bytes)
            .flush_every_ms(flush_every_ms)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            // sled reports the lock as an I/O error of kind `Other` with this text.
            Err(::sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= wait {
                    return Err(StoreError::Locked {
                        dir: dir.display().to_string(),
                        waited_ms: started.elapsed().as_millis() as u64,
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(sled_err("open")(e)),
        }
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, with the default cache.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with_cache(dir, super::DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store in `dir`, keeping up to `cache_bytes` of its pages in
    /// memory (the rest is read from the files when needed).
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<SledStore, StoreError> {
        let db = open_db(dir, cache_bytes, LOCK_WAIT, SLED_FLUSH_EVERY_MS)?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_err("open a tree"));
        let (outbox, dead, dedup, onceonly, audit) = (
            tree("outbox")?,
            tree("dead")?,
            tree("dedup")?,
            tree("onceonly")?,
            tree("audit")?,
        );
        let (mut journal, writes) = journal::Journal::open(dir).map_err(StoreError::from)?;
        if !writes.is_empty() {
            // The commits since sled's last flush: applied again, made durable, forgotten.
            let trees = [&outbox, &dedup, &onceonly, &audit];
            commit::apply_journal(trees, Some(&dead), &writes)?;
            db.flush().map_err(sled_err("flush"))?;
        }
        journal.clear_all().map_err(StoreError::from)?;
        let audit_files = std::sync::Arc::new(SledStore::open_audit_files(dir, &audit)?);
        // No flush of its own: derived rows, rebuilt from the log past the mark a crash leaves
        // (sled recovers a prefix of its writes, the mark with its save's last rows). Its
        // fsyncs every half second were extra journal commits beside the commit path's.
        let quality_db = open_db(&dir.join("quality"), 16 << 20, LOCK_WAIT, None)?;
        let quality = quality_db
            .open_tree("quality")
            .map_err(sled_err("open a tree"))?;
        let store = SledStore(std::sync::Arc::new(Trees {
            audit_files,
            tokens: tree("tokens")?,
            adapters: tree("adapters")?,
            adapter_state: tree("adapter_state")?,
            outbox,
            dead,
            dedup,
            routes: tree("routes")?,
            audit,
            audit_side: tree("audit_side")?,
            cache: tree("cache")?,
            onceonly,
            policies: tree("policies")?,
            members: tree("members")?,
            quality,
            _quality_db: quality_db,
            journal: std::sync::Mutex::new(journal),
            unwritten: Default::default(),
            token_memo: Default::default(),
            flushing: Default::default(),
            flush_started: Default::default(),
            flushed_at_ms: crate::clock::now_ms().into(),
            journal_unapplied: Default::default(),
            write_failed: Default::default(),
            db,
        }));
        store.fold_report_rows()?;
        Ok(store)
    }

    /// Makes every write so far durable in sled, outbox items not yet written included, and
    /// empties the commit journal of what it recorded until now (unless a commit's record
    /// could not be applied to sled: then the journal is kept for the next open). Under the
    /// journal's lock the
    /// commits turn to its other file and the items waiting in memory go to sled; then, with
    /// commits going on, sled is flushed and the first file emptied: a commit is wholly in
    /// the file that is emptied (and in sled's flush) or wholly in the other.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _one = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if self
            .journal_unapplied
            .load(std::sync::atomic::Ordering::Acquire)
        {
            let _journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            self.write_unwritten()?;
            self.db.flush().map_err(sled_err("flush"))?;
            self.flushed_now();
            return Ok(());
        }
        let old = {
            let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            let turned = journal.turn();
            self.write_unwritten()?;
            match turned {
                Some(old) => old,
                None => {
                    // The other file was left full by a flush that failed: all of it at once.
                    self.db.flush().map_err(sled_err("flush"))?;
                    journal.clear_all().map_err(StoreError::from)?;
                    self.flushed_now();
                    return Ok(());
                }
            }
        };
        self.db.flush().map_err(sled_err("flush"))?;
        let (file, path) = self
            .journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .part_file(old)
            .map_err(StoreError::from)?;
        journal::empty_file(&file, &path).map_err(StoreError::from)?;
        self.journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .emptied(old);
        self.flushed_now();
        Ok(())
    }

    fn flushed_now(&self) {
        self.flushed_at_ms
            .store(crate::clock::now_ms(), std::sync::atomic::Ordering::Release);
    }

    /// Starts a flush on a thread of its own, unless one started so is under way: what a
    /// commit does when the journal's file is full, so that no commit waits for sled.
    pub(crate) fn flush_behind(&self) {
        use std::sync::atomic::Ordering;
        if self.flush_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        let spawned = std::thread::Builder::new()
            .name("lienthong-flush".into())
            .spawn(move || {
                if let Err(e) = store.flush() {
                    tracing::warn!("flushing the store to empty the commit journal: {e}");
                }
                store.flush_started.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            tracing::warn!("starting a flush of the store: {e}");
            self.flush_started.store(false, Ordering::Release);
        }
    }

    /// Stores a new adapter version and makes it the latest.
    pub fn put_adapter_version(&self, v: &AdapterVersion, enabled: bool) -> Result<(), StoreError> {
        let state = AdapterState {
            latest: v.version,
            enabled,
        };
        let mut batch_versions = ::sled::Batch::default();
        batch_versions.insert(adapter_key(&v.name, v.version), encode(v));
        self.adapters
            .apply_batch(batch_versions)
            .map_err(sled_err("store adapter"))?;
        self.adapter_state
            .insert(v.name.as_bytes(), encode(&state))
            .map_err(sled_err("store adapter state"))?;
        Ok(())
    }

    /// The state of an adapter.
    pub fn adapter_state(&self, name: &str) -> Result<Option<AdapterState>, StoreError> {
        match self
            .adapter_state
            .get(name.as_bytes())
            .map_err(sled_err("read adapter state"))?
        {
            Some(v) => Ok(Some(decode("read adapter state", &v)?)),
            None => Ok(None),
        }
    }

    /// Sets whether an adapter is enabled.
    pub fn set_adapter_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError> {
        let Some(mut state) = self.adapter_state(name)? else {
            return Ok(false);
        };
        state.enabled = enabled;
        self.adapter_state
            .insert(name.as_bytes(), encode(&state))
            .map_err(sled_err("store adapter state"))?;
        Ok(true)
    }

    /// One version of an adapter.
    pub fn adapter_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<AdapterVersion>, StoreError> {
        match self
            .adapters
            .get(adapter_key(name, version))
            .map_err(sled_err("read adapter"))?
        {
            Some(v) => Ok(Some(decode("read adapter", &v)?)),
            None => Ok(None),
        }
    }

    /// Every adapter with its state, by name.
    pub fn adapter_states(&self) -> Result<Vec<(String, AdapterState)>, StoreError> {
        self.adapter_state
            .iter()
            .map(|r| {
                let (k, v) = r.map_err(sled_err("list adapters"))?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    decode("list adapters", &v)?,
                ))
            })
            .collect()
    }

    /// The version numbers of an adapter, ascending.
    pub fn adapter_version_numbers(&self, name: &str) -> Result<Vec<u32>, StoreError> {
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        self.adapters
            .scan_prefix(&prefix)
            .keys()
            .map(|k| {
                let k = k.map_err(sled_err("list adapter versions"))?;
                let tail: [u8; 4] = k[k.len() - 4..].try_into().unwrap_or_default();
                Ok(u32::from_be_bytes(tail))
            })
            .collect()
    }

    /// Stores a route under a new id; returns the id.
    pub fn add_route(&self, route: &crate::config::hub::RouteConfig) -> Result<u64, StoreError> {
        let id = self.next_seq()?;
        self.routes
            .insert(id.to_be_bytes(), encode(route))
            .map_err(sled_err("store route"))?;
        self.flush()?;
        Ok(id)
    }

    /// Removes a stored route; false if there is none.
    pub fn remove_route(&self, id: u64) -> Result<bool, StoreError> {
        let found = self
            .routes
            .remove(id.to_be_bytes())
            .map_err(sled_err("remove route"))?
            .is_some();
        self.flush()?;
        Ok(found)
    }

    /// Every stored route with its id.
    pub fn routes(&self) -> Result<Vec<(u64, crate::config::hub::RouteConfig)>, StoreError> {
        self.routes
            .iter()
            .map(|r| {
                let (k, v) = r.map_err(sled_err("list routes"))?;
                let id = u64::from_be_bytes(k.as_ref().try_into().unwrap_or_default());
                Ok((id, decode("list routes", &v)?))
            })
            .collect()
    }

    /// A cached answer from a source: `(fetched at, ms since the epoch; record)`.
    pub fn cache_get(
        &self,
        record_type: &str,
        key: &str,
    ) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        match self
            .cache
            .get(cache_key(record_type, key))
            .map_err(sled_err("read the cache"))?
        {
            Some(v) if v.len() > 8 => {
                let at = u64::from_be_bytes(v[..8].try_into().unwrap_or_default());
                Ok(Some((at, decode("read the cache", &v[8..])?)))
            }
            _ => Ok(None),
        }
    }

    /// Caches an answer (not flushed: a lost cache entry is fetched again).
    pub fn cache_put(
        &self,
        record_type: &str,
        key: &str,
        at_ms: u64,
        record: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut v = at_ms.to_be_bytes().to_vec();
        crate::model::json_out::write_value(&mut v, record);
        self.cache
            .insert(cache_key(record_type, key), v)
            .map_err(sled_err("write the cache"))?;
        Ok(())
    }
}

fn cache_key(record_type: &str, key: &str) -> Vec<u8> {
    let mut k = record_type.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_directory_in_use_is_reported_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let _held = SledStore::open(dir.path()).unwrap();
        let started = Instant::now();
        let err = open_db(dir.path(), 1 << 20, Duration::from_millis(200), None).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("in use by another process"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }

    #[test]
    fn a_failure_of_sleds_disk_writes_refuses_later_commits_with_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        // Any other failure (a value not readable, a read that failed) leaves the store
        // writable.
        let other: Result<(), _> = Err(StoreError::Format("not this".into()));
        assert!(store.noting_failure(other).is_err());
        let read = ::sled::Error::Io(std::io::Error::other("Input/output error"));
        let r: Result<(), _> = Err(read).map_err(sled_err("read the cache"));
        assert!(store.noting_failure(r).is_err());
        assert_eq!(store.failed_write(), None);
        let full = ::sled::Error::Io(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device",
        ));
        let r: Result<(), _> = Err(full).map_err(sled_err("read dedup"));
        let e = store.noting_failure(r).unwrap_err();
        assert!(matches!(e, StoreError::Unwritable(_)), "{e}");
        assert!(e.to_string().contains("No space left"), "{e}");
        let cause = store.failed_write().expect("noted");
        assert!(cause.contains("No space left"), "{cause}");
        let refused = store
            .commit(&[], &crate::store::AuditWrites::default())
            .unwrap_err();
        assert!(matches!(refused, StoreError::Unwritable(_)), "{refused}");
        assert!(refused.to_string().contains("No space left"), "{refused}");
    }

    #[test]
    fn a_lock_released_during_the_wait_is_taken() {
        // Without the wait this open fails at once: the lock is held when it starts.
        let dir = tempfile::tempdir().unwrap();
        let held = SledStore::open(dir.path()).unwrap();
        held.tokens.insert(b"k", b"v".to_vec()).unwrap();
        held.flush().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.tokens.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        releaser.join().unwrap();
    }
}
