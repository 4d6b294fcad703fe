use super::*;

fn step(ns_index: u32, local: &str, attribute: bool) -> Step {
    Step {
        ns: String::new(),
        ns_index,
        prefix: None,
        local: local.into(),
        attribute,
    }
}

/// A plan for `<a:R>` (a = urn:a, index 3; d = urn:d, index 4) reading `@v`, `a:X`, `Y`
/// (in the default namespace urn:d) and the repeated `a:L/a:I` items with their `@n`.
fn plan() -> (Plan, [u32; 3], u32, u32) {
    let mut ns = base_namespaces();
    ns.push("urn:a".into());
    ns.push("urn:d".into());
    let mut p = Plan::new(ns, step(3, "R", false));
    let root = Plan::root_scope();
    let v = p.scalar(root, &[step(0, "v", true)]);
    let x = p.scalar(root, &[step(3, "X", false)]);
    let y = p.scalar(root, &[step(4, "Y", false)]);
    let (items, item) = p.array(root, &[step(3, "L", false), step(3, "I", false)]);
    let n = p.scalar(item, &[step(0, "n", true)]);
    (p, [v, x, y], items, n)
}

fn read_str<'a>(p: &Plan, s: &'a str) -> Result<Frame<'a>, DocumentError> {
    read(s.as_bytes(), &XmlLimits::default(), p)
}

#[test]
fn mapped_values_attributes_entities_and_items_are_read() {
    let (p, [v, x, y], items, n) = plan();
    let f = read_str(
        &p,
        r#"<?xml version="1.0" encoding="UTF-8"?>
        <a:R xmlns:a="urn:a" xmlns="urn:d" v="1&amp;2"><a:X>T &lt;&#x41;&#66;&gt;</a:X>
        <Skip><a:X>not me</a:X></Skip><Y><![CDATA[<c>]]></Y>
        <a:L><a:I n="1"/><a:I n="2">x</a:I></a:L></a:R>"#,
    )
    .unwrap();
    assert_eq!(f.values[v as usize].as_deref(), Some("1&2"));
    assert_eq!(f.values[x as usize].as_deref(), Some("T <AB>"));
    assert_eq!(f.values[y as usize].as_deref(), Some("<c>"));
    let got: Vec<_> = f.arrays[items as usize]
        .iter()
        .map(|i| i.values[n as usize].as_deref().unwrap())
        .collect();
    assert_eq!(got, ["1", "2"]);
}

#[test]
fn texts_without_carriage_returns_and_elements_without_attributes_take_the_short_path() {
    let (p, [v, x, y], _, _) = plan();
    // XML 1.0: `\r\n` and a lone `\r` are read as `\n`, in text and in CDATA.
    let doc = "<a:R xmlns:a=\"urn:a\" xmlns=\"urn:d\" v=\"1\"><a:X>a\r\nb\rc</a:X>\
               <Y><![CDATA[d\r\ne]]></Y></a:R>";
    let f = read_str(&p, doc).unwrap();
    assert_eq!(f.values[x as usize].as_deref(), Some("a\nb\nc"));
    assert_eq!(f.values[y as usize].as_deref(), Some("d\ne"));
    // Without any `\r`, texts and elements without attributes are taken as they are.
    let doc = "<a:R xmlns:a=\"urn:a\" xmlns=\"urn:d\"><a:X >a\nb</a:X><Y\n>c</Y></a:R>";
    let f = read_str(&p, doc).unwrap();
    assert_eq!(f.values[x as usize].as_deref(), Some("a\nb"));
    assert_eq!(f.values[y as usize].as_deref(), Some("c"));
    assert_eq!(f.values[v as usize], None);
    // White space after a name is XML's only: a form feed there is still a bad attribute.
    for doc in [
        "<a:R xmlns:a=\"urn:a\"><a:X \u{c}>x</a:X></a:R>",
        "<a:R xmlns:a=\"urn:a\" \u{c}/>",
    ] {
        let err = read_str(&p, doc).unwrap_err();
        assert_eq!(err.code, "xml.syntax", "{doc:?}: {}", err.message);
    }
}

