//! Reading XML: one streaming pass (quick-xml) under hard limits that pulls out exactly the
//! values an adapter maps, and nothing else.
//!
//! At compile time each record mapping becomes a `Plan`: a tree of the element paths it reads,
//! each mapped place given a slot. Reading a document walks the plan beside the parser: a mapped
//! text or attribute lands in its slot (borrowed from the input when it can be), an unmapped
//! subtree is skipped, an element that starts an array item opens a new `Frame`. There is no
//! document tree and no search.
//!
//! Refused, each with its own error and before any expansion: a DOCTYPE (so any entity
//! declaration, internal or external), references to undeclared entities, invalid UTF-8, a
//! document over the size limit (checked before parsing), nesting past the depth limit, more
//! elements or attributes than allowed, a truncated document, content after the root, the wrong
//! root element (refused at once), a SOAP Fault.

use super::DocumentError;
use super::soap::{SOAP11, SOAP12};
use super::xml::{Step, utf8};
use crate::config::adapter::XmlLimits;
use quick_xml::Reader;
use quick_xml::events::Event;
use std::borrow::Cow;

mod plan;
pub(crate) use plan::{Frame, Plan, Scope};

/// Namespace indices 1 and 2 of every plan are the SOAP 1.1 and 1.2 envelope namespaces.
const SOAP11_INDEX: u32 = 1;
const SOAP12_INDEX: u32 = 2;
/// Index of the `xml:` prefix's namespace: matches no adapter path.
const XML_NS_INDEX: u32 = u32::MAX - 1;
/// Namespaces not among the plan's get indices from here up: they match no adapter path.
const FOREIGN_BASE: u32 = 1 << 30;

fn doc_err(code: &'static str, message: String, position: Option<u64>) -> DocumentError {
    DocumentError {
        code,
        message,
        position,
    }
}

/// Where the reader is, relative to the SOAP envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first element.
    Start,
    /// Inside a SOAP Envelope, before the Body.
    Envelope(u32),
    /// Inside the Body, before the record.
    Body(u32),
    /// Inside a SOAP Fault.
    Fault,
    /// Inside the record.
    Record,
    /// After the record (and the envelope).
    Done,
}

/// One open element: its plan node (`None`: unmapped, skipped) and whether it opened a frame.
#[derive(Debug, Clone, Copy)]
struct Open {
    node: Option<u32>,
    frame: bool,
    /// Where to start looking for the next child in the plan: documents list their elements in
    /// the order the adapter does, so the search usually succeeds at once.
    cursor: u32,
}

