//! The translation engine: external documents to canonical records and back, driven by an
//! adapter definition.
//!
//! `Adapter::compile` checks a definition against the schema registry once (paths, pointers,
//! code tables, patterns); `Adapter::inbound` turns a document in the adapter's format (JSON,
//! XML or a SOAP envelope) into a canonical record (`Adapter::inbound_partial`: as far as its
//! fields translate, with every field's error); `Adapter::outbound` writes a canonical record in
//! the adapter's format. Translation does not validate: the caller runs the record's schema
//! (see `validate::translated::translate_validate`), and `Adapter::source_of` names the external place of a
//! canonical pointer for its errors. `Adapter::coverage` compares a sample with the mapping: the
//! places no mapping reads, the mapped places it lacks (`adapter check`).

mod address;
mod compile;
mod coverage;
mod definition;
mod json;
mod mapping;
mod origin;
mod soap;
pub(crate) mod transforms;
mod wsdl;
mod xml;
mod xml_read;

pub use compile::{Adapter, AdapterError};
pub use coverage::{MappedPlace, SampleCoverage};
pub use wsdl::{INGEST_NS, soap_action};

use crate::validate::FieldError;
use serde::Serialize;

/// A document refused as a whole, before any field is read: too large, not UTF-8, not
/// well-formed, hostile (DOCTYPE, entities), nested too deep, the wrong root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} [{code}]")]
pub struct DocumentError {
    /// Stable machine code, e.g. `xml.doctype`, `xml.too-deep`, `document.too-large`.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// Byte offset in the document where it was found, when known.
    pub position: Option<u64>,
}

/// Why a document could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The document as a whole was refused.
    #[error("{0}")]
    Document(DocumentError),
    /// One or more fields could not be mapped; every one is listed.
    #[error("{} field(s) could not be translated", .0.len())]
    Fields(Vec<FieldError>),
    /// The adapter has no mapping for this record type.
    #[error("adapter {adapter} has no record type {record_type:?} (it has: {known})")]
    UnknownRecordType {
        adapter: String,
        record_type: String,
        known: String,
    },
}

impl TranslateError {
    /// The error as a list of field errors, the one shape every caller prints.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            TranslateError::Document(d) => {
                let mut e = FieldError::new("", d.code, d.message.clone());
                if let Some(p) = d.position {
                    e = e.with_source(format!("byte {p}"));
                }
                vec![e]
            }
            TranslateError::Fields(f) => f.clone(),
            TranslateError::UnknownRecordType { .. } => {
                vec![FieldError::new("", "adapter.record-type", self.to_string())]
            }
        }
    }
}

/// A document translated as far as it goes (`Adapter::inbound_partial`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The canonical record with every field that translated (not yet validated).
    pub record: serde_json::Value,
    /// Every field that did not translate, each left out of `record`.
    pub errors: Vec<FieldError>,
    /// What the adapter accepts with a warning (an ambiguous or unknown address under `warn`).
    pub warnings: Vec<FieldError>,
}

impl From<DocumentError> for TranslateError {
    fn from(e: DocumentError) -> Self {
        TranslateError::Document(e)
    }
}
