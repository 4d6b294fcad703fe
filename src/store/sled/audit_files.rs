//! The audit log proper, in three append-only files beside sled (`<data dir>/audit/`):
//!
//! - `entries.dat`: one record per entry: `entry length u32 ‖ sealed length u32 ‖ state u8 ‖
//!   entry bytes ‖ sealed bytes` (state 0: the sealed part is kept; 1: purged, its bytes
//!   overwritten with zeros);
//! - `entries.idx`: the end offset of each record in `entries.dat` (u64), so entry `i` is
//!   found with one read;
//! - `tree.dat`: every hash of the Merkle tree, leaves and complete subtrees, 32 bytes each, in
//!   the order appends complete them (post-order: the storage layout of "Transparent Logs for
//!   Skeptical Clients", R. Cox, 2019, also used by `golang.org/x/mod/sumdb/tlog`).
//!
//! Integers are big-endian. The files are written, and `entries.dat` synced, before the commit
//! journal's record that carries the log's new size (`z` in the `audit` tree); on open,
//! anything past that size is a commit that never completed and is cut off. The index and the
//! tree are derived from `entries.dat`: they are synced every `DERIVED_SYNC_EVERY` entries
//! (the size they are synced to, `y`, goes in the same record, or for a commit of entries alone
//! is written to sled after `size.dat`), and on open their part past `y` is rebuilt from the
//! entries, so a commit costs one file sync, not three.
//!
//! - `size.dat`: the size of the log after the commits of audit entries alone (pulls,
//!   refusals, repeats, parks), synced in place of a journal record: two slots written in turn,
//!   each `size u64 ‖ check u64` (the first 8 bytes of SHA-256 of the size). On open the
//!   largest of `z` and the slots with a right check counts: such a commit's entries are kept
//!   though sled never made its size durable.
//!
//! Nothing here costs memory per entry: sled keeps
//! about 40 bytes in memory for every key it holds, so a log of millions of entries as sled
//! keys would hold hundreds of megabytes.

use crate::merkle::{Frontier, Hash, MerkleError, Nodes, leaf_hash};
use crate::store::types::{AuditRecord, Stored, StoredAt};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

const HEADER: usize = 9;
/// The index and the tree are synced at least this often (entries); what lies past the last
/// sync is rebuilt from `entries.dat` on open.
pub(crate) const DERIVED_SYNC_EVERY: u64 = 4096;
const KEPT: u8 = 0;
const PURGED: u8 = 1;

/// A file operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("audit files: {action} ({path}): {source}")]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

pub use crate::merkle::{stored_hash_count, stored_hash_index};

#[derive(Debug, Default, Clone, Copy)]
struct Lengths {
    /// Records written (not necessarily committed).
    count: u64,
    /// Bytes of `entries.dat` they take.
    bytes: u64,
    /// Records whose index and tree hashes are synced.
    derived: u64,
}

/// The tree file read raw, below what is committed (for recovery).
struct RawTree<'a>(&'a AuditFiles);

impl Nodes for RawTree<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let mut h = [0u8; 32];
        self.0
            .tree
            .read_exact_at(&mut h, stored_hash_index(level, index) * 32)
            .map_err(|e| MerkleError::Store(e.to_string()))?;
        Ok(h)
    }
}

/// The three files and what of them is committed.
#[derive(Debug)]
pub(crate) struct AuditFiles {
    dir: PathBuf,
    records: File,
    offsets: File,
    tree: File,
    /// The size of the log after the last commit that made only its entries durable.
    size_file: File,
    /// The slot of `size.dat` the next size goes to.
    size_slot: std::sync::atomic::AtomicBool,
    written: Mutex<Lengths>,
    /// Entries whose commit completed (their size durable in the journal, sled or `size.dat`);
    /// readers see only these.
    committed: AtomicU64,
    /// Readers of sealed parts share it; a purge takes it alone.
    purge: RwLock<()>,
}

fn open_file(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| FileError {
            action: "open",
            path: path.to_path_buf(),
            source,
        })
}

