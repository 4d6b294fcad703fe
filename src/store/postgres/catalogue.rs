//! The catalogue (tokens, adapters, routes, members, policies) and the pull cache on PostgreSQL.

use super::prepared::Prepared;
use super::{PgStore, big, decode, encode};
use crate::config::hub::RouteConfig;
use crate::store::StoreError;
use crate::store::port::{Catalogue, PullCache};
use crate::store::types::{AdapterState, AdapterVersion, MemberRecord, StoredPolicy, TokenRecord};
use serde_json::Value;
impl Catalogue for PgStore {
    fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let (id, bytes) = (token.id.clone(), encode(token));
        self.pool.call("write a token", move |c| {
            c.x(
                "INSERT INTO tokens (id, record) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET record = $2",
                &[&id, &bytes],
            )
            .map(|_| ())
        })?;
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.id.clone(), (token.clone(), std::time::Instant::now()));
        Ok(())
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        // A token read less than `TOKEN_FRESH` ago is taken as read: another node's revocation
        // is in force here within that time.
        let cached = self
            .tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some((t, at)) = &cached
            && at.elapsed() < super::TOKEN_FRESH
        {
            return Ok(Some(t.clone()));
        }
        let key = id.to_string();
        let read = self.pool.call("read a token", move |c| {
            Ok(c.q_opt("SELECT record FROM tokens WHERE id = $1", &[&key])?
                .map(|r| r.get::<_, Vec<u8>>(0)))
        });
        let bytes = match read {
            Ok(b) => b,
            // The database away (restarting, failing over): the token as last read, so that
            // members keep being told 503 for what needs the database, not 401.
            Err(StoreError::Unavailable { .. }) if cached.is_some() => {
                return Ok(cached.map(|(t, _)| t));
            }
            Err(e) => return Err(e),
        };
        let Some(bytes) = bytes else {
            self.tokens
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
            return Ok(None);
        };
        let t: TokenRecord = decode("read a token", &bytes)?;
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(t.id.clone(), (t.clone(), std::time::Instant::now()));
        Ok(Some(t))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = self.pool.call("read tokens", |c| {
            let rows = c.q("SELECT record FROM tokens ORDER BY id", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read a token", b)).collect()
    }

    fn put_adapter_version(
        &self,
        version: &AdapterVersion,
        enabled: bool,
    ) -> Result<(), StoreError> {
        let (name, v, bytes) = (
            version.name.clone(),
            version.version as i32,
            encode(version),
        );
        self.pool.call("store an adapter version", move |c| {
            let mut tx = c.transaction()?;
            tx.x(
                "INSERT INTO adapter_versions (name, version, record) VALUES ($1, $2, $3)
                 ON CONFLICT (name, version) DO UPDATE SET record = $3",
                &[&name, &v, &bytes],
            )?;
            tx.x(
                "INSERT INTO adapters (name, latest, enabled) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET latest = $2, enabled = $3",
                &[&name, &v, &enabled],
            )?;
            tx.commit()
        })
    }

    fn adapter_state(&self, name: &str) -> Result<Option<AdapterState>, StoreError> {
        let name = name.to_string();
        self.pool.call("read an adapter's state", move |c| {
            Ok(c.q_opt(
                "SELECT latest, enabled FROM adapters WHERE name = $1",
                &[&name],
            )?
            .map(|r| AdapterState {
                latest: r.get::<_, i32>(0) as u32,
                enabled: r.get(1),
            }))
        })
    }

    fn set_adapter_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.pool.call("enable or disable an adapter", move |c| {
            Ok(c.x(
                "UPDATE adapters SET enabled = $2 WHERE name = $1",
                &[&name, &enabled],
            )? > 0)
        })
    }

    fn adapter_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<AdapterVersion>, StoreError> {
        let (name, v) = (name.to_string(), version as i32);
        let bytes = self.pool.call("read an adapter version", move |c| {
            Ok(c.q_opt(
                "SELECT record FROM adapter_versions WHERE name = $1 AND version = $2",
                &[&name, &v],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes
            .map(|b| decode("read an adapter version", &b))
            .transpose()
    }

    fn adapter_states(&self) -> Result<Vec<(String, AdapterState)>, StoreError> {
        self.pool.call("read the adapters' states", |c| {
            let rows = c.q(
                "SELECT name, latest, enabled FROM adapters ORDER BY name",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        AdapterState {
                            latest: r.get::<_, i32>(1) as u32,
                            enabled: r.get(2),
                        },
                    )
                })
                .collect())
        })
    }

    fn adapter_version_numbers(&self, name: &str) -> Result<Vec<u32>, StoreError> {
        let name = name.to_string();
        self.pool.call("read an adapter's versions", move |c| {
            let rows = c.q(
                "SELECT version FROM adapter_versions WHERE name = $1 ORDER BY version",
                &[&name],
            )?;
            Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u32).collect())
        })
    }

    fn add_route(&self, route: &RouteConfig) -> Result<u64, StoreError> {
        let bytes = encode(route);
        self.pool.call("add a route", move |c| {
            let row = c.q_one(
                "INSERT INTO routes (id, route) VALUES (nextval('route_ids'), $1) RETURNING id",
                &[&bytes],
            )?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn remove_route(&self, id: u64) -> Result<bool, StoreError> {
        self.pool.call("remove a route", move |c| {
            Ok(c.x("DELETE FROM routes WHERE id = $1", &[&big(id)])? > 0)
        })
    }

    fn routes(&self) -> Result<Vec<(u64, RouteConfig)>, StoreError> {
        let rows = self.pool.call("read routes", |c| {
            let rows = c.q("SELECT id, route FROM routes ORDER BY id", &[])?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1)))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|(id, b)| Ok((*id, decode("read a route", b)?)))
            .collect()
    }

    fn put_member(&self, member: &MemberRecord) -> Result<(), StoreError> {
        let (code, bytes) = (member.code.clone(), encode(member));
        self.pool.call("write a member", move |c| {
            c.x(
                "INSERT INTO members (code, record) VALUES ($1, $2)
                 ON CONFLICT (code) DO UPDATE SET record = $2",
                &[&code, &bytes],
            )
            .map(|_| ())
        })
    }

    fn members(&self) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = self.pool.call("read members", |c| {
            let rows = c.q("SELECT record FROM members ORDER BY code", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read a member", b)).collect()
    }

    fn put_policy(&self, text: &str, at: &str, by: &str) -> Result<u64, StoreError> {
        let (text, at, by) = (text.to_string(), at.to_string(), by.to_string());
        let version = self.pool.call("store a policy", move |c| {
            let mut tx = c.transaction()?;
            tx.x("LOCK TABLE policies IN EXCLUSIVE MODE", &[])?;
            let next: i64 = tx
                .q_one("SELECT coalesce(max(version), 0) + 1 FROM policies", &[])?
                .get(0);
            let record = encode(&StoredPolicy {
                version: next as u64,
                text,
                at,
                by,
            });
            tx.x(
                "INSERT INTO policies (version, record) VALUES ($1, $2)",
                &[&next, &record],
            )?;
            tx.commit()?;
            Ok(next as u64)
        })?;
        Ok(version)
    }

    fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        let rows = self.pool.call("read the policies", |c| {
            let rows = c.q("SELECT record FROM policies ORDER BY version", &[])?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read the policy", b)).collect()
    }

    fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        let bytes = self.pool.call("read the policy", |c| {
            Ok(c.q_opt(
                "SELECT record FROM policies ORDER BY version DESC LIMIT 1",
                &[],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes.map(|b| decode("read the policy", &b)).transpose()
    }
}

impl PullCache for PgStore {
    fn cache_get(&self, record_type: &str, key: &str) -> Result<Option<(u64, Value)>, StoreError> {
        let (t, k) = (record_type.to_string(), key.to_string());
        let row = self.pool.call("read the pull cache", move |c| {
            Ok(c.q_opt(
                "SELECT at_ms, record FROM pull_cache WHERE record_type = $1 AND key = $2",
                &[&t, &k],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1))))
        })?;
        row.map(|(at, b)| Ok((at, decode("read the pull cache", &b)?)))
            .transpose()
    }

    fn cache_put(
        &self,
        record_type: &str,
        key: &str,
        at_ms: u64,
        record: &Value,
    ) -> Result<(), StoreError> {
        let (t, k, bytes) = (record_type.to_string(), key.to_string(), encode(record));
        self.pool.call("write the pull cache", move |c| {
            c.x(
                "INSERT INTO pull_cache (record_type, key, at_ms, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (record_type, key) DO UPDATE SET at_ms = $3, record = $4",
                &[&t, &k, &big(at_ms), &bytes],
            )
            .map(|_| ())
        })
    }
}
