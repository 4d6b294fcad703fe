//! Adapter definitions: how the hub talks to one external system, as a TOML file.
//!
//! An adapter names its transport and format, the record types it provides (sends to the hub)
//! and consumes (receives from the hub), and for each record type a mapping between the
//! external document and the canonical record. Mappings are declarative and work in both
//! directions: a new province is a new file, not a new build. See `adapters/*.toml` for
//! commented examples.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One adapter definition, the top level of an adapter file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterDef {
    /// Unique name of the adapter: lower-case letters, digits and `-`, 1 to 64 characters.
    /// It appears in ingest URLs (`/v1/ingest/{name}/{record_type}`).
    pub name: String,
    /// A human title, e.g. "Hệ thống một cửa điện tử tỉnh Hà Tĩnh".
    #[serde(default)]
    pub title: String,
    /// Agency code of the member that owns the adapter (e.g. `000.00.00.H42`).
    pub member: String,
    /// The external format: `json` or `xml`.
    pub format: Format,
    /// How records travel: `http` (REST) or `soap` (SOAP envelopes over HTTP; needs `format = "xml"`).
    #[serde(default)]
    pub transport: Transport,
    /// Where the hub sends records to (and probes) this system, e.g. `https://motcua.example/api`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// UTC offset applied to date-times that carry no zone, and used to write date-times out.
    /// Vietnam time by default.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Record types this system sends to the hub (inbound), e.g. `["dossier", "dossier-status"]`.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Record types the hub delivers to this system (outbound).
    #[serde(default)]
    pub consumes: Vec<String>,
    /// XML options: namespace map and parse limits.
    #[serde(default)]
    pub xml: XmlOptions,
    /// JSON options: parse limits.
    #[serde(default)]
    pub json: JsonOptions,
    /// SOAP options, for `transport = "soap"`.
    #[serde(default)]
    pub soap: SoapOptions,
    /// Code tables: external code → canonical value, e.g. `[code_tables.sex] "1" = "male"`.
    /// Outbound, a canonical value is written as the first code listed for it.
    #[serde(default)]
    pub code_tables: BTreeMap<String, IndexMap<String, String>>,
    /// How the hub delivers records to this system (destinations only).
    #[serde(default)]
    pub delivery: DeliveryOptions,
    /// How the hub reads one record from this system by its key (sources of once-only pulls).
    #[serde(default)]
    pub lookup: Option<LookupOptions>,
    /// One mapping per record type, keyed by the record type (`[records.dossier-status]`).
    pub records: BTreeMap<String, RecordDef>,
}

/// `[lookup]`: how the hub reads one record by key from this system: `GET` the endpoint
/// followed by `path`, with `{key}` replaced by the key (a personal ID number). The answer is
/// translated and validated as the record type named in `record_type`; 404 means unknown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupOptions {
    pub record_type: String,
    pub path: String,
    /// Milliseconds allowed for the answer.
    #[serde(default = "default_lookup_timeout")]
    pub timeout_ms: u64,
}

fn default_lookup_timeout() -> u64 {
    3000
}

/// `[delivery]`: timeouts, retries, the circuit breaker, the rate limit, and what counts as
/// accepted, for deliveries to this adapter's endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryOptions {
    /// Time allowed for one delivery, in milliseconds.
    #[serde(default = "default_delivery_timeout")]
    pub timeout_ms: u64,
    /// Requests to the destination at once (records of different order keys). Besides them,
    /// four times as many records the destination accepted may wait for their delivery to be
    /// recorded (a group commit, a few milliseconds; their order key held meanwhile): a crash
    /// sends again at most five times this many.
    #[serde(default = "default_delivery_concurrency")]
    pub concurrency: usize,
    /// Attempts before a record is parked as a dead letter.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Age (since it was accepted) after which a record that still fails is parked, in seconds.
    #[serde(default = "default_max_age")]
    pub max_age_secs: u64,
    /// Retry backoff: the first wait's ceiling, in milliseconds (full jitter, doubling).
    #[serde(default = "default_backoff_base")]
    pub backoff_base_ms: u64,
    /// Retry backoff: the largest wait, in milliseconds.
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long the breaker stays open before one probe delivery, in milliseconds.
    #[serde(default = "default_breaker_cooldown")]
    pub breaker_cooldown_ms: u64,
    /// Deliveries per second at most (0: no limit); protects the destination.
    #[serde(default)]
    pub rate_per_sec: u32,
    /// JSON destinations that answer 200 with a status code in the body: a JSON Pointer to it,
    /// e.g. `/error_code`. Only the values in `accept` mean delivered; any other is a failed
    /// delivery (retried, then parked with the answer).
    #[serde(default)]
    pub accept_pointer: Option<String>,
    /// The values at `accept_pointer` that mean accepted, e.g. `["0", "00"]`.
    #[serde(default)]
    pub accept: Vec<String>,
}

