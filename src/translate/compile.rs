//! Compiling an adapter definition: every path, pointer, pattern and code table is checked once
//! against the schema registry, so that translating a record does no parsing of the definition.

use super::address::{self, AddressRule};
use super::definition::Compiler;
use super::mapping::Shape;
use super::transforms::{CodeTable, Pattern};
use super::xml::Step;
use super::xml_read::{Plan, Scope};
use super::{Inbound, TranslateError, json, mapping, soap, xml_read};
use crate::config::adapter::{AdapterDef, Case, DefinitionError, Format, Transport, ValueType};
use crate::validate::FieldError;
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
    /// How the children's values make an array item (`None`: set by pointer).
    pub children_shape: Option<Shape>,
}

#[cfg(test)]
impl Field {
    /// A plain text field at `canonical`, for tests.
    pub(crate) fn for_test(canonical: Option<Vec<String>>) -> Field {
        Field {
            canonical_text: canonical.as_ref().map(|t| t.join("/")).unwrap_or_default(),
            canonical,
            external: Vec::new(),
            external_text: String::new(),
            required: false,
            trim: true,
            case: None,
            dates: Vec::new(),
            datetime: None,
            code_table: None,
            join: None,
            constant: None,
            default: None,
            value_type: None,
            array: false,
            children: Vec::new(),
            children_shape: None,
        }
    }
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
    /// How the fields' values make the record (`None`: set by pointer).
    pub shape: Option<Shape>,
    pub addresses: Vec<AddressRule>,
    /// XML: the record's elements in their declared order (the WSDL's `xsd:sequence`, the
    /// order outbound documents follow); empty for JSON.
    pub xml_tree: super::wsdl::XNode,
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
    /// The endpoint parsed once (none when there is none, or it does not parse: a delivery
    /// then reports the parse error).
    endpoint_url: Option<reqwest::Url>,
}

