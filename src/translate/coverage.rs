//! What of a document a record mapping reads. Every place of a sample under the record root
//! (an element with text, an attribute, a JSON value) is compared with the places the field
//! mappings read, so that `adapter check` can say which places no mapping reads (their values
//! would be dropped without a word) and which mapped places no sample has (often a misspelt
//! path: the value it should read would be dropped too).
//!
//! Only the record counts: a SOAP envelope, the JSON around the record's `root`, namespace
//! declarations are not fields. Repeated places are one place: the items of an XML array are
//! the same element path, and in JSON `*` stands for every item (`/TaiLieuNop/*/MaBam`).

use super::compile::{Adapter, ExtPath, Field, Root};
use super::json;
use super::soap::{SOAP11, SOAP12};
use super::xml::{Step, utf8};
use crate::config::adapter::{AdapterDef, XmlLimits};
use crate::validate::escape_token;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde_json::Value;

/// One step of a place in an external document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// An XML element or attribute: namespace URI (empty: none) and local name.
    Xml {
        ns: String,
        local: String,
        attribute: bool,
    },
    /// A member of a JSON object.
    Key(String),
    /// The item of a JSON array at this index (in a document).
    Index(usize),
    /// Every item of a JSON array (in a mapping).
    Item,
}

/// Whether a mapping's step reads a document's step.
fn seg_reads(mapped: &Seg, found: &Seg) -> bool {
    match (mapped, found) {
        (Seg::Item, Seg::Index(_)) => true,
        // A pointer into an array by position, as the JSON reader takes it.
        (Seg::Key(k), Seg::Index(i)) => k.parse::<usize>() == Ok(*i),
        (a, b) => a == b,
    }
}

fn reads(mapped: &[Seg], found: &[Seg]) -> bool {
    mapped.len() == found.len() && mapped.iter().zip(found).all(|(m, f)| seg_reads(m, f))
}

/// A place of the external document that a field mapping reads, or writes a constant to.
#[derive(Debug, Clone)]
pub struct MappedPlace {
    /// As the adapter file writes it, from the record root; in JSON, `*` for every item of an
    /// array (`/TaiLieuNop/*/MaBam`); an item's place follows its array's.
    pub external: String,
    /// The canonical pointer it fills (`*` for every item); empty for an external-only
    /// constant.
    pub canonical: String,
    segs: Vec<Seg>,
}

/// One sample compared with its record's mapping.
#[derive(Debug, Clone, Default)]
pub struct SampleCoverage {
    /// The places of the sample that no mapping reads, each once, in the order they were read
    /// (XML: the document's; JSON: an object's members by name).
    pub unmapped: Vec<String>,
    /// For each of the record's mapped places (in the order of `Adapter::mapped_places`),
    /// whether the sample has it.
    pub present: Vec<bool>,
}

/// A place found in a document.
struct Found {
    segs: Vec<Seg>,
    /// Carries a value (text, an attribute, a JSON scalar or null); otherwise a structure
    /// only (an element with children, an object), or an empty one when `empty`.
    value: bool,
    /// An element with nothing in it, an empty object or array.
    empty: bool,
}

impl Adapter {
    /// Every place of the external document the mapping of `record_type` reads (or writes a
    /// constant to), in mapping order. Empty for an unknown record type.
    pub fn mapped_places(&self, record_type: &str) -> Vec<MappedPlace> {
        let mut out = Vec::new();
        if let Some(record) = self.records.get(record_type) {
            let json = matches!(record.root, Root::Json(_));
            collect_mapped(&record.fields, json, &[], "", "", &mut out);
        }
        out
    }