/// Reads a document under `limits` following `plan`.
pub(crate) fn read<'a>(
    bytes: &'a [u8],
    limits: &XmlLimits,
    plan: &Plan,
) -> Result<Frame<'a>, DocumentError> {
    if bytes.len() > limits.max_bytes {
        return Err(doc_err(
            "document.too-large",
            format!(
                "the document has {} bytes; the limit (xml.limits.max_bytes) is {}",
                bytes.len(),
                limits.max_bytes
            ),
            None,
        ));
    }
    let text = utf8(bytes)?;
    // XML 1.0 turns `\r\n` and a lone `\r` into `\n`. A document without any `\r` (one
    // search over the whole document) has nothing to normalise, and its texts are taken as
    // they are instead of searched one by one.
    let has_cr = memchr::memchr(b'\r', bytes).is_some();
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    // In-scope namespace bindings: (prefix, namespace index, depth of the declaring element).
    let mut bindings: Vec<(&'a str, u32, usize)> = Vec::new();
    let mut pending: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
    let mut open: Vec<Open> = Vec::with_capacity(16);
    let mut frames: Vec<Frame<'a>> = Vec::with_capacity(4);
    let mut phase = Phase::Start;
    let mut elements = 0usize;
    let mut fault = String::new();
    let mut fault_depth = 0usize;
    let mut in_fault_text = false;
    let mut result: Option<Frame<'a>> = None;
    let mut foreign: Vec<String> = Vec::new();
    loop {
        let pos = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let at = reader.error_position();
                return Err(if !open.is_empty() || phase == Phase::Start {
                    if matches!(e, quick_xml::Error::Syntax(_)) {
                        doc_err(
                            "xml.truncated",
                            format!("the document ends inside markup ({e})"),
                            Some(at),
                        )
                    } else {
                        doc_err("xml.syntax", format!("not well-formed XML: {e}"), Some(at))
                    }
                } else {
                    doc_err("xml.syntax", format!("not well-formed XML: {e}"), Some(at))
                });
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(event, Event::Start(_));
                let depth = open.len();
                if phase == Phase::Done {
                    return Err(doc_err(
                        "xml.content-after-root",
                        "an element after the root element".into(),
                        Some(pos),
                    ));
                }
                if depth + 1 > limits.max_depth {
                    return Err(doc_err(
                        "xml.too-deep",
                        format!(
                            "elements nest deeper than the limit (xml.limits.max_depth = {})",
                            limits.max_depth
                        ),
                        Some(pos),
                    ));
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(doc_err(
                        "xml.too-many-elements",
                        format!(
                            "more elements than the limit (xml.limits.max_elements = {})",
                            limits.max_elements
                        ),
                        Some(pos),
                    ));
                }
                let qname: &'a str = sub_of(text, e.name().as_ref());
                pending.clear();
                // Most elements have no attributes: nothing past the name but XML's white
                // space (space, tab, CR, LF; not form feed, which the iterator refuses).
                if !e
                    .attributes_raw()
                    .bytes()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                {
                    for attr in e.attributes() {
                        let attr = attr.map_err(|err| {
                            doc_err("xml.syntax", format!("bad attribute: {err}"), Some(pos))
                        })?;
                        if pending.len() >= limits.max_attributes {
                            return Err(doc_err(
                                "xml.too-many-attributes",
                                format!(
                                    "an element has more attributes than the limit \
                                     (xml.limits.max_attributes = {})",
                                    limits.max_attributes
                                ),
                                Some(pos),
                            ));
                        }
                        let key: &'a str = sub_of(text, attr.key.as_ref());
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|err| {
                                doc_err(
                                    "xml.entity",
                                    format!(
                                        "attribute {key}: {err} (only the five predefined entities \
                                         and character references are allowed)"
                                    ),
                                    Some(pos),
                                )
                            })?;
                        let value = match value {
                            Cow::Borrowed(_) => Cow::Borrowed(sub_of(text, attr_raw(&attr))),
                            Cow::Owned(s) => Cow::Owned(s),
                        };
                        if key == "xmlns" {
                            bindings.push(("", ns_index(plan, &value, &mut foreign), depth));
                        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                            bindings.push((prefix, ns_index(plan, &value, &mut foreign), depth));
                        } else {
                            pending.push((key, value));
                        }
                    }
                }
                let (prefix, local) = split_qname(qname);
                let ns = resolve(&bindings, prefix, true).ok_or_else(|| {
                    doc_err(
                        "xml.namespace",
                        format!("the prefix {:?} is not declared", prefix.unwrap_or("")),
                        Some(pos),
                    )
                })?;
                // Where is this element: envelope, record root, inside the record?
                let mut entry = Open {
                    node: None,
                    frame: false,
                    cursor: 0,
                };
                match phase {
                    Phase::Start | Phase::Body(_) => {
                        if phase == Phase::Start
                            && local == "Envelope"
                            && (ns == SOAP11_INDEX || ns == SOAP12_INDEX)
                        {
                            phase = Phase::Envelope(ns);
                        } else if let Phase::Body(env) = phase
                            && local == "Fault"
                            && ns == env
                        {
                            phase = Phase::Fault;
                            fault_depth = depth;
                        } else if ns == plan.root.ns_index && local == plan.root.local {
                            phase = Phase::Record;
                            entry = Open {
                                node: Some(0),
                                frame: true,
                                cursor: 0,
                            };
                            frames.push(plan.frame(0));
                        } else {
                            return Err(doc_err(
                                "xml.wrong-root",
                                format!(
                                    "expected the root element {} ({}), found {local} ({})",
                                    plan.root.local,
                                    plan.ns_label(plan.root.ns_index, &foreign),
                                    plan.ns_label(ns, &foreign)
                                ),
                                Some(pos),
                            ));
                        }
                    }
                    Phase::Envelope(env) => {
                        if depth == 1 && local == "Body" && ns == env {
                            phase = Phase::Body(env);
                        }
                        // A Header or anything else before the Body is skipped.
                    }
                    Phase::Fault => {
                        in_fault_text = matches!(local, "faultstring" | "Text");
                    }
                    Phase::Record => {
                        if let Some(parent) = open.last_mut()
                            && let Some(p) = parent.node
                        {
                            let children = &plan.nodes[p as usize].children;
                            let n = children.len();
                            let start = (parent.cursor as usize).min(n);
                            // From the cursor to the end, then from the start to the cursor.
                            let found = (start..n).chain(0..start).find(|&i| {
                                let (cns, clocal, _) = &children[i];
                                *cns == ns && **clocal == *local
                            });
                            if let Some(i) = found {
                                parent.cursor = if i + 1 == n { 0 } else { i as u32 + 1 };
                                let child = children[i].2;
                                entry.node = Some(child);
                                if let Some((_, scope)) = plan.nodes[child as usize].item {
                                    frames.push(plan.frame(scope));
                                    entry.frame = true;
                                }
                            }
                        }
                    }
                    Phase::Done => {}
                }
                // Attributes the plan reads.
                if let Some(n) = entry.node {
                    let pn = &plan.nodes[n as usize];
                    if !pn.attrs.is_empty() {
                        for (key, value) in pending.drain(..) {
                            let (aprefix, alocal) = split_qname(key);
                            let ans = resolve(&bindings, aprefix, false).ok_or_else(|| {
                                doc_err(
                                    "xml.namespace",
                                    format!(
                                        "the prefix {:?} is not declared",
                                        aprefix.unwrap_or("")
                                    ),
                                    Some(pos),
                                )
                            })?;
                            if let Some(&(_, _, slot)) = pn
                                .attrs
                                .iter()
                                .find(|(a_ns, a_local, _)| *a_ns == ans && **a_local == *alocal)
                                && let Some(f) = frames.last_mut()
                            {
                                f.values[slot as usize] = Some(value);
                            }
                        }
                    }
                }
                if is_start {
                    open.push(entry);
                } else {
                    if phase == Phase::Fault && depth == fault_depth {
                        return Err(doc_err(
                            "soap.fault",
                            "the document is a SOAP Fault".into(),
                            None,
                        ));
                    }
                    in_fault_text = false;
                    close(entry, &mut frames, plan, &mut result);
                    while bindings.last().is_some_and(|b| b.2 == depth) {
                        bindings.pop();
                    }
                    after_close(&mut phase, depth, &result);
                }
            }
            Event::End(_) => {
                let Some(entry) = open.pop() else {
                    return Err(doc_err(
                        "xml.syntax",
                        "an end tag with no start".into(),
                        Some(pos),
                    ));
                };
                let depth = open.len();
                close(entry, &mut frames, plan, &mut result);
                while bindings.last().is_some_and(|b| b.2 == depth) {
                    bindings.pop();
                }
                if phase == Phase::Fault && depth == fault_depth {
                    return Err(doc_err(
                        "soap.fault",
                        format!("the document is a SOAP Fault: {}", fault.trim()),
                        None,
                    ));
                }
                in_fault_text = false;
                after_close(&mut phase, depth, &result);
            }
            Event::Text(t) => {
                if phase == Phase::Fault && in_fault_text {
                    fault.push_str(&t.xml10_content());
                } else if let Some(slot) = text_slot(&open, plan) {
                    let content = if has_cr {
                        t.xml10_content()
                    } else {
                        t.into_inner()
                    };
                    append(&mut frames, slot, content);
                } else if open.is_empty() && !t.trim().is_empty() {
                    return Err(doc_err(
                        "xml.syntax",
                        "text outside the root element".into(),
                        Some(pos),
                    ));
                }
            }
            Event::CData(c) => {
                if let Some(slot) = text_slot(&open, plan) {
                    append(&mut frames, slot, c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => match r.xml10_content().as_ref() {
                        "amp" => Some("&".into()),
                        "lt" => Some("<".into()),
                        "gt" => Some(">".into()),
                        "quot" => Some("\"".into()),
                        "apos" => Some("'".into()),
                        _ => None,
                    },
                    Err(_) => None,
                };
                let Some(s) = resolved else {
                    return Err(doc_err(
                        "xml.entity",
                        format!(
                            "the entity reference &{}; is not allowed (only the five predefined \
                             entities and character references are)",
                            r.xml10_content()
                        ),
                        Some(pos),
                    ));
                };
                if phase == Phase::Fault && in_fault_text {
                    fault.push_str(&s);
                } else if let Some(slot) = text_slot(&open, plan) {
                    append(&mut frames, slot, Cow::Owned(s));
                }
            }
            Event::DocType(_) => {
                return Err(doc_err(
                    "xml.doctype",
                    "a DOCTYPE is not allowed (no DTDs, no entity declarations)".into(),
                    Some(pos),
                ));
            }
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding()
                    && !enc.eq_ignore_ascii_case("utf-8")
                {
                    return Err(doc_err(
                        "xml.encoding",
                        format!("the declared encoding is {enc}; only UTF-8 is accepted"),
                        Some(pos),
                    ));
                }
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !open.is_empty() {
                    return Err(doc_err(
                        "xml.truncated",
                        format!(
                            "the document ends with {} element(s) still open",
                            open.len()
                        ),
                        Some(pos),
                    ));
                }
                return match (phase, result) {
                    (Phase::Start, _) => Err(doc_err(
                        "xml.empty",
                        "the document has no root element".into(),
                        None,
                    )),
                    (_, Some(frame)) => Ok(frame),
                    (_, None) => Err(doc_err(
                        "soap.empty-body",
                        format!("the SOAP envelope carries no {} element", plan.root.local),
                        None,
                    )),
                };
            }
        }
    }
}

