//! The service-quality indicators' dossiers in the embedded store, in a database of their own
//! beside the store's:
//!
//! - `m` → the audit log's index up to which they are folded (u64 big-endian);
//! - `s` + save number (u64 big-endian) + `z` → the rows of one save, packed (`pack`) and
//!   compressed (LZ4 block, its length before compression first as u32 little-endian): one
//!   value a save (a few thousand rows at most), not one key a dossier, since every save
//!   writes the rows of the dossiers changed since the last, and a tree insert a row cost more
//!   than the indicators' whole fold of an event. Compressed because the rows' texts
//!   (procedures, agencies, channels) repeat from row to row, and writing the bytes is most of
//!   what the indicators cost a busy hub (BENCHMARKS.md). Saves written before compression
//!   (`s` + save number alone, packed only) are read as they are;
//! - `c` → rows written by saves since the last compaction, and the live rows then (two u64
//!   big-endian).
//!
//! A dossier's latest row is that of the latest save holding it. When the saves hold more
//! stale rows than live ones (the caller says how many dossiers there are), they are compacted: the latest rows written again as new saves,
//! then the older saves removed (a crash between leaves both, and the latest still wins).
//! Rows of the layout before saves (`d` + dossier code → row) are read as the oldest save and
//! removed by the first compaction.

use super::{SledStore, sled_err};
use crate::store::port::QualityStore;
use crate::store::{QualitySaved, StoreError};
use std::collections::HashMap;

const MARK: &[u8] = b"m";
const COUNTS: &[u8] = b"c";
const SAVE: u8 = b's';
/// The last byte of a compressed save's key.
const COMPRESSED: u8 = b'z';
const OLD_ROW: &[u8] = b"d";
/// Rows a save value holds at most (a larger save is written as several).
const ROWS_A_VALUE: usize = 4096;
/// Saves are not compacted while they hold fewer stale rows than this past the live ones.
const COMPACT_SLACK: u64 = 65_536;

