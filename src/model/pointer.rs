//! JSON Pointer (RFC 6901) look-ups without allocating: `serde_json::Value::pointer` makes two
//! new strings of every reference token (to undo `~1` and `~0`), and the hub looks up a few
//! pointers in every record it handles (its subject, its order key, its natural key).

use serde_json::Value;
use std::borrow::Cow;

/// The value `pointer` refers to in `value`, as `Value::pointer` finds it: `""` is the whole
/// value, every other pointer starts with `/`; an array index is decimal without a sign or a
/// leading zero.
pub fn pointer<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(value, |v, token| {
        let token = if token.contains('~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        };
        match v {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "a": {"b": [10, {"c": "x"}, [1, 2]], "": 3, "~1": 4, "/": 5, "~": 6},
            "01": 7,
            "0": {"1": 8},
            "list": ["p", "q"],
        })
    }

    proptest! {
        /// Every pointer made of the document's keys, indexes and a few odd tokens finds what
        /// `Value::pointer` finds.
        #[test]
        fn finds_what_serde_json_finds(tokens in proptest::collection::vec(
            prop_oneof![
                Just("a"), Just("b"), Just("c"), Just("0"), Just("1"), Just("2"), Just("01"),
                Just("+1"), Just(""), Just("~01"), Just("~0"), Just("~1"), Just("list"),
                Just("x"), Just("-"), Just("99999999999999999999999"),
            ],
            0..5,
        ), slash in any::<bool>()) {
            let d = doc();
            let p: String = tokens.iter().map(|t| format!("/{t}")).collect();
            let p = if slash { p } else { p.trim_start_matches('/').to_string() };
            prop_assert_eq!(pointer(&d, &p), d.pointer(&p), "{}", p);
        }
    }

    #[test]
    fn escaped_tokens_and_the_whole_value() {
        let d = doc();
        assert_eq!(pointer(&d, ""), Some(&d));
        assert_eq!(pointer(&d, "/a/~01"), Some(&json!(4)));
        assert_eq!(pointer(&d, "/a/~1"), Some(&json!(5)));
        assert_eq!(pointer(&d, "/a/~0"), Some(&json!(6)));
        assert_eq!(pointer(&d, "/a/b/1/c"), Some(&json!("x")));
        assert_eq!(pointer(&d, "/a/b/01"), None);
        assert_eq!(pointer(&d, "a"), None);
    }
}
