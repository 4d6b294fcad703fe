//! Digests of canonical records: SHA-256 over the RFC 8785 (JCS) canonical JSON.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The RFC 8785 canonical serialisation of a JSON value. Objects here keep their keys sorted
/// (`serde_json` without `preserve_order`) and `serde_json` escapes strings as RFC 8785 does,
/// so without floats, integers beyond 2^53 or non-ASCII keys its own output is already
/// canonical (a property test checks this against the JCS library); otherwise the library
/// writes it.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: it has string keys and finite numbers only.
    if needs_library(value) {
        serde_json_canonicalizer::to_vec(value).unwrap_or_default()
    } else {
        super::json_out::to_vec(value)
    }
}

/// Whether `serde_json` may write a value otherwise than RFC 8785: a number that is not an
/// integer exactly representable as a double, or an object key outside ASCII (RFC 8785 sorts
/// keys by UTF-16 code units, `serde_json` by UTF-8 bytes; the two orders differ above U+E000).
fn needs_library(v: &Value) -> bool {
    const EXACT: u64 = 1 << 53;
    match v {
        Value::Number(n) => {
            n.is_f64()
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT)
                || n.as_u64().is_some_and(|u| u > EXACT)
        }
        Value::Array(a) => a.iter().any(needs_library),
        Value::Object(o) => o.keys().any(|k| !k.is_ascii()) || o.values().any(needs_library),
        _ => false,
    }
}

/// `sha256:<hex>` of the canonical JSON of a record.
pub fn record_digest(value: &Value) -> String {
    digest_of_canonical(&canonical_json(value))
}

/// `sha256:<hex>` of a record's canonical JSON written already (`canonical_json`).
pub fn digest_of_canonical(canonical: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn canonical_json_is_rfc8785(v in crate::model::json_values()) {
            prop_assert_eq!(
                canonical_json(&v),
                serde_json_canonicalizer::to_vec(&v).unwrap()
            );
        }
    }

    #[test]
    fn non_ascii_keys_and_floats_take_the_library() {
        // U+E000 sorts after U+10000 in UTF-8 bytes and before it in UTF-16 code units.
        let v = json!({"\u{e000}": 1, "\u{10000}": 2, "x": 1.5});
        assert!(needs_library(&v));
        assert_eq!(
            canonical_json(&v),
            serde_json_canonicalizer::to_vec(&v).unwrap()
        );
        assert!(!needs_library(&json!({"a": [1, "Nguyễn"], "b": null})));
    }

    #[test]
    fn key_order_does_not_change_the_digest() {
        let a = json!({"b": 1, "a": [1, "x"], "c": {"z": true, "y": null}});
        let b = json!({"c": {"y": null, "z": true}, "a": [1, "x"], "b": 1});
        assert_eq!(record_digest(&a), record_digest(&b));
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"a":[1,"x"],"b":1,"c":{"y":null,"z":true}}"#
        );
    }
}
