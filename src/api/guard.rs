//! Guessing credentials: failed authentications are counted per client address in a window of
//! a minute; past `limits.auth_failures_per_minute` the address is refused (429
//! `auth.too-many-failures`, with `Retry-After`) before any credential it sends is checked,
//! until the window ends; a request with a valid member client certificate is never refused for
//! it (mutual TLS cannot be guessed). IPv6 addresses are counted by their /64. The first failure
//! of an address in a window and its block are audit entries (`authenticate`); the failures in
//! between are counted in the metrics only, so that guessing cannot flood the log.

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
    /// The first in this address's window (recorded in the audit log).
    First,
    /// Counted; the address may go on.
    Counted,
    /// This failure went over the limit: the address is refused for `secs` (recorded).
    Blocked { secs: u64 },
}

/// The key an address is counted under: IPv4 as it is, IPv6 by its /64 (one host usually
/// holds a whole /64, and could otherwise change address at every guess).
fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut s = v6.segments();
            for x in &mut s[4..] {
                *x = 0;
            }
            IpAddr::V6(std::net::Ipv6Addr::from(s))
        }
        v4 => v4,
    }
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
        let w = seen.get(&key_of(ip))?;
        let left = WINDOW.checked_sub(w.start.elapsed())?;
        (w.failures >= self.per_minute).then(|| left.as_secs().max(1))
    }

    /// Counts a failed authentication from `ip`.
    pub(crate) fn failed(&self, ip: IpAddr) -> Failure {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, w| w.start.elapsed() < WINDOW);
            if seen.len() >= MAX_TRACKED {
                // As many guessing addresses as that at once: start counting afresh rather
                // than scan a full map at every failure.
                tracing::warn!("failed authentications from {MAX_TRACKED} addresses at once");
                seen.clear();
            }
        }
        let w = seen.entry(key_of(ip)).or_insert(Window {
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
        } else if w.failures == 1 {
            Failure::First
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
        assert_eq!(g.failed(a), Failure::First);
        assert_eq!(g.failed(a), Failure::Counted);
        assert_eq!(g.blocked(a), None);
        assert!(matches!(g.failed(a), Failure::Blocked { secs } if secs <= 60));
        assert!(g.blocked(a).is_some());
        assert_eq!(g.blocked(b), None);
        // IPv6 addresses of one /64 are one key.
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..3 {
            g.failed(x);
        }
        assert!(g.blocked(y).is_some());
    }
}