fn default_delivery_timeout() -> u64 {
    5_000
}
fn default_delivery_concurrency() -> usize {
    16
}
fn default_max_attempts() -> u32 {
    12
}
fn default_max_age() -> u64 {
    24 * 3600
}
fn default_backoff_base() -> u64 {
    200
}
fn default_backoff_max() -> u64 {
    60_000
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown() -> u64 {
    2_000
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            timeout_ms: default_delivery_timeout(),
            concurrency: default_delivery_concurrency(),
            max_attempts: default_max_attempts(),
            max_age_secs: default_max_age(),
            backoff_base_ms: default_backoff_base(),
            backoff_max_ms: default_backoff_max(),
            breaker_failures: default_breaker_failures(),
            breaker_cooldown_ms: default_breaker_cooldown(),
            rate_per_sec: 0,
            accept_pointer: None,
            accept: Vec::new(),
        }
    }
}

fn default_timezone() -> String {
    "+07:00".to_string()
}

/// The external format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Xml,
}

/// The transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Plain HTTP(S) requests with the document as the body.
    #[default]
    Http,
    /// SOAP envelopes over HTTP(S).
    Soap,
}

/// XML options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlOptions {
    /// Namespace prefixes used in element paths: `{ hs = "urn:motcua:hatinh:hoso:1" }`.
    /// The empty prefix `""` is the default namespace of unprefixed path steps.
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// Parse limits; every breach is refused with an error naming the limit.
    #[serde(default)]
    pub limits: XmlLimits,
}

/// Hard limits on an XML document.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlLimits {
    /// Largest document accepted, in bytes (default 1 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Deepest element nesting accepted (default 64).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Most elements accepted in one document (default 10,000).
    #[serde(default = "default_max_elements")]
    pub max_elements: usize,
    /// Most attributes accepted on one element (default 64).
    #[serde(default = "default_max_attributes")]
    pub max_attributes: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_bytes: default_max_bytes(),
            max_depth: default_max_depth(),
            max_elements: default_max_elements(),
            max_attributes: default_max_attributes(),
        }
    }
}

fn default_max_bytes() -> usize {
    1 << 20
}
fn default_max_depth() -> usize {
    64
}
fn default_max_elements() -> usize {
    10_000
}
fn default_max_attributes() -> usize {
    64
}

/// JSON options.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonOptions {
    /// Parse limits.
    #[serde(default)]
    pub limits: JsonLimits,
}

/// Hard limits on a JSON document.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLimits {
    /// Largest document accepted, in bytes (default 1 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects accepted (default 64, at most 128).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits {
            max_bytes: default_max_bytes(),
            max_depth: default_max_depth(),
        }
    }
}

/// SOAP options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapOptions {
    /// SOAP version of envelopes the hub writes: `1.1` (default) or `1.2`. Both are read.
    #[serde(default)]
    pub version: SoapVersion,
}

/// A SOAP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum SoapVersion {
    /// SOAP 1.1, envelope namespace `http://schemas.xmlsoap.org/soap/envelope/`.
    #[default]
    #[serde(rename = "1.1")]
    V11,
    /// SOAP 1.2, envelope namespace `http://www.w3.org/2003/05/soap-envelope`.
    #[serde(rename = "1.2")]
    V12,
}

