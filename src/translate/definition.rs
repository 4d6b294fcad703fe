//! Checking an adapter definition while compiling it: names, member, transport, timezone,
//! record roots, every field's canonical pointer against the schema, external paths and
//! namespace prefixes, patterns, code tables and their values. Every problem is collected, so
//! that one run of `adapter check` lists them all.

use super::compile::{DateTimeFormat, ExtPath, Field, Root};
use super::json;
use super::mapping::Shape;
use super::transforms::{Pattern, parse_offset};
use super::xml::Step;
use super::xml_read::Plan;
use crate::config::adapter::{AdapterDef, FieldDef, Format, Transport, ValueType};
use crate::validate::SchemaRegistry;
use chrono::FixedOffset;
use serde_json::Value;

pub(super) struct Compiler<'d> {
    pub def: &'d AdapterDef,
    pub problems: Vec<String>,
    pub table_names: Vec<String>,
    pub ns_seed: &'d [String],
}

impl Compiler<'_> {
    pub(super) fn problem(&mut self, at: &str, message: String) {
        self.problems.push(format!("{at}: {message}"));
    }

    pub(super) fn top_level(&mut self, registry: &SchemaRegistry) -> Option<FixedOffset> {
        let def = self.def;
        let name_ok = !def.name.is_empty()
            && def.name.len() <= 64
            && def
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            self.problem(
                "name",
                format!(
                    "{:?}: a name has 1 to 64 lower-case letters, digits and -",
                    def.name
                ),
            );
        }
        if !registry.agency_rule().check(&def.member) {
            self.problem(
                "member",
                format!(
                    "{:?} is not an agency code (pattern {})",
                    def.member,
                    registry.agency_rule().pattern()
                ),
            );
        }
        if def.transport == Transport::Soap && def.format != Format::Xml {
            self.problem("transport", "soap needs format = \"xml\"".into());
        }
        if let Some(ep) = &def.endpoint
            && !(ep.starts_with("http://") || ep.starts_with("https://"))
        {
            self.problem(
                "endpoint",
                format!("{ep:?} is not an http:// or https:// URL"),
            );
        }
        for (key, list) in [("provides", &def.provides), ("consumes", &def.consumes)] {
            for t in list {
                if !def.records.contains_key(t) {
                    self.problem(key, format!("{t:?} has no [records.{t}] mapping"));
                }
            }
        }
        for (prefix, uri) in &def.xml.namespaces {
            if uri.is_empty() {
                self.problem(
                    &format!("xml.namespaces.{prefix}"),
                    "the namespace URI is empty".into(),
                );
            }
        }
        for (name, map) in &def.code_tables {
            if map.is_empty() {
                self.problem(&format!("code_tables.{name}"), "the table is empty".into());
            }
        }
        let limits = def.json.limits;
        if limits.max_depth > 128 {
            self.problem(
                "json.limits.max_depth",
                "at most 128 (the parser's own limit)".into(),
            );
        }
        let d = &def.delivery;
        const DAY_MS: u64 = 24 * 3600 * 1000;
        for (key, ok) in [
            ("delivery.timeout_ms", (1..=600_000).contains(&d.timeout_ms)),
            ("delivery.concurrency", (1..=4096).contains(&d.concurrency)),
            ("delivery.max_attempts", d.max_attempts >= 1),
            ("delivery.max_age_secs", d.max_age_secs >= 1),
            (
                "delivery.backoff_base_ms",
                d.backoff_base_ms <= d.backoff_max_ms,
            ),
            ("delivery.backoff_max_ms", d.backoff_max_ms <= DAY_MS),
            ("delivery.breaker_failures", d.breaker_failures >= 1),
            (
                "delivery.breaker_cooldown_ms",
                d.breaker_cooldown_ms <= DAY_MS,
            ),
        ] {
            if !ok {
                self.problem(
                    key,
                    "out of range (timeout 1 ms to 10 min, concurrency 1 to 4096, attempts and \
                     breaker failures at least 1, backoff base ≤ max ≤ 1 day, cool-down ≤ 1 day)"
                        .into(),
                );
            }
        }
        if d.accept_pointer.is_some() && d.accept.is_empty() {
            self.problem(
                "delivery.accept",
                "accept_pointer needs the accepted values, e.g. accept = [\"0\"]".into(),
            );
        }
        let zone = parse_offset(&def.timezone);
        if zone.is_none() {
            self.problem(
                "timezone",
                format!("{:?} is not a UTC offset such as +07:00", def.timezone),
            );
        }
        zone
    }

    pub(super) fn root(&mut self, at: &str, root: &str) -> Option<Root> {
        match self.def.format {
            Format::Xml => {
                let steps = self.xml_path(&format!("{at}.root"), root)?;
                match <[Step; 1]>::try_from(steps) {
                    Ok([s]) if !s.attribute => {
                        Some(Root::Xml(s.clone(), Box::new(Plan::new(Vec::new(), s))))
                    }
                    _ => {
                        self.problem(
                            &format!("{at}.root"),
                            format!("{root:?}: the root is one element name, e.g. hs:HoSo"),
                        );
                        None
                    }
                }
            }
            Format::Json => match json::tokens(root) {
                Some(t) => Some(Root::Json(t)),
                None => {
                    self.problem(
                        &format!("{at}.root"),
                        format!("{root:?} is not a JSON Pointer (\"\" or starting with /)"),
                    );
                    None
                }
            },
        }
    }

    pub(super) fn xml_path(&mut self, at: &str, path: &str) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        let parts: Vec<&str> = path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let (attribute, name) = match part.strip_prefix('@') {
                Some(n) => (true, n),
                None => (false, *part),
            };
            if attribute && i + 1 != parts.len() {
                self.problem(
                    at,
                    format!("{path:?}: an attribute (@name) can only be the last step"),
                );
                return None;
            }
            let (prefix, local) = match name.split_once(':') {
                Some((p, l)) => (Some(p), l),
                None => (None, name),
            };
            let valid = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            };
            if !valid(local) || prefix.is_some_and(|p| !valid(p)) {
                self.problem(
                    at,
                    format!("{path:?}: {part:?} is not an element or attribute name"),
                );
                return None;
            }
            let ns = match prefix {
                Some(p) => match self.def.xml.namespaces.get(p) {
                    Some(uri) => uri.clone(),
                    None => {
                        self.problem(
                            at,
                            format!(
                                "{path:?}: the prefix {p:?} is not declared in [xml.namespaces]"
                            ),
                        );
                        return None;
                    }
                },
                // Unprefixed attributes have no namespace; unprefixed elements take the default.
                None if attribute => String::new(),
                None => self.def.xml.namespaces.get("").cloned().unwrap_or_default(),
            };
            let ns_index = if ns.is_empty() {
                0
            } else {
                self.ns_seed
                    .iter()
                    .position(|u| *u == ns)
                    .map_or(0, |i| i as u32 + 1)
            };
            steps.push(Step {
                ns_index,
                ns,
                prefix: prefix.map(str::to_string),
                local: local.to_string(),
                attribute,
            });
        }
        Some(steps)
    }

    pub(super) fn fields(
        &mut self,
        at: &str,
        defs: &[FieldDef],
        base: Option<&Value>,
        schema_root: &Value,
    ) -> Vec<Field> {
        let mut out = Vec::new();
        for (i, fd) in defs.iter().enumerate() {
            let label = match (&fd.canonical, &fd.external) {
                (Some(c), _) => format!("{at}.fields[{i}] ({c})"),
                (None, Some(e)) => format!("{at}.fields[{i}] ({})", e.to_vec().join(", ")),
                _ => format!("{at}.fields[{i}]"),
            };
            if let Some(f) = self.field(&label, fd, base, schema_root) {
                out.push(f);
            }
        }
        out
    }

    pub(super) fn field(
        &mut self,
        at: &str,
        fd: &FieldDef,
        base: Option<&Value>,
        schema_root: &Value,
    ) -> Option<Field> {
        let before = self.problems.len();
        let canonical = match &fd.canonical {
            Some(p) => match json::tokens(p) {
                Some(t) if !t.is_empty() => Some(t),
                _ => {
                    self.problem(
                        at,
                        format!(
                            "canonical {p:?} is not a JSON Pointer to a field (e.g. /full_name)"
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let mut target = None;
        if let (Some(tokens), Some(base)) = (&canonical, base) {
            match schema_at(schema_root, base, tokens) {
                Ok(s) => target = Some(s),
                Err(e) => self.problem(at, e),
            }
        }
        let externals = fd.external.as_ref().map(|e| e.to_vec()).unwrap_or_default();
        let mut external = Vec::new();
        for e in &externals {
            match self.def.format {
                Format::Xml => {
                    if let Some(steps) = self.xml_path(at, e) {
                        external.push(ExtPath::Xml { steps, slot: 0 });
                    }
                }
                Format::Json => match json::tokens(e) {
                    Some(t) if !t.is_empty() => external.push(ExtPath::Json(t)),
                    _ => self.problem(
                        at,
                        format!("external {e:?} is not a JSON Pointer (e.g. /hoVaTen)"),
                    ),
                },
            }
        }
        if canonical.is_none() && fd.canonical.is_none() {
            if fd.constant.is_none() || externals.is_empty() {
                self.problem(
                    at,
                    "a field maps a canonical pointer, or writes a constant to an external place"
                        .into(),
                );
            }
        } else if externals.is_empty() && fd.constant.is_none() {
            self.problem(
                at,
                "external is missing (or give a constant for the canonical field)".into(),
            );
        }
        if externals.len() > 1 && fd.join.is_none() {
            self.problem(
                at,
                "several external places need join = \"<separator>\"".into(),
            );
        }
        if externals.len() > 3 {
            self.problem(at, "join takes at most three external places".into());
        }
        if fd.join.is_some() && externals.len() < 2 {
            self.problem(
                at,
                "join needs a list of two or three external places".into(),
            );
        }
        let mut dates = Vec::new();
        if let Some(d) = &fd.date {
            for p in d.to_vec() {
                match Pattern::parse(&p) {
                    Ok(p) => dates.push(p),
                    Err(e) => self.problem(at, e),
                }
            }
        }
        let datetime = match fd.datetime.as_deref() {
            None => None,
            Some("rfc3339") => Some(DateTimeFormat::Rfc3339),
            Some(p) => match Pattern::parse(p) {
                Ok(p) => Some(DateTimeFormat::Pattern(p)),
                Err(e) => {
                    self.problem(at, e);
                    None
                }
            },
        };
        let code_table = match &fd.code_table {
            None => None,
            Some(name) => match self.table_names.iter().position(|n| n == name) {
                Some(i) => Some(i),
                None => {
                    self.problem(
                        at,
                        format!("code table {name:?} is not defined in [code_tables]"),
                    );
                    None
                }
            },
        };
        let converters = [
            fd.date.is_some(),
            fd.datetime.is_some(),
            fd.code_table.is_some(),
            fd.value_type.is_some_and(|t| t != ValueType::String),
        ];
        if converters.iter().filter(|c| **c).count() > 1 {
            self.problem(
                at,
                "use one of date, datetime, code_table and type per field".into(),
            );
        }
        // Code table values must be values the schema allows.
        if let (Some(i), Some(t)) = (code_table, target)
            && let Some(allowed) = resolve(schema_root, t)
                .get("enum")
                .and_then(Value::as_array)
        {
            let name = self.table_names[i].clone();
            let map = &self.def.code_tables[&name];
            for v in map.values() {
                if !allowed.iter().any(|a| a.as_str() == Some(v.as_str())) {
                    self.problem(
                        at,
                        format!(
                            "code table {name} maps to {v:?}, which {} does not allow",
                            fd.canonical.as_deref().unwrap_or_default()
                        ),
                    );
                }
            }
        }
        let mut children = Vec::new();
        if fd.array {
            if fd.join.is_some() {
                self.problem(at, "an array field cannot join".into());
            }
            let items = target.map(|t| resolve(schema_root, t)).and_then(|t| {
                if t.get("type").and_then(Value::as_str) == Some("array") {
                    t.get("items")
                } else {
                    None
                }
            });
            if target.is_some() && items.is_none() {
                self.problem(
                    at,
                    "array = true but the canonical field is not an array".into(),
                );
            }
            children = self.fields(at, &fd.fields, items, schema_root);
        } else if !fd.fields.is_empty() {
            self.problem(at, "fields (item mappings) need array = true".into());
        }
        if self.problems.len() > before {
            return None;
        }
        Some(Field {
            canonical,
            canonical_text: fd.canonical.clone().unwrap_or_default(),
            external,
            external_text: externals.join(" + "),
            required: fd.required,
            trim: fd.trim,
            case: fd.case,
            dates,
            datetime,
            code_table,
            join: fd.join.clone(),
            // Text the hub writes is in NFC, whatever form the adapter file was saved in.
            constant: fd.constant.clone().map(super::transforms::nfc_value),
            default: fd.default.clone().map(super::transforms::nfc_value),
            value_type: fd.value_type,
            array: fd.array,
            children_shape: Shape::of(&children),
            children,
        })
    }
}

impl Compiler<'_> {
    /// The `address` transforms of a record: each place must be an address object of the
    /// 2025 form in the record's schema (one with `commune`, `province` and `legacy`).
    pub(super) fn addresses(
        &mut self,
        at: &str,
        defs: &[crate::config::adapter::AddressDef],
        schema_root: &Value,
    ) -> Vec<super::address::AddressRule> {
        let mut out = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            let here = format!("{at}.addresses[{i}]");
            let Some(tokens) = super::json::tokens(&d.at) else {
                self.problem(
                    &here,
                    format!("at = {:?} is not a JSON Pointer (it starts with /)", d.at),
                );
                continue;
            };
            match schema_at(schema_root, schema_root, &tokens) {
                Err(e) => {
                    self.problem(&here, e);
                    continue;
                }
                Ok(s) => {
                    let props = resolve(schema_root, s)
                        .get("properties")
                        .and_then(Value::as_object);
                    let fits = props.is_some_and(|p| {
                        ["commune", "province", "legacy"]
                            .iter()
                            .all(|k| p.contains_key(*k))
                    });
                    if !fits {
                        self.problem(
                            &here,
                            format!(
                                "{} is not an address of the 2025 form (commune, province, legacy) in this \
                                 schema; use a schema version with them, e.g. dossier.v2",
                                d.at
                            ),
                        );
                        continue;
                    }
                }
            }
            if d.unknown == crate::config::adapter::AddressPolicy::First {
                self.problem(
                    &here,
                    "unknown = \"first\" means nothing: an unknown unit has no successor (use \
                     error or warn)"
                        .into(),
                );
                continue;
            }
            out.push(super::address::AddressRule {
                at: d.at.clone(),
                tokens,
                def: d.clone(),
            });
        }
        out
    }
}

/// Follows a local `$ref` (`#/$defs/x`) if there is one.
fn resolve<'s>(root: &'s Value, schema: &'s Value) -> &'s Value {
    let mut s = schema;
    for _ in 0..8 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(t) => s = t,
                None => break,
            },
            None => break,
        }
    }
    s
}

/// The sub-schema a canonical pointer leads to, or a message naming the first unknown step.
fn schema_at<'s>(root: &'s Value, base: &'s Value, tokens: &[String]) -> Result<&'s Value, String> {
    let mut at = resolve(root, base);
    let mut walked = String::new();
    for t in tokens {
        let props = at.get("properties").and_then(Value::as_object);
        match props.and_then(|p| p.get(t)) {
            Some(next) => at = resolve(root, next),
            None => {
                let known: Vec<&str> = props
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(format!(
                    "the canonical schema has no field {walked}/{t} (known here: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        walked.push('/');
        walked.push_str(t);
    }
    Ok(at)
}
