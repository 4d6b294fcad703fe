//! XML at the edge: a streaming parse (quick-xml) into a small borrowed tree under hard limits,
//! and a writer.
//!
//! Refused, each with its own error and before any expansion: a DOCTYPE (so any entity
//! declaration, internal or external), references to undeclared entities, invalid UTF-8, a
//! document over the size limit (checked before parsing), nesting past the depth limit, more
//! elements or attributes than allowed, a truncated document, content after the root.

use super::DocumentError;
use crate::config::adapter::XmlLimits;
use quick_xml::Reader;
use quick_xml::escape::{escape, partial_escape};
use quick_xml::events::Event;
use std::borrow::Cow;

const NONE: u32 = u32::MAX;

/// A step whose namespace was not among a document's seeds: matched by URI.
pub(crate) const UNSEEDED: u32 = u32::MAX;

/// A parsed XML document: elements in document order, each with its namespace, local name,
/// attributes and text content.
#[derive(Debug)]
pub(crate) struct XmlDoc<'a> {
    nodes: Vec<Node<'a>>,
    attrs: Vec<Attr<'a>>,
    /// Namespace URIs seen in the document; a node's `ns` is an index + 1 (0: no namespace).
    namespaces: Vec<String>,
}

#[derive(Debug)]
struct Node<'a> {
    ns: u32,
    local: &'a str,
    text: Cow<'a, str>,
    attrs: (u32, u32),
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
}

#[derive(Debug)]
struct Attr<'a> {
    ns: u32,
    local: &'a str,
    value: Cow<'a, str>,
}

/// A reference to one element of a document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elem<'d, 'a> {
    doc: &'d XmlDoc<'a>,
    index: u32,
}

/// One step of an element path, resolved: namespace URI (empty: none) and local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub ns: String,
    /// Index of `ns` among the namespaces a document was seeded with (`XmlDoc::parse_seeded`),
    /// so that matching compares integers; `UNSEEDED` to compare the URI instead.
    pub ns_index: u32,
    pub prefix: Option<String>,
    pub local: String,
    pub attribute: bool,
}

fn doc_err(code: &'static str, message: String, position: Option<u64>) -> DocumentError {
    DocumentError {
        code,
        message,
        position,
    }
}

/// Checks that the bytes are UTF-8, naming the first bad byte.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, DocumentError> {
    std::str::from_utf8(bytes).map_err(|e| {
        doc_err(
            "document.invalid-utf8",
            format!(
                "the document is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
            Some(e.valid_up_to() as u64),
        )
    })
}

