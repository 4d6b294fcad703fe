//! The schema registry: every canonical schema, meta-validated and compiled once, looked up by
//! name and version.
//!
//! Schemas are files named `<name>.v<version>.json` (e.g. `dossier-status.v1.json`). The ones in
//! `schemas/` are embedded in the binary; a directory given at start replaces them.

use super::{FieldError, domain, escape_token, formats, pattern};
use crate::model::AgencyCodeRule;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The schemas shipped in `schemas/`, embedded at build time.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "citizen.v1.json",
        include_str!("../../schemas/citizen.v1.json"),
    ),
    (
        "citizen.v2.json",
        include_str!("../../schemas/citizen.v2.json"),
    ),
    (
        "document.v1.json",
        include_str!("../../schemas/document.v1.json"),
    ),
    (
        "dossier-status.v1.json",
        include_str!("../../schemas/dossier-status.v1.json"),
    ),
    (
        "dossier.v1.json",
        include_str!("../../schemas/dossier.v1.json"),
    ),
    (
        "dossier.v2.json",
        include_str!("../../schemas/dossier.v2.json"),
    ),
    (
        "payment.v1.json",
        include_str!("../../schemas/payment.v1.json"),
    ),
];

/// How records are validated beyond the schema files themselves.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The rule for `vn-agency-code`.
    pub agency_code: AgencyCodeRule,
    /// At most this many errors are reported for one record; the rest are counted as truncated.
    pub max_errors: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            agency_code: AgencyCodeRule::default(),
            max_errors: 100,
        }
    }
}

/// Why the registry could not be built. Each variant names the schema file.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read schema directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not valid JSON: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: a schema file is named <name>.v<version>.json (e.g. citizen.v1.json)")]
    FileName { file: String },
    #[error("{file}: not a valid draft 2020-12 schema: {problem} (at {pointer})")]
    Meta {
        file: String,
        pointer: String,
        problem: String,
    },
    #[error("{file}: {problem}")]
    Header { file: String, problem: String },
    #[error("{file}: the schema does not compile: {problem}")]
    Compile { file: String, problem: String },
    #[error("{file}: {name}.v{version} is already defined by another file")]
    Duplicate {
        file: String,
        name: String,
        version: u32,
    },
}

/// One compiled canonical schema.
pub struct Schema {
    name: String,
    version: u32,
    file: String,
    title: String,
    raw: Value,
    validator: jsonschema::Validator,
    formats: Vec<formats::CustomFormat>,
    max_errors: usize,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("file", &self.file)
            .finish()
    }
}

impl Schema {
    /// The record type, e.g. `dossier-status`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The version number.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// `name.vN`, the key adapters and commands use.
    pub fn key(&self) -> String {
        format!("{}.v{}", self.name, self.version)
    }
    /// The file it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }
    /// The schema's title.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// The schema document.
    pub fn document(&self) -> &Value {
        &self.raw
    }

    /// Validates a canonical record: the schema, then the domain rules. Returns every error
    /// (up to the configured cap; `truncated` says whether more were dropped).
    pub fn validate(&self, record: &Value) -> Result<(), Rejection> {
        self.validate_with(record, false)
    }

    /// Validates a record that the translator wrote: as `validate`, except that its text is
    /// not searched again for decomposed characters. The translator writes every text in NFC
    /// (values read from the document, constants, defaults, code tables, changes of case,
    /// administrative unit names); `translate::tests` checks that documents sent in NFD
    /// translate to the same records as in NFC, and that those records pass `validate`.
    pub fn validate_translated(&self, record: &Value) -> Result<(), Rejection> {
        self.validate_with(record, true)
    }

    fn validate_with(&self, record: &Value, text_is_nfc: bool) -> Result<(), Rejection> {
        let mut errors = Vec::new();
        if !self.validator.is_valid(record) {
            for e in self.validator.iter_errors(record) {
                self.push_schema_error(&e, &mut errors);
                if errors.len() > self.max_errors {
                    break;
                }
            }
        }
        domain::check(&self.name, self.version, record, text_is_nfc, &mut errors);
        if errors.is_empty() {
            return Ok(());
        }
        let truncated = errors.len() > self.max_errors;
        errors.truncate(self.max_errors);
        Err(Rejection { errors, truncated })
    }

