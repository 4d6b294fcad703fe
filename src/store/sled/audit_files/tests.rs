use super::*;

#[test]
fn post_order_positions_follow_the_append_order() {
    // Appending leaves one by one with their completed subtrees, as the frontier does.
    let mut pos = 0u64;
    let mut edge: Vec<u8> = Vec::new();
    for n in 0..1000u64 {
        assert_eq!(stored_hash_index(0, n), pos, "leaf {n}");
        pos += 1;
        edge.push(0);
        let mut index = n;
        while edge.len() >= 2 && edge[edge.len() - 1] == edge[edge.len() - 2] {
            let level = edge.pop().unwrap_or_default() + 1;
            edge.pop();
            edge.push(level);
            index >>= 1;
            assert_eq!(
                stored_hash_index(level, index),
                pos,
                "node ({level}, {index})"
            );
            pos += 1;
        }
        assert_eq!(stored_hash_count(n + 1), pos);
    }
}

fn records(from: u64, n: u64) -> (Vec<AuditRecord>, Vec<Hash>) {
    let recs: Vec<AuditRecord> = (from..from + n)
        .map(|i| AuditRecord {
            entry: format!("{{\"index\":{i}}}").into_bytes(),
            sealed: format!("{{\"salt\":\"{i}\"}}").into_bytes(),
        })
        .collect();
    let hashes = vec![[7u8; 32]; (stored_hash_count(from + n) - stored_hash_count(from)) as usize];
    (recs, hashes)
}

/// Files in `dir` holding `n` committed records, and the records.
fn committed(dir: &Path, n: u64) -> (AuditFiles, Vec<AuditRecord>) {
    let files = AuditFiles::open(dir).unwrap();
    files.recover(0, 0).unwrap();
    let (r, h) = records(0, n);
    files.append(0, &r, &h).unwrap();
    files.set_committed(n);
    (files, r)
}

#[test]
fn appends_read_back_and_an_uncommitted_tail_is_cut_on_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(0, 0).unwrap();
    let (r, h) = records(0, 5);
    assert_eq!(files.append(0, &r, &h).unwrap(), None);
    // Not committed yet: invisible.
    assert!(files.read(0).unwrap().is_none());
    files.set_committed(5);
    let (entry, sealed) = files.read(3).unwrap().unwrap();
    assert_eq!(entry, b"{\"index\":3}");
    assert_eq!(sealed.unwrap(), b"{\"salt\":\"3\"}");
    // A commit that never completed.
    let (r, h) = records(5, 3);
    files.append(5, &r, &h).unwrap();
    // A wrong position is refused.
    assert!(files.append(4, &r, &h).is_err());
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(5, 0).unwrap();
    assert_eq!(files.committed(), 5);
    assert_eq!(files.read_range(0, 100).unwrap().len(), 5);
    let (r, h) = records(5, 2);
    assert_eq!(files.append(5, &r, &h).unwrap(), None);
    files.set_committed(7);
    assert_eq!(files.read(6).unwrap().unwrap().0, b"{\"index\":6}");
    // Recovering to more than the files hold is an error, not a guess.
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    let e = files.recover(9, 0).unwrap_err();
    assert!(e.to_string().contains("entries are missing"), "{e}");
}

#[test]
fn a_purge_zeroes_the_sealed_part_and_keeps_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 3);
    assert!(files.purge(1).unwrap());
    assert!(!files.purge(1).unwrap());
    let (entry, sealed) = files.read(1).unwrap().unwrap();
    assert_eq!(entry, b"{\"index\":1}");
    assert!(sealed.is_none());
    assert!(files.read(2).unwrap().unwrap().1.is_some());
    let raw = std::fs::read(dir.path().join("entries.dat")).unwrap();
    assert!(!raw.windows(10).any(|w| w == b"\"salt\":\"1\""));
}

#[test]
fn the_index_and_tree_past_their_last_sync_are_rebuilt_from_the_entries() {
    use crate::merkle::{MemoryTree, root};
    let dir = tempfile::tempdir().unwrap();
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(0, 0).unwrap();
    let mut tree = MemoryTree::default();
    let mut frontier = Frontier::default();
    let mut synced = Vec::new();
    let mut next = 0u64;
    for n in [4100u64, 300] {
        let mut recs = Vec::new();
        let mut hashes = Vec::new();
        for i in next..next + n {
            let entry = format!("{{\"index\":{i}}}").into_bytes();
            tree.push(&entry);
            frontier.push(leaf_hash(&entry), |_, _, h| hashes.push(*h));
            recs.push(AuditRecord {
                entry,
                sealed: b"{}".to_vec(),
            });
        }
        synced.push(files.append(next, &recs, &hashes).unwrap());
        next += n;
    }
    // Synced with the first append (4,100 entries since the last sync), not the second.
    assert_eq!(synced, vec![Some(4100), None]);
    drop(files);
    // What was not synced is lost (the worst a crash can do to it): cut and garbled.
    let idx = OpenOptions::new()
        .write(true)
        .open(dir.path().join("entries.idx"))
        .unwrap();
    idx.set_len(4100 * 8 + 3).unwrap();
    let t = OpenOptions::new()
        .write(true)
        .open(dir.path().join("tree.dat"))
        .unwrap();
    t.set_len(stored_hash_count(4200) * 32).unwrap();
    t.write_all_at(&[0xAB; 64], stored_hash_count(4100) * 32)
        .unwrap();
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(4400, 4100).unwrap();
    assert_eq!(root(&RawTree(&files), 4400).unwrap(), tree.root());
    assert_eq!(
        root(&RawTree(&files), 4250).unwrap(),
        root(&tree, 4250).unwrap()
    );
    let all = files.read_range(0, 4400).unwrap();
    assert_eq!(all.len(), 4400);
    assert_eq!(all[4399].1, b"{\"index\":4399}");
    assert_eq!(all[4123].1, b"{\"index\":4123}");
}

