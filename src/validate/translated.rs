//! A document translated and validated in one step: every error of a record, from either
//! stage, in one answer (the ingest API, the dry run, `lienthong translate`, the once-only
//! look-ups of the register).

use super::{FieldError, Schema, SchemaRegistry};
use crate::translate::Adapter;
use serde_json::Value;

/// Translates a document inbound and validates the canonical record against its schema.
/// Every error, from either stage, comes back in one list.
pub fn translate_validate(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    document: &[u8],
) -> Result<Value, Vec<FieldError>> {
    translate_validate_with_warnings(adapter, registry, record_type, document).map(|(r, _)| r)
}

/// The same, with the warnings the adapter asked for instead of errors (an ambiguous or
/// unknown address under `warn`), which the caller records on the exchange.
///
/// The record is validated even when some of its fields did not translate (without them), so
/// that one answer lists every error of the document: the translation errors first, then the
/// schema's, each naming the external place it came from (`source`). A schema error that only
/// repeats a translation error (a field required by the schema whose value did not translate)
/// is left out.
pub fn translate_validate_with_warnings(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    document: &[u8],
) -> Result<(Value, Vec<FieldError>), Vec<FieldError>> {
    let read = adapter
        .inbound_partial(record_type, document)
        .map_err(|e| e.field_errors())?;
    let schema = match schema_for(adapter, registry, record_type) {
        Ok(schema) => schema,
        Err(mut unknown) => {
            let mut errors = read.errors;
            errors.append(&mut unknown);
            return Err(errors);
        }
    };
    let rejection = match schema.validate_translated(&read.record) {
        Ok(()) if read.errors.is_empty() => return Ok((read.record, read.warnings)),
        Ok(()) => None,
        Err(r) => Some(r),
    };
    let mut errors = read.errors;
    let translated = errors.len();
    for mut e in rejection.map(|r| r.errors).unwrap_or_default() {
        if errors[..translated].iter().any(|t| t.pointer == e.pointer) {
            continue;
        }
        if e.source.is_none()
            && let Some(source) = adapter.source_of(record_type, &e.pointer)
        {
            e.source = Some(source.to_string());
        }
        errors.push(e);
    }
    Err(errors)
}

fn schema_for<'r>(
    adapter: &Adapter,
    registry: &'r SchemaRegistry,
    record_type: &str,
) -> Result<&'r Schema, Vec<FieldError>> {
    let key = adapter.schema_of(record_type).unwrap_or(record_type);
    registry.get(key).ok_or_else(|| {
        vec![FieldError::new(
            "",
            "schema.unknown",
            format!("schema {key} is not loaded"),
        )]
    })
}

/// Validates a canonical record against the schema the adapter maps it to.
pub fn validate_record(
    adapter: &Adapter,
    registry: &SchemaRegistry,
    record_type: &str,
    record: &Value,
) -> Result<(), Vec<FieldError>> {
    schema_for(adapter, registry, record_type)?
        .validate(record)
        .map_err(|r| r.errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::ValidationOptions;
    use std::path::Path;

    fn registry() -> SchemaRegistry {
        SchemaRegistry::embedded(&ValidationOptions::default()).unwrap()
    }

    fn shipped(name: &str) -> Adapter {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Adapter::load(&root.join(format!("adapters/{name}.toml")), &registry()).unwrap()
    }

    fn sample(path: &str) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(root.join("adapters/samples").join(path)).unwrap()
    }

    #[test]
    fn translation_and_schema_errors_come_in_one_answer_each_with_its_source() {
        // A date that does not exist (translation) and a household without the relation the
        // schema requires (validation): both in one answer.
        let doc = sample("population-registry/citizen.json")
            .replace("14/05/1992", "31/02/1992")
            .replace(",\n      \"quanHeVoiChuHo\": \"Vợ\"", "");
        assert!(!doc.contains("quanHeVoiChuHo"));
        let errors = translate_validate(
            &shipped("population-registry"),
            &registry(),
            "citizen",
            doc.as_bytes(),
        )
        .unwrap_err();
        let found: Vec<(&str, &str, Option<&str>)> = errors
            .iter()
            .map(|e| (e.code.as_str(), e.pointer.as_str(), e.source.as_deref()))
            .collect();
        // `birth_date` is required by the schema too: that repeat of the translation error is
        // left out.
        assert_eq!(
            found,
            [
                ("translate.date", "/birth_date", Some("/ngaySinh")),
                (
                    "schema.required",
                    "/household/relation",
                    Some("/hoGiaDinh/quanHeVoiChuHo")
                ),
            ],
            "{errors:#?}"
        );
    }

    #[test]
    fn a_schema_error_inside_an_array_item_names_the_item_fields_place() {
        let doc = sample("motcua-hatinh/dossier.xml")
            .replace("15/09/2025 08:42:10", "31/09/2025 08:42:10")
            .replace(
                "sha256:739f678b74120b13404fdb471d48be431fdfbd1a28cde8e55c491162aa3e1935",
                "sha256:not-a-digest",
            );
        let errors = translate_validate(
            &shipped("motcua-hatinh"),
            &registry(),
            "dossier",
            doc.as_bytes(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(
            (errors[0].code.as_str(), errors[0].pointer.as_str()),
            ("translate.datetime", "/received_at")
        );
        assert_eq!(errors[0].source.as_deref(), Some("hs:NgayTiepNhan"));
        assert_eq!(errors[1].pointer, "/documents/2/content_hash");
        assert!(errors[1].code.starts_with("schema."), "{errors:#?}");
        assert_eq!(errors[1].source.as_deref(), Some("hs:MaBam"));
    }

    #[test]
    fn a_document_refused_as_a_whole_is_one_error_and_a_valid_one_none() {
        let adapter = shipped("motcua-hatinh");
        let errors = translate_validate(&adapter, &registry(), "dossier", b"<x:HoSo").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let doc = sample("motcua-hatinh/dossier.xml");
        assert!(translate_validate(&adapter, &registry(), "dossier", doc.as_bytes()).is_ok());
    }
}
