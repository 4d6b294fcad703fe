//! The adapter registry: definitions as numbered versions in the store, the compiled adapter
//! of each latest version in memory, enable/disable, and registration with a dry run and a
//! connectivity probe.
//!
//! Registration runs exactly what `lienthong adapter check` runs (definition and samples
//! through translate + validate), then probes the adapter's endpoint. An accepted definition
//! that differs from the latest version becomes a new version; the same definition again is
//! "unchanged". Adapter files under the configured directory are registered at start.

use crate::auth::{Caller, Role};
use crate::check::{AdapterReport, CheckOptions, DirSamples, SampleSource, check_adapter};
use crate::config::hub::ProbeConfig;
use crate::store::{AdapterState, AdapterVersion, Store, StoreError};
use crate::translate::Adapter;
use crate::validate::SchemaRegistry;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// An adapter ready to use: the compiled latest version and whether it is enabled.
#[derive(Debug)]
pub struct ActiveAdapter {
    pub adapter: Adapter,
    pub version: u32,
    pub enabled: bool,
}

/// The result of trying an adapter's endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// When, RFC 3339.
    pub at: String,
    pub endpoint: String,
    pub reachable: bool,
    /// The HTTP status the endpoint answered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// The answer to a registration.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// The version stored (or the latest, when unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The definition and samples were the same as the latest version: nothing stored.
    pub unchanged: bool,
    /// Why it was refused for the caller (ownership, roles).
    pub problems: Vec<String>,
    /// Refused because the endpoint did not answer and `probe.required` is set.
    pub unreachable: bool,
    pub check: AdapterReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeReport>,
}

impl Registration {
    /// A registration not (yet) accepted, with the report of its check.
    fn checked(check: AdapterReport) -> Registration {
        Registration {
            accepted: false,
            adapter: check.adapter.clone(),
            version: None,
            unchanged: false,
            problems: Vec::new(),
            unreachable: false,
            check,
            probe: None,
        }
    }
}

/// A line of the adapter list.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub title: String,
    pub member: String,
    pub version: u32,
    pub enabled: bool,
    pub format: String,
    pub transport: String,
    pub provides: Vec<String>,
    pub consumes: Vec<String>,
    /// The last probe of its endpoint by this hub node (at registration, or asked for), if
    /// any since the node started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeReport>,
}

/// Why a registry operation failed (not a refusal of the definition: that is a `Registration`).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Load(String),
}

/// The adapter registry.
pub struct AdapterRegistry {
    store: Store,
    schemas: Arc<SchemaRegistry>,
    active: RwLock<HashMap<String, Arc<ActiveAdapter>>>,
    /// Grows each time an adapter is registered, changed, enabled or disabled: a reader that
    /// keeps an adapter looks it up again when this moved (the relay's workers).
    generation: std::sync::atomic::AtomicU64,
    probe: ProbeConfig,
    http: reqwest::Client,
    /// The last probe of each adapter's endpoint.
    probes: RwLock<HashMap<String, ProbeReport>>,
}

impl std::fmt::Debug for AdapterRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterRegistry").finish_non_exhaustive()
    }
}

impl AdapterRegistry {
    /// Opens the registry over the store, compiling the latest version of every adapter.
    /// A stored definition that no longer compiles (a schema was removed) is skipped with a
    /// warning, not fatal.
    pub fn open(
        store: Store,
        schemas: Arc<SchemaRegistry>,
        probe: ProbeConfig,
    ) -> Result<AdapterRegistry, RegistryError> {
        // The probe reports what the relay and pulls would meet: they follow no redirect.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(probe.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RegistryError::Load(format!("HTTP client: {e}")))?;
        let reg = AdapterRegistry {
            store,
            schemas,
            active: RwLock::new(HashMap::new()),
            generation: Default::default(),
            probe,
            http,
            probes: RwLock::new(HashMap::new()),
        };
        for (name, state) in reg.store.adapter_states()? {
            match reg.compile_stored(&name, state) {
                Ok(a) => {
                    reg.set_active(a);
                }
                Err(e) => tracing::warn!(adapter = %name, "stored adapter not loaded: {e}"),
            }
        }
        Ok(reg)
    }