impl AuditFiles {
    /// Opens (or creates) the files in `dir` without trusting their length yet: call `recover`
    /// with the committed size.
    pub(crate) fn open(dir: &Path) -> Result<AuditFiles, FileError> {
        std::fs::create_dir_all(dir).map_err(|source| FileError {
            action: "create the directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let (records, offsets, tree, size_file) = (
            open_file(&dir.join("entries.dat"))?,
            open_file(&dir.join("entries.idx"))?,
            open_file(&dir.join("tree.dat"))?,
            open_file(&dir.join("size.dat"))?,
        );
        // The files' names durable before anything in sled can count on them.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| FileError {
                action: "sync the directory",
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(AuditFiles {
            records,
            offsets,
            tree,
            size_file,
            size_slot: std::sync::atomic::AtomicBool::new(false),
            dir: dir.to_path_buf(),
            written: Mutex::new(Lengths::default()),
            committed: AtomicU64::new(0),
            purge: RwLock::new(()),
        })
    }

    fn err(&self, action: &'static str, file: &str) -> impl FnOnce(std::io::Error) -> FileError {
        let path = self.dir.join(file);
        move |source| FileError {
            action,
            path,
            source,
        }
    }

    fn lengths(&self) -> std::sync::MutexGuard<'_, Lengths> {
        match self.written.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn sync_records(&self) -> Result<(), FileError> {
        self.records
            .sync_data()
            .map_err(self.err("sync", "entries.dat"))
    }

    /// Syncs the files derived from the entries: the index and the tree.
    fn sync_derived(&self) -> Result<(), FileError> {
        self.offsets
            .sync_data()
            .map_err(self.err("sync", "entries.idx"))?;
        self.tree.sync_data().map_err(self.err("sync", "tree.dat"))
    }

    /// The end offset of record `i` (0 for "before the first").
    fn end_of(&self, i: Option<u64>) -> Result<u64, FileError> {
        let Some(i) = i else { return Ok(0) };
        let mut b = [0u8; 8];
        self.offsets
            .read_exact_at(&mut b, i * 8)
            .map_err(self.err("read an offset", "entries.idx"))?;
        Ok(u64::from_be_bytes(b))
    }

    /// Cuts the files to the `size` entries whose commit completed (whatever lies past them was
    /// written by a commit that did not complete), rebuilds the index and the tree past
    /// `synced` (the size they were last synced to) from `entries.dat`, syncs them, and makes
    /// `size` the committed size. Fails if a file is shorter than the committed size needs:
    /// then the log has lost data.
    pub(crate) fn recover(&self, size: u64, synced: u64) -> Result<(), FileError> {
        let mut len = self.lengths();
        // A commit that made only its entries durable recorded the size here.
        let size = size.max(self.recorded_size()?.unwrap_or(0));
        self.aim_size_slot()?;
        let synced = synced.min(size);
        let have = |f: &File, name: &str| -> Result<u64, FileError> {
            Ok(f.metadata()
                .map_err(self.err("read the length", name))?
                .len())
        };
        let short = |what: &str, n: u64| FileError {
            action: "check the committed size",
            path: self.dir.join(what),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the store records {n} entries but this file is shorter: entries are missing"
                ),
            ),
        };
        // Every record takes at least a header: a size the entries cannot hold is refused
        // before any arithmetic on it.
        let file_len = have(&self.records, "entries.dat")?;
        if size > file_len / HEADER as u64 {
            return Err(short("entries.dat", size));
        }
        if have(&self.offsets, "entries.idx")? < synced * 8 {
            return Err(short("entries.idx", size));
        }
        if have(&self.tree, "tree.dat")? < stored_hash_count(synced) * 32 {
            return Err(short("tree.dat", size));
        }
        // Walk the records past the synced point: their lengths give the index, their bytes
        // the leaves.
        let mut at = self.end_of(synced.checked_sub(1))?;
        if at > file_len {
            return Err(short("entries.dat", size));
        }
        let mut ends = Vec::new();
        let mut frontier = Frontier::load(&RawTree(self), synced).map_err(|e| FileError {
            action: "read the tree",
            path: self.dir.join("tree.dat"),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut hashes: Vec<u8> = Vec::new();
        for _ in synced..size {
            let mut header = [0u8; HEADER];
            if at + HEADER as u64 > file_len {
                return Err(short("entries.dat", size));
            }
            self.records
                .read_exact_at(&mut header, at)
                .map_err(self.err("read an entry", "entries.dat"))?;
            let entry_len = u64::from(u32::from_be_bytes(
                header[..4].try_into().unwrap_or_default(),
            ));
            let sealed_len = u64::from(u32::from_be_bytes(
                header[4..8].try_into().unwrap_or_default(),
            ));
            let end = at + HEADER as u64 + entry_len + sealed_len;
            if end > file_len {
                return Err(short("entries.dat", size));
            }
            let mut entry = vec![0u8; entry_len as usize];
            self.records
                .read_exact_at(&mut entry, at + HEADER as u64)
                .map_err(self.err("read an entry", "entries.dat"))?;
            frontier.push(leaf_hash(&entry), |_, _, h| hashes.extend_from_slice(h));
            ends.extend_from_slice(&end.to_be_bytes());
            at = end;
        }
        self.offsets
            .write_all_at(&ends, synced * 8)
            .map_err(self.err("rebuild", "entries.idx"))?;
        self.tree
            .write_all_at(&hashes, stored_hash_count(synced) * 32)
            .map_err(self.err("rebuild", "tree.dat"))?;
        self.offsets
            .set_len(size * 8)
            .map_err(self.err("cut", "entries.idx"))?;
        self.records
            .set_len(at)
            .map_err(self.err("cut", "entries.dat"))?;
        self.tree
            .set_len(stored_hash_count(size) * 32)
            .map_err(self.err("cut", "tree.dat"))?;
        self.sync_derived()?;
        self.sync_records()?;
        *len = Lengths {
            count: size,
            bytes: at,
            derived: size,
        };
        self.committed.store(size, Ordering::Release);
        Ok(())
    }

    /// Entries whose commit completed.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Marks entries below `size` as committed (the journal record or `size.dat` that counts
    /// them is synced).
    pub(crate) fn set_committed(&self, size: u64) {
        self.committed.store(size, Ordering::Release);
    }

    /// Appends records and tree hashes after what is written and syncs `entries.dat` (and the
    /// index and the tree when `DERIVED_SYNC_EVERY` entries went by since their last sync:
    /// then returns the size they are synced to, for the caller to record with the new size).
    /// The caller commits the new size afterwards. On failure nothing counts as written (the
    /// files are cut back where possible; `recover` cuts them at the next start in any case).
    pub(crate) fn append(
        &self,
        first: u64,
        records: &[AuditRecord],
        hashes: &[Hash],
    ) -> Result<Option<u64>, FileError> {
        let mut len = self.lengths();
        if first != len.count {
            return Err(FileError {
                action: "append",
                path: self.dir.join("entries.dat"),
                source: std::io::Error::other(format!(
                    "entries prepared from index {first}, but the files hold {}",
                    len.count
                )),
            });
        }
        if stored_hash_count(first) + hashes.len() as u64
            != stored_hash_count(first + records.len() as u64)
        {
            return Err(FileError {
                action: "append",
                path: self.dir.join("tree.dat"),
                source: std::io::Error::other("tree hashes do not match the entries"),
            });
        }
        if let Some(big) = records
            .iter()
            .position(|r| r.entry.len() > u32::MAX as usize || r.sealed.len() > u32::MAX as usize)
        {
            return Err(FileError {
                action: "append",
                path: self.dir.join("entries.dat"),
                source: std::io::Error::other(format!(
                    "entry {} is over 4 GiB",
                    first + big as u64
                )),
            });
        }
        let before = *len;
        let mut data = Vec::with_capacity(
            records
                .iter()
                .map(|r| HEADER + r.entry.len() + r.sealed.len())
                .sum(),
        );
        let mut ends = Vec::with_capacity(records.len() * 8);
        for r in records {
            data.extend_from_slice(&(r.entry.len() as u32).to_be_bytes());
            data.extend_from_slice(&(r.sealed.len() as u32).to_be_bytes());
            data.push(KEPT);
            data.extend_from_slice(&r.entry);
            data.extend_from_slice(&r.sealed);
            ends.extend_from_slice(&(before.bytes + data.len() as u64).to_be_bytes());
        }
        let tree: Vec<u8> = hashes.iter().flatten().copied().collect();
        let after = before.count + records.len() as u64;
        let result = (|| {
            self.records
                .write_all_at(&data, before.bytes)
                .map_err(self.err("append", "entries.dat"))?;
            self.offsets
                .write_all_at(&ends, before.count * 8)
                .map_err(self.err("append", "entries.idx"))?;
            self.tree
                .write_all_at(&tree, stored_hash_count(before.count) * 32)
                .map_err(self.err("append", "tree.dat"))?;
            self.sync_records()?;
            if after - before.derived < DERIVED_SYNC_EVERY {
                return Ok(None);
            }
            self.sync_derived()?;
            Ok(Some(after))
        })();
        let synced = match result {
            Ok(s) => s,
            Err(e) => {
                let _ = self.records.set_len(before.bytes);
                let _ = self.offsets.set_len(before.count * 8);
                let _ = self.tree.set_len(stored_hash_count(before.count) * 32);
                return Err(e);
            }
        };
        len.count = after;
        len.bytes += data.len() as u64;
        if let Some(s) = synced {
            len.derived = s;
        }
        Ok(synced)
    }

    /// Hash number `pos` of the tree file, if its entries are committed.
    pub(crate) fn hash(&self, pos: u64) -> Result<Option<Hash>, FileError> {
        if pos >= stored_hash_count(self.committed()) {
            return Ok(None);
        }
        let mut h = [0u8; 32];
        self.tree
            .read_exact_at(&mut h, pos * 32)
            .map_err(self.err("read a hash", "tree.dat"))?;
        Ok(Some(h))
    }

    /// The byte range of record `i` in `entries.dat`.
    fn span(&self, i: u64) -> Result<(u64, u64), FileError> {
        let start = self.end_of(i.checked_sub(1))?;
        Ok((start, self.end_of(Some(i))?))
    }

    /// Entries `[from, to)` (clamped to the committed ones), in one read:
    /// `(index, entry bytes, sealed bytes unless purged)`.
    pub(crate) fn read_range(&self, from: u64, to: u64) -> Result<Vec<StoredAt>, FileError> {
        let to = to.min(self.committed());
        if from >= to {
            return Ok(Vec::new());
        }
        let n = (to - from) as usize;
        let mut ends = vec![0u8; n * 8];
        self.offsets
            .read_exact_at(&mut ends, from * 8)
            .map_err(self.err("read offsets", "entries.idx"))?;
        let start = self.end_of(from.checked_sub(1))?;
        let end = u64::from_be_bytes(ends[(n - 1) * 8..].try_into().unwrap_or_default());
        // A damaged index must not size an allocation past the file.
        let file_len = self
            .records
            .metadata()
            .map_err(self.err("read the length", "entries.dat"))?
            .len();
        if end < start || end > file_len {
            return Err(self.damaged(from));
        }
        let mut data = vec![0u8; (end - start) as usize];
        {
            let _shared = self.purge.read();
            self.records
                .read_exact_at(&mut data, start)
                .map_err(self.err("read entries", "entries.dat"))?;
        }
        let mut out = Vec::with_capacity(n);
        let mut at = 0usize;
        for (k, e) in ends.chunks_exact(8).enumerate() {
            let e = u64::from_be_bytes(e.try_into().unwrap_or_default())
                .checked_sub(start)
                .ok_or_else(|| self.damaged(from + k as u64))? as usize;
            let record = data
                .get(at..e)
                .ok_or_else(|| self.damaged(from + k as u64))?;
            let (entry, sealed) = split(record).ok_or_else(|| self.damaged(from + k as u64))?;
            out.push((from + k as u64, entry.to_vec(), sealed.map(<[u8]>::to_vec)));
            at = e;
        }
        Ok(out)
    }

    fn damaged(&self, index: u64) -> FileError {
        FileError {
            action: "read an entry",
            path: self.dir.join("entries.dat"),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("record {index} is damaged (its lengths do not fit)"),
            ),
        }
    }

