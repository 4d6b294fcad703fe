//! Digests of canonical records: SHA-256 over the RFC 8785 (JCS) canonical JSON.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The RFC 8785 canonical serialisation of a JSON value.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: it has string keys and finite numbers only.
    serde_json_canonicalizer::to_vec(value).unwrap_or_default()
}

/// `sha256:<hex>` of the canonical JSON of a record.
pub fn record_digest(value: &Value) -> String {
    let hash = Sha256::digest(canonical_json(value));
    format!("sha256:{}", hex::encode(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
