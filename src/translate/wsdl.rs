//! The WSDL of a SOAP adapter's ingest operations, generated from its mappings so that a
//! legacy one-stop system can push with its existing SOAP client and no code change.
//!
//! Document/literal SOAP 1.1; one operation per record type the adapter provides, with the
//! SOAPAction `urn:lienthong:ingest:<adapter>:<record type>`. The XML Schema of each record's
//! root element lists every element and attribute the mapping reads (all `xsd:string`, all
//! optional: the hub validates the record itself and answers with every error).

use super::compile::{Adapter, ExtPath, Field, Root};
use super::xml::Step;
use std::fmt::Write;

/// Namespace of the hub's own SOAP response elements.
pub const INGEST_NS: &str = "urn:lienthong:ingest";

/// The SOAPAction of an ingest operation.
pub fn soap_action(adapter: &str, record_type: &str) -> String {
    format!("urn:lienthong:ingest:{adapter}:{record_type}")
}

/// The elements and attributes of a record's mapping as a tree, children in the order the
/// fields first name them: the `xsd:sequence` of the record's element in the WSDL, and the
/// order outbound documents are written in (`OutElem::order_by`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct XNode {
    pub(crate) local: String,
    text: bool,
    repeated: bool,
    attrs: Vec<String>,
    pub(crate) children: Vec<XNode>,
}

impl XNode {
    fn child(&mut self, local: &str) -> &mut XNode {
        let i = match self.children.iter().position(|c| c.local == local) {
            Some(i) => i,
            None => {
                self.children.push(XNode {
                    local: local.to_string(),
                    ..XNode::default()
                });
                self.children.len() - 1
            }
        };
        &mut self.children[i]
    }

    fn at(&mut self, steps: &[Step]) -> &mut XNode {
        let mut n = self;
        for s in steps {
            n = n.child(&s.local);
        }
        n
    }

    /// The tree of a record's fields under its root element.
    pub(crate) fn of_record(root: &str, fields: &[Field]) -> XNode {
        let mut node = XNode {
            local: root.to_string(),
            ..XNode::default()
        };
        node.add(fields);
        node
    }

    fn add(&mut self, fields: &[Field]) {
        for f in fields {
            for e in &f.external {
                let ExtPath::Xml { steps, .. } = e else {
                    continue;
                };
                if f.array {
                    let item = self.at(steps);
                    item.repeated = true;
                    if f.children.is_empty() {
                        item.text = true;
                    } else {
                        item.add(&f.children);
                    }
                } else if let Some((last, init)) = steps.split_last() {
                    if last.attribute {
                        let n = self.at(init);
                        if !n.attrs.contains(&last.local) {
                            n.attrs.push(last.local.clone());
                        }
                    } else {
                        self.at(steps).text = true;
                    }
                }
            }
        }
    }

    /// Where a child element of this name comes among the children (`None`: not declared).
    pub(crate) fn position(&self, local: &str) -> Option<usize> {
        self.children.iter().position(|c| c.local == local)
    }
}

/// Every element of a record's mapping is in the record's namespace: a WSDL's schema has
/// one target namespace per record.
fn check_namespace(fields: &[Field], ns: &str) -> Result<(), String> {
    for f in fields {
        for e in &f.external {
            let ExtPath::Xml { steps, .. } = e else {
                continue;
            };
            if let Some(s) = steps.iter().find(|s| !s.attribute && s.ns != ns) {
                return Err(format!(
                    "element {} is in namespace {:?}, not the record's {ns:?}: a WSDL needs \
                     one namespace per record",
                    s.local, s.ns
                ));
            }
        }
        check_namespace(&f.children, ns)?;
    }
    Ok(())
}

fn emit(n: &XNode, out: &mut String, top: bool) {
    let occurs = if top {
        String::new()
    } else if n.repeated {
        " minOccurs=\"0\" maxOccurs=\"unbounded\"".into()
    } else {
        " minOccurs=\"0\"".into()
    };
    if n.children.is_empty() && n.attrs.is_empty() {
        let _ = write!(
            out,
            "<xsd:element name=\"{}\" type=\"xsd:string\"{occurs}/>",
            n.local
        );
        return;
    }
    let _ = write!(
        out,
        "<xsd:element name=\"{}\"{occurs}><xsd:complexType",
        n.local
    );
    let attrs: String = n
        .attrs
        .iter()
        .map(|a| format!("<xsd:attribute name=\"{a}\" type=\"xsd:string\"/>"))
        .collect();
    if n.children.is_empty() {
        let _ = write!(
            out,
            "><xsd:simpleContent><xsd:extension base=\"xsd:string\">{attrs}</xsd:extension>\
             </xsd:simpleContent></xsd:complexType></xsd:element>"
        );
        return;
    }
    if n.text {
        out.push_str(" mixed=\"true\"");
    }
    out.push_str("><xsd:sequence>");
    for c in &n.children {
        emit(c, out, false);
    }
    let _ = write!(
        out,
        "</xsd:sequence>{attrs}</xsd:complexType></xsd:element>"
    );
}