    /// Entry `i` and its sealed part (unless purged), if committed.
    pub(crate) fn read(&self, i: u64) -> Result<Option<Stored>, FileError> {
        Ok(self
            .read_range(i, i.saturating_add(1))?
            .pop()
            .map(|(_, e, s)| (e, s)))
    }

    /// Overwrites the sealed part of entry `i` with zeros and marks it purged; synced when it
    /// returns. False if it was already purged or is not committed.
    pub(crate) fn purge(&self, i: u64) -> Result<bool, FileError> {
        if i >= self.committed() {
            return Ok(false);
        }
        let _alone = match self.purge.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (start, end) = self.span(i)?;
        let mut header = [0u8; HEADER];
        self.records
            .read_exact_at(&mut header, start)
            .map_err(self.err("read an entry", "entries.dat"))?;
        let was = header[8] == PURGED;
        let entry_len = u64::from(u32::from_be_bytes(
            header[..4].try_into().unwrap_or_default(),
        ));
        let sealed_at = start + HEADER as u64 + entry_len;
        if sealed_at > end {
            return Err(self.damaged(i));
        }
        // The bytes first, synced, then the mark: a crash between leaves zeros that read as
        // purged (see `split`), never a mark over bytes still there. Zeroed again even when
        // marked, in case an earlier purge's zeros were lost.
        let zeros = vec![0u8; (end - sealed_at) as usize];
        self.records
            .write_all_at(&zeros, sealed_at)
            .map_err(self.err("purge", "entries.dat"))?;
        self.sync_records()?;
        if !was {
            self.records
                .write_all_at(&[PURGED], start + 8)
                .map_err(self.err("purge", "entries.dat"))?;
            self.sync_records()?;
        }
        Ok(!was)
    }

