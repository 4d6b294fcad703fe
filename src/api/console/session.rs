//! The console's sessions: a random id in an HttpOnly cookie, the credential it stands for kept
//! in memory only, a CSRF token per session, an idle and an absolute time limit.
//!
//! The credential is checked again on every request (a revoked token ends its sessions at
//! once); the session only saves the browser from holding the secret where scripts can read it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie that carries the session id over plain HTTP (development on loopback).
pub const COOKIE: &str = "lienthong_session";
/// Its name under TLS: the `__Host-` prefix makes browsers refuse it from any other host
/// (a sibling subdomain cannot plant one) and without `Secure` and `Path=/`.
pub const COOKIE_TLS: &str = "__Host-lienthong_session";
/// The header a request made with the session cookie must carry, unless it only reads.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused for this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(8 * 60 * 60);
/// Sessions kept at most; beyond it, signing in ends the oldest.
const MAX_SESSIONS: usize = 10_000;
/// Sessions of one credential at most; beyond it, its own oldest ends (one member cannot
/// push the others' sessions out).
const MAX_PER_CREDENTIAL: usize = 20;

/// What a session stands for.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token, as the member gave it at sign-in.
    Token(String),
    /// The names of the client certificate the browser signed in with; every request of the
    /// session must come with the same certificate.
    Certificate(Vec<String>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never the secret.
            Credential::Token(_) => f.write_str("Token(…)"),
            Credential::Certificate(names) => f.debug_tuple("Certificate").field(names).finish(),
        }
    }
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub credential: Credential,
    pub csrf: String,
    created: Instant,
    last: Instant,
}

impl Session {
    /// Seconds left before the session ends if unused.
    pub fn expires_in(&self, now: Instant) -> u64 {
        let idle_end = self.last + IDLE;
        let end = idle_end.min(self.created + ABSOLUTE);
        end.saturating_duration_since(now).as_secs()
    }
}

/// Why a session cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such session (never, or signed out, or the hub restarted).
    Unknown,
    /// It ran out of time.
    Expired,
}

/// The sessions of this hub node.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// Opens a session for `credential`; returns its id and the session.
    pub fn open(&self, credential: Credential) -> (String, Session) {
        let now = Instant::now();
        let session = Session {
            credential,
            csrf: random_hex(),
            created: now,
            last: now,
        };
        let id = random_hex();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut own: Vec<(Instant, String)> = map
            .iter()
            .filter(|(_, s)| s.credential == session.credential)
            .map(|(k, s)| (s.created, k.clone()))
            .collect();
        if own.len() >= MAX_PER_CREDENTIAL {
            own.sort();
            for (_, k) in own.iter().take(own.len() + 1 - MAX_PER_CREDENTIAL) {
                map.remove(k);
            }
        }
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires_in(now) > 0);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The session of `id`, its use recorded; an expired one is removed.
    pub fn touch(&self, id: &str) -> Result<Session, Refusal> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = map.get_mut(id) else {
            return Err(Refusal::Unknown);
        };
        if s.expires_in(now) == 0 {
            map.remove(id);
            return Err(Refusal::Expired);
        }
        s.last = now;
        Ok(s.clone())
    }

    /// Ends a session; whether there was one.
    pub fn close(&self, id: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id).is_some()
    }

    /// Ends every session of a token (its public id is the part after `lt_`).
    pub fn close_token(&self, token_id: &str) {
        let prefix = format!("lt_{token_id}_");
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| !matches!(&s.credential, Credential::Token(t) if t.starts_with(&prefix)));
    }

    #[cfg(test)]
    fn age(&self, id: &str, by: Duration) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get_mut(id) {
            s.last -= by;
            s.created -= by;
        }
    }
}

/// Every value of cookie `name` in a `Cookie` header (a browser sends two of one name when
/// another site or path set one beside the hub's).
pub fn cookies<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_while_used_and_ends_when_idle_or_closed() {
        let s = Sessions::default();
        let (id, session) = s.open(Credential::Token("lt_x".into()));
        assert_eq!(session.csrf.len(), 64);
        assert_ne!(session.csrf, id);
        assert_eq!(s.touch(&id).map(|x| x.csrf), Ok(session.csrf.clone()));
        s.age(&id, IDLE + Duration::from_secs(1));
        assert_eq!(s.touch(&id).err(), Some(Refusal::Expired));
        // Removed once found expired.
        assert_eq!(s.touch(&id).err(), Some(Refusal::Unknown));
        let (id2, _) = s.open(Credential::Token("lt_abcdefabcdef_s".into()));
        assert!(s.touch(&id2).is_ok());
        s.close_token("abcdefabcdef");
        assert_eq!(s.touch(&id2).err(), Some(Refusal::Unknown));
        let (id3, _) = s.open(Credential::Certificate(vec!["a".into()]));
        assert!(s.close(&id3));
        assert!(!s.close(&id3));
    }

    #[test]
    fn one_credential_keeps_at_most_its_share_of_sessions() {
        let s = Sessions::default();
        let other = s.open(Credential::Token("lt_other".into())).0;
        let ids: Vec<String> = (0..MAX_PER_CREDENTIAL + 5)
            .map(|_| s.open(Credential::Token("lt_x".into())).0)
            .collect();
        // Its own oldest went; the other member's session stayed.
        assert!(s.touch(&other).is_ok());
        assert!(s.touch(&ids[0]).is_err());
        assert!(s.touch(ids.last().unwrap()).is_ok());
        let kept = ids.iter().filter(|i| s.touch(i).is_ok()).count();
        assert_eq!(kept, MAX_PER_CREDENTIAL);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let first = |h| cookies(h, COOKIE).next();
        assert_eq!(first("a=1; lienthong_session=xyz; b=2"), Some("xyz"));
        assert_eq!(first("xlienthong_session=1"), None);
        assert_eq!(
            cookies("lienthong_session=a; lienthong_session=b", COOKIE).count(),
            2
        );
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
