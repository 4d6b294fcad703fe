//! XML at the edge: element-path steps, the UTF-8 check, and the writer of outbound documents.
//! Reading is in `xml_read`.

use super::DocumentError;
use quick_xml::escape::{escape, partial_escape};

/// One step of an element path, resolved: namespace URI (empty: none) and local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub ns: String,
    /// Index of `ns` among the adapter's namespaces (`xml_read::Plan`), so that matching
    /// compares integers; 0 for no namespace.
    pub ns_index: u32,
    pub prefix: Option<String>,
    pub local: String,
    pub attribute: bool,
}

/// Checks that the bytes are UTF-8, naming the first bad byte. The check is SIMD
/// (`simdutf8`, several times the standard library's speed on Vietnamese text); only a
/// refusal takes the standard library's pass, for the offset of the first bad byte.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, DocumentError> {
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(text);
    }
    std::str::from_utf8(bytes).map_err(|e| DocumentError {
        code: "document.invalid-utf8",
        message: format!(
            "the document is not valid UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ),
        position: Some(e.valid_up_to() as u64),
    })
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

    /// Puts the children, and theirs, in the order `tree` declares (stable: repeated elements
    /// keep theirs; an element not declared goes last).
    pub(crate) fn order_by(&mut self, tree: &super::wsdl::XNode) {
        let local = |name: &str| name.rsplit(':').next().unwrap_or(name).to_string();
        self.children
            .sort_by_cached_key(|c| tree.position(&local(&c.name)).unwrap_or(usize::MAX));
        for c in &mut self.children {
            if let Some(i) = tree.position(&local(&c.name)) {
                c.order_by(&tree.children[i]);
            }
        }
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
    }
}
