//! The commit journal (`<data dir>/journal-0.dat` and `journal-1.dat`): what a group commit
//! writes to sled, made durable in one synced append, so that sled itself is written without
//! a transaction and the store flushes it only now and then (sled's own background flush still
//! runs).
//!
//! A sled transaction or flush hands a log buffer to sled's I/O pool, which wakes all seven of
//! its idle threads; with one of each per group commit those threads took about a seventh of
//! the hub's CPU on the relay (BENCHMARKS.md, "Load and scale"). With the journal a group
//! commit appends its writes here and syncs, then applies them to sled as plain writes, which
//! stay in sled's memory until its next flush. `SledStore::flush` turns the commits to the
//! journal's other file, flushes sled and then empties the first file: everything in it is in
//! sled's durable state by then. On open both files are applied to sled again, the older
//! first (each write sets a key to a value or removes it, so applying one twice changes
//! nothing among the journal's own writes; a key written outside the journal after a record,
//! an item's attempts or a swept dedup key, goes back to the record's value), sled is flushed
//! and the files emptied.
//!
//! One record per commit: `length u32 ‖ epoch u64 ‖ check [u8; 8] ‖ writes`, where the check
//! is the first 8 bytes of SHA-256 of `epoch ‖ writes`, and each write is
//! `tree u8 ‖ key length u32 ‖ key ‖ value length u32 ‖ value`, with `u32::MAX` as the value
//! length of a removal (no value follows). Integers are big-endian. A file's generation (the
//! `epoch` field) grows by one each time the commits turn to the other file (and when
//! `clear_all` empties a file); it orders the
//! two files; reading stops at the first record that is short, fails its
//! check or is of another epoch than the first, so neither a torn append nor what is left of
//! an older epoch behind newer records in the same file (an emptying lost in a crash, then
//! written over) is ever applied. A whole file left by a lost emptying is applied, before the
//! newer one: sled's durable state already holds it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const HEADER: usize = 20;
const REMOVE: u32 = u32::MAX;

/// A sled tree the journal writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JournalTree {
    Outbox = 1,
    Dedup = 2,
    Onceonly = 3,
    Audit = 4,
}

impl JournalTree {
    fn from_byte(b: u8) -> Option<JournalTree> {
        Some(match b {
            1 => JournalTree::Outbox,
            2 => JournalTree::Dedup,
            3 => JournalTree::Onceonly,
            4 => JournalTree::Audit,
            _ => return None,
        })
    }
}

/// One write: a key set to a value, or removed (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalWrite {
    pub tree: JournalTree,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// A failed operation on the journal.
#[derive(Debug, thiserror::Error)]
#[error("commit journal: {action} ({path}): {source}")]
pub struct JournalError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The journal, held by the store behind a lock: two files, one taking the commits while the
/// other is emptied. `SledStore::flush` turns to the other file, flushes sled (which then holds
/// everything the first recorded) and empties the first, with the lock held to turn and to
/// move the items waiting in memory to sled:
/// commits go on while sled flushes.
#[derive(Debug)]
pub(crate) struct Journal {
    parts: [JournalFile; 2],
    current: usize,
}

/// The name of the journal's files in the data directory.
pub(crate) const FILES: [&str; 2] = ["journal-0.dat", "journal-1.dat"];

impl Journal {
    /// Opens (or creates) the journal's files in `dir` and reads the writes of their records,
    /// the older file's first.
    pub(crate) fn open(dir: &Path) -> Result<(Journal, Vec<JournalWrite>), JournalError> {
        let (a, mut wa, ea) = JournalFile::open(&dir.join(FILES[0]))?;
        let (b, mut wb, eb) = JournalFile::open(&dir.join(FILES[1]))?;
        let next = ea.max(eb).map_or(0, |e| e.wrapping_add(1));
        let mut writes = Vec::with_capacity(wa.len() + wb.len());
        if eb.is_some() && (ea.is_none() || eb < ea) {
            writes.append(&mut wb);
            writes.append(&mut wa);
        } else {
            writes.append(&mut wa);
            writes.append(&mut wb);
        }
        let mut parts = [a, b];
        for p in &mut parts {
            p.epoch = next;
        }
        // The newer file is the current one, so that `clear_all` empties the older first.
        let current = usize::from(eb.is_some() && (ea.is_none() || eb > ea));
        Ok((Journal { parts, current }, writes))
    }

