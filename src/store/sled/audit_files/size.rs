//! `size.dat`: the log's size after commits that made only their entries durable.

use super::{AuditFiles, FileError};
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

impl AuditFiles {
    /// Records `size` as the log's size in `size.dat` and syncs it: for a commit whose
    /// entries are all it makes durable (it writes no journal record; only a moved `y` goes to
    /// sled, unflushed). Call after `append` returned. Two slots are written in turn, so that a torn
    /// write leaves the size before it readable.
    pub(crate) fn record_size(&self, size: u64) -> Result<(), FileError> {
        // Only the committer writes sizes; the slot moves on only once the write is synced, so
        // the other slot always holds the last size known durable.
        let slot = self.size_slot.load(Ordering::Acquire);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&size.to_be_bytes());
        b[8..].copy_from_slice(&size_check(size));
        self.size_file
            .write_all_at(&b, u64::from(slot) * 16)
            .map_err(self.err("record the size", "size.dat"))?;
        self.size_file
            .sync_data()
            .map_err(self.err("sync", "size.dat"))?;
        self.size_slot.store(!slot, Ordering::Release);
        Ok(())
    }

    /// The larger size of the two slots of `size.dat` whose check is right.
    pub(super) fn recorded_size(&self) -> Result<Option<u64>, FileError> {
        Ok(self.slots()?.into_iter().flatten().max())
    }

    /// Points the next write at the slot that holds no valid size or the smaller one, so that
    /// the larger is never the one overwritten (after a restart as much as during a run).
    pub(super) fn aim_size_slot(&self) -> Result<(), FileError> {
        let [a, b] = self.slots()?;
        let second = match (a, b) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) => b < a,
        };
        self.size_slot.store(second, Ordering::Release);
        Ok(())
    }

    /// Forgets every recorded size (when the whole log is erased).
    pub(crate) fn forget_sizes(&self) -> Result<(), FileError> {
        self.size_file
            .set_len(0)
            .map_err(self.err("cut", "size.dat"))?;
        self.size_file
            .sync_all()
            .map_err(self.err("sync", "size.dat"))?;
        self.size_slot.store(false, Ordering::Release);
        Ok(())
    }

    /// The sizes in the two slots, `None` where the check is wrong or the file too short.
    fn slots(&self) -> Result<[Option<u64>; 2], FileError> {
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
        let mut out = [None, None];
        for (i, slot) in b[..have].chunks_exact(16).enumerate().take(2) {
            let mut n = [0u8; 8];
            n.copy_from_slice(&slot[..8]);
            let size = u64::from_be_bytes(n);
            out[i] = (slot[8..] == size_check(size)).then_some(size);
        }
        Ok(out)
    }
}

fn size_check(size: u64) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(size.to_be_bytes());
    let mut c = [0u8; 8];
    c.copy_from_slice(&h[..8]);
    c
}
