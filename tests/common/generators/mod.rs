//! Generators of valid canonical records with realistic Vietnamese values (proptest
//! strategies), one per record type (`generator`: citizen, dossier, dossier-status, document,
//! payment, in `records`), and the parts they are made of: people whose personal ID agrees with
//! their sex and birth date, names, partial dates, businesses and contacts (`people`);
//! addresses of the 2025 and the legacy scheme from the reference units (`places`); agencies,
//! procedures, times, codes, document references and fees (`procedures`). Every record they
//! make is valid against its embedded schema and the domain rules, its text in NFC without
//! stray whitespace (`tests/roundtrip.rs` checks it).

mod people;
mod places;
mod procedures;
mod records;

// The parts, under one name for the tests; each test binary uses some of them.
#[allow(unused_imports)]
pub use people::*;
#[allow(unused_imports)]
pub use places::*;
#[allow(unused_imports)]
pub use procedures::*;
pub use records::*;

use proptest::prelude::*;
use serde_json::Value;

/// Valid canonical records of `record_type`; panics for a record type no generator is written
/// for.
pub fn generator(record_type: &str) -> BoxedStrategy<Value> {
    match record_type {
        "citizen" => citizen().boxed(),
        "dossier" => dossier().boxed(),
        "dossier-status" => dossier_status().boxed(),
        "document" => document().boxed(),
        "payment" => payment().boxed(),
        other => panic!("no generator for record type {other:?}: write one"),
    }
}

/// An object from (key, value) pairs, leaving out absent values.
fn obj<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn opt(text: Option<String>) -> Option<Value> {
    text.map(Value::String)
}
