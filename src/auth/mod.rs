//! Members, roles and credentials: who is calling, and may they.
//!
//! A member is an organisation identified by its agency code, configured in `hub.toml` with the
//! roles it may act in and the client-certificate names that identify it over mutual TLS.
//! Bearer tokens (`lienthong token create`) name one member and one role; the hub keeps only
//! the SHA-256 of the secret and compares it in constant time.

mod directory;

pub use directory::Directory;

use crate::config::hub::MemberConfig;
use crate::store::{Store, StoreError, TokenRecord};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

pub use crate::model::Role;

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token, by its public id.
    Token(String),
    /// A client certificate, by the name that matched.
    Certificate(String),
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The member's agency code.
    pub member: String,
    /// The roles it acts in on this request.
    pub roles: Vec<Role>,
    pub credential: Credential,
}

impl Caller {
    /// Whether the caller acts in `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Why a credential was refused. Messages never repeat the secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the bearer token is not of the form lt_<id>_<secret>")]
    Malformed,
    #[error("no such token")]
    Unknown,
    #[error("the token was revoked")]
    Revoked,
    #[error("the token expired at {0}")]
    Expired(String),
    #[error("the token's member {0} is not configured, or no longer has its role")]
    MemberGone(String),
    #[error("the client certificate names no member (names: {0})")]
    UnknownCertificate(String),
    #[error("the token is for member {token} but the client certificate is member {cert}'s")]
    Mismatch { token: String, cert: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The configured members, indexed for look-up.
#[derive(Debug, Clone, Default)]
pub struct Members {
    by_code: HashMap<String, MemberConfig>,
    by_tls_name: HashMap<String, String>,
}

impl Members {
    /// Indexes the configured members.
    pub fn new(members: &[MemberConfig]) -> Members {
        let mut m = Members::default();
        for member in members {
            for n in &member.tls_names {
                m.by_tls_name.insert(n.clone(), member.code.clone());
            }
            m.by_code.insert(member.code.clone(), member.clone());
        }
        m
    }

    /// The agency codes in force, sorted.
    pub fn codes(&self) -> Vec<&str> {
        let mut c: Vec<&str> = self.by_code.keys().map(String::as_str).collect();
        c.sort_unstable();
        c
    }

    /// A member by agency code.
    pub fn get(&self, code: &str) -> Option<&MemberConfig> {
        self.by_code.get(code)
    }

    fn roles_of(&self, code: &str) -> Vec<Role> {
        self.by_code
            .get(code)
            .map(|m| m.roles.iter().filter_map(|r| Role::parse(r)).collect())
            .unwrap_or_default()
    }

    /// The member a client certificate identifies, by its subject common name or DNS names.
    pub fn by_certificate(&self, names: &[String]) -> Result<Caller, AuthError> {
        for n in names {
            if let Some(code) = self.by_tls_name.get(n) {
                return Ok(Caller {
                    member: code.clone(),
                    roles: self.roles_of(code),
                    credential: Credential::Certificate(n.clone()),
                });
            }
        }
        Err(AuthError::UnknownCertificate(names.join(", ")))
    }
}

/// A token as printed once to its owner.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub secret: String,
}

impl IssuedToken {
    /// The full bearer value, `lt_<id>_<secret>`.
    pub fn bearer(&self) -> String {
        format!("lt_{}_{}", self.id, self.secret)
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Creates a token for `member` acting as `role`, storing only the hash of its secret.
pub fn create_token(store: &Store, member: &str, role: Role) -> Result<IssuedToken, StoreError> {
    create_token_until(store, member, role, None)
}

/// The time `secs` seconds from now, in the hub's format (for `create_token_until`).
pub fn expiry_in(secs: u64) -> String {
    crate::clock::rfc3339_ms(crate::clock::now_ms().saturating_add(secs.saturating_mul(1000)))
}

/// Creates a token that is refused after `expires_at` (RFC 3339 UTC in the hub's format, see
/// `expiry_in`); `None`: it does not expire.
pub fn create_token_until(
    store: &Store,
    member: &str,
    role: Role,
    expires_at: Option<String>,
) -> Result<IssuedToken, StoreError> {
    let mut id = [0u8; 6];
    rand::fill(&mut id);
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let issued = IssuedToken {
        id: hex::encode(id),
        secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    };
    store.put_token(&TokenRecord {
        id: issued.id.clone(),
        member: member.to_string(),
        role: role.as_str().to_string(),
        secret_sha256: sha256_hex(&issued.secret),
        created_at: crate::clock::now_rfc3339(),
        revoked_at: None,
        expires_at,
    })?;
    store.flush()?;
    Ok(issued)
}

/// Revokes a token by id; false if there is none.
pub fn revoke_token(store: &Store, id: &str) -> Result<bool, StoreError> {
    let Some(mut t) = store.token(id)? else {
        return Ok(false);
    };
    if t.revoked_at.is_none() {
        t.revoked_at = Some(crate::clock::now_rfc3339());
        store.put_token(&t)?;
        store.flush()?;
    }
    Ok(true)
}

/// Checks a bearer token: known, not revoked, secret matching (in constant time), member still
/// configured with the role.
pub fn verify_token(store: &Store, members: &Members, bearer: &str) -> Result<Caller, AuthError> {
    let rest = bearer.strip_prefix("lt_").ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    if id.len() != 12 || secret.is_empty() || secret.len() > 64 {
        return Err(AuthError::Malformed);
    }
    let record = store.token(id)?.ok_or(AuthError::Unknown)?;
    let presented = sha256_hex(secret);
    let matches: bool = presented
        .as_bytes()
        .ct_eq(record.secret_sha256.as_bytes())
        .into();
    if !matches {
        return Err(AuthError::Unknown);
    }
    if record.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    // The hub's times are fixed-width UTC text: text order is time order.
    if let Some(at) = record.expires_at
        && crate::clock::now_rfc3339() >= at
    {
        return Err(AuthError::Expired(at));
    }
    let role = Role::parse(&record.role).ok_or(AuthError::MemberGone(record.member.clone()))?;
    if !members.roles_of(&record.member).contains(&role) {
        return Err(AuthError::MemberGone(record.member));
    }
    Ok(Caller {
        member: record.member,
        roles: vec![role],
        credential: Credential::Token(record.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Members {
        Members::new(&[MemberConfig {
            code: "000.00.00.H42".into(),
            name: String::new(),
            roles: vec!["provider".into(), "admin".into()],
            tls_names: vec!["motcua-hatinh".into()],
        }])
    }

    #[test]
    fn tokens_verify_until_revoked_and_store_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = create_token(&store, "000.00.00.H42", Role::Provider).unwrap();
        let caller = verify_token(&store, &members(), &t.bearer()).unwrap();
        assert_eq!(caller.member, "000.00.00.H42");
        assert_eq!(caller.roles, [Role::Provider]);
        let stored = store.token(&t.id).unwrap().unwrap();
        assert!(!format!("{stored:?}").contains(&t.secret));
        // A wrong secret with the right id is unknown, not "wrong secret".
        let forged = format!("lt_{}_{}", t.id, "A".repeat(43));
        assert!(matches!(
            verify_token(&store, &members(), &forged),
            Err(AuthError::Unknown)
        ));
        assert!(revoke_token(&store, &t.id).unwrap());
        assert!(matches!(
            verify_token(&store, &members(), &t.bearer()),
            Err(AuthError::Revoked)
        ));
        assert!(matches!(
            verify_token(&store, &members(), "Bearer x"),
            Err(AuthError::Malformed)
        ));
    }

    #[test]
    fn a_token_is_refused_after_its_expiry_and_taken_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let later = create_token_until(
            &store,
            "000.00.00.H42",
            Role::Provider,
            Some(expiry_in(3600)),
        )
        .unwrap();
        assert!(verify_token(&store, &members(), &later.bearer()).is_ok());
        let past = "2025-07-01T00:00:00.000Z".to_string();
        let gone = create_token_until(&store, "000.00.00.H42", Role::Provider, Some(past.clone()))
            .unwrap();
        match verify_token(&store, &members(), &gone.bearer()) {
            Err(AuthError::Expired(at)) => assert_eq!(at, past),
            other => panic!("an expired token was not refused as expired: {other:?}"),
        }
        // The expiry is in the hub's fixed-width format, so text order is time order.
        assert!(expiry_in(1) > crate::clock::now_rfc3339());
        assert_eq!(expiry_in(0).len(), crate::clock::now_rfc3339().len());
    }

    #[test]
    fn a_token_whose_member_lost_the_role_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = create_token(&store, "000.00.00.H42", Role::Auditor).unwrap();
        assert!(matches!(
            verify_token(&store, &members(), &t.bearer()),
            Err(AuthError::MemberGone(_))
        ));
    }

    #[test]
    fn certificates_map_to_members_by_name() {
        let m = members();
        let c = m
            .by_certificate(&["other".into(), "motcua-hatinh".into()])
            .unwrap();
        assert_eq!(c.member, "000.00.00.H42");
        assert!(c.has(Role::Admin) && c.has(Role::Provider) && !c.has(Role::Consumer));
        assert!(m.by_certificate(&["stranger".into()]).is_err());
    }
}
