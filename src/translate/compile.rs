//! Compiling an adapter definition: every path, pointer, pattern and code table is checked once
//! against the schema registry, so that translating a record does no parsing of the definition.

use super::transforms::{CodeTable, Pattern, parse_offset};
use super::xml::Step;
use super::xml_read::{Plan, Scope};
use super::{TranslateError, json, mapping, soap, xml_read};
use crate::config::adapter::{
    AdapterDef, Case, DefinitionError, FieldDef, Format, Transport, ValueType,
};
use crate::validate::SchemaRegistry;
use chrono::FixedOffset;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Why an adapter definition was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The file could not be read or is not a definition (TOML syntax, unknown key, wrong type).
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The definition parsed but is not coherent; every problem is listed.
    #[error("{file}: {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid { file: String, problems: Vec<String> },
}

impl AdapterError {
    /// Every problem, one line each.
    pub fn problems(&self) -> Vec<String> {
        match self {
            AdapterError::Definition(d) => vec![d.to_string()],
            AdapterError::Invalid { problems, .. } => problems.clone(),
        }
    }
}

/// A date-time transform.
#[derive(Debug, Clone)]
pub(crate) enum DateTimeFormat {
    Rfc3339,
    Pattern(Pattern),
}

/// A place in the external document.
#[derive(Debug, Clone)]
pub(crate) enum ExtPath {
    /// Element steps from the record root (the last may be an attribute), and the slot the
    /// reading plan gives the place (a value slot, or an array slot for array fields).
    Xml { steps: Vec<Step>, slot: u32 },
    /// JSON Pointer tokens from the record object.
    Json(Vec<String>),
}

/// A compiled field mapping.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub canonical: Option<Vec<String>>,
    pub canonical_text: String,
    pub external: Vec<ExtPath>,
    pub external_text: String,
    pub required: bool,
    pub trim: bool,
    pub case: Option<Case>,
    pub dates: Vec<Pattern>,
    pub datetime: Option<DateTimeFormat>,
    pub code_table: Option<usize>,
    pub join: Option<String>,
    pub constant: Option<Value>,
    pub default: Option<Value>,
    pub value_type: Option<ValueType>,
    pub array: bool,
    pub children: Vec<Field>,
}

/// Where the record sits in the external document.
#[derive(Debug, Clone)]
pub(crate) enum Root {
    /// The record's root element, and the plan that reads the record.
    Xml(Step, Box<Plan>),
    Json(Vec<String>),
}

/// A compiled record mapping.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub schema: String,
    pub root: Root,
    pub envelope: Vec<(Vec<String>, Value)>,
    pub fields: Vec<Field>,
}

/// An adapter, compiled and ready to translate.
#[derive(Debug, Clone)]
pub struct Adapter {
    def: AdapterDef,
    file: String,
    pub(crate) zone: FixedOffset,
    pub(crate) tables: Vec<CodeTable>,
    pub(crate) records: BTreeMap<String, Record>,
    /// Namespace declarations written on outbound XML roots: (prefix, uri).
    pub(crate) xmlns: Vec<(String, String)>,
}