    /// How many bytes the file taking the commits holds.
    pub(crate) fn len(&self) -> u64 {
        self.parts[self.current].len
    }

    /// Appends one record of `writes` and syncs it: when this returns they are durable.
    pub(crate) fn append(&mut self, writes: &[JournalWrite]) -> Result<(), JournalError> {
        self.parts[self.current].append(writes)
    }

    /// Turns the commits to the other file, under a new epoch; returns the one to empty once
    /// sled is flushed. None when the other file is not empty (an emptying failed): then only
    /// `clear_all` under the lock will do.
    pub(crate) fn turn(&mut self) -> Option<usize> {
        let old = self.current;
        let other = 1 - old;
        if self.parts[other].len > 0 {
            return None;
        }
        self.parts[other].epoch = self.parts[old].epoch.wrapping_add(1);
        self.current = other;
        Some(old)
    }

    /// A handle of file `part`, to empty it without holding the lock, and its path.
    pub(crate) fn part_file(&self, part: usize) -> Result<(File, PathBuf), JournalError> {
        let p = &self.parts[part];
        Ok((p.file.try_clone().map_err(p.err("open"))?, p.path.clone()))
    }

    /// File `part` was emptied through `part_file`.
    pub(crate) fn emptied(&mut self, part: usize) {
        self.parts[part].len = 0;
    }

    /// Empties both files, once sled's durable state holds everything they recorded: the
    /// older first, so that a crash in between can leave only the newer one, which applied
    /// alone again sets nothing back.
    pub(crate) fn clear_all(&mut self) -> Result<(), JournalError> {
        let current = self.current;
        self.parts[1 - current].clear()?;
        self.parts[current].clear()
    }
}

/// Empties a file of the journal through a handle of it: `Journal::part_file`.
pub(crate) fn empty_file(file: &File, path: &Path) -> Result<(), JournalError> {
    file.set_len(0).map_err(io_err("empty", path))?;
    file.sync_all().map_err(io_err("sync", path))
}

/// The error of `action` on the journal file at `path`.
fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> JournalError + use<> {
    let path = path.to_path_buf();
    move |source| JournalError {
        action,
        path,
        source,
    }
}

/// One file of the journal.
#[derive(Debug)]
pub(crate) struct JournalFile {
    file: File,
    path: PathBuf,
    /// Where the next record goes: the end of the last record appended and synced. A failed
    /// append leaves it where it was, so the next one writes over what it left.
    len: u64,
    /// The epoch of the records it takes.
    epoch: u64,
}

impl JournalFile {
    /// Opens (or creates) a file and reads the writes of its records, in order, and their
    /// epoch (none if it has no whole record).
    pub(crate) fn open(
        path: &Path,
    ) -> Result<(JournalFile, Vec<JournalWrite>, Option<u64>), JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err("open", path))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io_err("read", path))?;
        let (writes, epoch) = read_records(&bytes);
        let journal = JournalFile {
            file,
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            epoch: epoch.map_or(0, |e| e.wrapping_add(1)),
        };
        Ok((journal, writes, epoch))
    }

    fn err(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> JournalError + use<> {
        io_err(action, &self.path)
    }

    /// Appends one record of `writes` and syncs it: when this returns they are durable.
    pub(crate) fn append(&mut self, writes: &[JournalWrite]) -> Result<(), JournalError> {
        let record = encode_record(self.epoch, writes);
        self.file
            .write_all_at(&record, self.len)
            .map_err(self.err("append"))?;
        self.file.sync_data().map_err(self.err("sync"))?;
        self.len += record.len() as u64;
        Ok(())
    }

    /// Empties the file, once sled's durable state holds everything it recorded; the records
    /// it takes next are of a new epoch.
    pub(crate) fn clear(&mut self) -> Result<(), JournalError> {
        if self.len == 0 {
            return Ok(());
        }
        empty_file(&self.file, &self.path)?;
        self.len = 0;
        self.epoch = self.epoch.wrapping_add(1);
        Ok(())
    }
}

