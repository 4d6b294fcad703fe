//! `size.dat`: the log's size after commits that made only their entries durable.

use super::{AuditFiles, FileError};
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

impl AuditFiles {
    /// Records `size` as the log's size in `size.dat` and syncs it: for a commit whose
    /// entries are all it makes durable (its sled transaction holds only the size, and is not
    /// flushed). Call after `append` returned. Two slots are written in turn, so that a torn
    /// write leaves the size before it readable.
    pub(crate) fn record_size(&self, size: u64) -> Result<(), FileError> {
        let slot = u64::from(self.size_slot.fetch_xor(true, Ordering::AcqRel));
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&size.to_be_bytes());
        b[8..].copy_from_slice(&size_check(size));
        self.size_file
            .write_all_at(&b, slot * 16)
            .map_err(self.err("record the size", "size.dat"))?;
        self.size_file
            .sync_data()
            .map_err(self.err("sync", "size.dat"))
    }

    /// The larger size of the two slots of `size.dat` whose check is right.
    pub(super) fn recorded_size(&self) -> Result<Option<u64>, FileError> {
        let mut b = [0u8; 32];
        let have = self
            .size_file
            .metadata()
            .map_err(self.err("read the length", "size.dat"))?
            .len()
            .min(32) as usize;
        self.size_file
            .read_exact_at(&mut b[..have], 0)
            .map_err(self.err("read the size", "size.dat"))?;
        Ok(b[..have]
            .chunks_exact(16)
            .filter_map(|slot| {
                let mut n = [0u8; 8];
                n.copy_from_slice(&slot[..8]);
                let size = u64::from_be_bytes(n);
                (slot[8..] == size_check(size)).then_some(size)
            })
            .max())
    }
}

fn size_check(size: u64) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(size.to_be_bytes());
    let mut c = [0u8; 8];
    c.copy_from_slice(&h[..8]);
    c
}