/// Closes an element: a finished array item joins its parent frame; the record's frame is kept.
fn close<'a>(
    entry: Open,
    frames: &mut Vec<Frame<'a>>,
    plan: &Plan,
    result: &mut Option<Frame<'a>>,
) {
    if !entry.frame {
        return;
    }
    let Some(frame) = frames.pop() else { return };
    match (entry.node, frames.last_mut()) {
        (Some(n), Some(parent)) => {
            if let Some((slot, _)) = plan.nodes[n as usize].item {
                parent.arrays[slot as usize].push(frame);
            }
        }
        _ => *result = Some(frame),
    }
}

fn after_close(phase: &mut Phase, depth: usize, result: &Option<Frame<'_>>) {
    match *phase {
        Phase::Record if result.is_some() => *phase = Phase::Done,
        Phase::Envelope(_) | Phase::Body(_) if depth == 0 => *phase = Phase::Done,
        _ => {}
    }
}

fn text_slot(open: &[Open], plan: &Plan) -> Option<u32> {
    open.last()
        .and_then(|o| o.node)
        .and_then(|n| plan.nodes[n as usize].text)
}

fn append<'a>(frames: &mut [Frame<'a>], slot: u32, content: Cow<'a, str>) {
    let Some(f) = frames.last_mut() else { return };
    let v = &mut f.values[slot as usize];
    match v {
        None => *v = Some(content),
        Some(existing) => existing.to_mut().push_str(&content),
    }
}