/// The mapping of one record type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDef {
    /// The canonical schema, `name.vN` (e.g. `dossier-status.v1`).
    pub schema: String,
    /// Where the record sits in the external document. XML: the record's root element, e.g.
    /// `hs:HoSo` (inside a SOAP Body for SOAP adapters). JSON: a JSON Pointer to the record
    /// object, `""` for the whole document, e.g. `/data/0`.
    pub root: String,
    /// JSON only: constants written around the record outbound, by absolute JSON Pointer,
    /// e.g. `{ "/service" = "CapNhatTienDoHoSoMC" }`. Ignored inbound.
    #[serde(default)]
    pub envelope: IndexMap<String, Value>,
    /// Sample documents in the external format, relative to the adapter file. `adapter check`
    /// runs each through translate + validate and a round trip; a file `<sample>.canonical.json`
    /// beside a sample is the expected canonical record (a golden file).
    #[serde(default)]
    pub samples: Vec<String>,
    /// Canonical pointers whose values identify a record for deduplication of repeated
    /// pushes, with the adapter's name, e.g. `["/dossier_code", "/event_id"]`. Without it, a
    /// record is a repeat when its canonical form is identical. An `Idempotency-Key` header
    /// takes precedence.
    #[serde(default)]
    pub natural_key: Vec<String>,
    /// The field mappings, in the order the external document lists them.
    pub fields: Vec<FieldDef>,
    /// Address objects of the canonical record that the `address` transform normalises
    /// across the 2025 reform of administrative units (see [`AddressDef`]).
    #[serde(default)]
    pub addresses: Vec<AddressDef>,
}

/// The `address` transform on one address object of a record (a schema version with 2025-form
/// addresses, e.g. `dossier.v2`). Inbound, the fields mapped into the object (commune,
/// province and their codes, and for the old three-tier form `legacy/district` and
/// `legacy/district_code`) are resolved against the reference data and rewritten in the 2025
/// form, with the old form kept under `legacy`; outbound, the object is written in the scheme
/// the system speaks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressDef {
    /// JSON Pointer of the address object in the canonical record, e.g. `/applicant/address`.
    pub at: String,
    /// An old commune split among several 2025 communes: `error` (the record is refused, the
    /// candidates named), `warn` (accepted as written, a warning on the exchange) or `first`
    /// (the reference data's default successor, with a warning). Default `error`.
    #[serde(default)]
    pub ambiguous: AddressPolicy,
    /// No such unit: `error` (refused, with the nearest names) or `warn` (accepted as
    /// written, a warning on the exchange). Default `error`.
    #[serde(default)]
    pub unknown: AddressPolicy,
    /// When the object has no commune but its `street` holds the whole address as free text
    /// ("Số 5 Hàng Bông, Phường Hàng Trống, Quận Hoàn Kiếm, Hà Nội"), resolve that text; the
    /// part before the units stays in `street`. Default false.
    #[serde(default)]
    pub free_text: bool,
    /// The scheme this system speaks when the hub writes to it: `2025` (commune and province
    /// of the 2025 list; `legacy` is not written) or `legacy` (the old names and codes, from
    /// the kept `legacy` form or, when the record has none, the unique old commune the 2025
    /// commune came from; otherwise the delivery fails with the reason). Default `2025`.
    #[serde(default)]
    pub outbound: AddressScheme,
}

/// What the `address` transform does with an address it cannot resolve to one 2025 unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressPolicy {
    #[default]
    Error,
    Warn,
    /// Ambiguous only: take the default successor.
    First,
}

/// The scheme of administrative units a system speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum AddressScheme {
    #[default]
    #[serde(rename = "2025")]
    Current,
    #[serde(rename = "legacy")]
    Legacy,
}