impl<'a> XmlDoc<'a> {
    /// Parses a document under `limits`.
    #[cfg(test)]
    pub(crate) fn parse(bytes: &'a [u8], limits: &XmlLimits) -> Result<XmlDoc<'a>, DocumentError> {
        XmlDoc::parse_seeded(bytes, limits, &[])
    }

    /// Parses a document under `limits`; the namespaces in `seed` get the indices 1, 2, … in
    /// order, so that steps compiled against the same list match by index.
    pub(crate) fn parse_seeded(
        bytes: &'a [u8],
        limits: &XmlLimits,
        seed: &[String],
    ) -> Result<XmlDoc<'a>, DocumentError> {
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
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        // In-scope namespace bindings: (prefix, namespace index, depth of the declaring element).
        let mut bindings: Vec<(&'a str, u32, usize)> = Vec::new();
        let mut pending: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
        let mut doc = XmlDoc {
            nodes: Vec::with_capacity(64),
            attrs: Vec::new(),
            namespaces: seed.to_vec(),
        };
        let mut stack: Vec<u32> = Vec::with_capacity(16);
        let mut seen_root = false;
        loop {
            let pos = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = reader.error_position();
                    let truncated = at as usize >= text.trim_end().len().saturating_sub(1)
                        || matches!(e, quick_xml::Error::Syntax(_));
                    return Err(if truncated && !stack.is_empty() {
                        doc_err(
                            "xml.truncated",
                            format!("the document ends inside an element ({e})"),
                            Some(at),
                        )
                    } else {
                        doc_err("xml.syntax", format!("not well-formed XML: {e}"), Some(at))
                    });
                }
            };
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let is_start = matches!(event, Event::Start(_));
                    if stack.is_empty() && seen_root {
                        return Err(doc_err(
                            "xml.content-after-root",
                            "a second element after the root element".into(),
                            Some(pos),
                        ));
                    }
                    seen_root = true;
                    if stack.len() + 1 > limits.max_depth {
                        return Err(doc_err(
                            "xml.too-deep",
                            format!(
                                "elements nest deeper than the limit (xml.limits.max_depth = {})",
                                limits.max_depth
                            ),
                            Some(pos),
                        ));
                    }
                    if doc.nodes.len() >= limits.max_elements {
                        return Err(doc_err(
                            "xml.too-many-elements",
                            format!(
                                "more elements than the limit (xml.limits.max_elements = {})",
                                limits.max_elements
                            ),
                            Some(pos),
                        ));
                    }
                    let depth = stack.len();
                    let qname: &'a str = sub_of(text, e.name().as_ref());
                    let first_attr = doc.attrs.len() as u32;
                    pending.clear();
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
                                        "attribute {key}: {err} (only the five predefined \
                                         entities and character references are allowed)"
                                    ),
                                    Some(pos),
                                )
                            })?;
                        let value = match value {
                            Cow::Borrowed(_) => Cow::Borrowed(sub_of(text, attr_raw(&attr))),
                            Cow::Owned(s) => Cow::Owned(s),
                        };
                        if key == "xmlns" {
                            let ns = doc.intern_opt(&value);
                            bindings.push(("", ns, depth));
                        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                            let ns = doc.intern_opt(&value);
                            bindings.push((prefix, ns, depth));
                        } else {
                            pending.push((key, value));
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
                    for (key, value) in pending.drain(..) {
                        let (aprefix, alocal) = split_qname(key);
                        let ans = resolve(&bindings, aprefix, false).ok_or_else(|| {
                            doc_err(
                                "xml.namespace",
                                format!("the prefix {:?} is not declared", aprefix.unwrap_or("")),
                                Some(pos),
                            )
                        })?;
                        doc.attrs.push(Attr {
                            ns: ans,
                            local: alocal,
                            value,
                        });
                    }
                    let index = doc.nodes.len() as u32;
                    doc.nodes.push(Node {
                        ns,
                        local,
                        text: Cow::Borrowed(""),
                        attrs: (first_attr, doc.attrs.len() as u32),
                        first_child: NONE,
                        last_child: NONE,
                        next_sibling: NONE,
                    });
                    if let Some(&parent) = stack.last() {
                        let p = &mut doc.nodes[parent as usize];
                        let last = p.last_child;
                        p.last_child = index;
                        if last == NONE {
                            p.first_child = index;
                        } else {
                            doc.nodes[last as usize].next_sibling = index;
                        }
                    }
                    if is_start {
                        stack.push(index);
                    } else {
                        while bindings.last().is_some_and(|b| b.2 == depth) {
                            bindings.pop();
                        }
                    }
                }
                Event::End(_) => {
                    stack.pop();
                    let depth = stack.len();
                    while bindings.last().is_some_and(|b| b.2 == depth) {
                        bindings.pop();
                    }
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    match stack.last() {
                        // Indentation between child elements is not content.
                        Some(&i)
                            if doc.nodes[i as usize].first_child != NONE
                                && content.trim().is_empty() => {}
                        Some(&i) => doc.append_text(i, content),
                        None if content.trim().is_empty() => {}
                        None => {
                            return Err(doc_err(
                                "xml.syntax",
                                "text outside the root element".into(),
                                Some(pos),
                            ));
                        }
                    }
                }
                Event::CData(c) => {
                    if let Some(&i) = stack.last() {
                        doc.append_text(i, c.xml10_content());
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
                                "the entity reference &{}; is not allowed (only the five \
                                 predefined entities and character references are)",
                                r.xml10_content()
                            ),
                            Some(pos),
                        ));
                    };
                    if let Some(&i) = stack.last() {
                        doc.append_text(i, Cow::Owned(s));
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
                    if !stack.is_empty() {
                        return Err(doc_err(
                            "xml.truncated",
                            format!(
                                "the document ends with {} element(s) still open",
                                stack.len()
                            ),
                            Some(pos),
                        ));
                    }
                    if !seen_root {
                        return Err(doc_err(
                            "xml.empty",
                            "the document has no root element".into(),
                            None,
                        ));
                    }
                    break;
                }
            }
        }
        Ok(doc)
    }

    /// Interns a namespace URI; the empty URI (an undeclaration) is "no namespace".
    fn intern_opt(&mut self, uri: &str) -> u32 {
        if uri.is_empty() { 0 } else { self.intern(uri) }
    }

    fn intern(&mut self, uri: &str) -> u32 {
        match self.namespaces.iter().position(|n| n == uri) {
            Some(i) => i as u32 + 1,
            None => {
                self.namespaces.push(uri.to_string());
                self.namespaces.len() as u32
            }
        }
    }

    fn append_text(&mut self, index: u32, content: Cow<'a, str>) {
        let node = &mut self.nodes[index as usize];
        if node.text.is_empty() {
            node.text = content;
        } else {
            node.text.to_mut().push_str(&content);
        }
    }

    /// The root element.
    pub(crate) fn root<'d>(&'d self) -> Elem<'d, 'a> {
        Elem {
            doc: self,
            index: 0,
        }
    }

    fn ns_uri(&self, ns: u32) -> &str {
        if ns == 0 {
            ""
        } else if ns == XML_NS_INDEX {
            "http://www.w3.org/XML/1998/namespace"
        } else {
            &self.namespaces[ns as usize - 1]
        }
    }
}