fn check(epoch: u64, writes: &[u8]) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(epoch.to_be_bytes());
    h.update(writes);
    let mut c = [0u8; 8];
    c.copy_from_slice(&h.finalize()[..8]);
    c
}

fn encode_record(epoch: u64, writes: &[JournalWrite]) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|w| 9 + w.key.len() + w.value.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(HEADER + size);
    out.extend_from_slice(&[0u8; HEADER]);
    for w in writes {
        out.push(w.tree as u8);
        out.extend_from_slice(&(w.key.len() as u32).to_be_bytes());
        out.extend_from_slice(&w.key);
        match &w.value {
            Some(v) => {
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.extend_from_slice(&REMOVE.to_be_bytes()),
        }
    }
    let body_len = (out.len() - HEADER) as u32;
    let c = check(epoch, &out[HEADER..]);
    out[..4].copy_from_slice(&body_len.to_be_bytes());
    out[4..12].copy_from_slice(&epoch.to_be_bytes());
    out[12..20].copy_from_slice(&c);
    out
}

/// The writes of every whole record of the first record's epoch, in order, and that epoch.
fn read_records(bytes: &[u8]) -> (Vec<JournalWrite>, Option<u64>) {
    let mut writes = Vec::new();
    let mut epoch = None;
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let mut e = [0u8; 8];
        e.copy_from_slice(&header[4..12]);
        let e = u64::from_be_bytes(e);
        let Some(body) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if check(e, body) != header[12..20] || epoch.is_some_and(|first| first != e) {
            break;
        }
        let Some(parsed) = parse_writes(body) else {
            break;
        };
        epoch = Some(e);
        writes.extend(parsed);
        at += HEADER + len;
    }
    (writes, epoch)
}

