//! The members in force: the config file's members are the starting set; members added,
//! changed and retired through the API (`/v1/members`, `lienthong member`) are kept in the
//! store's catalogue and take effect at once for every request after the change.
//!
//! At start each member of the config file is written to the catalogue when it is not there
//! yet, or when the file changed a member that the file itself had written; a member changed
//! through the API keeps the API's form (the hub says so in its log when the file differs).

use super::Members;
use crate::config::hub::MemberConfig;
use crate::store::{MemberRecord, Store, StoreError};
use std::sync::{Arc, RwLock};

/// The member catalogue and the members in force.
pub struct Directory {
    store: Store,
    current: RwLock<Arc<Members>>,
    /// When the members in force were last read from the store.
    read_at: std::sync::Mutex<std::time::Instant>,
}

/// With a store other hub nodes share, the members in force are read again when they are
/// older than this: a member added, changed or retired on another node is in force here
/// within this time.
const SHARED_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

/// A member record of the config file's form.
fn record_of(m: &MemberConfig, source: &str, at: &str) -> MemberRecord {
    MemberRecord {
        code: m.code.clone(),
        name: m.name.clone(),
        roles: m.roles.clone(),
        tls_names: m.tls_names.clone(),
        source: source.to_string(),
        changed_at: at.to_string(),
        retired_at: None,
    }
}

/// The form a member record gives the members in force.
fn config_of(r: &MemberRecord) -> MemberConfig {
    MemberConfig {
        code: r.code.clone(),
        name: r.name.clone(),
        roles: r.roles.clone(),
        tls_names: r.tls_names.clone(),
    }
}

fn same(a: &MemberRecord, b: &MemberConfig) -> bool {
    a.name == b.name && a.roles == b.roles && a.tls_names == b.tls_names
}

impl Directory {
    /// Opens the catalogue over the store, with the config file's members as the starting set.
    pub fn open(store: Store, from_config: &[MemberConfig]) -> Result<Directory, StoreError> {
        let stored = store.members()?;
        let now = crate::clock::now_rfc3339();
        for m in from_config {
            match stored.iter().find(|s| s.code == m.code) {
                None => store.put_member(&record_of(m, "file", &now))?,
                Some(s) if same(s, m) => {}
                Some(s) if s.source == "file" && s.retired_at.is_none() => {
                    store.put_member(&record_of(m, "file", &now))?
                }
                Some(s) => tracing::warn!(
                    member = %m.code,
                    "the config file's form of this member differs from the catalogue's, \
                     which was last written {} by {}: the catalogue's is kept",
                    s.changed_at,
                    s.source
                ),
            }
        }
        let d = Directory {
            store,
            current: RwLock::new(Arc::new(Members::default())),
            read_at: std::sync::Mutex::new(std::time::Instant::now()),
        };
        d.reload()?;
        Ok(d)
    }

    /// The members in force now (read again first, when other hub nodes share the store and
    /// they were read more than `SHARED_FRESH` ago; as last read if the store cannot say).
    pub fn current(&self) -> Arc<Members> {
        if self.store.is_shared() {
            let stale = {
                let mut at = self.read_at.lock().unwrap_or_else(|p| p.into_inner());
                let stale = at.elapsed() >= SHARED_FRESH;
                if stale {
                    // One reader reads again; the others take what is in force meanwhile.
                    *at = std::time::Instant::now();
                }
                stale
            };
            if stale && let Err(e) = self.reload() {
                tracing::warn!("reading the members again: {e}");
            }
        }
        self.current
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Every member the catalogue keeps, retired ones included.
    pub fn records(&self) -> Result<Vec<MemberRecord>, StoreError> {
        self.store.members()
    }

    /// One member of the catalogue, retired or not.
    pub fn record(&self, code: &str) -> Result<Option<MemberRecord>, StoreError> {
        Ok(self.records()?.into_iter().find(|m| m.code == code))
    }

    /// Writes a member (added, changed or retired), durably, and puts it in force.
    pub fn put(&self, record: &MemberRecord) -> Result<(), StoreError> {
        self.store.put_member(record)?;
        self.reload()
    }

    fn reload(&self) -> Result<(), StoreError> {
        let in_force: Vec<MemberConfig> = self
            .store
            .members()?
            .iter()
            .filter(|m| m.retired_at.is_none())
            .map(config_of)
            .collect();
        let members = Arc::new(Members::new(&in_force));
        match self.current.write() {
            Ok(mut c) => *c = members,
            Err(p) => *p.into_inner() = members,
        }
        *self.read_at.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        Ok(())
    }
}
