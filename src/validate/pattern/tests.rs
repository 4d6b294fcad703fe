use super::*;
use proptest::prelude::*;

/// The compiler's own `pattern` keyword, the oracle.
fn builtin(pattern: &str) -> Validator {
    jsonschema::draft202012::options()
        .build(&serde_json::json!({ "pattern": pattern }))
        .expect("a pattern the compiler takes")
}

/// Every `pattern` of the shipped schemas.
fn shipped_patterns() -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("pattern", Value::String(p)) => out.push(p.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("schemas") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        walk(&serde_json::from_str(&text).expect("json"), &mut out);
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn fixed_patterns_are_recognised_and_others_left_to_the_compiler() {
    for p in [
        r"^sha256:[0-9a-f]{64}$",
        r"^[0-9]{12}$",
        r"^[A-Z]{2}$",
        r"^abc$",
        r"^(a|b)$", // the parser reads a one-character alternation as a class
        r"^\d{3}$", // ECMA 262's \d is the ASCII digits, as the translator writes it
        r"^a[bc]\.{2}$",
        r"^(?:[0-9]{2})$",
    ] {
        assert!(Fixed::compile(p).is_some(), "{p}");
    }
    for p in [
        r"^[0-9]+$",       // open repetition
        r"^[0-9]{2,4}$",   // a range of lengths
        r"^(ab|c)$",       // alternation of different lengths
        r"[0-9]{3}",       // unanchored
        r"^[0-9]{3}",      // open end
        r"^.{3}$",         // any character
        r"^é$",            // a literal outside ASCII
        r"^[^0-9]$",       // a negated class holds non-ASCII characters
        r"^(ab){2}$",      // a repeated group
        r"^[0-9]{ 4 }$",   // not ECMA 262: fancy-regex reads the braces as text
        r"(?x)^[0-9]{4}$", // not ECMA 262
        r"(?i)^[a-z]{4}$", // not ECMA 262
        r"^[0-9]{4}(-[0-9]{2})?$",
    ] {
        assert!(Fixed::compile(p).is_none(), "{p}");
    }
    let hash = Fixed::compile(r"^sha256:[0-9a-f]{64}$").expect("fixed");
    let good = format!("sha256:{}", "0123456789abcdef".repeat(4));
    assert!(hash.is_match(&good));
    assert!(!hash.is_match(&good.to_uppercase()), "upper case hex");
    assert!(!hash.is_match(&good[..70]), "one short");
    assert!(!hash.is_match(&format!("{good}0")), "one long");
    assert!(!hash.is_match(&format!("{good}\n")), "a trailing newline");
    assert!(
        !hash.is_match(&good.replacen('0', "é", 1)),
        "a non-ASCII character"
    );
}

#[test]
fn the_shipped_schemas_have_fixed_patterns_and_the_content_hash_is_one() {
    let patterns = shipped_patterns();
    let fixed: Vec<&String> = patterns
        .iter()
        .filter(|p| Fixed::compile(p).is_some())
        .collect();
    assert!(fixed.iter().any(|p| p.starts_with("^sha256:")), "{fixed:?}");
    assert!(fixed.iter().any(|p| *p == "^[0-9]{12}$"), "{fixed:?}");
}

/// A string near `pattern`'s language: characters from its literals and classes and a few
/// others, of a length around the fixed one.
fn near(pattern: &'static str) -> impl Strategy<Value = String> {
    let mut alphabet: Vec<char> = pattern
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ":+-. ".contains(*c))
        .collect();
    // With a non-ASCII digit: `\d` must not take it.
    alphabet.extend("0123456789abcdefABCDEFxyzé٣\n:-".chars());
    let len = Fixed::compile(pattern).map_or(8, |f| f.len);
    prop::collection::vec(
        prop::sample::select(alphabet),
        len.saturating_sub(2)..=len + 2,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The direct check and the compiler's keyword agree, on strings near each pattern and on
    /// strings that match it.
    #[test]
    fn fixed_patterns_agree_with_the_compiler(
        (pattern, s) in prop::sample::select(vec![
            r"^sha256:[0-9a-f]{4}$",
            r"^[0-9]{12}$",
            r"^[A-Z]{2}$",
            r"^[0-9]{5}$",
            r"^\d{3}$",
            r"^x{3}[0-9]{2}-[a]{2}$",
            r"^a[bc]\.{2}-[0-9a-fA-F]{3}$",
            // Past the compiler's own sequence matcher (63 positions, no alternation): its
            // regex engine is the oracle.
            r"^(a|b)[0-9]{2}$",
            r"^[0-9]{70}$",
        ]).prop_flat_map(|p| (Just(p), near(p)))
    ) {
        let fixed = Fixed::compile(pattern).expect("fixed");
        let oracle = builtin(pattern);
        prop_assert_eq!(fixed.is_match(&s), oracle.is_valid(&Value::String(s.clone())), "{:?} against {}", s, pattern);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The shipped content-hash pattern (71 positions: the compiler matches it with its regex
    /// engine): a hash, or a hash with one character replaced, or cut, or lengthened.
    #[test]
    fn the_content_hash_agrees_with_the_compiler(
        hex in prop::collection::vec(prop::sample::select("0123456789abcdef".chars().collect::<Vec<_>>()), 64),
        at in 0usize..71,
        with in prop::sample::select("0aAfgG:é\n ".chars().collect::<Vec<_>>()),
        edit in 0u8..4,
    ) {
        let pattern = r"^sha256:[0-9a-f]{64}$";
        let mut s: String = format!("sha256:{}", hex.into_iter().collect::<String>());
        match edit {
            0 => {}
            1 => {
                let mut cs: Vec<char> = s.chars().collect();
                cs[at] = with;
                s = cs.into_iter().collect();
            }
            2 => s.truncate(at),
            _ => s.push(with),
        }
        let fixed = Fixed::compile(pattern).expect("fixed");
        let oracle = builtin(pattern);
        prop_assert_eq!(fixed.is_match(&s), oracle.is_valid(&Value::String(s.clone())), "{:?}", s);
    }
}

/// Each error's instance path, keyword and message.
fn errors(validator: &Validator, instance: &Value) -> Vec<(String, String, String)> {
    validator
        .iter_errors(instance)
        .map(|e| {
            (
                e.instance_path().as_str().to_string(),
                e.kind().keyword().to_string(),
                e.to_string(),
            )
        })
        .collect()
}

#[test]
fn the_keyword_answers_and_reports_as_the_compiler_does() {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "hash": { "pattern": "^sha256:[0-9a-f]{64}$" },
            "code": { "pattern": "^[0-9]+\\.[0-9]{6}$" }
        }
    });
    let ours = jsonschema::draft202012::options()
        .with_keyword("pattern", keyword)
        .build(&schema)
        .expect("schema");
    let theirs = jsonschema::draft202012::options()
        .build(&schema)
        .expect("schema");
    let good_hash = format!("sha256:{}", "ab".repeat(32));
    for instance in [
        serde_json::json!({ "hash": good_hash, "code": "1.001612" }),
        serde_json::json!({ "hash": "sha256:AB", "code": "1.001612" }),
        serde_json::json!({ "hash": good_hash, "code": "1.00161" }),
        serde_json::json!({ "hash": 7, "code": null }),
    ] {
        assert_eq!(
            ours.is_valid(&instance),
            theirs.is_valid(&instance),
            "{instance}"
        );
        assert_eq!(
            errors(&ours, &instance),
            errors(&theirs, &instance),
            "{instance}"
        );
    }
    // A pattern the compiler refuses is refused as before.
    let bad = serde_json::json!({ "pattern": "^[0-9" });
    assert!(
        jsonschema::draft202012::options()
            .with_keyword("pattern", keyword)
            .build(&bad)
            .is_err()
    );
}

#[test]
fn a_value_failing_format_and_pattern_reports_both_format_first() {
    // The order a custom keyword gives (module documentation): pinned so that a change of it
    // is seen.
    use crate::validate::{SchemaRegistry, ValidationOptions};
    let registry = SchemaRegistry::embedded(&ValidationOptions::default()).expect("schemas");
    let schema = registry.get("citizen.v1").expect("schema");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/citizen.v1.json"),
    )
    .expect("schema file");
    let raw: Value = serde_json::from_str(&text).expect("json");
    let mut record = raw["examples"][0].clone();
    record["birth_date"] = Value::String("14/05/1992".into());
    let rejection = schema.validate(&record).expect_err("refused");
    let codes: Vec<&str> = rejection
        .errors
        .iter()
        .filter(|e| e.pointer == "/birth_date")
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(codes, ["format.vn-partial-date", "schema.pattern"]);
}
