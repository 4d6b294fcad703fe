//! JSON at the edge: parse under limits, and reading and writing by JSON Pointer.

use super::DocumentError;
use crate::config::adapter::JsonLimits;
use serde_json::{Map, Value};

/// Parses a JSON document under `limits`.
const DUPLICATE: &str = "duplicate key ";

/// A JSON value read strictly: an object with a key twice is an error (serde_json would keep
/// the last silently, and another reader the first).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{k:?}")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

pub(crate) fn parse(bytes: &[u8], limits: &JsonLimits) -> Result<Value, DocumentError> {
    if bytes.len() > limits.max_bytes {
        return Err(DocumentError {
            code: "document.too-large",
            message: format!(
                "the document has {} bytes; the limit (json.limits.max_bytes) is {}",
                bytes.len(),
                limits.max_bytes
            ),
            position: None,
        });
    }
    let text = super::xml::utf8(bytes)?;
    let value: Value = serde_json::from_str::<Strict>(text).map(|s| s.0).map_err(|e| {
        let said = e.to_string();
        let deep = said.contains("recursion limit");
        if let Some(key) = said.strip_prefix(DUPLICATE) {
            return DocumentError {
                code: "json.duplicate-key",
                message: format!(
                    "an object has the key {} twice; which one counts would depend on the \
                     reader, so the document is refused",
                    key.split(" at line").next().unwrap_or(key)
                ),
                position: None,
            };
        }
        DocumentError {
            code: if deep { "json.too-deep" } else { "json.syntax" },
            message: if deep {
                format!(
                    "arrays and objects nest deeper than the limit (json.limits.max_depth = {})",
                    limits.max_depth
                )
            } else {
                format!("not valid JSON: {e}")
            },
            position: None,
        }
    })?;
    if depth(&value, 0, limits.max_depth) > limits.max_depth {
        return Err(DocumentError {
            code: "json.too-deep",
            message: format!(
                "arrays and objects nest deeper than the limit (json.limits.max_depth = {})",
                limits.max_depth
            ),
            position: None,
        });
    }
    Ok(value)
}

/// Nesting depth of a value, stopping early past `limit`.
fn depth(v: &Value, at: usize, limit: usize) -> usize {
    if at > limit {
        return at;
    }
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| depth(x, at + 1, limit))
            .max()
            .unwrap_or(at + 1),
        Value::Object(o) => o
            .values()
            .map(|x| depth(x, at + 1, limit))
            .max()
            .unwrap_or(at + 1),
        _ => at,
    }
}

/// Splits a JSON Pointer into unescaped reference tokens; `None` if it is not a pointer.
pub(crate) fn tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// The value at a token path.
pub(crate) fn get<'v>(mut v: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    for t in tokens {
        v = match v {
            Value::Object(o) => o.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Sets the value at a token path, creating objects (and arrays for numeric tokens when
/// `arrays` is set) along the way. Fails if the path crosses a scalar.
pub(crate) fn set(root: &mut Value, tokens: &[String], value: Value, arrays: bool) -> bool {
    let Some((last, init)) = tokens.split_last() else {
        *root = value;
        return true;
    };
    let mut at = root;
    for (i, t) in init.iter().enumerate() {
        let next_is_index = arrays && tokens[i + 1].parse::<usize>().is_ok();
        at = match slot(at, t, arrays) {
            Some(s) => {
                if s.is_null() {
                    *s = if next_is_index {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
                s
            }
            None => return false,
        };
    }
    match slot(at, last, arrays) {
        Some(s) => {
            *s = value;
            true
        }
        None => false,
    }
}

fn slot<'v>(v: &'v mut Value, token: &str, arrays: bool) -> Option<&'v mut Value> {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(o) => {
            if o.contains_key(token) {
                o.get_mut(token)
            } else {
                Some(o.entry(token.to_string()).or_insert(Value::Null))
            }
        }
        Value::Array(a) if arrays => {
            let i: usize = token.parse().ok()?;
            if i > 10_000 {
                return None;
            }
            while a.len() <= i {
                a.push(Value::Null);
            }
            a.get_mut(i)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_split_unescape_and_reject_non_pointers() {
        assert_eq!(tokens("").unwrap(), Vec::<String>::new());
        assert_eq!(tokens("/a~1b/c~0d").unwrap(), ["a/b", "c~d"]);
        assert!(tokens("a/b").is_none());
    }

    #[test]
    fn set_creates_objects_and_arrays() {
        let mut v = Value::Null;
        assert!(set(&mut v, &tokens("/data/0/x").unwrap(), json!(1), true));
        assert!(set(&mut v, &tokens("/service").unwrap(), json!("S"), true));
        assert_eq!(v, json!({"data": [{"x": 1}], "service": "S"}));
        assert!(!set(&mut v, &tokens("/service/x").unwrap(), json!(1), true));
        assert_eq!(get(&v, &tokens("/data/0/x").unwrap()), Some(&json!(1)));
    }

    #[test]
    fn limits_and_syntax_errors_are_named() {
        let limits = JsonLimits {
            max_bytes: 50,
            max_depth: 3,
        };
        assert_eq!(
            parse(&[b' '; 60], &limits).unwrap_err().code,
            "document.too-large"
        );
        assert_eq!(
            parse(b"[[[[1]]]]", &limits).unwrap_err().code,
            "json.too-deep"
        );
        assert_eq!(parse(b"[[[1]]]", &limits).unwrap(), json!([[[1]]]));
        assert_eq!(parse(b"{\"a\":", &limits).unwrap_err().code, "json.syntax");
        let bomb = "[".repeat(100_000);
        let big = JsonLimits {
            max_bytes: 1 << 20,
            max_depth: 64,
        };
        assert_eq!(
            parse(bomb.as_bytes(), &big).unwrap_err().code,
            "json.too-deep"
        );
        assert_eq!(
            parse(b"\"\xff\"", &limits).unwrap_err().code,
            "document.invalid-utf8"
        );
    }
}

#[cfg(test)]
mod strict_tests {
    use super::*;

    #[test]
    fn strict_reading_keeps_numbers_as_serde_json_does_and_refuses_duplicate_keys() {
        let text = r#"{"a": [1, -0, 1.5, 18446744073709551615, -9223372036854775808, 1e300, 0.1, null, true, "x"]}"#;
        let strict: Value = serde_json::from_str::<Strict>(text).unwrap().0;
        let plain: Value = serde_json::from_str(text).unwrap();
        assert_eq!(strict, plain);
        assert_eq!(strict.to_string(), plain.to_string());
        assert!(serde_json::from_str::<Strict>(r#"{"a": 1, "b": {"c": 1, "c": 2}}"#).is_err());
        assert!(serde_json::from_str::<Strict>(r#"[{"c": 1}, {"c": 2}]"#).is_ok());
    }
}