    /// Where entry `i`'s bytes are: the file and their byte range (for tamper tests and
    /// offline tools).
    pub(crate) fn entry_location(&self, i: u64) -> Result<(PathBuf, u64, u64), FileError> {
        if i >= self.committed() {
            return Err(self.damaged(i));
        }
        let (start, _) = self.span(i)?;
        let mut header = [0u8; 4];
        self.records
            .read_exact_at(&mut header, start)
            .map_err(self.err("read an entry", "entries.dat"))?;
        let len = u64::from(u32::from_be_bytes(header));
        Ok((self.dir.join("entries.dat"), start + HEADER as u64, len))
    }
}

/// A record's entry bytes and sealed part (none when purged).
fn split(record: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let entry_len = u32::from_be_bytes(record.get(..4)?.try_into().ok()?) as usize;
    let sealed_len = u32::from_be_bytes(record.get(4..8)?.try_into().ok()?) as usize;
    let state = *record.get(8)?;
    let entry = record.get(HEADER..HEADER + entry_len)?;
    let sealed = record.get(HEADER + entry_len..HEADER + entry_len + sealed_len)?;
    if HEADER + entry_len + sealed_len != record.len() {
        return None;
    }
    // A sealed part is JSON, never all zeros: zeros are a purge whose mark did not land.
    let zeroed = !sealed.is_empty() && sealed.iter().all(|b| *b == 0);
    let kept = state == KEPT && !zeroed;
    Some((entry, kept.then_some(sealed)))
}

mod size;

#[cfg(test)]
mod tests;