impl Adapter {
    /// The WSDL of this adapter's ingest operations, served at `location`.
    pub fn wsdl(&self, location: &str) -> Result<String, String> {
        let def = self.definition();
        let name = &def.name;
        let types: Vec<&String> = if def.provides.is_empty() {
            self.records.keys().collect()
        } else {
            def.provides.iter().collect()
        };
        // One schema per record namespace, declaring the root element of every record the
        // adapter maps (what it pushes, and what the hub writes to it: a schema-validating
        // receiver checks deliveries against the same declarations).
        let mut schemas: Vec<(String, String)> = Vec::new();
        let mut declared: Vec<(&str, &str)> = Vec::new();
        for record in self.records.values() {
            let Root::Xml(root, _) = &record.root else {
                return Err(format!("{name} is not an XML adapter"));
            };
            check_namespace(&record.fields, &root.ns)?;
            if declared.contains(&(root.ns.as_str(), root.local.as_str())) {
                continue;
            }
            declared.push((&root.ns, &root.local));
            let mut xsd = String::new();
            emit(&record.xml_tree, &mut xsd, true);
            match schemas.iter_mut().find(|(ns, _)| *ns == root.ns) {
                Some((_, body)) => body.push_str(&xsd),
                None => schemas.push((root.ns.clone(), xsd)),
            }
        }
        let mut roots = Vec::new();
        for t in &types {
            let Some(record) = self.records.get(*t) else {
                return Err(format!("{name} provides {t} but maps no such record"));
            };
            let Root::Xml(root, _) = &record.root else {
                return Err(format!("{name} is not an XML adapter"));
            };
            let idx = schemas
                .iter()
                .position(|(ns, _)| *ns == root.ns)
                .unwrap_or(0);
            roots.push((t.to_string(), idx, root.local.clone()));
        }
        let tns = format!("urn:lienthong:wsdl:{name}");
        let mut out = String::with_capacity(8192);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        let _ = write!(
            out,
            "<wsdl:definitions name=\"{name}\" targetNamespace=\"{tns}\" \
             xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" \
             xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" \
             xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:tns=\"{tns}\" \
             xmlns:lt=\"{INGEST_NS}\""
        );
        for (i, (ns, _)) in schemas.iter().enumerate() {
            let _ = write!(out, " xmlns:r{i}=\"{ns}\"");
        }
        out.push_str("><wsdl:types>");
        for (ns, body) in &schemas {
            let _ = write!(
                out,
                "<xsd:schema targetNamespace=\"{ns}\" elementFormDefault=\"qualified\" \
                 attributeFormDefault=\"unqualified\">{body}</xsd:schema>"
            );
        }
        let _ = write!(
            out,
            "<xsd:schema targetNamespace=\"{INGEST_NS}\" elementFormDefault=\"qualified\">\
             <xsd:element name=\"IngestResponse\"><xsd:complexType><xsd:sequence>\
             <xsd:element name=\"ExchangeId\" type=\"xsd:string\"/>\
             <xsd:element name=\"Digest\" type=\"xsd:string\"/>\
             <xsd:element name=\"RecordType\" type=\"xsd:string\"/>\
             <xsd:element name=\"Schema\" type=\"xsd:string\"/>\
             <xsd:element name=\"Duplicate\" type=\"xsd:boolean\" minOccurs=\"0\"/>\
             <xsd:element name=\"Finding\" minOccurs=\"0\" maxOccurs=\"unbounded\">\
             <xsd:complexType><xsd:sequence>\
             <xsd:element name=\"Code\" type=\"xsd:string\"/>\
             <xsd:element name=\"Field\" type=\"xsd:string\"/>\
             <xsd:element name=\"Detail\" type=\"xsd:string\"/>\
             </xsd:sequence></xsd:complexType></xsd:element>\
             </xsd:sequence></xsd:complexType></xsd:element></xsd:schema></wsdl:types>"
        );
        for (t, idx, local) in &roots {
            let _ = write!(
                out,
                "<wsdl:message name=\"{t}Request\"><wsdl:part name=\"body\" element=\"r{idx}:{local}\"/></wsdl:message>"
            );
        }
        out.push_str(
            "<wsdl:message name=\"IngestResponse\"><wsdl:part name=\"body\" \
             element=\"lt:IngestResponse\"/></wsdl:message><wsdl:portType name=\"IngestPortType\">",
        );
        for (t, _, _) in &roots {
            let _ = write!(
                out,
                "<wsdl:operation name=\"{t}\"><wsdl:input message=\"tns:{t}Request\"/>\
                 <wsdl:output message=\"tns:IngestResponse\"/></wsdl:operation>"
            );
        }
        out.push_str(
            "</wsdl:portType><wsdl:binding name=\"IngestBinding\" type=\"tns:IngestPortType\">\
             <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>",
        );
        for (t, _, _) in &roots {
            let _ = write!(
                out,
                "<wsdl:operation name=\"{t}\"><soap:operation soapAction=\"{}\"/>\
                 <wsdl:input><soap:body use=\"literal\"/></wsdl:input>\
                 <wsdl:output><soap:body use=\"literal\"/></wsdl:output></wsdl:operation>",
                soap_action(name, t)
            );
        }
        let _ = write!(
            out,
            "</wsdl:binding><wsdl:service name=\"IngestService\"><wsdl:port name=\"IngestPort\" \
             binding=\"tns:IngestBinding\"><soap:address location=\"{}\"/></wsdl:port>\
             </wsdl:service></wsdl:definitions>",
            quick_xml::escape::escape(location)
        );
        Ok(out)
    }
}