    fn push_schema_error(&self, e: &jsonschema::ValidationError<'_>, out: &mut Vec<FieldError>) {
        let pointer = e.instance_path().as_str().to_string();
        match e.kind() {
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or_default();
                out.push(FieldError::new(
                    format!("{pointer}/{}", escape_token(prop)),
                    "schema.required",
                    format!("{prop} is required"),
                ));
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for prop in unexpected {
                    out.push(FieldError::new(
                        format!("{pointer}/{}", escape_token(prop)),
                        "schema.additional-property",
                        format!("{prop} is not a field of {}", self.key()),
                    ));
                }
            }
            ValidationErrorKind::Format { format } => {
                let value = e.instance().as_str().unwrap_or_default();
                let message = match self.formats.iter().find(|f| f.name == format) {
                    Some(custom) => (custom.explain)(value),
                    None => format!("{value:?} is not a valid {format}"),
                };
                out.push(FieldError::new(
                    pointer,
                    format!("format.{format}"),
                    message,
                ));
            }
            kind => {
                out.push(FieldError::new(
                    pointer,
                    format!("schema.{}", kebab(kind.keyword())),
                    e.to_string(),
                ));
            }
        }
    }
}

/// A record refused by validation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// Every error found, in document order, up to the cap.
    pub errors: Vec<FieldError>,
    /// Whether more errors were found than reported.
    pub truncated: bool,
}

fn kebab(keyword: &str) -> String {
    let mut out = String::with_capacity(keyword.len() + 4);
    for c in keyword.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every canonical schema the hub knows.
#[derive(Debug)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    agency: AgencyCodeRule,
}

impl SchemaRegistry {
    /// The schemas embedded in the binary (the shipped `schemas/` folder).
    pub fn embedded(options: &ValidationOptions) -> Result<SchemaRegistry, RegistryError> {
        let files = EMBEDDED
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()));
        SchemaRegistry::from_files(files, options)
    }

    /// Every `*.json` file of a directory.
    pub fn load_dir(
        dir: &Path,
        options: &ValidationOptions,
    ) -> Result<SchemaRegistry, RegistryError> {
        let io = |source| RegistryError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| RegistryError::Io {
                path: path.clone(),
                source,
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, text));
        }
        files.sort();
        SchemaRegistry::from_files(files, options)
    }

    fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
        options: &ValidationOptions,
    ) -> Result<SchemaRegistry, RegistryError> {
        let mut schemas: Vec<Schema> = Vec::new();
        for (file, text) in files {
            let schema = compile(&file, &text, options)?;
            if schemas
                .iter()
                .any(|s| s.name == schema.name && s.version == schema.version)
            {
                return Err(RegistryError::Duplicate {
                    file,
                    name: schema.name,
                    version: schema.version,
                });
            }
            schemas.push(schema);
        }
        schemas.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
        Ok(SchemaRegistry {
            schemas,
            agency: options.agency_code.clone(),
        })
    }

    /// Looks a schema up by `name.vN`, or by `name` alone for its highest version.
    pub fn get(&self, key: &str) -> Option<&Schema> {
        match split_key(key) {
            Some((name, version)) => self
                .schemas
                .iter()
                .find(|s| s.name == name && s.version == version),
            None => self.schemas.iter().rev().find(|s| s.name == key),
        }
    }

    /// The rule agency codes follow (also used for adapter members).
    pub fn agency_rule(&self) -> &AgencyCodeRule {
        &self.agency
    }

    /// Every schema, by name then version.
    pub fn iter(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter()
    }

    /// The keys of every schema (`citizen.v1`, …), for messages that list what exists.
    pub fn keys(&self) -> Vec<String> {
        self.schemas.iter().map(Schema::key).collect()
    }
}

/// Splits `name.vN` into its name and version.
fn split_key(key: &str) -> Option<(&str, u32)> {
    let (name, version) = key.rsplit_once(".v")?;
    let version = version.parse().ok()?;
    (!name.is_empty()).then_some((name, version))
}

