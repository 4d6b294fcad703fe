//! Where a place of the canonical record came from: the external place of the field mapping
//! that writes a JSON Pointer. Validation knows only canonical pointers; with this, an error
//! found by the schema names the place in the document a person has to fix, as the errors of
//! translation do.

use super::compile::{Adapter, Field};
use super::json;

impl Adapter {
    /// The external place (as the adapter file writes it; places joined with `+`) that the
    /// field at `pointer` of a `record_type` record is read from. Inside an array item, the
    /// place of the item's field (`/documents/2/content_hash` → `hs:MaBam`), as translation
    /// errors name it. `None` when no mapping reads the pointer from the document: a constant,
    /// a value the hub writes itself, a pointer above several fields.
    pub fn source_of(&self, record_type: &str, pointer: &str) -> Option<&str> {
        let record = self.records.get(record_type)?;
        let tokens = json::tokens(pointer)?;
        source_in(&record.fields, &tokens)
    }
}

fn source_in<'a>(fields: &'a [Field], tokens: &[String]) -> Option<&'a str> {
    for f in fields {
        let Some(rest) = f.canonical.as_deref().and_then(|c| tokens.strip_prefix(c)) else {
            continue;
        };
        if f.external.is_empty() || f.constant.is_some() {
            // Not read from the document.
            return None;
        }
        if rest.is_empty() {
            return Some(&f.external_text);
        }
        if !f.array {
            continue;
        }
        let (index, inner) = rest.split_first()?;
        if index.parse::<usize>().is_err() {
            continue;
        }
        if inner.is_empty() || f.children.is_empty() {
            return Some(&f.external_text);
        }
        if let Some(s) = source_in(&f.children, inner) {
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::translate::Adapter;
    use crate::validate::{SchemaRegistry, ValidationOptions};

    fn adapter(file: &str) -> Adapter {
        let registry = SchemaRegistry::embedded(&ValidationOptions::default()).unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        Adapter::load(&path, &registry).unwrap()
    }

    #[test]
    fn a_pointer_is_traced_to_the_external_place_that_fills_it() {
        let motcua = adapter("adapters/motcua-hatinh.toml");
        let at = |p| motcua.source_of("dossier", p);
        assert_eq!(at("/dossier_code"), Some("hs:MaHoSo"));
        assert_eq!(
            at("/applicant/personal_id"),
            Some("hs:ChuHoSo/hs:SoDinhDanh")
        );
        assert_eq!(
            at("/applicant/full_name"),
            Some("hs:ChuHoSo/hs:Ho + hs:ChuHoSo/hs:TenDem + hs:ChuHoSo/hs:Ten")
        );
        // Inside an item: the item field's place, as translation errors name it.
        assert_eq!(at("/documents/2/content_hash"), Some("hs:MaBam"));
        assert_eq!(at("/documents"), Some("hs:DanhSachGiayTo/hs:GiayTo"));
        assert_eq!(at("/documents/2"), Some("hs:DanhSachGiayTo/hs:GiayTo"));
        // Above several fields, or not a field of the mapping: no one place.
        assert_eq!(at("/applicant"), None);
        assert_eq!(at("/documents/x/content_hash"), None);
        assert_eq!(at("/nope"), None);
        assert_eq!(motcua.source_of("no-such-type", "/dossier_code"), None);
        // A constant is not read from the document.
        let portal = adapter("adapters/national-portal.toml");
        assert_eq!(portal.source_of("payment", "/currency"), None);
        assert_eq!(portal.source_of("payment", "/amount"), Some("/SoTien"));
        assert_eq!(
            portal.source_of("dossier", "/fees/0/amount"),
            Some("/MucPhi")
        );
    }
}