    fn compile_stored(&self, name: &str, state: AdapterState) -> Result<ActiveAdapter, String> {
        let v = self
            .store
            .adapter_version(name, state.latest)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("version {} is missing", state.latest))?;
        let adapter = Adapter::from_toml(
            &format!("{name} v{}", v.version),
            &v.definition,
            &self.schemas,
        )
        .map_err(|e| e.to_string())?;
        Ok(ActiveAdapter {
            adapter,
            version: v.version,
            enabled: state.enabled,
        })
    }

    fn set_active(&self, a: ActiveAdapter) {
        let name = a.adapter.name().to_string();
        if let Ok(mut map) = self.active.write() {
            map.insert(name, Arc::new(a));
        }
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// How many times the adapters changed since the registry opened.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The active adapter called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<ActiveAdapter>> {
        self.active.read().ok()?.get(name).cloned()
    }

    /// Every adapter, by name.
    pub fn list(&self) -> Vec<AdapterSummary> {
        let Ok(map) = self.active.read() else {
            return Vec::new();
        };
        let probes = self.probes.read().map(|p| p.clone()).unwrap_or_default();
        let mut out: Vec<_> = map
            .values()
            .map(|a| {
                let mut s = summary(a);
                s.probe = probes.get(&s.name).cloned();
                s
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// A stored version (the latest when `version` is `None`), with the adapter's state.
    pub fn show(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<(AdapterVersion, AdapterState, Vec<u32>)>, RegistryError> {
        let Some(state) = self.store.adapter_state(name)? else {
            return Ok(None);
        };
        let v = match self
            .store
            .adapter_version(name, version.unwrap_or(state.latest))?
        {
            Some(v) => v,
            None => return Ok(None),
        };
        let versions = self.store.adapter_version_numbers(name)?;
        Ok(Some((v, state, versions)))
    }

    /// Enables or disables an adapter; false if there is none.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<bool, RegistryError> {
        if !self.store.set_adapter_enabled(name, enabled)? {
            return Ok(false);
        }
        self.store.flush()?;
        if let Some(state) = self.store.adapter_state(name)?
            && let Ok(a) = self.compile_stored(name, state)
        {
            self.set_active(a);
        }
        Ok(true)
    }

    /// Whether `caller` may register or change the adapter owned by `member`.
    pub fn may_manage(caller: &Caller, member: &str) -> bool {
        caller.has(Role::Admin) || (caller.has(Role::Provider) && caller.member == member)
    }

    /// Registers a definition submitted over the API: check, permissions, probe, store.
    /// `strict`: the check's warnings refuse it, as `adapter check --strict` fails.
    pub async fn register(
        &self,
        definition: &str,
        samples: &BTreeMap<String, String>,
        strict: bool,
        caller: &Caller,
    ) -> Result<Registration, RegistryError> {
        let (check, adapter) = check_adapter(
            "submitted definition",
            definition,
            samples,
            &self.schemas,
            CheckOptions {
                write_golden: false,
                strict,
                canonical: false,
            },
        );
        let mut reg = Registration::checked(check);
        let Some(adapter) = adapter else {
            return Ok(reg);
        };
        let member = adapter.definition().member.clone();
        if !Self::may_manage(caller, &member) {
            reg.problems.push(format!(
                "member {} may not register an adapter of member {member} (it needs the admin \
                 role, or the provider role as that member)",
                caller.member
            ));
            return Ok(reg);
        }
        // A new version of an existing adapter: its current owner decides (or an admin), and
        // only an admin moves an adapter to another member.
        if let Some(existing) = self.get(adapter.name()) {
            let owner = &existing.adapter.definition().member;
            if !Self::may_manage(caller, owner) || (owner != &member && !caller.has(Role::Admin)) {
                reg.problems.push(format!(
                    "adapter {} belongs to member {owner}; member {} may not replace it \
                     (only an admin moves an adapter to another member)",
                    adapter.name(),
                    caller.member
                ));
                return Ok(reg);
            }
        }
        if let Some(endpoint) = &adapter.definition().endpoint {
            let probe = self.probe_endpoint(endpoint).await;
            if !probe.reachable && self.probe.required {
                reg.unreachable = true;
            }
            self.note_probe(adapter.name(), &probe);
            reg.probe = Some(probe);
        }
        if !reg.check.ok() || !reg.problems.is_empty() || reg.unreachable {
            return Ok(reg);
        }
        let source = format!("api:{}", caller.member);
        self.store_if_changed(adapter, definition, samples.clone(), source, &mut reg)?;
        Ok(reg)
    }

    fn store_if_changed(
        &self,
        adapter: Adapter,
        definition: &str,
        samples: BTreeMap<String, String>,
        source: String,
        reg: &mut Registration,
    ) -> Result<(), RegistryError> {
        let name = adapter.name().to_string();
        let state = self.store.adapter_state(&name)?;
        if let Some(state) = state
            && let Some(latest) = self.store.adapter_version(&name, state.latest)?
            && latest.definition == definition
            && latest.samples == samples
        {
            reg.accepted = true;
            reg.unchanged = true;
            reg.version = Some(state.latest);
            return Ok(());
        }
        let version = state.map_or(1, |s| s.latest + 1);
        // A disabled adapter stays disabled through new versions: only enable turns it on.
        let enabled = state.is_none_or(|s| s.enabled);
        self.store.put_adapter_version(
            &AdapterVersion {
                name: name.clone(),
                version,
                definition: definition.to_string(),
                samples,
                source,
                registered_at: crate::clock::now_rfc3339(),
            },
            enabled,
        )?;
        self.store.flush()?;
        self.set_active(ActiveAdapter {
            adapter,
            version,
            enabled,
        });
        reg.accepted = true;
        reg.version = Some(version);
        Ok(())
    }

    /// Registers every `*.toml` adapter file of a directory (samples read beside them); the
    /// reports say what happened to each. No probe is run at start.
    pub fn load_dir(&self, dir: &Path) -> Result<Vec<Registration>, RegistryError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| RegistryError::Load(format!("adapters_dir {}: {e}", dir.display())))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| RegistryError::Load(format!("{file}: {e}")))?;
            let source = DirSamples(path.parent().unwrap_or(Path::new(".")));
            let (check, adapter) = check_adapter(
                &file,
                &text,
                &source,
                &self.schemas,
                CheckOptions::default(),
            );
            let mut reg = Registration::checked(check);
            if let Some(adapter) = adapter
                && reg.check.ok()
            {
                let samples = sample_texts(&adapter, &source);
                self.store_if_changed(adapter, &text, samples, format!("file:{file}"), &mut reg)?;
            }
            out.push(reg);
        }
        Ok(out)
    }

    fn note_probe(&self, name: &str, probe: &ProbeReport) {
        if let Ok(mut p) = self.probes.write() {
            p.insert(name.to_string(), probe.clone());
        }
    }

    /// Probes the endpoint of adapter `name` now (a GET, no redirect followed) and keeps the
    /// result for the list; `None` when there is no such adapter or it has no endpoint.
    pub async fn probe(&self, name: &str) -> Option<ProbeReport> {
        let endpoint = self.get(name)?.adapter.definition().endpoint.clone()?;
        let report = self.probe_endpoint(&endpoint).await;
        self.note_probe(name, &report);
        Some(report)
    }

    async fn probe_endpoint(&self, endpoint: &str) -> ProbeReport {
        let at = crate::clock::now_rfc3339();
        let start = Instant::now();
        let result = self.http.get(endpoint).send().await;
        let elapsed_ms = start.elapsed().as_millis() as u64;
        match result {
            Ok(resp) => ProbeReport {
                at,
                endpoint: endpoint.to_string(),
                reachable: true,
                status: Some(resp.status().as_u16()),
                error: None,
                elapsed_ms,
            },
            Err(e) => ProbeReport {
                at,
                endpoint: endpoint.to_string(),
                reachable: false,
                status: None,
                error: Some(if e.is_timeout() {
                    format!("no answer within {} ms", self.probe.timeout_ms)
                } else if e.is_connect() {
                    "connection refused or unreachable".to_string()
                } else {
                    e.to_string()
                }),
                elapsed_ms,
            },
        }
    }
}

/// The texts of the samples (and golden files) an adapter names, as the store keeps them.
fn sample_texts(adapter: &Adapter, source: &dyn SampleSource) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for rdef in adapter.definition().records.values() {
        for s in &rdef.samples {
            let golden = crate::check::golden_path(Path::new(s))
                .display()
                .to_string();
            for name in [s.clone(), golden] {
                if let Ok(bytes) = source.read(&name)
                    && let Ok(text) = String::from_utf8(bytes)
                {
                    out.insert(name, text);
                }
            }
        }
    }
    out
}

fn summary(a: &ActiveAdapter) -> AdapterSummary {
    let d = a.adapter.definition();
    AdapterSummary {
        name: d.name.clone(),
        title: d.title.clone(),
        member: d.member.clone(),
        version: a.version,
        enabled: a.enabled,
        format: format!("{:?}", d.format).to_lowercase(),
        transport: format!("{:?}", d.transport).to_lowercase(),
        provides: d.provides.clone(),
        consumes: d.consumes.clone(),
        probe: None,
    }
}
