//! The audit indexer thread: look-ups behind the committer, and the idempotency-key sweep.

use crate::audit::AuditLog;
use tokio::sync::watch;

/// The claim of the node that writes the audit log's look-ups on a shared store (named as
/// destinations' claims are; no adapter can take the name, which has a space).
pub(crate) const INDEX_CLAIM: &str = "audit log look-ups";

/// The audit indexer: writes look-ups behind the committer until the relay stops, then
/// catches up once more. Between, every ten minutes, it sweeps idempotency keys older than
/// `retention_ms` (0: never), 20,000 keys at a time between its batches of look-ups.
///
/// On a store shared by several hub nodes, one node at a time writes the look-ups, the one
/// that holds the claim `INDEX_CLAIM` (as one node at a time delivers a destination); the
/// others follow the mark it moves (`AuditLog::follow_indexed`), rather than each read back
/// and index every node's entries again. A holder that dies is replaced within the claim's
/// time; meanwhile queries scan the entries above the mark.
pub(super) fn index_loop(
    log: &AuditLog,
    shutdown: &watch::Receiver<bool>,
    retention_ms: u64,
    node: &str,
) {
    const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    const SWEEP_STEP: usize = 20_000;
    const BATCH: u64 = 4096;
    let mut last_sweep: Option<std::time::Instant> = None;
    // A sweep under way: its cutoff, the last key looked at, and what it forgot so far.
    let mut sweep: Option<(u64, Option<Vec<u8>>, u64)> = None;
    let shared = log.store().is_shared();
    let mut claim = super::claim::Claim::default();
    loop {
        let stopping = *shutdown.borrow();
        if shared {
            // Not taken again once stopping: the node gave its claims up.
            if !stopping && claim.renew(log.store(), INDEX_CLAIM, node) {
                tracing::info!(node, "this node writes the audit log's look-ups");
            }
            if !claim.held() {
                if let Err(e) = log.follow_indexed() {
                    tracing::warn!("following the audit log's look-ups: {e}");
                }
                if stopping {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        }
        if retention_ms > 0
            && !stopping
            && sweep.is_none()
            && last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY)
        {
            last_sweep = Some(std::time::Instant::now());
            let cutoff = crate::clock::now_ms().saturating_sub(retention_ms);
            sweep = Some((cutoff, None, 0));
        }
        let mut swept = false;
        if let Some((cutoff, after, total)) = sweep.take()
            && !stopping
        {
            swept = true;
            match log
                .store()
                .sweep_dedup_step(cutoff, after.as_deref(), SWEEP_STEP)
            {
                Ok((n, Some(next))) => sweep = Some((cutoff, Some(next), total + n)),
                Ok((n, None)) if total + n > 0 => {
                    tracing::info!(
                        "forgot {} idempotency keys older than the retention",
                        total + n
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!("sweeping idempotency keys: {e}"),
            }
        }
        match log.index_pending(BATCH) {
            Ok(0) if stopping => break,
            Ok(0) if !swept => std::thread::sleep(std::time::Duration::from_millis(50)),
            // Less than a full batch: wait a little for more rather than write a few at a
            // time. Each write of look-ups is a sled batch, and each sled batch wakes sled's
            // whole I/O pool (BENCHMARKS.md); queries scan the entries above the mark, so
            // nothing is missed meanwhile.
            Ok(n) if n < BATCH && !stopping => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!("audit indexer: {e}");
                if stopping {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}