#[test]
fn namespaces_are_compared_not_prefixes() {
    let (p, [_, x, _], _, _) = plan();
    let f = read_str(&p, r#"<z:R xmlns:z="urn:a"><z:X>ok</z:X><X>no</X></z:R>"#).unwrap();
    assert_eq!(f.values[x as usize].as_deref(), Some("ok"));
    let err = read_str(&p, r#"<R xmlns="urn:other"/>"#).unwrap_err();
    assert_eq!(err.code, "xml.wrong-root");
    assert!(err.message.contains("urn:a"), "{}", err.message);
}

#[test]
fn soap_envelopes_of_both_versions_are_unwrapped_and_faults_refused() {
    let (p, [_, x, _], _, _) = plan();
    for env in [SOAP11, SOAP12] {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{env}"><s:Header><a:X xmlns:a="urn:a">h</a:X></s:Header><s:Body><a:R xmlns:a="urn:a"><a:X>b</a:X></a:R></s:Body></s:Envelope>"#
        );
        let f = read_str(&p, &doc).unwrap();
        assert_eq!(f.values[x as usize].as_deref(), Some("b"));
    }
    let fault = format!(
        r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>Hệ thống bận</faultstring></s:Fault></s:Body></s:Envelope>"#
    );
    let err = read_str(&p, &fault).unwrap_err();
    assert_eq!(err.code, "soap.fault");
    assert!(err.message.contains("Hệ thống bận"));
    let empty = format!(r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body/></s:Envelope>"#);
    assert_eq!(read_str(&p, &empty).unwrap_err().code, "soap.empty-body");
}

#[test]
fn each_hostile_shape_gets_its_own_code() {
    let (p, ..) = plan();
    let cases = [
        (
            "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>",
            "xml.doctype",
        ),
        (
            r#"<a:R xmlns:a="urn:a"><a:X>&ext;</a:X></a:R>"#,
            "xml.entity",
        ),
        (r#"<a:R xmlns:a="urn:a" v="&x;"/>"#, "xml.entity"),
        (r#"<a:R xmlns:a="urn:a"><a:X>text"#, "xml.truncated"),
        (r#"<a:R xmlns:a="urn:a"><a:X>"#, "xml.truncated"),
        (r#"<a:R xmlns:a="urn:a"><a:X></a:R>"#, "xml.syntax"),
        (
            r#"<a:R xmlns:a="urn:a"/><a:R xmlns:a="urn:a"/>"#,
            "xml.content-after-root",
        ),
        ("", "xml.empty"),
        ("<p:R/>", "xml.namespace"),
        ("<r/>", "xml.wrong-root"),
        (
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
            "xml.encoding",
        ),
    ];
    for (doc, code) in cases {
        let err = read_str(&p, doc).unwrap_err();
        assert_eq!(err.code, code, "{doc}: {}", err.message);
    }
    let err = read(b"<r>\xff</r>", &XmlLimits::default(), &p).unwrap_err();
    assert_eq!(err.code, "document.invalid-utf8");
    assert_eq!(err.position, Some(3));
}

#[test]
fn limits_are_enforced_and_named() {
    let (p, ..) = plan();
    let limits = XmlLimits {
        max_bytes: 100,
        max_depth: 3,
        max_elements: 4,
        max_attributes: 2,
    };
    let too_big = format!("<r>{}</r>", "x".repeat(200));
    let err = read(too_big.as_bytes(), &limits, &p).unwrap_err();
    assert!(err.message.contains("max_bytes"), "{}", err.message);
    let deep = r#"<a:R xmlns:a="urn:a"><b><c><d/></c></b></a:R>"#;
    assert_eq!(
        read(deep.as_bytes(), &limits, &p).unwrap_err().code,
        "xml.too-deep"
    );
    let many = r#"<a:R xmlns:a="urn:a"><b/><b/><b/><b/></a:R>"#;
    assert_eq!(
        read(many.as_bytes(), &limits, &p).unwrap_err().code,
        "xml.too-many-elements"
    );
    let attrs = r#"<a:R xmlns:a="urn:a" x='1' y='2' z='3'/>"#;
    assert_eq!(
        read(attrs.as_bytes(), &limits, &p).unwrap_err().code,
        "xml.too-many-attributes"
    );
}
