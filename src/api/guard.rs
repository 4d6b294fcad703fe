//! Guessing credentials: failed authentications are counted per client address in a window of
//! a minute; past `limits.auth_failures_per_minute` the address is refused (429
//! `auth.too-many-failures`, with `Retry-After`) before any credential it sends is checked,
//! until the window ends. Failures and blocks are audit entries (`authenticate`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The client's address, set by the server per connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; older windows are dropped first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
struct Window {
    start: Instant,
    failures: u32,
}

/// Failure counts per address.
#[derive(Debug)]
pub(crate) struct AuthGuard {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, Window>>,
}

/// What a failure did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Counted; the address may go on.
    Counted,
    /// This failure went over the limit: the address is refused for `secs`.
    Blocked { secs: u64 },
}

impl AuthGuard {
    pub(crate) fn new(per_minute: u32) -> AuthGuard {
        AuthGuard {
            per_minute: per_minute.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until an address that is over its limit may try again; `None` if it may now.
    pub(crate) fn blocked(&self, ip: IpAddr) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let w = seen.get(&ip)?;
        let left = WINDOW.checked_sub(w.start.elapsed())?;
        (w.failures >= self.per_minute).then(|| left.as_secs().max(1))
    }

    /// Counts a failed authentication from `ip`.
    pub(crate) fn failed(&self, ip: IpAddr) -> Failure {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, w| w.start.elapsed() < WINDOW);
        }
        let w = seen.entry(ip).or_insert(Window {
            start: Instant::now(),
            failures: 0,
        });
        if w.start.elapsed() >= WINDOW {
            *w = Window {
                start: Instant::now(),
                failures: 0,
            };
        }
        w.failures += 1;
        if w.failures >= self.per_minute {
            let left = WINDOW.saturating_sub(w.start.elapsed());
            Failure::Blocked {
                secs: left.as_secs().max(1),
            }
        } else {
            Failure::Counted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_at_its_limit_and_others_are_not() {
        let g = AuthGuard::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(g.failed(a), Failure::Counted);
        assert_eq!(g.failed(a), Failure::Counted);
        assert_eq!(g.blocked(a), None);
        assert!(matches!(g.failed(a), Failure::Blocked { secs } if secs <= 60));
        assert!(g.blocked(a).is_some());
        assert_eq!(g.blocked(b), None);
    }
}
