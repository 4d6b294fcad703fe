//! Once-only pulls: a consumer reads a citizen's data from the authoritative source through the
//! hub, for a declared purpose, and gets only the fields its policy grants, with provenance and
//! the hub's signature.
//!
//! A read goes: policy → rate limit → cache (if the record type has a TTL) → the source
//! adapter's `[lookup]` over HTTP → translate and validate like any record → redact → sign →
//! audit (durably, before the answer).

pub mod documents;
pub mod verify;

use crate::clock::now_ms;
use crate::clock::rfc3339_ms as rfc3339;
use crate::config::policy::{Decision, PolicyConfig};
use crate::registry::AdapterRegistry;
use crate::signing::HubKey;
use crate::store::Store;
use crate::validate::translated::translate_validate;
use crate::validate::{FieldError, SchemaRegistry};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("no source is configured for {0} records (policies: [sources])")]
    NoSource(String),
    #[error("the source {0} is not registered, is disabled, or has no [lookup]")]
    SourceUnusable(String),
    #[error("{record_type} {key} is not known to {source_adapter}")]
    NotFound {
        record_type: String,
        key: String,
        source_adapter: String,
    },
    #[error("the source {source_adapter} did not answer usably: {cause}")]
    Upstream {
        source_adapter: String,
        cause: String,
    },
    #[error("the source's answer is not a valid {record_type} record ({} error(s))", errors.len())]
    Invalid {
        record_type: String,
        errors: Vec<FieldError>,
    },
    #[error("{0:?} is not a personal ID number: {1}")]
    Malformed(String, String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl PullError {
    /// The error code answered and audited.
    pub fn code(&self) -> &'static str {
        match self {
            PullError::NoSource(_) | PullError::SourceUnusable(_) => "pull.no-source",
            PullError::NotFound { .. } => "pull.not-found",
            PullError::Upstream { .. } => "upstream.unavailable",
            PullError::Invalid { .. } => "upstream.invalid",
            PullError::Malformed(..) => "pull.personal-id",
            PullError::Store(_) => "internal",
        }
    }
}

/// A record as read, with where it came from.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub record: Arc<Value>,
    pub source: String,
    pub schema: String,
    pub retrieved_at: String,
    pub from_cache: bool,
}

/// Cached records of one type in memory: key → (fetched at, ms since the epoch; record).
type Memo = HashMap<String, (u64, Arc<Value>)>;

/// The once-only service.
pub struct OnceOnly {
    policy: std::sync::RwLock<Arc<PolicyConfig>>,
    store: Store,
    registry: Arc<AdapterRegistry>,
    schemas: Arc<SchemaRegistry>,
    key: Arc<HubKey>,
    http: reqwest::Client,
    limiters: Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
    /// The cache's records as values, in front of the store's (which keeps them across a
    /// restart): a cached pull then neither reads sled nor parses JSON. Keyed by record type
    /// type, then key; a record type's records are forgotten together when they reach
    /// `MEMO_MAX`.
    memo: std::sync::RwLock<HashMap<String, Memo>>,
    /// Held while a new policy is stored, recorded and put in force, one change at a time.
    pub(crate) policy_change: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for OnceOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnceOnly").finish_non_exhaustive()
    }
}

