//! Entries handed by the committer to a follower of the log (the service-quality indicators),
//! in memory, so that the follower need not read back and parse what was just written. Only
//! the entries the follower wants are kept (with their sealed part); a commit's batch says how
//! many entries it covered, so the follower knows the others are of no interest without
//! reading them. What was not handed over (entries appended by another hub node, those of
//! before a restart, batches dropped while too many waited) the follower reads back from the
//! store, as it always could.

use super::AuditLog;
use super::entry::AuditEntry;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Which entries a follower wants.
pub type Wanted = fn(&AuditEntry) -> bool;

/// Bytes waiting at most (the sealed records and about 256 bytes an entry); past it, batches
/// are dropped and read back later: a follower far behind (folding a whole log at start)
/// does not make the committer hold the log in memory.
const WAITING_MAX_BYTES: u64 = 64 << 20;

/// One entry a follower wants: the parts of it a follower reads (its time is the batch's), and
/// what it reads of the payload, taken from the record before it was sealed (`facts`) when
/// the caller did so, else the sealed part (empty when the draft had none).
#[derive(Debug, Clone)]
pub struct Handed {
    pub index: u64,
    pub exchange_id: String,
    pub operation: String,
    pub outcome: String,
    pub record_type: Option<String>,
    pub counterparty: Option<String>,
    pub error_code: Option<String>,
    pub facts: Option<Box<crate::quality::fold::Record<'static>>>,
    pub sealed: Vec<u8>,
}

/// The entries `[first, first + count)` of one commit, all of time `time`: those the follower
/// wants, in order.
#[derive(Debug, Clone, Default)]
pub struct HandedBatch {
    pub first: u64,
    pub count: u64,
    pub time: String,
    pub wanted: Vec<Handed>,
}

#[derive(Debug)]
pub(super) struct Follower {
    pub(super) wanted: Wanted,
    /// The batches, and the bytes they hold.
    batches: Mutex<(VecDeque<HandedBatch>, u64)>,
}

impl HandedBatch {
    /// About what it holds in memory.
    fn bytes(&self) -> u64 {
        self.wanted
            .iter()
            .map(|h| h.sealed.len() as u64 + if h.facts.is_some() { 512 } else { 256 })
            .sum::<u64>()
            + 64
    }
}

impl Follower {
    pub(super) fn new(wanted: Wanted) -> Follower {
        Follower {
            wanted,
            batches: Mutex::new((VecDeque::new(), 0)),
        }
    }

    pub(super) fn push(&self, batch: HandedBatch) {
        let bytes = batch.bytes();
        let mut b = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        if b.1 + bytes <= WAITING_MAX_BYTES {
            b.1 += bytes;
            b.0.push_back(batch);
        }
    }
}

impl AuditLog {
    /// Has the committer hand the entries `wanted` picks to `take_handed` from now on.
    pub fn hand_over_to_follower(&self, wanted: Wanted) {
        let _ = self.follower.set(Follower::new(wanted));
    }

    /// Whether a follower takes entries in memory: a caller sealing an entry it wants may
    /// take its `SealedDraft::facts` then.
    pub fn has_follower(&self) -> bool {
        self.follower.get().is_some()
    }

    /// The batches handed over that end by `to`, in order (those wholly before `from` are
    /// dropped). The caller reads back from the store whatever lies between them.
    pub fn take_handed(&self, from: u64, to: u64) -> Vec<HandedBatch> {
        let Some(f) = self.follower.get() else {
            return Vec::new();
        };
        let mut b = f.batches.lock().unwrap_or_else(|p| p.into_inner());
        let (queue, waiting) = &mut *b;
        let mut out = Vec::new();
        while let Some(front) = queue.front() {
            let end = front.first + front.count;
            if end > to {
                break;
            }
            let Some(batch) = queue.pop_front() else {
                break;
            };
            *waiting = waiting.saturating_sub(batch.bytes());
            if end > from {
                out.push(batch);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, count: u64) -> HandedBatch {
        HandedBatch {
            first,
            count,
            ..Default::default()
        }
    }

    #[test]
    fn batches_are_taken_in_order_within_reach() {
        let f = Follower::new(|_| true);
        for b in [batch(0, 10), batch(10, 5), batch(20, 5), batch(25, 5)] {
            f.push(b);
        }
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let key = std::sync::Arc::new(crate::signing::HubKey::from_seed("t", [1; 32]).unwrap());
        let log = AuditLog::open(store, key, &Default::default()).unwrap();
        log.follower.set(f).unwrap();
        let firsts = |v: Vec<HandedBatch>| v.iter().map(|b| b.first).collect::<Vec<_>>();
        // Up to 17: the batches ending by then, in order; the one at 20 waits.
        assert_eq!(firsts(log.take_handed(3, 17)), [0, 10]);
        // Not past `to` (the caller reads the gap [15, 20) back); then the rest.
        assert_eq!(firsts(log.take_handed(15, 27)), [20]);
        assert_eq!(firsts(log.take_handed(25, 30)), [25]);
        assert!(log.take_handed(30, 100).is_empty());
        // Stale batches are dropped.
        let f = log.follower.get().unwrap();
        f.push(batch(30, 5));
        f.push(batch(35, 5));
        assert_eq!(firsts(log.take_handed(35, 100)), [35]);
        assert_eq!(f.batches.lock().unwrap().1, 0);
    }
}