impl Adapter {
    /// Reads and compiles an adapter file.
    pub fn load(path: &Path, registry: &SchemaRegistry) -> Result<Adapter, AdapterError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DefinitionError::Io {
            file: file.clone(),
            source,
        })?;
        Adapter::from_toml(&file, &text, registry)
    }

    /// Parses and compiles an adapter definition; `file` names it in errors.
    pub fn from_toml(
        file: &str,
        text: &str,
        registry: &SchemaRegistry,
    ) -> Result<Adapter, AdapterError> {
        let def = AdapterDef::from_toml(file, text)?;
        Adapter::compile(def, file, registry)
    }

    /// Compiles a parsed definition, listing every problem found.
    pub fn compile(
        def: AdapterDef,
        file: &str,
        registry: &SchemaRegistry,
    ) -> Result<Adapter, AdapterError> {
        let mut ns_seed: Vec<String> = xml_read::base_namespaces();
        for uri in def.xml.namespaces.values() {
            if !ns_seed.contains(uri) {
                ns_seed.push(uri.clone());
            }
        }
        let mut c = Compiler {
            def: &def,
            problems: Vec::new(),
            table_names: def.code_tables.keys().cloned().collect(),
            ns_seed: &ns_seed,
        };
        let zone = c.top_level(registry);
        let mut records = BTreeMap::new();
        for (record_type, rdef) in &def.records {
            let at = format!("records.{record_type}");
            let Some(schema) = registry.get(&rdef.schema) else {
                c.problem(
                    &at,
                    format!(
                        "schema {:?} is not known (known: {})",
                        rdef.schema,
                        registry.keys().join(", ")
                    ),
                );
                continue;
            };
            if schema.name() != record_type {
                c.problem(
                    &at,
                    format!(
                        "schema {} is for record type {}, not {record_type}",
                        schema.key(),
                        schema.name()
                    ),
                );
            }
            let root = c.root(&at, &rdef.root);
            let mut envelope = Vec::new();
            for (ptr, value) in &rdef.envelope {
                if def.format != Format::Json {
                    c.problem(&at, "envelope is for JSON adapters only".into());
                    break;
                }
                match json::tokens(ptr) {
                    Some(t) => envelope.push((t, value.clone())),
                    None => c.problem(
                        &at,
                        format!("envelope key {ptr:?} is not a JSON Pointer (it starts with /)"),
                    ),
                }
            }
            let mut fields = c.fields(
                &at,
                &rdef.fields,
                Some(schema.document()),
                schema.document(),
            );
            let root = match root {
                Some(Root::Xml(step, _)) => {
                    let mut plan = Plan::new(ns_seed.clone(), step.clone());
                    plan_fields(&mut plan, Plan::root_scope(), &mut fields);
                    Some(Root::Xml(step, Box::new(plan)))
                }
                other => other,
            };
            if let Some(root) = root {
                records.insert(
                    record_type.clone(),
                    Record {
                        schema: schema.key(),
                        root,
                        envelope,
                        fields,
                    },
                );
            }
        }
        if !c.problems.is_empty() {
            return Err(AdapterError::Invalid {
                file: file.to_string(),
                problems: c.problems,
            });
        }
        let tables = def
            .code_tables
            .iter()
            .map(|(name, map)| CodeTable::new(name, map))
            .collect();
        let xmlns = def
            .xml
            .namespaces
            .iter()
            .map(|(p, u)| (p.clone(), u.clone()))
            .collect();
        Ok(Adapter {
            zone: zone.unwrap_or_else(|| FixedOffset::east_opt(7 * 3600).expect("valid offset")),
            file: file.to_string(),
            def,
            tables,
            records,
            xmlns,
        })
    }

    /// The adapter's name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// The definition it was compiled from.
    pub fn definition(&self) -> &AdapterDef {
        &self.def
    }

    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The record types it maps.
    pub fn record_types(&self) -> impl Iterator<Item = &str> {
        self.records.keys().map(String::as_str)
    }

    /// The canonical schema (`name.vN`) of a record type.
    pub fn schema_of(&self, record_type: &str) -> Option<&str> {
        self.records.get(record_type).map(|r| r.schema.as_str())
    }

    fn record(&self, record_type: &str) -> Result<&Record, TranslateError> {
        self.records
            .get(record_type)
            .ok_or_else(|| TranslateError::UnknownRecordType {
                adapter: self.def.name.clone(),
                record_type: record_type.to_string(),
                known: self.records.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Translates a document in the adapter's format into a canonical record (not yet validated).
    pub fn inbound(&self, record_type: &str, document: &[u8]) -> Result<Value, TranslateError> {
        let record = self.record(record_type)?;
        match (&record.root, self.def.format) {
            (Root::Xml(_, plan), _) => {
                let frame = xml_read::read(document, &self.def.xml.limits, plan)?;
                mapping::inbound_xml(self, record, &frame)
            }
            (Root::Json(tokens), _) => {
                let value = json::parse(document, &self.def.json.limits)?;
                let Some(obj) = json::get(&value, tokens).filter(|v| v.is_object()) else {
                    return Err(TranslateError::Document(super::DocumentError {
                        code: "json.wrong-root",
                        message: format!(
                            "expected an object at {:?}",
                            self.def.records[record_type].root
                        ),
                        position: None,
                    }));
                };
                mapping::inbound_json(self, record, obj)
            }
        }
    }

    /// Writes a canonical record in the adapter's format.
    pub fn outbound(&self, record_type: &str, record: &Value) -> Result<Vec<u8>, TranslateError> {
        let rec = self.record(record_type)?;
        let text = match &rec.root {
            Root::Xml(step, _) => {
                let body = mapping::outbound_xml(self, rec, step, record)?;
                if self.def.transport == Transport::Soap {
                    soap::wrap(self.def.soap.version, &body)
                } else {
                    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}")
                }
            }
            Root::Json(tokens) => {
                let obj = mapping::outbound_json(self, rec, record)?;
                let mut doc = Value::Null;
                for (ptr, value) in &rec.envelope {
                    json::set(&mut doc, ptr, value.clone(), true);
                }
                json::set(&mut doc, tokens, obj, true);
                serde_json::to_string(&doc).unwrap_or_default()
            }
        };
        Ok(text.into_bytes())
    }
}

/// Gives every XML place of `fields` its slot in the reading plan.
fn plan_fields(plan: &mut Plan, scope: Scope, fields: &mut [Field]) {
    for f in fields {
        if f.array {
            if let Some(ExtPath::Xml { steps, slot }) = f.external.first_mut() {
                let (array_slot, item) = plan.array(scope, steps);
                *slot = array_slot;
                if f.children.is_empty() {
                    // The item's own text: the first value slot of its scope.
                    plan.scalar(item, &[]);
                } else {
                    plan_fields(plan, item, &mut f.children);
                }
            }
            continue;
        }
        for e in &mut f.external {
            if let ExtPath::Xml { steps, slot } = e {
                *slot = plan.scalar(scope, steps);
            }
        }
    }
}

struct Compiler<'d> {
    def: &'d AdapterDef,
    problems: Vec<String>,
    table_names: Vec<String>,
    ns_seed: &'d [String],
}

