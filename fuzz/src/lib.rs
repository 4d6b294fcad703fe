//! What the fuzz targets share: the embedded schemas and the shipped adapters, built once.

use lienthong::translate::Adapter;
use lienthong::validate::{SchemaRegistry, ValidationOptions};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The embedded schemas.
pub fn schemas() -> &'static SchemaRegistry {
    static S: OnceLock<SchemaRegistry> = OnceLock::new();
    S.get_or_init(|| {
        SchemaRegistry::embedded(&ValidationOptions::default()).expect("the embedded schemas load")
    })
}

/// A shipped adapter (`adapters/<name>.toml`), loaded once, with the schemas.
pub fn adapter(name: &'static str) -> (&'static Adapter, &'static SchemaRegistry) {
    static A: OnceLock<Mutex<HashMap<&'static str, &'static Adapter>>> = OnceLock::new();
    let map = A.get_or_init(Default::default);
    let mut map = map.lock().expect("not poisoned");
    let a = *map.entry(name).or_insert_with(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../adapters")
            .join(format!("{name}.toml"));
        Box::leak(Box::new(
            Adapter::load(&path, schemas()).expect("the shipped adapter loads"),
        ))
    });
    (a, schemas())
}

/// The verifier key of the exports and checkpoints in the corpus.
pub fn verifier() -> &'static lienthong::audit::note::Verifier {
    static V: OnceLock<lienthong::audit::note::Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz/export.key");
        let key = std::fs::read_to_string(path).expect("tests/fuzz/export.key");
        lienthong::audit::note::Verifier::parse(key.trim()).expect("a verifier key")
    })
}
