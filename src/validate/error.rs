//! The one shape of a field error, shared by translation and validation.

use serde::Serialize;
use std::fmt;

/// One problem with one place in a record: where (a JSON Pointer into the canonical record, and
/// for a record read from an external document the place in it), a stable machine code, and a
/// message for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the canonical record; `""` is the whole record.
    pub pointer: String,
    /// Stable machine code, e.g. `schema.required`, `format.vn-personal-id`,
    /// `cross.id-sex-mismatch`, `translate.date`.
    pub code: String,
    /// What is wrong, written for the person who reads it.
    pub message: String,
    /// Where in the external document the value came from (XML path or JSON Pointer), for the
    /// errors of a record read from one: translation errors, and schema errors at a pointer a
    /// field mapping fills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl FieldError {
    /// A field error at a canonical pointer.
    pub fn new(
        pointer: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            code: code.into(),
            message: message.into(),
            source: None,
        }
    }

    /// The same error, naming the external place it came from.
    pub fn with_source(mut self, source: impl Into<String>) -> FieldError {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(record)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {} [{}]", self.message, self.code)?;
        if let Some(source) = &self.source {
            write!(f, " (from {source})")?;
        }
        Ok(())
    }
}

/// Escapes one reference token of a JSON Pointer (RFC 6901 §3).
pub(crate) fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}