fn compile(file: &str, text: &str, options: &ValidationOptions) -> Result<Schema, RegistryError> {
    let stem = file
        .strip_suffix(".json")
        .ok_or_else(|| RegistryError::FileName { file: file.into() })?;
    let (name, version) = split_key(stem)
        .filter(|(name, _)| {
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .ok_or_else(|| RegistryError::FileName { file: file.into() })?;
    let raw: Value = serde_json::from_str(text).map_err(|source| RegistryError::Json {
        file: file.into(),
        source,
    })?;
    let header = |problem: &str| RegistryError::Header {
        file: file.into(),
        problem: problem.into(),
    };
    if raw.get("$schema").and_then(Value::as_str)
        != Some("https://json-schema.org/draft/2020-12/schema")
    {
        return Err(header(
            "$schema must be \"https://json-schema.org/draft/2020-12/schema\"",
        ));
    }
    let expected_id = format!("urn:lienthong:schema:{name}:v{version}");
    if raw.get("$id").and_then(Value::as_str) != Some(expected_id.as_str()) {
        return Err(header(&format!(
            "$id must be {expected_id:?} (it follows the file name)"
        )));
    }
    if let Err(e) = jsonschema::meta::validate(&raw) {
        return Err(RegistryError::Meta {
            file: file.into(),
            pointer: e.instance_path().as_str().to_string(),
            problem: e.to_string(),
        });
    }
    let custom = formats::custom_formats(&options.agency_code);
    let mut builder = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_keyword("pattern", pattern::keyword);
    for f in formats::custom_formats(&options.agency_code) {
        builder = builder.with_format(f.name, f.check);
    }
    let validator = builder.build(&raw).map_err(|e| RegistryError::Compile {
        file: file.into(),
        problem: e.to_string(),
    })?;
    let title = raw
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Schema {
        name: name.to_string(),
        version,
        file: file.to_string(),
        title,
        raw,
        validator,
        formats: custom,
        max_errors: options.max_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> SchemaRegistry {
        SchemaRegistry::embedded(&ValidationOptions::default()).unwrap()
    }

    #[test]
    fn the_five_shipped_schemas_load_and_their_examples_validate() {
        let reg = registry();
        assert_eq!(
            reg.keys(),
            [
                "citizen.v1",
                "citizen.v2",
                "document.v1",
                "dossier.v1",
                "dossier.v2",
                "dossier-status.v1",
                "payment.v1"
            ]
        );
        for schema in reg.iter() {
            let examples = schema.document()["examples"].as_array().unwrap();
            assert!(!examples.is_empty(), "{}", schema.key());
            for ex in examples {
                assert_eq!(schema.validate(ex), Ok(()), "{}", schema.key());
            }
        }
    }

    #[test]
    fn lookup_by_name_gives_the_highest_version() {
        let reg = registry();
        assert_eq!(reg.get("citizen").unwrap().key(), "citizen.v2");
        assert_eq!(reg.get("citizen.v1").unwrap().key(), "citizen.v1");
        assert!(reg.get("citizen.v9").is_none());
        assert!(reg.get("nothing").is_none());
    }

    #[test]
    fn a_broken_schema_names_its_file_and_the_problem() {
        let opts = ValidationOptions::default();
        let bad = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "$id": "urn:lienthong:schema:thing:v1", "type": "objekt"}"#;
        let err =
            SchemaRegistry::from_files([("thing.v1.json".into(), bad.into())], &opts).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, RegistryError::Meta { .. }), "{msg}");
        assert!(msg.starts_with("thing.v1.json:"), "{msg}");
        assert!(msg.contains("/type"), "{msg}");

        let err =
            SchemaRegistry::from_files([("thing.json".into(), "{}".into())], &opts).unwrap_err();
        assert!(matches!(err, RegistryError::FileName { .. }), "{err}");

        let err =
            SchemaRegistry::from_files([("thing.v1.json".into(), "{".into())], &opts).unwrap_err();
        assert!(matches!(err, RegistryError::Json { .. }), "{err}");

        let wrong_id = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "$id": "urn:lienthong:schema:other:v1"}"#;
        let err = SchemaRegistry::from_files([("thing.v1.json".into(), wrong_id.into())], &opts)
            .unwrap_err();
        assert!(err.to_string().contains("$id must be"), "{err}");
    }

    #[test]
    fn a_schema_directory_replaces_the_embedded_set() {
        let dir = tempfile::tempdir().unwrap();
        let s = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$id": "urn:lienthong:schema:thing:v2", "type": "object"}"#;
        std::fs::write(dir.path().join("thing.v2.json"), s).unwrap();
        std::fs::write(dir.path().join("README.md"), "not a schema").unwrap();
        let reg = SchemaRegistry::load_dir(dir.path(), &ValidationOptions::default()).unwrap();
        assert_eq!(reg.keys(), ["thing.v2"]);
    }
}