    /// Compares a sample with the mapping of `record_type`: the places it has that no mapping
    /// reads, and which mapped places it has. `None` when the document cannot be read (the
    /// translation of the sample reports why) or the record type is unknown.
    pub fn coverage(&self, record_type: &str, document: &[u8]) -> Option<SampleCoverage> {
        let record = self.records.get(record_type)?;
        let (found, known) = match &record.root {
            Root::Xml(root, _) => (
                xml_places(document, &self.definition().xml.limits, root)?,
                vec![],
            ),
            Root::Json(tokens) => {
                let doc = json::parse(document, &self.definition().json.limits).ok()?;
                let obj = json::get(&doc, tokens).filter(|v| v.is_object())?;
                let mut found = Vec::new();
                json_places(obj, &mut Vec::new(), &mut found);
                // Envelope members inside the record are the adapter's own constants.
                let known = record
                    .envelope
                    .iter()
                    .filter_map(|(ptr, _)| ptr.strip_prefix(tokens.as_slice()))
                    .map(|rest| rest.iter().cloned().map(Seg::Key).collect())
                    .collect();
                (found, known)
            }
        };
        let mapped = self.mapped_places(record_type);
        let present = mapped
            .iter()
            .map(|m| found.iter().any(|f| reads(&m.segs, &f.segs)))
            .collect();
        let mut unmapped: Vec<String> = Vec::new();
        for f in found.iter().filter(|f| f.value || f.empty) {
            let covered = mapped.iter().map(|m| &m.segs).chain(&known).any(|m| {
                reads(m, &f.segs)
                    // An empty element or container on the way to mapped places.
                    || (f.empty && m.len() > f.segs.len() && reads(&m[..f.segs.len()], &f.segs))
            });
            if !covered {
                let text = self.render(&f.segs);
                if !unmapped.contains(&text) {
                    unmapped.push(text);
                }
            }
        }
        Some(SampleCoverage { unmapped, present })
    }

    /// A found place as a person writes it in the adapter file.
    fn render(&self, segs: &[Seg]) -> String {
        let mut out = String::new();
        for s in segs {
            match s {
                Seg::Xml {
                    ns,
                    local,
                    attribute,
                } => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    if *attribute {
                        out.push('@');
                    }
                    out.push_str(&qualified(self.definition(), ns, local, *attribute));
                }
                Seg::Key(k) => {
                    out.push('/');
                    out.push_str(&escape_token(k));
                }
                Seg::Index(_) | Seg::Item => out.push_str("/*"),
            }
        }
        out
    }
}

/// `prefix:local` with a prefix the adapter declares for `ns`, or `{ns}local` when it declares
/// none.
fn qualified(def: &AdapterDef, ns: &str, local: &str, attribute: bool) -> String {
    if ns.is_empty() {
        return local.to_string();
    }
    let prefix = def
        .xml
        .namespaces
        .iter()
        // An attribute takes no default namespace.
        .find(|(p, uri)| *uri == ns && !(attribute && p.is_empty()))
        .map(|(p, _)| p.as_str());
    match prefix {
        Some("") => local.to_string(),
        Some(p) => format!("{p}:{local}"),
        None => format!("{{{ns}}}{local}"),
    }
}

fn collect_mapped(
    fields: &[Field],
    json: bool,
    at: &[Seg],
    at_text: &str,
    at_canonical: &str,
    out: &mut Vec<MappedPlace>,
) {
    for f in fields {
        let canonical = format!("{at_canonical}{}", f.canonical_text);
        for e in &f.external {
            let (mut segs, mut text) = (at.to_vec(), at_text.to_string());
            match e {
                ExtPath::Xml { steps, .. } => {
                    for s in steps {
                        segs.push(Seg::Xml {
                            ns: s.ns.clone(),
                            local: s.local.clone(),
                            attribute: s.attribute,
                        });
                    }
                    if !text.is_empty() {
                        text.push('/');
                    }
                    text.push_str(&xml_text(steps));
                }
                ExtPath::Json(tokens) => {
                    for t in tokens {
                        segs.push(Seg::Key(t.clone()));
                        text.push('/');
                        text.push_str(&escape_token(t));
                    }
                }
            }
            if !f.array {
                out.push(MappedPlace {
                    external: text,
                    canonical: canonical.clone(),
                    segs,
                });
                continue;
            }
            // The items: in JSON a step of their own, in XML the repeated element itself.
            let canonical = format!("{canonical}/*");
            if json {
                segs.push(Seg::Item);
                text.push_str("/*");
            }
            if f.children.is_empty() {
                out.push(MappedPlace {
                    external: text,
                    canonical,
                    segs,
                });
            } else {
                collect_mapped(&f.children, json, &segs, &text, &canonical, out);
            }
        }
    }
}

fn xml_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if s.attribute {
            out.push('@');
        }
        if let Some(p) = &s.prefix {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(&s.local);
    }
    out
}

