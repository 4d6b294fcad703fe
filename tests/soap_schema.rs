//! What the hub writes to an XML system follows the XML Schema of the WSDL the hub serves for
//! it, checked by a real validator (libxml2): every shipped sample of every XML adapter, read
//! in and written out again, validates; so does the sample itself as the system sends it.
//! Needs a Python with lxml in `LIENTHONG_PYTHON`; `scripts/test` installs one and runs this.

mod common;

use lienthong::config::adapter::Format;

#[test]
#[ignore = "needs Python with lxml (LIENTHONG_PYTHON); scripts/test runs it"]
fn every_shipped_sample_written_out_validates_against_the_wsdl_schema() {
    let mut checked = 0;
    for adapter in common::shipped_adapters().values() {
        if adapter.definition().format != Format::Xml {
            continue;
        }
        let wsdl = adapter
            .wsdl("http://127.0.0.1:1/soap")
            .unwrap_or_else(|e| panic!("{}: {e}", adapter.name()));
        let mut documents = Vec::new();
        let dir = std::path::Path::new(adapter.file())
            .parent()
            .expect("the adapter's folder");
        let samples = adapter
            .definition()
            .records
            .iter()
            .flat_map(|(t, r)| r.samples.iter().map(move |s| (t, s)));
        for (record_type, sample) in samples {
            let path = dir.join(sample);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let canonical = adapter
                .inbound(record_type, &bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let out = adapter
                .outbound(record_type, &canonical)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            documents.push((format!("{} written out", path.display()), out));
            documents.push((format!("{} as sent", path.display()), bytes));
        }
        checked += documents.len();
        let invalid = common::xsd_errors(&wsdl, &documents);
        assert!(invalid.is_empty(), "{}: {invalid:#?}", adapter.name());
    }
    assert!(checked >= 10, "only {checked} documents checked");
}