#[test]
fn zeros_without_the_mark_read_as_purged_and_a_purge_completes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (files, r) = committed(dir.path(), 2);
    // A purge whose zeros reached the disk but whose mark did not.
    let (path, at, len) = files.entry_location(0).unwrap();
    let sealed_len = r[0].sealed.len();
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&vec![0u8; sealed_len], at + len).unwrap();
    let (entry, sealed) = files.read(0).unwrap().unwrap();
    assert_eq!(entry, b"{\"index\":0}");
    assert!(sealed.is_none());
    assert!(files.purge(0).unwrap(), "the mark is still to be written");
    assert!(!files.purge(0).unwrap());
    assert!(files.read(1).unwrap().unwrap().1.is_some());
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 3);
    // An end offset far past the file, then one below its start.
    let idx = OpenOptions::new()
        .write(true)
        .open(dir.path().join("entries.idx"))
        .unwrap();
    idx.write_all_at(&(u64::MAX / 3).to_be_bytes(), 8).unwrap();
    let e = files.read(1).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    idx.write_all_at(&1u64.to_be_bytes(), 8).unwrap();
    assert!(files.read(2).is_err());
    assert!(files.read_range(0, 3).is_err());
    // A committed size no file could hold.
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    for (size, synced) in [(u64::MAX, 0), (u64::MAX / 2, u64::MAX / 2), (1 << 40, 2)] {
        let e = files.recover(size, synced).unwrap_err();
        assert!(e.to_string().contains("entries are missing"), "{e}");
    }
}

/// Writes `bytes` at `at` in the file at `path`, as a torn or damaged write would leave it.
fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, at).unwrap();
}

#[test]
fn a_size_recorded_in_size_dat_keeps_entries_sled_never_made_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 4);
    // Two commits of entries alone (pulls): synced, their sizes in size.dat, sled's size not
    // durable (it stays 4).
    let (r, h) = records(4, 3);
    files.append(4, &r, &h).unwrap();
    files.record_size(7).unwrap();
    let (r, h) = records(7, 2);
    files.append(7, &r, &h).unwrap();
    files.record_size(9).unwrap();
    // Then a commit with sled data that never completed.
    let (r, h) = records(9, 5);
    files.append(9, &r, &h).unwrap();
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(4, 0).unwrap();
    assert_eq!(
        files.committed(),
        9,
        "the recorded size counts, the last commit is cut"
    );
    assert_eq!(files.read(8).unwrap().unwrap().0, b"{\"index\":8}");
    assert!(files.read(9).unwrap().is_none());
    // Sled's size past the recorded one: sled's counts.
    let (r, h) = records(9, 3);
    files.append(9, &r, &h).unwrap();
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(12, 0).unwrap();
    assert_eq!(files.committed(), 12);
}

#[test]
fn a_torn_size_slot_leaves_the_other_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 2);
    let (r, h) = records(2, 3);
    files.append(2, &r, &h).unwrap();
    files.record_size(5).unwrap(); // slot 0
    let (r, h) = records(5, 1);
    files.append(5, &r, &h).unwrap();
    files.record_size(6).unwrap(); // slot 1
    drop(files);
    // Slot 1 torn: its check no longer matches; slot 0's size (5) still counts.
    overwrite(&dir.path().join("size.dat"), 16 + 3, &[0xFF; 5]);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(2, 0).unwrap();
    assert_eq!(files.committed(), 5);
    // Both torn, or a file too short: sled's size alone.
    drop(files);
    std::fs::write(dir.path().join("size.dat"), [1u8; 20]).unwrap();
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(2, 0).unwrap();
    assert_eq!(files.committed(), 2);
}

#[test]
fn after_a_restart_the_next_size_goes_to_the_slot_with_the_smaller_one() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 4);
    for (from, n) in [(4, 1), (5, 4), (9, 2)] {
        let (r, h) = records(from, n);
        files.append(from, &r, &h).unwrap();
        files.record_size(from + n).unwrap();
    }
    // Slots now: 11 in the first, 9 in the second.
    drop(files);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(4, 0).unwrap();
    assert_eq!(files.committed(), 11);
    let (r, h) = records(11, 2);
    files.append(11, &r, &h).unwrap();
    files.record_size(13).unwrap();
    drop(files);
    // That write went to the slot that held 9; torn, the other still says 11.
    let b = std::fs::read(dir.path().join("size.dat")).unwrap();
    assert_eq!(u64::from_be_bytes(b[16..24].try_into().unwrap()), 13);
    overwrite(&dir.path().join("size.dat"), 16 + 9, &[0xAB; 3]);
    let files = AuditFiles::open(dir.path()).unwrap();
    files.recover(4, 0).unwrap();
    assert_eq!(files.committed(), 11, "the larger size before it is kept");
}

#[test]
fn forgetting_the_sizes_lets_the_log_be_erased() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = committed(dir.path(), 2);
    let (r, h) = records(2, 3);
    files.append(2, &r, &h).unwrap();
    files.record_size(5).unwrap();
    files.recover(0, 0).unwrap();
    assert_eq!(files.committed(), 5, "a recorded size is not cut");
    files.forget_sizes().unwrap();
    files.recover(0, 0).unwrap();
    assert_eq!(files.committed(), 0);
}
