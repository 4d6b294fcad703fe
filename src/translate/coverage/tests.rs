//! The places of samples against the places of mappings: JSON and XML, arrays of objects and
//! of scalars, SOAP envelopes, namespaces, attributes, joined places, external-only constants.

use crate::translate::Adapter;
use crate::validate::{SchemaRegistry, ValidationOptions};

/// A registry with one test schema, `thing.v1`: texts, an array of texts, an array of objects.
fn registry() -> (tempfile::TempDir, SchemaRegistry) {
    let dir = tempfile::tempdir().unwrap();
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:lienthong:schema:thing:v1",
        "title": "A thing",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "code": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "parts": {"type": "array", "items": {"type": "object", "properties": {
                "label": {"type": "string"}, "size": {"type": "integer"}}}}
        }
    });
    std::fs::write(dir.path().join("thing.v1.json"), schema.to_string()).unwrap();
    let registry = SchemaRegistry::load_dir(dir.path(), &ValidationOptions::default()).unwrap();
    (dir, registry)
}

fn adapter(head: &str, fields: &str) -> (tempfile::TempDir, Adapter) {
    let (dir, registry) = registry();
    let text = format!(
        "name = \"things\"\nmember = \"000.00.00.H42\"\n{head}\n\
         [records.thing]\nschema = \"thing.v1\"\n{fields}"
    );
    let adapter = Adapter::from_toml("things.toml", &text, &registry)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    (dir, adapter)
}

fn json_adapter(fields: &str) -> (tempfile::TempDir, Adapter) {
    adapter(
        "format = \"json\"\ntransport = \"http\"",
        &format!("root = \"/duLieu\"\nenvelope = {{ \"/ma\" = \"00\" }}\n{fields}"),
    )
}

const JSON_FIELDS: &str = r#"
[[records.thing.fields]]
canonical = "/name"
external = ["/ten/ho", "/ten/ten"]
join = " "

[[records.thing.fields]]
canonical = "/code"
external = "/nguoiNop/soCCD"

[[records.thing.fields]]
canonical = "/tags"
external = "/nhan"
array = true

[[records.thing.fields]]
canonical = "/parts"
external = "/danhSach"
array = true

[[records.thing.fields.fields]]
canonical = "/label"
external = "/nhan"

[[records.thing.fields.fields]]
canonical = "/size"
external = "/coMo"

[[records.thing.fields]]
external = "/phienBan"
constant = "1"
"#;

#[test]
fn json_places_no_mapping_reads_are_listed_once_per_item_path() {
    let (_dir, a) = json_adapter(JSON_FIELDS);
    let doc = serde_json::json!({
        "ma": "00",
        "thongDiep": "outside the record: not a field",
        "duLieu": {
            "ten": {"ho": "Nguyễn", "ten": "Nhung"},
            "nguoiNop": {"soCCCD": "042192004518"},
            "nhan": ["a", "b"],
            "danhSach": [
                {"nhan": "x", "coMo": 1, "mau": "đỏ"},
                {"nhan": "y", "mau": "xanh"},
                {"nhan": "z", "mau": null}
            ],
            "phienBan": "1",
            "ghiChu": null,
            "rong": {},
            "boSung": []
        }
    });
    let c = a.coverage("thing", doc.to_string().as_bytes()).unwrap();
    // A JSON object's members are read in the order of their names.
    assert_eq!(
        c.unmapped,
        [
            "/boSung",
            "/danhSach/*/mau",
            "/ghiChu",
            "/nguoiNop/soCCCD",
            "/rong"
        ]
    );
    let places: Vec<(String, bool)> = a
        .mapped_places("thing")
        .into_iter()
        .map(|p| p.external)
        .zip(c.present)
        .collect();
    let expected = [
        ("/ten/ho", true),
        ("/ten/ten", true),
        ("/nguoiNop/soCCD", false),
        ("/nhan/*", true),
        ("/danhSach/*/nhan", true),
        ("/danhSach/*/coMo", true),
        ("/phienBan", true),
    ];
    let expected: Vec<(String, bool)> = expected.iter().map(|(p, b)| (p.to_string(), *b)).collect();
    assert_eq!(places, expected);
}

#[test]
fn json_empty_arrays_on_mapped_paths_and_envelope_members_in_the_record_are_known() {
    let (_dir, a) = adapter(
        "format = \"json\"\ntransport = \"http\"",
        &format!("root = \"\"\nenvelope = {{ \"/ma\" = \"00\" }}\n{JSON_FIELDS}"),
    );
    let doc = br#"{"ma": "00", "nhan": [], "danhSach": [], "ten": {}, "tags": [1]}"#;
    let c = a.coverage("thing", doc).unwrap();
    // `ten` is on the way to mapped places; `tags` is no place of the mapping.
    assert_eq!(c.unmapped, ["/tags/*"]);
    // An empty array has no item: its item places are not in the sample.
    assert_eq!(c.present, [false, false, false, false, false, false, false]);
}

