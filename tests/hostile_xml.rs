//! The hostile XML catalogue: each attack is refused with its own error code, before it can
//! expand, recurse or allocate its way into trouble. Run through the shipped SOAP adapter, as an
//! ingest would.

use lienthong::translate::{Adapter, TranslateError};
use lienthong::validate::{SchemaRegistry, ValidationOptions};
use std::path::Path;
use std::time::Instant;

fn adapter() -> Adapter {
    let registry = SchemaRegistry::embedded(&ValidationOptions::default()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/motcua-hatinh.toml");
    Adapter::load(&path, &registry).unwrap()
}

fn sample() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/samples/motcua-hatinh/dossier.xml"),
    )
    .unwrap()
}

/// Translates and returns the document error's code, printing how long the refusal took.
fn refusal(name: &str, doc: &[u8]) -> &'static str {
    let adapter = adapter();
    let start = Instant::now();
    let result = adapter.inbound("dossier", doc);
    let took = start.elapsed();
    eprintln!("{name}: {} bytes refused in {took:?}", doc.len());
    match result {
        Err(TranslateError::Document(e)) => {
            assert!(!e.message.is_empty());
            e.code
        }
        other => panic!("{name}: expected a document error, got {other:?}"),
    }
}

#[test]
fn the_shipped_sample_is_accepted() {
    assert!(adapter().inbound("dossier", &sample()).is_ok());
}

#[test]
fn an_entity_bomb_is_refused_at_its_doctype() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>\n<lolz>&lol9;</lolz>");
    assert_eq!(refusal("entity bomb", doc.as_bytes()), "xml.doctype");
}

#[test]
fn an_external_entity_is_refused_at_its_doctype() {
    let doc = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><hs:HoSo xmlns:hs="urn:motcua:hatinh:hoso:1"><hs:MaHoSo>&x;</hs:MaHoSo></hs:HoSo>"#;
    assert_eq!(refusal("external entity", doc.as_bytes()), "xml.doctype");
}

#[test]
fn an_undeclared_entity_reference_is_refused() {
    let doc =
        r#"<hs:HoSo xmlns:hs="urn:motcua:hatinh:hoso:1"><hs:MaHoSo>&x;</hs:MaHoSo></hs:HoSo>"#;
    assert_eq!(refusal("undeclared entity", doc.as_bytes()), "xml.entity");
}

#[test]
fn deep_nesting_is_refused_at_the_depth_limit() {
    // 200,000 nested openings inside the right root (600 KB, under the size limit): refused at
    // depth 33, the rest is never read.
    let doc = format!(
        "<hs:HoSo xmlns:hs=\"urn:motcua:hatinh:hoso:1\">{}",
        "<a>".repeat(200_000)
    );
    assert_eq!(
        refusal("200,000-deep nesting", doc.as_bytes()),
        "xml.too-deep"
    );
    // Closed properly it is over the size limit and refused before parsing.
    let closed = format!("{doc}{}</hs:HoSo>", "</a>".repeat(200_000));
    assert_eq!(
        refusal("200,000-deep nesting, closed", closed.as_bytes()),
        "document.too-large"
    );
}

#[test]
fn a_hundred_megabyte_document_is_refused_before_parsing() {
    let mut doc = b"<hs:HoSo xmlns:hs=\"urn:motcua:hatinh:hoso:1\"><hs:GhiChu>".to_vec();
    doc.resize(100 * 1024 * 1024, b'x');
    assert_eq!(refusal("100 MB document", &doc), "document.too-large");
}

#[test]
fn a_truncated_document_is_refused() {
    let full = sample();
    for cut in [full.len() / 2, full.len() - 30, 200] {
        assert_eq!(
            refusal("truncated", &full[..cut]),
            "xml.truncated",
            "cut at {cut}"
        );
    }
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    let mut doc = sample();
    let at = doc.windows(6).position(|w| w == b"MaHoSo").unwrap() + 7;
    doc.insert(at, 0xC3); // a lead byte with no continuation
    doc.insert(at + 1, b'(');
    let adapter = adapter();
    match adapter.inbound("dossier", &doc) {
        Err(TranslateError::Document(e)) => {
            assert_eq!(e.code, "document.invalid-utf8");
            assert_eq!(e.position, Some(at as u64));
        }
        other => panic!("expected invalid UTF-8, got {other:?}"),
    }
}

#[test]
fn a_foreign_root_is_refused_at_its_first_element() {
    // Whatever follows (here 200,000 nested elements) is never read.
    let doc = "<a>".repeat(200_000);
    assert_eq!(refusal("foreign root", doc.as_bytes()), "xml.wrong-root");
}

#[test]
fn the_wrong_root_is_refused_and_named() {
    let doc = r#"<hs:ThanhToan xmlns:hs="urn:motcua:hatinh:hoso:1"><hs:MaHoSo>1</hs:MaHoSo></hs:ThanhToan>"#;
    assert_eq!(refusal("wrong root", doc.as_bytes()), "xml.wrong-root");
    // Same local name, other namespace: still the wrong root.
    let doc = r#"<HoSo xmlns="urn:other"><MaHoSo>1</MaHoSo></HoSo>"#;
    let err = adapter().inbound("dossier", doc.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("urn:other"), "{err}");
}

#[test]
fn a_soap_fault_is_refused_with_its_reason() {
    let doc = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>Hệ thống bận</faultstring></s:Fault></s:Body></s:Envelope>"#;
    let err = adapter().inbound("dossier", doc.as_bytes()).unwrap_err();
    let TranslateError::Document(e) = err else {
        panic!("expected a document error")
    };
    assert_eq!(e.code, "soap.fault");
    assert!(e.message.contains("Hệ thống bận"), "{}", e.message);
}

#[test]
fn too_many_elements_are_refused() {
    let mut doc = String::from(r#"<hs:HoSo xmlns:hs="urn:motcua:hatinh:hoso:1">"#);
    for _ in 0..6000 {
        doc.push_str("<hs:GhiChu/>");
    }
    doc.push_str("</hs:HoSo>");
    assert_eq!(
        refusal("6,000 elements", doc.as_bytes()),
        "xml.too-many-elements"
    );
}