fn ns_index(plan: &Plan, uri: &str, foreign: &mut Vec<String>) -> u32 {
    if uri.is_empty() {
        return 0;
    }
    if let Some(i) = plan.namespaces.iter().position(|n| n == uri) {
        return i as u32 + 1;
    }
    let i = match foreign.iter().position(|n| n == uri) {
        Some(i) => i,
        None => {
            foreign.push(uri.to_string());
            foreign.len() - 1
        }
    };
    FOREIGN_BASE + i as u32
}

/// Re-borrows a sub-slice of the source text so that values can keep borrowing from the input.
fn sub_of<'a>(text: &'a str, part: &str) -> &'a str {
    let start = part.as_ptr() as usize;
    let base = text.as_ptr() as usize;
    if start >= base && start + part.len() <= base + text.len() {
        &text[start - base..start - base + part.len()]
    } else {
        ""
    }
}

fn attr_raw<'x>(attr: &'x quick_xml::events::attributes::Attribute<'_>) -> &'x str {
    match &attr.value {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => s.as_str(),
    }
}

/// Splits `prefix:local`.
fn split_qname(qname: &str) -> (Option<&str>, &str) {
    // A byte search: `split_once(':')` compares the one-byte pattern through `memcmp`.
    match qname.bytes().position(|b| b == b':') {
        Some(i) => (Some(&qname[..i]), &qname[i + 1..]),
        None => (None, qname),
    }
}

/// The namespace index bound to `prefix` (an element's unprefixed name takes the default
/// namespace; an attribute's has none). `None` for an undeclared prefix.
fn resolve(bindings: &[(&str, u32, usize)], prefix: Option<&str>, element: bool) -> Option<u32> {
    match prefix {
        None if !element => Some(0),
        None => Some(
            bindings
                .iter()
                .rev()
                .find(|b| b.0.is_empty())
                .map_or(0, |b| b.1),
        ),
        Some("xml") => Some(XML_NS_INDEX),
        Some(p) => bindings.iter().rev().find(|b| b.0 == p).map(|b| b.1),
    }
}

/// The namespaces every plan starts with.
pub(crate) fn base_namespaces() -> Vec<String> {
    vec![SOAP11.to_string(), SOAP12.to_string()]
}

#[cfg(test)]
mod tests;