impl OnceOnly {
    pub fn new(
        policy: Arc<PolicyConfig>,
        store: Store,
        registry: Arc<AdapterRegistry>,
        schemas: Arc<SchemaRegistry>,
        key: Arc<HubKey>,
    ) -> OnceOnly {
        OnceOnly {
            policy: std::sync::RwLock::new(policy),
            store,
            registry,
            schemas,
            key,
            // Redirects are not followed: a followed one would send the personal ID asked
            // for to a place the adapter does not name.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            limiters: Mutex::new(HashMap::new()),
            memo: std::sync::RwLock::new(HashMap::new()),
            policy_change: tokio::sync::Mutex::new(()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<PolicyConfig> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Puts a new policy in force (its allowances start afresh).
    pub fn set_policy(&self, policy: Arc<PolicyConfig>) {
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(p) => *p.into_inner() = policy,
        }
        match self.limiters.lock() {
            Ok(mut l) => l.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }

    /// The hub's key.
    pub fn key(&self) -> &Arc<HubKey> {
        &self.key
    }

    /// Takes `n` pulls from `member`'s allowance; `Err(seconds to wait)` when it is spent.
    pub fn take(&self, member: &str, n: u32) -> Result<(), u64> {
        let limiter = {
            let mut map = match self.limiters.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            map.entry(member.to_string())
                .or_insert_with(|| {
                    let per_minute = NonZeroU32::new(self.policy().per_minute(member))
                        .unwrap_or(NonZeroU32::MIN);
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute)))
                })
                .clone()
        };
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                // Rounded up, so that a client waiting this long is let in.
                Err((wait.as_millis().div_ceil(1000) as u64).max(1))
            }
            // More than the whole allowance at once: wait a minute.
            Err(_) => Err(60),
        }
    }

    /// Reads one record from its source, or from the cache while its TTL runs.
    pub async fn fetch(&self, record_type: &str, key: &str) -> Result<Fetched, PullError> {
        let source = self
            .policy()
            .sources
            .get(record_type)
            .ok_or_else(|| PullError::NoSource(record_type.to_string()))?
            .clone();
        let active = self
            .registry
            .get(&source)
            .filter(|a| a.enabled)
            .ok_or_else(|| PullError::SourceUnusable(source.clone()))?;
        let adapter = &active.adapter;
        let schema = adapter
            .schema_of(record_type)
            .unwrap_or_default()
            .to_string();
        let ttl = self.policy().ttl(record_type);
        if ttl > 0
            && let Some((at, record)) = self.cached(record_type, key)?
            && now_ms().saturating_sub(at) < ttl * 1000
        {
            return Ok(Fetched {
                record,
                source,
                schema,
                retrieved_at: rfc3339(at),
                from_cache: true,
            });
        }
        let def = adapter.definition();
        let (Some(endpoint), Some(lookup)) = (&def.endpoint, &def.lookup) else {
            return Err(PullError::SourceUnusable(source));
        };
        let url = format!(
            "{}{}",
            endpoint.trim_end_matches('/'),
            lookup.path.replace("{key}", &urlencode(key))
        );
        let upstream = |cause: String| PullError::Upstream {
            source_adapter: source.clone(),
            cause,
        };
        let resp = self
            .http
            .get(&url)
            .timeout(Duration::from_millis(lookup.timeout_ms))
            .send()
            .await
            .map_err(|e| {
                upstream(if e.is_timeout() {
                    format!("no answer within {} ms", lookup.timeout_ms)
                } else {
                    format!("cannot reach {url}: {e}")
                })
            })?;
        let status = resp.status().as_u16();
        let redirect_to = crate::http::redirect_target(&resp);
        let body = resp
            .bytes()
            .await
            .map_err(|e| upstream(format!("reading the answer: {e}")))?;
        if status == 404 {
            return Err(PullError::NotFound {
                record_type: record_type.to_string(),
                key: key.to_string(),
                source_adapter: source,
            });
        }
        if let Some(redirect_to) = redirect_to {
            return Err(upstream(format!(
                "answered {status}, a redirect{redirect_to}: not followed (the personal ID is sent only \
                 where the adapter says); if the source moved, change the adapter's endpoint"
            )));
        }
        if !(200..300).contains(&status) {
            let start: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(upstream(format!("answered {status}: {start}")));
        }
        let record =
            translate_validate(adapter, &self.schemas, record_type, &body).map_err(|errors| {
                PullError::Invalid {
                    record_type: record_type.to_string(),
                    errors,
                }
            })?;
        // The source must answer about the person asked for; anything else is not disclosed.
        let about = crate::audit::subject_of(&record);
        if about.as_deref() != Some(key) {
            return Err(PullError::Invalid {
                record_type: record_type.to_string(),
                errors: vec![FieldError::new(
                    "/personal_id",
                    "upstream.wrong-subject",
                    format!(
                        "asked for {key}, the source answered about {}",
                        about.as_deref().unwrap_or("nobody")
                    ),
                )],
            });
        }
        let at = now_ms();
        let record = Arc::new(record);
        if ttl > 0 {
            self.store.cache_put(record_type, key, at, &record)?;
            self.remember(record_type, key, at, &record);
        }
        Ok(Fetched {
            record,
            source,
            schema,
            retrieved_at: rfc3339(at),
            from_cache: false,
        })
    }

    /// A cached record and when it was fetched: from memory, or else from the store (then
    /// remembered).
    fn cached(&self, record_type: &str, key: &str) -> Result<Option<(u64, Arc<Value>)>, PullError> {
        let memo = match self.memo.read() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some((at, record)) = memo.get(record_type).and_then(|m| m.get(key)) {
            return Ok(Some((*at, record.clone())));
        }
        drop(memo);
        let Some((at, record)) = self.store.cache_get(record_type, key)? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        self.remember(record_type, key, at, &record);
        Ok(Some((at, record)))
    }

    fn remember(&self, record_type: &str, key: &str, at: u64, record: &Arc<Value>) {
        const MEMO_MAX: usize = 10_000;
        let mut memo = match self.memo.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let of_type = memo.entry(record_type.to_string()).or_default();
        if of_type.len() >= MEMO_MAX {
            of_type.clear();
        }
        of_type.insert(key.to_string(), (at, record.clone()));
    }

    /// The granted part of a record, and what was withheld: the fields asked for outside the
    /// grant, or (when no fields were named) the record's fields outside the grant.
    pub fn redact(record: &Value, decision: &Decision, named: bool) -> (Value, Vec<String>) {
        let mut data = Map::new();
        let mut withheld: Vec<String> = decision.withheld.clone();
        if let Value::Object(fields) = record {
            for (k, v) in fields {
                if decision.granted.iter().any(|g| g == k) {
                    data.insert(k.clone(), v.clone());
                } else if !named && !withheld.contains(k) {
                    withheld.push(k.clone());
                }
            }
        }
        withheld.sort();
        (Value::Object(data), withheld)
    }

    /// The body's RFC 8785 bytes and the hub's Ed25519 signature over them (base64).
    pub fn sign(&self, body: &Value) -> (Vec<u8>, String) {
        let bytes = crate::model::canonical_json(body);
        let sig = self.key.sign_b64(&bytes);
        (bytes, sig)
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
