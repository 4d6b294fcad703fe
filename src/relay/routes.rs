//! Routes: which destinations a record goes to, with what order key; and their management.

use super::{Relay, RelayError};
use crate::config::hub::{OnceOnlyMode, RouteConfig};
use serde_json::Value;

/// One destination of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub destination: String,
    pub order_key: String,
    /// The route's purpose: share only what the policy grants the destination's member.
    pub purpose: Option<String>,
}

/// Where a record goes, and what it asks for on its way.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// Each destination once, with the order key of the first route that sends it there and
    /// the purpose of the first such route that has one.
    pub destinations: Vec<Routed>,
    /// The strongest once-only mode of the routes the record takes.
    pub once_only: OnceOnlyMode,
}

impl Relay {
    /// Where a record goes, by the routes, in one look at them.
    pub fn route(&self, record_type: &str, source_adapter: &str, record: &Value) -> Routing {
        let mut out = Routing::default();
        let Ok(routes) = self.inner.routes.read() else {
            return out;
        };
        for (_, r) in routes.iter() {
            if !applies(r, record_type, source_adapter, record) {
                continue;
            }
            out.once_only = out.once_only.max(r.once_only);
            let key = crate::model::pointer(record, &r.order_key)
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            for d in &r.to {
                if d == source_adapter {
                    continue;
                }
                match out.destinations.iter_mut().find(|x| &x.destination == d) {
                    // The first route with a purpose decides what is shared.
                    Some(x) => {
                        if x.purpose.is_none() {
                            x.purpose = r.purpose.clone();
                        }
                    }
                    None => out.destinations.push(Routed {
                        destination: d.clone(),
                        order_key: key.clone(),
                        purpose: r.purpose.clone(),
                    }),
                }
            }
        }
        out
    }

    /// Every route: its id (`None` for routes from the config file) and its definition.
    pub fn routes(&self) -> Vec<(Option<u64>, RouteConfig)> {
        self.inner
            .routes
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Checks a route against the registry: the destinations exist and consume the record type.
    pub fn check_route(&self, route: &RouteConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if route.to.is_empty() {
            problems.push("`to` names no destination".to_string());
        }
        if !route.order_key.starts_with('/') {
            problems.push(format!(
                "order_key {:?} is not a JSON Pointer",
                route.order_key
            ));
        }
        for d in &route.to {
            match self.inner.registry.get(d) {
                None => problems.push(format!("no adapter {d} is registered")),
                Some(a) => {
                    let def = a.adapter.definition();
                    if a.adapter.schema_of(&route.record_type).is_none()
                        || !def.consumes.contains(&route.record_type)
                    {
                        problems.push(format!(
                            "adapter {d} does not consume {} (it consumes: {})",
                            route.record_type,
                            def.consumes.join(", ")
                        ));
                    }
                    if def.endpoint.is_none() {
                        problems.push(format!("adapter {d} has no endpoint to deliver to"));
                    }
                }
            }
        }
        problems
    }

    /// Adds a route (stored); destinations met for the first time get their worker.
    pub fn add_route(&self, route: RouteConfig) -> Result<u64, RelayError> {
        let id = self.inner.store.add_route(&route)?;
        for d in &route.to {
            self.inner.destination(d);
        }
        if let Ok(mut r) = self.inner.routes.write() {
            r.push((Some(id), route));
        }
        Ok(id)
    }

    /// Removes a stored route; false if there is none (routes of the config file stay).
    pub fn remove_route(&self, id: u64) -> Result<bool, RelayError> {
        let found = self.inner.store.remove_route(id)?;
        if let Ok(mut r) = self.inner.routes.write() {
            r.retain(|(rid, _)| *rid != Some(id));
        }
        Ok(found)
    }
}

/// Whether a route takes a record: its type, its source adapter, its agencies.
fn applies(r: &RouteConfig, record_type: &str, source_adapter: &str, record: &Value) -> bool {
    if r.record_type != record_type {
        return false;
    }
    if !r.from_adapters.is_empty() && !r.from_adapters.iter().any(|a| a == source_adapter) {
        return false;
    }
    if r.agencies.is_empty() {
        return true;
    }
    let agency = |p: &str| {
        crate::model::pointer(record, p)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    [agency("/receiving_agency"), agency("/resolving_agency")]
        .into_iter()
        .flatten()
        .any(|a| r.agencies.contains(&a))
}
