//! The relay's status, destination by destination: what waits, what is in flight, what was
//! delivered and parked by this process, the circuit breaker.

use super::{Destination, Relay};
use crate::clock::now_ms;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The relay's status of one destination.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationStatus {
    pub destination: String,
    /// Records waiting (including those in flight and waiting for a retry).
    pub depth: usize,
    /// Age of the oldest waiting record, in seconds.
    pub oldest_age_secs: f64,
    pub in_flight: usize,
    pub delivered: u64,
    /// Failed attempts (each retried or parked).
    pub failed: u64,
    /// Records parked as dead letters by this process (the dead-letter list has them all).
    pub dead: u64,
    pub breaker: &'static str,
}

impl Relay {
    /// The status of every destination.
    pub fn status(&self) -> Vec<DestinationStatus> {
        let dests: Vec<Arc<Destination>> = self
            .inner
            .destinations
            .lock()
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default();
        let now = now_ms();
        let mut out: Vec<DestinationStatus> = dests
            .iter()
            .map(|d| {
                let (depth, oldest, in_flight, breaker) = match d.queue.lock() {
                    Ok(q) => (
                        q.pending.len(),
                        q.pending.values().map(|m| m.accepted_at_ms).min(),
                        q.in_flight,
                        q.breaker.state.as_str(),
                    ),
                    Err(_) => (0, None, 0, "unknown"),
                };
                DestinationStatus {
                    destination: d.name.clone(),
                    depth,
                    oldest_age_secs: oldest
                        .map(|t| now.saturating_sub(t) as f64 / 1000.0)
                        .unwrap_or(0.0),
                    in_flight,
                    delivered: d.delivered.load(Ordering::Relaxed),
                    failed: d.failed.load(Ordering::Relaxed),
                    dead: d.dead.load(Ordering::Relaxed),
                    breaker,
                }
            })
            .collect();
        out.sort_by(|a, b| a.destination.cmp(&b.destination));
        out
    }
}
