//! Validation of canonical records: JSON Schema (draft 2020-12, compiled once per schema) plus
//! the domain rules a schema cannot express (personal ID against sex and birth date, dates that
//! must exist, due after received).
//!
//! Every record inside the hub passes here. Errors come back all at once (capped), each with
//! the instance pointer, a stable machine code and a message for a person.

mod domain;
mod error;
mod formats;
mod pattern;
mod registry;
pub mod translated;

pub use error::FieldError;
pub(crate) use error::escape_token;
pub use registry::{RegistryError, Schema, SchemaRegistry, ValidationOptions};