fn parse_writes(mut body: &[u8]) -> Option<Vec<JournalWrite>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    fn length(b: &mut &[u8]) -> Option<u32> {
        let s = take(b, 4)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    let mut out = Vec::new();
    while !body.is_empty() {
        let tree = JournalTree::from_byte(take(&mut body, 1)?[0])?;
        let klen = length(&mut body)? as usize;
        let key = take(&mut body, klen)?.to_vec();
        let value = match length(&mut body)? {
            REMOVE => None,
            n => Some(take(&mut body, n as usize)?.to_vec()),
        };
        out.push(JournalWrite { tree, key, value });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(tree: JournalTree, k: &str, v: &str) -> JournalWrite {
        JournalWrite {
            tree,
            key: k.as_bytes().to_vec(),
            value: Some(v.as_bytes().to_vec()),
        }
    }

    fn remove(tree: JournalTree, k: &str) -> JournalWrite {
        JournalWrite {
            tree,
            key: k.as_bytes().to_vec(),
            value: None,
        }
    }

    #[test]
    fn appended_records_are_read_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.dat");
        let (mut j, writes, _) = JournalFile::open(&path).unwrap();
        assert!(writes.is_empty());
        let first = vec![
            put(JournalTree::Outbox, "a", "1"),
            put(JournalTree::Dedup, "k", ""),
        ];
        let second = vec![
            remove(JournalTree::Outbox, "a"),
            put(JournalTree::Audit, "z", "\u{0}\u{1}"),
        ];
        j.append(&first).unwrap();
        j.append(&second).unwrap();
        drop(j);
        let (j, writes, _) = JournalFile::open(&path).unwrap();
        assert_eq!(writes, [first, second].concat());
        assert_eq!(j.len, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_torn_or_damaged_record_and_everything_after_it_are_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.dat");
        let (mut j, _, _) = JournalFile::open(&path).unwrap();
        let a = vec![put(JournalTree::Outbox, "a", "1")];
        let b = vec![put(JournalTree::Outbox, "b", "2")];
        let c = vec![put(JournalTree::Outbox, "c", "3")];
        j.append(&a).unwrap();
        let end_a = j.len;
        j.append(&b).unwrap();
        let end_b = j.len;
        j.append(&c).unwrap();
        drop(j);
        let full = std::fs::read(&path).unwrap();

        // Torn: the last record cut short.
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        assert_eq!(
            JournalFile::open(&path).unwrap().1,
            [a.clone(), b.clone()].concat()
        );

        // One byte of the middle record's value changed: its check fails; c is not read either.
        let mut bad = full.clone();
        let at = end_b as usize - 1;
        bad[at] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(JournalFile::open(&path).unwrap().1, a);

        // A length that runs past the end.
        let mut long = full.clone();
        long[end_a as usize..end_a as usize + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &long).unwrap();
        assert_eq!(JournalFile::open(&path).unwrap().1, a);
    }

    #[test]
    fn records_left_of_an_earlier_epoch_are_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.dat");
        let (mut j, _, _) = JournalFile::open(&path).unwrap();
        let old = vec![put(JournalTree::Outbox, "old", "x".repeat(40).as_str())];
        j.append(&old).unwrap();
        j.append(&old).unwrap();
        let before = std::fs::read(&path).unwrap();
        j.clear().unwrap();
        assert_eq!(j.len, 0);
        let new = vec![put(JournalTree::Outbox, "new", "x".repeat(40).as_str())];
        j.append(&new).unwrap();
        drop(j);
        // As if the emptying were lost in a crash but the new record written over the start:
        // the second old record, whole and well formed, follows the new one.
        let mut file = std::fs::read(&path).unwrap();
        assert_eq!(file.len() * 2, before.len());
        file.extend_from_slice(&before[file.len()..]);
        std::fs::write(&path, &file).unwrap();
        assert_eq!(JournalFile::open(&path).unwrap().1, new);
    }

    #[test]
    fn a_failed_append_is_written_over_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.dat");
        let (mut j, _, _) = JournalFile::open(&path).unwrap();
        let a = vec![put(JournalTree::Dedup, "a", "1")];
        j.append(&a).unwrap();
        // What a failed append may leave: part of a record past the end.
        let end = j.len;
        let partial = encode_record(j.epoch, &[put(JournalTree::Dedup, "lost", "zzzz")]);
        j.file
            .write_all_at(&partial[..partial.len() - 2], end)
            .unwrap();
        let b = vec![remove(JournalTree::Dedup, "a")];
        j.append(&b).unwrap();
        drop(j);
        assert_eq!(JournalFile::open(&path).unwrap().1, [a, b].concat());
    }

    fn one(k: &str) -> Vec<JournalWrite> {
        vec![put(JournalTree::Outbox, k, "v")]
    }

    fn empty(j: &mut Journal, part: usize) {
        let (f, path) = j.part_file(part).unwrap();
        empty_file(&f, &path).unwrap();
        j.emptied(part);
    }

    #[test]
    fn the_files_are_read_older_epoch_first_and_an_emptied_one_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, writes) = Journal::open(dir.path()).unwrap();
        assert!(writes.is_empty());
        j.append(&one("a")).unwrap();
        assert_eq!(j.turn(), Some(0));
        j.append(&one("b")).unwrap();
        // The first file not emptied yet: no turning back to it.
        assert_eq!(j.turn(), None);
        drop(j);
        // A crash before the first was emptied: both, in order.
        let (mut j, writes) = Journal::open(dir.path()).unwrap();
        assert_eq!(writes, [one("a"), one("b")].concat());
        // The newer file is the current one: `clear_all` empties the older first.
        assert_eq!(j.current, 1);

        j.clear_all().unwrap();
        j.append(&one("c")).unwrap();
        assert_eq!(j.turn(), Some(1));
        j.append(&one("d")).unwrap();
        empty(&mut j, 1);
        assert_eq!(j.turn(), Some(0));
        j.append(&one("e")).unwrap();
        empty(&mut j, 0);
        assert_eq!(j.turn(), Some(1));
        j.append(&one("f")).unwrap();
        drop(j);
        // File 1 (e) is older than file 0 (f): read first although its name comes second.
        let (mut j, writes) = Journal::open(dir.path()).unwrap();
        assert_eq!(writes, [one("e"), one("f")].concat());
        assert_eq!(j.current, 0);

        j.clear_all().unwrap();
        j.append(&one("g")).unwrap();
        assert_eq!(j.turn(), Some(0));
        empty(&mut j, 0);
        drop(j);
        assert!(Journal::open(dir.path()).unwrap().1.is_empty());
    }
}