impl Adapter {
    /// The endpoint as a URL, parsed when the adapter was compiled.
    pub fn endpoint_url(&self) -> Option<&reqwest::Url> {
        self.endpoint_url.as_ref()
    }

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
            let addresses = c.addresses(&at, &rdef.addresses, schema.document());
            let root = match root {
                Some(Root::Xml(step, _)) => {
                    let mut plan = Plan::new(ns_seed.clone(), step.clone());
                    plan_fields(&mut plan, Plan::root_scope(), &mut fields);
                    Some(Root::Xml(step, Box::new(plan)))
                }
                other => other,
            };
            if let Some(root) = root {
                let xml_tree = match &root {
                    Root::Xml(step, _) => super::wsdl::XNode::of_record(&step.local, &fields),
                    Root::Json(_) => super::wsdl::XNode::default(),
                };
                records.insert(
                    record_type.clone(),
                    Record {
                        schema: schema.key(),
                        root,
                        envelope,
                        shape: Shape::of(&fields),
                        xml_tree,
                        fields,
                        addresses,
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
            endpoint_url: def
                .endpoint
                .as_deref()
                .and_then(|e| reqwest::Url::parse(e).ok()),
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

    /// Whether the system pushes records of this type through the adapter: it maps them, and
    /// `provides` names them (or names nothing).
    pub fn provides(&self, record_type: &str) -> bool {
        let provides = &self.def.provides;
        self.records.contains_key(record_type)
            && (provides.is_empty() || provides.iter().any(|p| p == record_type))
    }

    #[cfg(test)]
    pub(crate) fn records_for_test(&self) -> impl Iterator<Item = (&String, &Record)> {
        self.records.iter()
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

    /// Translates a document in the adapter's format into a canonical record (not yet
    /// validated), dropping warnings (see [`Adapter::inbound_with_warnings`]).
    pub fn inbound(&self, record_type: &str, document: &[u8]) -> Result<Value, TranslateError> {
        self.inbound_with_warnings(record_type, document)
            .map(|(v, _)| v)
    }

    /// Translates a document into a canonical record (not yet validated), with the warnings
    /// the adapter asked for instead of errors (an ambiguous or unknown address under
    /// `warn`).
    pub fn inbound_with_warnings(
        &self,
        record_type: &str,
        document: &[u8],
    ) -> Result<(Value, Vec<FieldError>), TranslateError> {
        let read = self.inbound_partial(record_type, document)?;
        if read.errors.is_empty() {
            Ok((read.record, read.warnings))
        } else {
            Err(TranslateError::Fields(read.errors))
        }
    }

    /// Translates a document as far as it goes: the record holds every field that translated,
    /// and `errors` lists every field that did not (left out of the record), so that the
    /// record can still be validated and every error of the document reported at once. `Err`
    /// only when there is no record at all (the document refused as a whole, an unknown record
    /// type).
    pub fn inbound_partial(
        &self,
        record_type: &str,
        document: &[u8],
    ) -> Result<Inbound, TranslateError> {
        let record = self.record(record_type)?;
        let (mut value, mut errors) = self.inbound_fields(record_type, record, document)?;
        if record.addresses.is_empty() {
            return Ok(Inbound {
                record: value,
                errors,
                warnings: Vec::new(),
            });
        }
        let Some(units) = crate::units::shared() else {
            errors.push(FieldError::new(
                "",
                "address.no-data",
                "the administrative-unit data did not load",
            ));
            return Ok(Inbound {
                record: value,
                errors,
                warnings: Vec::new(),
            });
        };
        let mut warnings = Vec::new();
        let field_errors = errors.len();
        for rule in &record.addresses {
            // An address with a part that did not translate cannot be resolved: its error
            // says enough.
            let inside = |e: &FieldError| {
                e.pointer
                    .strip_prefix(rule.at.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            };
            if errors[..field_errors].iter().any(inside) {
                continue;
            }
            match address::inbound(units, rule, &mut value) {
                Ok(Some(w)) => warnings.push(w),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        Ok(Inbound {
            record: value,
            errors,
            warnings,
        })
    }

    fn inbound_fields(
        &self,
        record_type: &str,
        record: &Record,
        document: &[u8],
    ) -> Result<(Value, Vec<FieldError>), TranslateError> {
        match (&record.root, self.def.format) {
            (Root::Xml(_, plan), _) => {
                let frame = xml_read::read(document, &self.def.xml.limits, plan)?;
                Ok(mapping::inbound_xml(self, record, &frame))
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
                Ok(mapping::inbound_json(self, record, obj))
            }
        }
    }

    /// What of a canonical record this adapter can carry back: the record without the kept
    /// old form of the addresses it writes in the 2025 scheme (the old form is not written
    /// to such a system, so a round trip through it cannot keep it).
    pub fn round_trip_form(&self, record_type: &str, record: &Value) -> Value {
        let mut copy = record.clone();
        if let Ok(rec) = self.record(record_type) {
            for rule in &rec.addresses {
                if rule.def.outbound == crate::config::adapter::AddressScheme::Current
                    && let Some(units) = crate::units::shared()
                {
                    let _ = address::outbound(units, rule, &mut copy);
                }
            }
        }
        copy
    }

    /// Writes a canonical record in the adapter's format.
    pub fn outbound(&self, record_type: &str, record: &Value) -> Result<Vec<u8>, TranslateError> {
        let rec = self.record(record_type)?;
        let converted;
        let record = if rec.addresses.is_empty() {
            record
        } else {
            let units = crate::units::shared().ok_or_else(|| {
                TranslateError::Fields(vec![FieldError::new(
                    "",
                    "address.no-data",
                    "the administrative-unit data did not load",
                )])
            })?;
            let mut copy = record.clone();
            let errors: Vec<FieldError> = rec
                .addresses
                .iter()
                .filter_map(|rule| address::outbound(units, rule, &mut copy).err())
                .collect();
            if !errors.is_empty() {
                return Err(TranslateError::Fields(errors));
            }
            converted = copy;
            &converted
        };
        Ok(match &rec.root {
            Root::Xml(step, _) => {
                let body = mapping::outbound_xml(self, rec, step, record)?;
                if self.def.transport == Transport::Soap {
                    soap::wrap(self.def.soap.version, &body)
                } else {
                    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}")
                }
                .into_bytes()
            }
            Root::Json(tokens) => {
                let obj = mapping::outbound_json(self, rec, record)?;
                let mut doc = Value::Null;
                for (ptr, value) in &rec.envelope {
                    json::set(&mut doc, ptr, value.clone(), true);
                }
                json::set(&mut doc, tokens, obj, true);
                crate::model::json_out::to_vec(&doc)
            }
        })
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
