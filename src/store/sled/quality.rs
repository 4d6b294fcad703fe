//! The service-quality indicators' dossiers in the embedded store: one tree, `d` + dossier
//! code → row, and `m` → the audit log's index up to which they are folded (u64 big-endian),
//! in a database of their own beside the store's.

use super::{SledStore, sled_err};
use crate::store::StoreError;
use crate::store::port::QualityStore;

const MARK: &[u8] = b"m";

impl SledStore {
    fn quality_mark(&self) -> Result<u64, StoreError> {
        Ok(self
            .quality
            .get(MARK)
            .map_err(sled_err("read the quality mark"))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }
}

impl QualityStore for SledStore {
    fn quality_rows(&self) -> Result<(u64, Vec<Vec<u8>>), StoreError> {
        let t = &self.quality;
        let mark = self.quality_mark()?;
        let rows = t
            .scan_prefix(b"d")
            .values()
            .map(|v| {
                v.map(|v| v.to_vec())
                    .map_err(sled_err("read the quality indicators"))
            })
            .collect::<Result<_, _>>()?;
        Ok((mark, rows))
    }

    fn put_quality_rows(
        &self,
        rows: &[(String, Vec<u8>)],
        mark: u64,
        replace: bool,
    ) -> Result<bool, StoreError> {
        let t = &self.quality;
        let stored = self.quality_mark()?;
        if stored > mark || (!replace && stored == mark) {
            return Ok(false);
        }
        if replace {
            // Cleared first: a crash before the batch leaves no mark, and the indicators are
            // folded again from the start of the log.
            t.clear()
                .map_err(sled_err("clear the quality indicators"))?;
        }
        // In batches of a few hundred rows, the mark last: a crash between leaves rows newer
        // than the mark, and folding the entries after the mark again changes nothing in them
        // (`crate::quality::fold` takes an entry twice as once).
        for chunk in rows.chunks(512) {
            let mut batch = ::sled::Batch::default();
            for (code, row) in chunk {
                let mut key = Vec::with_capacity(code.len() + 1);
                key.push(b'd');
                key.extend_from_slice(code.as_bytes());
                batch.insert(key, row.as_slice());
            }
            t.apply_batch(batch)
                .map_err(sled_err("write the quality indicators"))?;
        }
        t.insert(MARK, &mark.to_be_bytes())
            .map_err(sled_err("write the quality mark"))?;
        Ok(true)
    }
}