/// One field mapping. Inbound it reads `external`, applies the transforms in order (trim, NFC,
/// case, code table or date/date-time or type) and writes `canonical`; outbound it does the
/// inverse.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// JSON Pointer into the canonical record, e.g. `/applicant/full_name`. Absent for an
    /// external-only constant.
    #[serde(default)]
    pub canonical: Option<String>,
    /// Place in the external document: an element path relative to the record root for XML
    /// (`hs:ChuHoSo/hs:SoDinhDanh`, `@phienBan` for an attribute), a JSON Pointer relative to the
    /// record for JSON (`/hoVaTen`). A list of places is joined with `join` inbound and split
    /// outbound (names: the last part takes the last word, a first of three takes the first).
    #[serde(default)]
    pub external: Option<OneOrMany>,
    /// A missing or empty value is an error (inbound: in the external document; outbound: in
    /// the canonical record).
    #[serde(default)]
    pub required: bool,
    /// Strip surrounding whitespace (default true).
    #[serde(default = "yes")]
    pub trim: bool,
    /// Change case inbound: `upper`, `lower` or `title`.
    #[serde(default)]
    pub case: Option<Case>,
    /// Date patterns tried in order, e.g. `["dd/MM/yyyy", "MM/yyyy", "yyyy"]`; the canonical
    /// value is `YYYY`, `YYYY-MM` or `YYYY-MM-DD` after the precision of the pattern that matched.
    #[serde(default)]
    pub date: Option<OneOrMany>,
    /// Date-time pattern, e.g. `dd/MM/yyyy HH:mm:ss` or `yyyyMMddHHmmss` (the adapter's
    /// `timezone` is applied), or `rfc3339`; the canonical value is RFC 3339 with offset.
    #[serde(default)]
    pub datetime: Option<String>,
    /// Name of a code table in `[code_tables]`.
    #[serde(default)]
    pub code_table: Option<String>,
    /// Separator to join several `external` places into one canonical value.
    #[serde(default)]
    pub join: Option<String>,
    /// A fixed value: inbound the canonical field takes it whatever the document says;
    /// outbound it is written to `external`.
    #[serde(default)]
    pub constant: Option<Value>,
    /// The canonical value when the external one is missing or empty.
    #[serde(default)]
    pub default: Option<Value>,
    /// Parse the external text as `integer`, `number` or `boolean` (default: keep the type).
    #[serde(default, rename = "type")]
    pub value_type: Option<ValueType>,
    /// The external place repeats (XML: repeated elements; JSON: an array): the canonical
    /// value is an array, each item mapped by `fields` (objects) or by this field's transforms.
    #[serde(default)]
    pub array: bool,
    /// Mappings of each item of an array, relative to the item.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

fn yes() -> bool {
    true
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, in order.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A case transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    Upper,
    Lower,
    Title,
}

/// A value type the external text is parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Integer,
    Number,
    Boolean,
}

/// Why an adapter file could not be read as a definition.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
}

impl AdapterDef {
    /// Parses an adapter definition; `file` names it in errors. Unknown keys are errors that
    /// name the key, its line and the keys allowed there.
    pub fn from_toml(file: &str, text: &str) -> Result<AdapterDef, DefinitionError> {
        let def: AdapterDef = toml::from_str(text).map_err(|e| DefinitionError::Toml {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if let Some(l) = &def.lookup {
            let problem = if !def.provides.contains(&l.record_type) {
                Some(format!(
                    "[lookup] record_type {:?} is not among `provides` ({})",
                    l.record_type,
                    def.provides.join(", ")
                ))
            } else if !l.path.starts_with('/') || !l.path.contains("{key}") {
                Some(format!(
                    "[lookup] path {:?} must start with '/' and contain {{key}}",
                    l.path
                ))
            } else if def.endpoint.is_none() {
                Some("[lookup] needs an `endpoint` to read from".to_string())
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(DefinitionError::Toml {
                    file: file.to_string(),
                    message,
                });
            }
        }
        Ok(def)
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    const BASE: &str = r#"
name = "r"
member = "000.00.00.G12"
format = "json"
endpoint = "http://127.0.0.1:1/x"
provides = ["citizen"]
[records.citizen]
schema = "citizen.v1"
root = "/"
fields = []
"#;

    #[test]
    fn a_lookup_must_name_a_provided_record_and_a_key_in_its_path() {
        let ok = format!("{BASE}[lookup]\nrecord_type = \"citizen\"\npath = \"/c/{{key}}\"\n");
        if let Err(e) = AdapterDef::from_toml("a.toml", &ok) {
            panic!("{e}");
        }
        for (lookup, want) in [
            (
                "record_type = \"dossier\"\npath = \"/c/{key}\"",
                "not among `provides`",
            ),
            ("record_type = \"citizen\"\npath = \"/c/\"", "contain {key}"),
        ] {
            let e = AdapterDef::from_toml("a.toml", &format!("{BASE}[lookup]\n{lookup}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("a.toml:") && e.contains(want), "{e}");
        }
    }
}