/// `rows` as one value: for each, the code's length (u32 little-endian), the code, the row's
/// length and the row.
fn pack(rows: &[(String, Vec<u8>)]) -> Vec<u8> {
    let size = rows.iter().map(|(c, r)| 8 + c.len() + r.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (code, row) in rows {
        for part in [code.as_bytes(), row.as_slice()] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// The rows of a value `pack` wrote, into `into` (a later row of a code replaces an earlier).
fn unpack(mut v: &[u8], into: &mut HashMap<String, Vec<u8>>) -> Result<(), StoreError> {
    let damaged = || StoreError::Damaged("a saved row of the quality indicators is damaged".into());
    let part = |v: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        let (len, rest) = v.split_first_chunk::<4>().ok_or_else(damaged)?;
        let len = u32::from_le_bytes(*len) as usize;
        let (p, rest) = rest.split_at_checked(len).ok_or_else(damaged)?;
        *v = rest;
        Ok(p.to_vec())
    };
    while !v.is_empty() {
        let code = String::from_utf8(part(&mut v)?).map_err(|_| damaged())?;
        let row = part(&mut v)?;
        into.insert(code, row);
    }
    Ok(())
}

/// A save's rows as its value: packed, then compressed.
fn compress(rows: &[(String, Vec<u8>)]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(&pack(rows))
}

/// The rows of a save's value, into `into`: `key` says whether it is compressed.
fn unpack_save(
    key: &[u8],
    v: &[u8],
    into: &mut HashMap<String, Vec<u8>>,
) -> Result<(), StoreError> {
    if key.len() != 10 || key[9] != COMPRESSED {
        return unpack(v, into);
    }
    let damaged = |why: String| {
        StoreError::Damaged(format!(
            "a saved row of the quality indicators is damaged: {why}"
        ))
    };
    // LZ4 expands a block 255 times at most: a larger length is damage, refused before the
    // buffer for it is taken.
    let (len, block) = lz4_flex::block::uncompressed_size(v).map_err(|e| damaged(e.to_string()))?;
    if len > block.len().saturating_mul(255).saturating_add(16) {
        return Err(damaged(format!(
            "{len} bytes claimed from a block of {}",
            block.len()
        )));
    }
    let packed = lz4_flex::block::decompress(block, len).map_err(|e| damaged(e.to_string()))?;
    if packed.len() != len {
        return Err(damaged(format!(
            "{} bytes where {len} were claimed",
            packed.len()
        )));
    }
    unpack(&packed, into)
}

/// A save numbered at the last number there is: only damage writes one.
fn numbers_spent() -> StoreError {
    StoreError::Damaged("a quality save is numbered at the last number there is (damaged)".into())
}

fn save_key(n: u64) -> [u8; 9] {
    let mut k = [SAVE; 9];
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

/// The key of save `n`, compressed.
fn compressed_key(n: u64) -> [u8; 10] {
    let mut k = [COMPRESSED; 10];
    k[..9].copy_from_slice(&save_key(n));
    k
}

fn u64_at(v: &[u8], at: usize) -> u64 {
    v.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

impl SledStore {
    fn quality_mark(&self) -> Result<u64, StoreError> {
        Ok(self
            .quality
            .get(MARK)
            .map_err(sled_err("read the quality mark"))?
            .map_or(0, |v| u64_at(&v, 0)))
    }

    /// Rows written by saves since the last compaction, and the live rows then.
    fn quality_counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self
            .quality
            .get(COUNTS)
            .map_err(sled_err("read the quality counts"))?
            .map_or((0, 0), |v| (u64_at(&v, 0), u64_at(&v, 8))))
    }

    /// The number the next save takes.
    fn next_save(&self) -> Result<u64, StoreError> {
        let last = self
            .quality
            .scan_prefix([SAVE])
            .keys()
            .next_back()
            .transpose()
            .map_err(sled_err("read the quality saves"))?;
        match last {
            None => Ok(0),
            Some(k) => u64_at(&k, 1).checked_add(1).ok_or_else(numbers_spent),
        }
    }

    /// Every dossier's latest row, by code.
    fn quality_latest(&self) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let t = &self.quality;
        let mut rows = HashMap::new();
        for kv in t.scan_prefix(OLD_ROW) {
            let (k, v) = kv.map_err(sled_err("read the quality indicators"))?;
            rows.insert(String::from_utf8_lossy(&k[1..]).into_owned(), v.to_vec());
        }
        for kv in t.scan_prefix([SAVE]) {
            let (k, v) = kv.map_err(sled_err("read the quality indicators"))?;
            unpack_save(&k, &v, &mut rows)?;
        }
        Ok(rows)
    }

    /// Writes `rows` as saves from number `n` on, with `extra` (keys and values) in the batch
    /// of the last; returns the number after.
    fn quality_saves(
        &self,
        rows: &[(String, Vec<u8>)],
        mut n: u64,
        extra: &[(&[u8], Vec<u8>)],
    ) -> Result<u64, StoreError> {
        // Numbers for every value before any is written, so that none wraps.
        let values = rows.len().div_ceil(ROWS_A_VALUE) as u64;
        if n.checked_add(values).is_none() {
            return Err(numbers_spent());
        }
        let mut chunks = rows.chunks(ROWS_A_VALUE).peekable();
        loop {
            let mut batch = ::sled::Batch::default();
            let chunk = chunks.next();
            if let Some(chunk) = chunk {
                batch.insert(&compressed_key(n), compress(chunk));
                n += 1;
            }
            let last = chunks.peek().is_none();
            if last {
                for (k, v) in extra {
                    batch.insert(*k, v.as_slice());
                }
            }
            self.quality
                .apply_batch(batch)
                .map_err(sled_err("write the quality indicators"))?;
            if last {
                return Ok(n);
            }
        }
    }

    /// Writes every dossier's latest row again as new saves, then removes the older saves (and
    /// rows of the layout before saves).
    fn quality_compact(&self) -> Result<(), StoreError> {
        let first_new = self.next_save()?;
        let rows: Vec<(String, Vec<u8>)> = self.quality_latest()?.into_iter().collect();
        let counts = [0u64.to_be_bytes(), (rows.len() as u64).to_be_bytes()].concat();
        self.quality_saves(&rows, first_new, &[(COUNTS, counts)])?;
        let t = &self.quality;
        let old = t
            .scan_prefix(OLD_ROW)
            .keys()
            .chain(t.range(save_key(0)..save_key(first_new)).keys());
        let mut batch = ::sled::Batch::default();
        for k in old {
            batch.remove(k.map_err(sled_err("read the quality saves"))?);
        }
        t.apply_batch(batch)
            .map_err(sled_err("remove the older quality saves"))
    }
}

impl QualityStore for SledStore {
    fn quality_rows(&self) -> Result<(u64, Vec<Vec<u8>>), StoreError> {
        let mark = self.quality_mark()?;
        Ok((mark, self.quality_latest()?.into_values().collect()))
    }

    fn put_quality_rows(
        &self,
        rows: &[(String, Vec<u8>)],
        mark: u64,
        replace: bool,
        dossiers: u64,
    ) -> Result<QualitySaved, StoreError> {
        let t = &self.quality;
        let stored = self.quality_mark()?;
        if stored > mark || (!replace && stored == mark) {
            return Ok(QualitySaved::Behind);
        }
        let (written, live) = if replace {
            // Cleared first: a crash before the mark is written leaves none, and the
            // indicators are folded again from the start of the log.
            t.clear()
                .map_err(sled_err("clear the quality indicators"))?;
            (0, rows.len() as u64)
        } else {
            let (written, live) = self.quality_counts()?;
            (written + rows.len() as u64, live)
        };
        // The mark with the last save: a crash before leaves saves newer than the mark, and
        // folding the entries after the mark again changes nothing in them
        // (`crate::quality::fold` takes an entry twice as once).
        let counts = [written.to_be_bytes(), live.to_be_bytes()].concat();
        let n = self.next_save()?;
        self.quality_saves(
            rows,
            n,
            &[(COUNTS, counts), (MARK, mark.to_be_bytes().to_vec())],
        )?;
        // Stale rows (held less the dossiers) more than the dossiers: compacted. A save of new
        // dossiers only adds none, however many rows it writes.
        if (written + live).saturating_sub(dossiers) > dossiers + COMPACT_SLACK {
            self.quality_compact()?;
        }
        Ok(QualitySaved::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(of: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        of.iter()
            .map(|(c, r)| (c.to_string(), r.as_bytes().to_vec()))
            .collect()
    }

    fn stored(s: &SledStore) -> (u64, Vec<String>) {
        let (mark, rows) = s.quality_rows().unwrap();
        let mut rows: Vec<String> = rows
            .into_iter()
            .map(|r| String::from_utf8(r).unwrap())
            .collect();
        rows.sort();
        (mark, rows)
    }

    #[test]
    fn the_latest_row_of_each_dossier_is_read_back_across_saves_and_compactions() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(stored(&s), (0, vec![]));
        assert!(
            s.put_quality_rows(&rows(&[("A", "a1"), ("B", "b1")]), 5, false, 2)
                .unwrap()
                .written()
        );
        assert!(
            s.put_quality_rows(&rows(&[("A", "a2")]), 9, false, 2)
                .unwrap()
                .written()
        );
        // At the stored mark or before it: refused, nothing written.
        assert!(
            !s.put_quality_rows(&rows(&[("A", "x")]), 9, false, 2)
                .unwrap()
                .written()
        );
        assert!(
            !s.put_quality_rows(&rows(&[("A", "x")]), 3, true, 1)
                .unwrap()
                .written()
        );
        assert_eq!(stored(&s), (9, vec!["a2".into(), "b1".into()]));
        // Rows of the layout before saves are the oldest.
        s.quality.insert(b"dC", b"c0".as_slice()).unwrap();
        s.quality.insert(b"dA", b"a0".as_slice()).unwrap();
        assert_eq!(stored(&s), (9, vec!["a2".into(), "b1".into(), "c0".into()]));
        // Enough saves of one dossier to compact: the latest of each is kept, the older
        // saves and the old layout's rows are gone.
        let many: Vec<(String, Vec<u8>)> = (0..(COMPACT_SLACK + 10))
            .map(|i| ("A".to_string(), format!("a{}", i + 3).into_bytes()))
            .collect();
        assert!(s.put_quality_rows(&many, 10, false, 3).unwrap().written());
        let last = format!("a{}", COMPACT_SLACK + 12);
        assert_eq!(
            stored(&s),
            (10, vec![last.clone(), "b1".into(), "c0".into()])
        );
        assert_eq!(s.quality.scan_prefix(OLD_ROW).count(), 0);
        assert_eq!(s.quality.scan_prefix([SAVE]).count(), 1);
        assert_eq!(s.quality_counts().unwrap(), (0, 3));
        // A replace keeps only what it writes.
        assert!(
            s.put_quality_rows(&rows(&[("D", "d1")]), 10, true, 1)
                .unwrap()
                .written()
        );
        assert_eq!(stored(&s), (10, vec!["d1".into()]));
        // Read again after the store is opened again.
        drop(s);
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(stored(&s), (10, vec!["d1".into()]));
    }

    #[test]
    fn a_save_larger_than_one_value_is_written_as_several() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let many: Vec<(String, Vec<u8>)> = (0..ROWS_A_VALUE * 2 + 1)
            .map(|i| (format!("D{i}"), vec![b'r'; 3]))
            .collect();
        assert!(
            s.put_quality_rows(&many, 1, false, many.len() as u64)
                .unwrap()
                .written()
        );
        assert_eq!(s.quality.scan_prefix([SAVE]).count(), 3);
        assert_eq!(s.quality_rows().unwrap().1.len(), ROWS_A_VALUE * 2 + 1);
    }

    #[test]
    fn saves_of_new_dossiers_are_never_compacted_and_stale_rows_are() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let fresh = |from: u64, n: u64| -> Vec<(String, Vec<u8>)> {
            (from..from + n)
                .map(|i| (format!("D{i}"), b"r".to_vec()))
                .collect()
        };
        // Three saves of new dossiers, together past the slack: nothing stale, no compaction
        // (each save is still its own values).
        let n = COMPACT_SLACK / 2 + 1;
        for i in 0..3 {
            assert!(
                s.put_quality_rows(&fresh(i * n, n), i + 1, false, (i + 1) * n)
                    .unwrap()
                    .written()
            );
        }
        let saves = s.quality.scan_prefix([SAVE]).count();
        assert_eq!(saves, 3 * n.div_ceil(ROWS_A_VALUE as u64) as usize);
        assert_eq!(s.quality_counts().unwrap(), (3 * n, 0));
        // The same dossiers saved again, twice: stale rows past the live ones and the slack,
        // compacted to one row a dossier.
        let all = fresh(0, 3 * n);
        assert!(s.put_quality_rows(&all, 4, false, 3 * n).unwrap().written());
        assert_eq!(s.quality_counts().unwrap(), (6 * n, 0));
        assert!(s.put_quality_rows(&all, 5, false, 3 * n).unwrap().written());
        assert_eq!(s.quality_counts().unwrap(), (0, 3 * n));
        assert_eq!(s.quality_rows().unwrap().1.len() as u64, 3 * n);
    }

    #[test]
    fn saves_written_before_compression_are_read_and_a_later_save_wins() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        // Two saves as a hub of the layout before compression wrote them.
        s.quality
            .insert(save_key(0), pack(&rows(&[("A", "a0"), ("B", "b0")])))
            .unwrap();
        s.quality
            .insert(save_key(1), pack(&rows(&[("B", "b1")])))
            .unwrap();
        s.quality.insert(MARK, 4u64.to_be_bytes().to_vec()).unwrap();
        assert_eq!(stored(&s), (4, vec!["a0".into(), "b1".into()]));
        // The next save is compressed, numbered after them, and wins over them.
        assert!(
            s.put_quality_rows(&rows(&[("A", "a2"), ("C", "c2")]), 6, false, 3)
                .unwrap()
                .written()
        );
        assert_eq!(
            s.quality
                .scan_prefix([SAVE])
                .keys()
                .last()
                .unwrap()
                .unwrap()
                .as_ref(),
            compressed_key(2)
        );
        assert_eq!(stored(&s), (6, vec!["a2".into(), "b1".into(), "c2".into()]));
        // A compaction writes the latest rows compressed and removes both kinds of older save.
        s.quality_compact().unwrap();
        let keys: Vec<Vec<u8>> = s
            .quality
            .scan_prefix([SAVE])
            .keys()
            .map(|k| k.unwrap().to_vec())
            .collect();
        assert_eq!(keys, vec![compressed_key(3).to_vec()]);
        assert_eq!(stored(&s), (6, vec!["a2".into(), "b1".into(), "c2".into()]));
    }

    #[test]
    fn rows_that_repeat_their_texts_are_stored_in_fewer_bytes() {
        // Rows alike in what a province's dossiers share: procedure, agencies, channel.
        let many: Vec<(String, Vec<u8>)> = (0..ROWS_A_VALUE)
            .map(|i| {
                (
                    format!("H42.{i:08}"),
                    format!(
                        "1.001234.000.00.00.H42|Tu phap|H42.01|H42.01|truc_tuyen|{}",
                        1_760_000_000_000u64 + i as u64 * 997
                    )
                    .into_bytes(),
                )
            })
            .collect();
        let (packed, compressed) = (pack(&many).len(), compress(&many).len());
        assert!(
            compressed * 3 < packed,
            "{compressed} bytes compressed from {packed}"
        );
    }

    #[test]
    fn a_damaged_compressed_save_is_a_clear_error() {
        let mut into = HashMap::new();
        let key = compressed_key(0);
        let good = compress(&rows(&[("A", "a"), ("B", "b")]));
        unpack_save(&key, &good, &mut into).unwrap();
        assert_eq!(into.len(), 2);
        // Cut short, a length past what the block could hold, and a length that is not the
        // block's: each refused, none a panic.
        let mut short = good.clone();
        short.truncate(good.len() - 2);
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut off = good.clone();
        off[0] = off[0].wrapping_sub(1);
        for (what, v) in [
            ("short", short),
            ("huge", huge),
            ("off", off),
            ("empty", vec![]),
        ] {
            let err = unpack_save(&key, &v, &mut HashMap::new()).unwrap_err();
            assert!(err.to_string().contains("damaged"), "{what}: {err}");
        }
    }

    #[test]
    fn saves_numbered_up_to_the_last_number_are_damage_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        // The last number: nothing after it.
        s.quality
            .insert(compressed_key(u64::MAX), compress(&rows(&[("A", "a")])))
            .unwrap();
        assert_eq!(stored(&s), (0, vec!["a".into()]));
        let err = s
            .put_quality_rows(&rows(&[("B", "b")]), 1, false, 2)
            .unwrap_err();
        assert!(matches!(err, StoreError::Damaged(_)), "{err}");
        // One before it: a save of one value fits, one of two values does not, and neither
        // overwrites the other's numbers.
        s.quality.clear().unwrap();
        s.quality
            .insert(compressed_key(u64::MAX - 2), compress(&rows(&[("A", "a")])))
            .unwrap();
        let two: Vec<(String, Vec<u8>)> = (0..ROWS_A_VALUE + 1)
            .map(|i| (format!("D{i}"), b"r".to_vec()))
            .collect();
        let err = s.put_quality_rows(&two, 1, false, 2).unwrap_err();
        assert!(matches!(err, StoreError::Damaged(_)), "{err}");
        assert!(
            s.put_quality_rows(&rows(&[("B", "b")]), 1, false, 2)
                .unwrap()
                .written()
        );
        assert_eq!(stored(&s), (1, vec!["a".into(), "b".into()]));
        // A replacement starts the numbers again.
        assert!(
            s.put_quality_rows(&two, 2, true, two.len() as u64)
                .unwrap()
                .written()
        );
        assert_eq!(s.next_save().unwrap(), 2);
    }

    #[test]
    fn a_damaged_save_is_a_clear_error() {
        let mut into = HashMap::new();
        let mut v = pack(&rows(&[("A", "a")]));
        v.truncate(v.len() - 1);
        let err = unpack(&v, &mut into).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
