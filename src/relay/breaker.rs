//! Retry timing and the circuit breaker of one destination.

/// The wait before attempt `attempt + 1` (1-based attempts made so far): exponential with full
/// jitter, a random time between zero and `min(max, base × 2^(attempt-1))`.
pub(crate) fn backoff_ms(attempt: u32, base_ms: u64, max_ms: u64) -> u64 {
    let exp = attempt.saturating_sub(1).min(30);
    let ceiling = base_ms.saturating_mul(1u64 << exp).min(max_ms).max(1);
    let mut r = [0u8; 8];
    rand::fill(&mut r);
    u64::from_le_bytes(r) % ceiling.saturating_add(1).max(1)
}

/// The state of a destination's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Deliveries flow.
    Closed,
    /// Too many consecutive failures: nothing is sent until the time (ms since the epoch).
    Open { until_ms: u64 },
    /// The cool-down is over: one probe delivery decides.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half-open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// A circuit breaker: opens after `threshold` consecutive failures, probes after `cooldown`.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    pub state: BreakerState,
    failures: u32,
    threshold: u32,
    cooldown_ms: u64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown_ms: u64) -> Breaker {
        Breaker {
            state: BreakerState::Closed,
            failures: 0,
            threshold: threshold.max(1),
            cooldown_ms,
        }
    }

    /// How many deliveries may start now, given how many are in flight (`None`: no limit from
    /// the breaker), and when to look again if none may.
    pub(crate) fn allowance(
        &mut self,
        now_ms: u64,
        in_flight: usize,
    ) -> (Option<usize>, Option<u64>) {
        match self.state {
            BreakerState::Closed => (None, None),
            BreakerState::Open { until_ms } if now_ms < until_ms => (Some(0), Some(until_ms)),
            BreakerState::Open { .. } => {
                self.state = BreakerState::HalfOpen;
                (Some(usize::from(in_flight == 0)), None)
            }
            BreakerState::HalfOpen => (Some(usize::from(in_flight == 0)), None),
        }
    }

    pub(crate) fn success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
    }

    pub(crate) fn failure(&mut self, now_ms: u64) {
        self.failures += 1;
        let open = match self.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => self.failures >= self.threshold,
            BreakerState::Open { .. } => false,
        };
        if open {
            self.state = BreakerState::Open {
                until_ms: now_ms.saturating_add(self.cooldown_ms),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_full_jitter_and_is_capped() {
        for attempt in 1..20 {
            let ceiling = (100u64 << (attempt - 1)).min(5_000);
            for _ in 0..50 {
                assert!(backoff_ms(attempt, 100, 5_000) <= ceiling);
            }
        }
        let spread: std::collections::HashSet<u64> =
            (0..200).map(|_| backoff_ms(6, 100, 5_000)).collect();
        assert!(spread.len() > 50, "full jitter spreads the waits");
    }

    #[test]
    fn the_breaker_opens_probes_and_closes() {
        let mut b = Breaker::new(3, 1_000);
        assert_eq!(b.allowance(0, 5), (None, None));
        b.failure(10);
        b.failure(20);
        assert_eq!(b.state, BreakerState::Closed);
        b.failure(30);
        assert_eq!(b.state, BreakerState::Open { until_ms: 1_030 });
        assert_eq!(b.allowance(500, 0), (Some(0), Some(1_030)));
        // After the cool-down: one probe, only when nothing else is in flight.
        assert_eq!(b.allowance(1_100, 1).0, Some(0));
        assert_eq!(b.state, BreakerState::HalfOpen);
        assert_eq!(b.allowance(1_100, 0).0, Some(1));
        // A failed probe opens it again at once; a good one closes it.
        b.failure(1_200);
        assert_eq!(b.state, BreakerState::Open { until_ms: 2_200 });
        assert_eq!(b.allowance(2_300, 0).0, Some(1));
        b.success();
        assert_eq!(b.state, BreakerState::Closed);
        assert_eq!(b.allowance(2_400, 9), (None, None));
    }
}