#[test]
fn a_pointer_to_an_item_by_position_reads_that_item_only() {
    let (_dir, a) = json_adapter(
        r#"
[[records.thing.fields]]
canonical = "/code"
external = "/soDienThoai/0"
"#,
    );
    let doc = br#"{"duLieu": {"soDienThoai": ["0912", "0913"]}}"#;
    let c = a.coverage("thing", doc).unwrap();
    assert_eq!(c.unmapped, ["/soDienThoai/*"]);
    assert_eq!(c.present, [true]);
}

fn xml_adapter() -> (tempfile::TempDir, Adapter) {
    adapter(
        "format = \"xml\"\ntransport = \"soap\"\n[xml.namespaces]\nhs = \"urn:ho-so\"\n",
        r#"root = "hs:Vat"

[[records.thing.fields]]
external = "@phienBan"
constant = "1"

[[records.thing.fields]]
canonical = "/name"
external = ["hs:Ten/hs:Ho", "hs:Ten/hs:Ten"]
join = " "

[[records.thing.fields]]
canonical = "/code"
external = "hs:Ma/@so"

[[records.thing.fields]]
canonical = "/tags"
external = "hs:Nhan"
array = true

[[records.thing.fields]]
canonical = "/parts"
external = "hs:DanhSach/hs:Phan"
array = true

[[records.thing.fields.fields]]
canonical = "/label"
external = "hs:Nhan"

[[records.thing.fields.fields]]
canonical = "/size"
external = "@coMo"
"#,
    )
}

#[test]
fn xml_places_in_a_soap_body_with_namespaces_attributes_and_repeated_items() {
    let (_dir, a) = xml_adapter();
    // Declarations are not fields; a default namespace is the adapter's `hs`; the envelope
    // (and its header) is not the record.
    let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header><Token>abc</Token></soap:Header>
  <soap:Body>
    <Vat xmlns="urn:ho-so" xmlns:x="urn:khac" phienBan="1" x:nguon="motcua">
      <Ten><Ho>Nguyễn</Ho><TenDem>Thị</TenDem><Ten>Nhung</Ten></Ten>
      <Ma so="42" loai="CCCD">ghi chú</Ma>
      <Nhan>a</Nhan><Nhan>b</Nhan>
      <DanhSach>
        <Phan coMo="1"><Nhan>x</Nhan><Mau>đỏ</Mau></Phan>
        <Phan><Nhan>y</Nhan><Mau><![CDATA[xanh]]></Mau></Phan>
      </DanhSach>
      <x:Them>&amp;</x:Them>
      <Rong/>
    </Vat>
  </soap:Body>
</soap:Envelope>"#;
    let c = a.coverage("thing", doc.as_bytes()).unwrap();
    assert_eq!(
        c.unmapped,
        [
            "@{urn:khac}nguon",
            "hs:Ten/hs:TenDem",
            "hs:Ma/@loai",
            "hs:Ma",
            "hs:DanhSach/hs:Phan/hs:Mau",
            "{urn:khac}Them",
            "hs:Rong",
        ]
    );
    assert!(c.present.iter().all(|p| *p), "{:?}", c.present);
    let places: Vec<String> = a
        .mapped_places("thing")
        .into_iter()
        .map(|p| p.external)
        .collect();
    assert_eq!(
        places,
        [
            "@phienBan",
            "hs:Ten/hs:Ho",
            "hs:Ten/hs:Ten",
            "hs:Ma/@so",
            "hs:Nhan",
            "hs:DanhSach/hs:Phan/hs:Nhan",
            "hs:DanhSach/hs:Phan/@coMo",
        ]
    );
}

#[test]
fn xml_mapped_places_absent_from_a_plain_document_are_not_present() {
    let (_dir, a) = xml_adapter();
    let doc = r#"<hs:Vat xmlns:hs="urn:ho-so"><hs:Ten><hs:Ho>Nguyễn</hs:Ho></hs:Ten><hs:DanhSach/></hs:Vat>"#;
    let c = a.coverage("thing", doc.as_bytes()).unwrap();
    // An empty list on the way to mapped items is no loss.
    assert!(c.unmapped.is_empty(), "{:?}", c.unmapped);
    assert_eq!(c.present, [false, true, false, false, false, false, false]);
}

#[test]
fn a_document_the_translation_refuses_has_no_coverage() {
    let (_dir, a) = xml_adapter();
    for doc in [
        "<hs:Khac xmlns:hs=\"urn:ho-so\"/>",
        "<!DOCTYPE x><hs:Vat xmlns:hs=\"urn:ho-so\"/>",
        "<hs:Vat xmlns:hs=\"urn:ho-so\">",
        "<p:Vat xmlns:hs=\"urn:ho-so\"/>",
    ] {
        assert!(a.coverage("thing", doc.as_bytes()).is_none(), "{doc}");
    }
    let (_dir, j) = json_adapter(JSON_FIELDS);
    assert!(j.coverage("thing", b"{\"duLieu\": 1}").is_none());
    assert!(j.coverage("thing", b"{").is_none());
    assert!(j.coverage("other", b"{}").is_none());
}
