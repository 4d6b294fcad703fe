//! A node's claim on a destination's deliveries: in a store shared by several hub nodes, one
//! node at a time delivers a destination (`OutboxStore::claim_delivery`); an embedded store
//! always grants it.

use super::{Destination, RelayCore};
use std::time::Duration;

/// How long a node's claim on a destination's deliveries lasts unless renewed (a store shared
/// by several hub nodes): another node takes the destination over this long after the holder
/// died at the latest.
const CLAIM_TTL_MS: u64 = 5_000;
/// A claim is renewed once less than this is left of it...
const CLAIM_RENEW_MS: u64 = 3_000;
/// ... and counted as this much shorter than the store granted (the time of the round trip
/// and the clocks' drift): a node that lost its database stops delivering before another
/// node may start.
const CLAIM_MARGIN_MS: u64 = 1_000;

/// This node's claim on a destination's deliveries, as the worker keeps it.
#[derive(Default)]
pub(super) struct Claim {
    /// Until when it may deliver (monotonic), if it holds the claim.
    until: Option<std::time::Instant>,
}

impl Claim {
    /// Whether this node may deliver the destination's records now: renews the claim when it
    /// runs short, and, in a store shared by several nodes, reads the outbox for the items
    /// other nodes accepted.
    pub(super) fn holds(&mut self, inner: &RelayCore, dest: &Destination) -> bool {
        let gained = self.renew(&inner.store, &dest.name, &inner.node);
        if gained && inner.store.is_shared() {
            tracing::info!(destination = %dest.name, node = %inner.node, "this node delivers the destination's records");
        }
        let held = self.held();
        // Before each round of picks: an item another node accepted before one of this node's
        // (its client waited for the first's answer) has the lower number and must be in the
        // queue before the later one is picked, or the dossier's events would go out of order.
        if held
            && inner.store.is_shared()
            && let Err(e) = super::load_foreign_outbox_of(&inner.store, dest)
        {
            tracing::warn!(destination = %dest.name, "reading the outbox: {e}");
            return false;
        }
        held
    }

    /// Renews the claim `name` of `node` when it runs short (`OutboxStore::claim_delivery`);
    /// whether it was gained now (not held before).
    pub(super) fn renew(&mut self, store: &crate::store::Store, name: &str, node: &str) -> bool {
        let now = std::time::Instant::now();
        let left = self
            .until
            .map_or(0, |u| u.saturating_duration_since(now).as_millis() as u64);
        if left >= CLAIM_RENEW_MS {
            return false;
        }
        let asked = std::time::Instant::now();
        match store.claim_delivery(name, node, CLAIM_TTL_MS) {
            Ok(true) => {
                let gained = self.until.is_none();
                self.until = Some(
                    asked + Duration::from_millis(CLAIM_TTL_MS.saturating_sub(CLAIM_MARGIN_MS)),
                );
                gained
            }
            Ok(false) => {
                self.until = None;
                false
            }
            Err(e) => {
                // Kept until it runs out: a node that cannot reach its database stops
                // acting on the claim before it could pass to another.
                if left == 0 {
                    self.until = None;
                }
                tracing::warn!(claim = %name, "renewing the claim: {e}");
                false
            }
        }
    }

    /// Whether the claim is held now.
    pub(super) fn held(&self) -> bool {
        self.until.is_some_and(|u| u > std::time::Instant::now())
    }
}

/// A node's clock this far from the shared store's is reported (the log, relay status).
const CLOCK_WARN_MS: i64 = 5_000;
/// How often the clock is compared with the store's.
const CLOCK_EVERY: Duration = Duration::from_secs(30);

/// Compares this node's clock with the shared store's every `CLOCK_EVERY` until the relay
/// stops, keeps the offset for the relay's status, and says in the log when it is off by
/// `CLOCK_WARN_MS` or more (again every ten minutes while it stays off) and when it is right
/// again. Claims run out by the store's clock, so a node's wrong clock never lets two nodes
/// deliver a destination at once; but the times of its audit entries, the expiry of tokens and
/// idempotency keys, and the indicators' "overdue now" are read from the node's clock.
pub(super) fn watch_clock(inner: &RelayCore) {
    let mut warned: Option<std::time::Instant> = None;
    let mut next = std::time::Instant::now();
    loop {
        if *inner.shutdown.borrow() {
            return;
        }
        if std::time::Instant::now() >= next {
            next = std::time::Instant::now() + CLOCK_EVERY;
            match inner.store.clock_offset_ms() {
                Ok(Some(ms)) => {
                    inner
                        .clock_offset_ms
                        .store(ms, std::sync::atomic::Ordering::Relaxed);
                    if ms.abs() >= CLOCK_WARN_MS {
                        if warned.is_none_or(|w| w.elapsed() >= Duration::from_secs(600)) {
                            warned = Some(std::time::Instant::now());
                            let (how, secs) = if ms > 0 {
                                ("ahead of", ms as f64 / 1000.0)
                            } else {
                                ("behind", -ms as f64 / 1000.0)
                            };
                            tracing::warn!(
                                node = %inner.node,
                                offset_ms = ms,
                                "this node's clock is {secs:.1} s {how} the database's: the times of its audit entries, token and idempotency-key expiries and the indicators' overdue-now figures read this clock; set it right (NTP). Claims on deliveries use the database's clock and are not affected"
                            );
                        }
                    } else if warned.take().is_some() {
                        tracing::info!(node = %inner.node, offset_ms = ms, "this node's clock agrees with the database's again");
                    }
                }
                Ok(None) => return,
                Err(e) => tracing::debug!("reading the database's clock: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A name for this hub node's claims and its status: the host's name (so that an operator
/// knows the machine) and an id of this start (so that two starts never share a claim).
pub(super) fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hub".into());
    format!("{host}-{}", uuid::Uuid::now_v7())
}
