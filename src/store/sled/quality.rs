//! The service-quality indicators' dossiers in the embedded store: one tree, `d` + dossier
//! code → row, and `m` → the audit log's index up to which they are folded (u64 big-endian),
//! written together in one atomic batch.

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
        if !replace && self.quality_mark()? >= mark {
            return Ok(false);
        }
        if replace {
            // Cleared first: a crash before the batch leaves no mark, and the indicators are
            // folded again from the start of the log.
            t.clear()
                .map_err(sled_err("clear the quality indicators"))?;
        }
        let mut batch = ::sled::Batch::default();
        for (code, row) in rows {
            let mut key = Vec::with_capacity(code.len() + 1);
            key.push(b'd');
            key.extend_from_slice(code.as_bytes());
            batch.insert(key, row.as_slice());
        }
        batch.insert(MARK, &mark.to_be_bytes());
        t.apply_batch(batch)
            .map_err(sled_err("write the quality indicators"))?;
        Ok(true)
    }
}
