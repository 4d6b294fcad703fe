//! Helpers shared by the integration tests: the repository's files, the embedded schema registry
//! and the shipped adapters, each built once per test binary; `hub` starts real hubs in the
//! test's process, `child` runs the binary (a hub, a simulator, a command) as a child process,
//! `destination` is a receiving end for deliveries; `generators` makes valid canonical records
//! (proptest strategies) and `shape` says what part of a record an adapter maps; `browser`
//! drives a headless chromium for the console, `ca` makes certificates.
//! Each test binary uses some of them, hence `dead_code` is allowed.

#![allow(dead_code)]

pub mod browser;
pub mod ca;
pub mod child;
pub mod destination;
pub mod generators;
pub mod hub;
pub mod postgres;
pub mod shape;

use lienthong::translate::Adapter;
use lienthong::validate::{SchemaRegistry, ValidationOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A path inside the repository (the package root).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The embedded schemas under the default validation options.
pub fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        SchemaRegistry::embedded(&ValidationOptions::default())
            .unwrap_or_else(|e| panic!("the embedded schemas load: {e}"))
    })
}

/// Every shipped adapter (`adapters/*.toml`), compiled, by adapter name.
pub fn shipped_adapters() -> &'static BTreeMap<String, Adapter> {
    static ADAPTERS: OnceLock<BTreeMap<String, Adapter>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        let dir = repo_path("adapters");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        let mut adapters = BTreeMap::new();
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let adapter = Adapter::load(&path, registry())
                .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
            adapters.insert(adapter.name().to_string(), adapter);
        }
        adapters
    })
}

/// One shipped adapter by name (`motcua-hatinh` for `adapters/motcua-hatinh.toml`).
pub fn load_adapter(name: &str) -> &'static Adapter {
    shipped_adapters().get(name).unwrap_or_else(|| {
        let known: Vec<&String> = shipped_adapters().keys().collect();
        panic!("no shipped adapter is named {name:?} (shipped: {known:?})")
    })
}

/// Validates XML documents against the schema of a WSDL with a real XML Schema validator
/// (libxml2 through Python's lxml, `tests/soap/xsd_validate.py`); the Python is
/// `LIENTHONG_PYTHON` (`scripts/test` makes one with lxml). Returns the errors of each
/// invalid document, by name: empty when all are valid.
pub fn xsd_errors(wsdl: &str, documents: &[(String, Vec<u8>)]) -> Vec<(String, Vec<String>)> {
    let python = std::env::var("LIENTHONG_PYTHON")
        .expect("set LIENTHONG_PYTHON to a Python that has lxml (scripts/test does)");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let wsdl_path = dir.path().join("service.wsdl");
    std::fs::write(&wsdl_path, wsdl).expect("the WSDL is written");
    let mut paths = Vec::new();
    for (i, (_, doc)) in documents.iter().enumerate() {
        let p = dir.path().join(format!("{i}.xml"));
        std::fs::write(&p, doc).expect("a document is written");
        paths.push(p);
    }
    let out = std::process::Command::new(python)
        .arg(repo_path("tests/soap/xsd_validate.py"))
        .arg(&wsdl_path)
        .args(&paths)
        .output()
        .expect("python runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), documents.len(), "one answer per document");
    lines
        .iter()
        .zip(documents)
        .filter(|(l, _)| l["ok"] != true)
        .map(|(l, (name, _))| {
            let errors = l["errors"]
                .as_array()
                .map(|e| e.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            (name.clone(), errors)
        })
        .collect()
}

/// A JSON adapter (`nop-ho-so`, member H42, no endpoint) that maps the applicant's personal ID
/// from a misspelt place (`/nguoiNop/soCCD`), and its one sample (`samples/ho-so.json`, which
/// has `/nguoiNop/soCCCD`), beside it under `tests/adapters/`.
pub const MISSPELT_ADAPTER: &str = "tests/adapters/misspelt-id.toml";