/// Re-borrows a sub-slice of the source text so that the tree can keep borrowing from the input.
fn sub_of<'a>(text: &'a str, part: &str) -> &'a str {
    let start = part.as_ptr() as usize;
    let base = text.as_ptr() as usize;
    if start >= base && start + part.len() <= base + text.len() {
        &text[start - base..start - base + part.len()]
    } else {
        ""
    }
}

/// Splits `prefix:local`.
fn split_qname(qname: &str) -> (Option<&str>, &str) {
    match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
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

/// The `xml:` prefix is bound by definition; its attributes (`xml:lang`) are kept under this
/// index, which names no interned namespace and so matches no adapter path.
const XML_NS_INDEX: u32 = u32::MAX - 1;

fn attr_raw<'x>(attr: &'x quick_xml::events::attributes::Attribute<'_>) -> &'x str {
    match &attr.value {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => s.as_str(),
    }
}

impl<'d, 'a> Elem<'d, 'a> {
    fn node(&self) -> &'d Node<'a> {
        &self.doc.nodes[self.index as usize]
    }

    /// Namespace URI ("" for none) and local name.
    pub(crate) fn name(&self) -> (&'d str, &'a str) {
        let n = self.node();
        (self.doc.ns_uri(n.ns), n.local)
    }

    /// The text directly inside the element.
    pub(crate) fn text(&self) -> &'d str {
        &self.node().text
    }

    /// Whether the element is `step`.
    pub(crate) fn is(&self, step: &Step) -> bool {
        let node = self.node();
        node.local == step.local
            && if step.ns_index == UNSEEDED {
                self.doc.ns_uri(node.ns) == step.ns
            } else {
                node.ns == step.ns_index
            }
    }

    /// Child elements in order.
    pub(crate) fn children(&self) -> impl Iterator<Item = Elem<'d, 'a>> + 'd {
        let doc = self.doc;
        let mut next = self.node().first_child;
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let e = Elem { doc, index: next };
            next = doc.nodes[next as usize].next_sibling;
            Some(e)
        })
    }

    /// The first child that is `step`.
    pub(crate) fn child(&self, step: &Step) -> Option<Elem<'d, 'a>> {
        self.children().find(|c| c.is(step))
    }

    /// The value of an attribute.
    pub(crate) fn attribute(&self, step: &Step) -> Option<&'d str> {
        let (from, to) = self.node().attrs;
        self.doc.attrs[from as usize..to as usize]
            .iter()
            .find(|a| {
                a.local == step.local
                    && if step.ns_index == UNSEEDED {
                        self.doc.ns_uri(a.ns) == step.ns
                    } else {
                        a.ns == step.ns_index
                    }
            })
            .map(|a| a.value.as_ref())
    }

    /// Follows element steps (none of them attributes) from this element.
    pub(crate) fn descend(&self, steps: &[Step]) -> Option<Elem<'d, 'a>> {
        let mut at = *self;
        for s in steps {
            at = at.child(s)?;
        }
        Some(at)
    }
}

/// An element being written.
#[derive(Debug, Default)]
pub(crate) struct OutElem {
    pub name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<OutElem>,
}

impl OutElem {
    pub(crate) fn new(name: impl Into<String>) -> OutElem {
        OutElem {
            name: name.into(),
            ..OutElem::default()
        }
    }

    /// The existing child called `name`, or a new one.
    pub(crate) fn child_mut(&mut self, name: &str) -> &mut OutElem {
        let pos = match self.children.iter().position(|c| c.name == name) {
            Some(p) => p,
            None => {
                self.children.push(OutElem::new(name));
                self.children.len() - 1
            }
        };
        &mut self.children[pos]
    }