fn json_places(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Found>) {
    let (value, empty) = match v {
        Value::Object(o) => (false, o.is_empty()),
        Value::Array(a) => (false, a.is_empty()),
        _ => (true, false),
    };
    if !at.is_empty() {
        out.push(Found {
            segs: at.clone(),
            value,
            empty,
        });
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                at.push(Seg::Key(k.clone()));
                json_places(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(Seg::Index(i));
                json_places(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// An element open inside the record.
struct Open {
    text: bool,
    children: bool,
    attributes: bool,
}

/// Every place under the record root `root` of an XML document (inside a SOAP envelope's Body
/// when there is one), read under the adapter's limits; `None` when the document is not one
/// the translation reads.
fn xml_places(bytes: &[u8], limits: &XmlLimits, root: &Step) -> Option<Vec<Found>> {
    if bytes.len() > limits.max_bytes {
        return None;
    }
    let mut reader = NsReader::from_str(utf8(bytes).ok()?);
    reader.config_mut().check_end_names = true;
    // The names of the open elements, and from the record root on what each holds.
    let mut names: Vec<(String, String)> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut record_depth: Option<usize> = None;
    let mut elements = 0usize;
    let mut out = Vec::new();
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                elements += 1;
                if elements > limits.max_elements || names.len() + 1 > limits.max_depth {
                    return None;
                }
                let (ns, local) = reader.resolver().resolve_element(e.name());
                let ns = bound(ns)?;
                let local = local.as_ref().to_string();
                let depth = names.len();
                if record_depth.is_none() {
                    let in_body = depth == 2
                        && names[0].1 == "Envelope"
                        && names[1].1 == "Body"
                        && names[0].0 == names[1].0
                        && (names[0].0 == SOAP11 || names[0].0 == SOAP12);
                    if ns == root.ns && local == root.local && (depth == 0 || in_body) {
                        record_depth = Some(depth);
                    } else if depth == 0 && !(local == "Envelope" && (ns == SOAP11 || ns == SOAP12))
                    {
                        return None;
                    }
                }
                names.push((ns, local));
                let Some(rd) = record_depth else {
                    if matches!(event, Event::Empty(_)) {
                        names.pop();
                    }
                    continue;
                };
                if let Some(parent) = open.last_mut() {
                    parent.children = true;
                }
                let here: Vec<Seg> = element_segs(&names[rd + 1..]);
                let mut attributes = false;
                for a in e.attributes() {
                    let a = a.ok()?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
                    let mut segs = here.clone();
                    segs.push(Seg::Xml {
                        ns: bound(ans)?,
                        local: alocal.as_ref().to_string(),
                        attribute: true,
                    });
                    out.push(Found {
                        segs,
                        value: true,
                        empty: false,
                    });
                    attributes = true;
                }
                open.push(Open {
                    text: false,
                    children: false,
                    attributes,
                });
                if matches!(event, Event::Empty(_)) && close(&mut names, &mut open, rd, &mut out) {
                    return Some(out);
                }
            }
            Event::End(_) => match record_depth {
                Some(rd) if names.len() > rd => {
                    if close(&mut names, &mut open, rd, &mut out) {
                        return Some(out);
                    }
                }
                _ => {
                    names.pop();
                }
            },
            Event::Text(t) => {
                if let Some(o) = open.last_mut()
                    && !t.trim().is_empty()
                {
                    o.text = true;
                }
            }
            Event::CData(_) | Event::GeneralRef(_) => {
                if let Some(o) = open.last_mut() {
                    o.text = true;
                }
            }
            Event::DocType(_) => return None,
            Event::Eof => return None,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

/// Closes the innermost element of the record: records it as a place (the record root itself
/// is not one); `true` when it was the record root.
fn close(
    names: &mut Vec<(String, String)>,
    open: &mut Vec<Open>,
    rd: usize,
    out: &mut Vec<Found>,
) -> bool {
    let o = open.pop();
    if names.len() == rd + 1 {
        names.pop();
        return true;
    }
    if let Some(o) = o {
        let segs = element_segs(&names[rd + 1..]);
        out.push(Found {
            segs,
            value: o.text,
            empty: !o.text && !o.children && !o.attributes,
        });
    }
    names.pop();
    false
}

fn bound(ns: ResolveResult<'_>) -> Option<String> {
    match ns {
        ResolveResult::Bound(n) => Some(n.0.to_string()),
        ResolveResult::Unbound => Some(String::new()),
        ResolveResult::Unknown(_) => None,
    }
}

/// The path segments of elements (namespace, local name), under the record root.
fn element_segs(names: &[(String, String)]) -> Vec<Seg> {
    names
        .iter()
        .map(|(ns, local)| Seg::Xml {
            ns: ns.clone(),
            local: local.clone(),
            attribute: false,
        })
        .collect()
}

#[cfg(test)]
mod tests;
