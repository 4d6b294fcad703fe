"""Validates documents against the XML Schema inside a WSDL, with libxml2's validator (lxml).

Usage: python xsd_validate.py WSDL DOCUMENT...

Each DOCUMENT is a SOAP envelope (its Body's element is validated) or a bare record element.
The element is validated against the `xsd:schema` of the WSDL whose targetNamespace is the
element's namespace. Prints one JSON line per document: {"file", "ok", "errors"}. Exits 0 when
every document is valid, 1 otherwise, 2 on a usage or schema error.
"""

import copy
import json
import sys

from lxml import etree

XSD = "http://www.w3.org/2001/XMLSchema"
ENVELOPES = {
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
}


def schemas_of(wsdl_path):
    tree = etree.parse(wsdl_path)
    found = {}
    for s in tree.iter("{%s}schema" % XSD):
        ns = s.get("targetNamespace") or ""
        # A schema document of its own: the WSDL's namespace declarations come along with the
        # copied element (lxml keeps those in scope).
        found[ns] = etree.XMLSchema(etree.ElementTree(copy.deepcopy(s)))
    return found


def record_element(doc):
    root = doc.getroot()
    if etree.QName(root).namespace in ENVELOPES:
        for child in root:
            if etree.QName(child).localname == "Body":
                elements = [c for c in child if isinstance(c.tag, str)]
                if len(elements) != 1:
                    raise ValueError("the SOAP Body holds %d elements, not one" % len(elements))
                return elements[0]
        raise ValueError("a SOAP envelope without a Body")
    return root


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        schemas = schemas_of(argv[1])
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as e:
        print("the WSDL's schema does not load: %s" % e, file=sys.stderr)
        return 2
    failed = 0
    for path in argv[2:]:
        errors = []
        try:
            element = record_element(etree.parse(path))
            ns = etree.QName(element).namespace or ""
            schema = schemas.get(ns)
            if schema is None:
                errors.append("no schema in the WSDL for namespace %r" % ns)
            elif not schema.validate(etree.ElementTree(copy.deepcopy(element))):
                errors = ["line %d: %s" % (e.line, e.message) for e in schema.error_log]
        except (etree.XMLSyntaxError, ValueError) as e:
            errors.append(str(e))
        failed += bool(errors)
        print(json.dumps({"file": path, "ok": not errors, "errors": errors}, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