impl Compiler<'_> {
    fn problem(&mut self, at: &str, message: String) {
        self.problems.push(format!("{at}: {message}"));
    }

    fn top_level(&mut self, registry: &SchemaRegistry) -> Option<FixedOffset> {
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
        let zone = parse_offset(&def.timezone);
        if zone.is_none() {
            self.problem(
                "timezone",
                format!("{:?} is not a UTC offset such as +07:00", def.timezone),
            );
        }
        zone
    }

    fn root(&mut self, at: &str, root: &str) -> Option<Root> {
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

    fn xml_path(&mut self, at: &str, path: &str) -> Option<Vec<Step>> {
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

    fn fields(
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

    fn field(
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
            constant: fd.constant.clone(),
            default: fd.default.clone(),
            value_type: fd.value_type,
            array: fd.array,
            children,
        })
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

/// The code tables, by name, for messages.
impl Adapter {
    pub(crate) fn table(&self, i: usize) -> &CodeTable {
        &self.tables[i]
    }

    /// Code table values per table name, for tests and tooling.
    pub fn code_table_values(&self) -> HashMap<String, Vec<String>> {
        self.tables
            .iter()
            .map(|t| {
                let mut v: Vec<String> = t.canonical_values().map(str::to_string).collect();
                v.sort();
                (t.name.clone(), v)
            })
            .collect()
    }
}