    /// A new child called `name`, after any existing ones.
    pub(crate) fn push_child(&mut self, name: &str) -> &mut OutElem {
        self.children.push(OutElem::new(name));
        let last = self.children.len() - 1;
        &mut self.children[last]
    }

    pub(crate) fn set_attr(&mut self, name: &str, value: String) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(a) => a.1 = value,
            None => self.attrs.push((name.to_string(), value)),
        }
    }

    pub(crate) fn set_text(&mut self, text: String) {
        self.text = Some(text);
    }

    /// Writes the element and its subtree.
    pub(crate) fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (n, v) in &self.attrs {
            out.push(' ');
            out.push_str(n);
            out.push_str("=\"");
            out.push_str(&escape(v.as_str()));
            out.push('"');
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            out.push_str(&partial_escape(t.as_str()));
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<XmlDoc<'_>, DocumentError> {
        XmlDoc::parse(s.as_bytes(), &XmlLimits::default())
    }

    fn step(ns: &str, local: &str) -> Step {
        Step {
            ns: ns.into(),
            ns_index: UNSEEDED,
            prefix: None,
            local: local.into(),
            attribute: false,
        }
    }

    #[test]
    fn namespaces_text_entities_and_attributes_are_read() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <a:R xmlns:a="urn:a" xmlns="urn:d" v="1&amp;2"><a:X>T &lt;&#x41;&#66;&gt;</a:X><Y><![CDATA[<c>]]></Y></a:R>"#,
        )
        .unwrap();
        let root = doc.root();
        assert_eq!(root.name(), ("urn:a", "R"));
        let attr = Step {
            attribute: true,
            ..step("", "v")
        };
        assert_eq!(root.attribute(&attr), Some("1&2"));
        assert_eq!(root.child(&step("urn:a", "X")).unwrap().text(), "T <AB>");
        assert_eq!(root.child(&step("urn:d", "Y")).unwrap().text(), "<c>");
        assert!(
            root.child(&step("", "Y")).is_none(),
            "namespaces are compared"
        );
    }

    #[test]
    fn each_hostile_shape_gets_its_own_code() {
        let cases = [
            (
                "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>",
                "xml.doctype",
            ),
            ("<r>&ext;</r>", "xml.entity"),
            ("<r a=\"&x;\"/>", "xml.entity"),
            ("<r><a>text", "xml.truncated"),
            ("<r><a></r>", "xml.syntax"),
            ("<r/><s/>", "xml.content-after-root"),
            ("", "xml.empty"),
            ("<p:r/>", "xml.namespace"),
            (
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
                "xml.encoding",
            ),
        ];
        for (doc, code) in cases {
            let err = parse(doc).unwrap_err();
            assert_eq!(err.code, code, "{doc}: {}", err.message);
        }
        let err = XmlDoc::parse(b"<r>\xff</r>", &XmlLimits::default()).unwrap_err();
        assert_eq!(err.code, "document.invalid-utf8");
        assert_eq!(err.position, Some(3));
    }

    #[test]
    fn limits_are_enforced_and_named() {
        let limits = XmlLimits {
            max_bytes: 100,
            max_depth: 3,
            max_elements: 4,
            max_attributes: 2,
        };
        let too_big = format!("<r>{}</r>", "x".repeat(200));
        let err = XmlDoc::parse(too_big.as_bytes(), &limits).unwrap_err();
        assert!(err.message.contains("max_bytes"), "{}", err.message);
        let err = XmlDoc::parse(b"<a><b><c><d/></c></b></a>", &limits).unwrap_err();
        assert_eq!(err.code, "xml.too-deep");
        let err = XmlDoc::parse(b"<a><b/><b/><b/><b/></a>", &limits).unwrap_err();
        assert_eq!(err.code, "xml.too-many-elements");
        let err = XmlDoc::parse(b"<a x='1' y='2' z='3'/>", &limits).unwrap_err();
        assert_eq!(err.code, "xml.too-many-attributes");
    }

    #[test]
    fn the_writer_escapes_text_and_attributes() {
        let mut root = OutElem::new("r");
        root.set_attr("a", "x\"<&".into());
        root.child_mut("c").set_text("1 < 2 & 3".into());
        root.push_child("i");
        let mut out = String::new();
        root.write(&mut out);
        assert_eq!(
            out,
            "<r a=\"x&quot;&lt;&amp;\"><c>1 &lt; 2 &amp; 3</c><i/></r>"
        );
        let back = parse(&out).unwrap();
        assert_eq!(
            back.root().child(&step("", "c")).unwrap().text(),
            "1 < 2 & 3"
        );
    }
}
