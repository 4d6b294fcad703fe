//! Helpers shared by the integration tests: the repository's files, the embedded schema registry
//! and the shipped adapters, each built once per test binary; `hub` starts real hubs.
//! Each test binary uses some of them, hence `dead_code` is allowed.

#![allow(dead_code)]

pub mod child;
pub mod destination;
pub mod hub;

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

/// A JSON adapter (`nop-ho-so`, member H42, no endpoint) that maps the applicant's personal ID
/// from a misspelt place (`/nguoiNop/soCCD`), with its one sample
/// (`samples/ho-so.json`, `MISSPELT_SAMPLE`, which has `/nguoiNop/soCCCD`): the record translates
/// and validates (the ID is optional), and the ID would vanish from every record.
pub const MISSPELT_ADAPTER: &str = r#"
name = "nop-ho-so"
member = "000.00.00.H42"
format = "json"
transport = "http"
provides = ["dossier"]

[code_tables.status]
MOI = "received"

[records.dossier]
schema = "dossier.v2"
root = ""
samples = ["samples/ho-so.json"]

[[records.dossier.fields]]
canonical = "/dossier_code"
external = "/maHoSo"
required = true

[[records.dossier.fields]]
canonical = "/procedure_code"
external = "/maThuTuc"
required = true

[[records.dossier.fields]]
canonical = "/receiving_agency"
external = "/coQuan"
required = true

[[records.dossier.fields]]
canonical = "/channel"
constant = "online"

[[records.dossier.fields]]
canonical = "/status"
external = "/trangThai"
code_table = "status"
required = true

[[records.dossier.fields]]
canonical = "/received_at"
external = "/ngayNop"
datetime = "rfc3339"
required = true

[[records.dossier.fields]]
canonical = "/due_at"
external = "/ngayHen"
datetime = "rfc3339"
required = true

[[records.dossier.fields]]
canonical = "/applicant/type"
constant = "citizen"

[[records.dossier.fields]]
canonical = "/applicant/full_name"
external = "/nguoiNop/hoTen"
required = true

[[records.dossier.fields]]
canonical = "/applicant/personal_id"
external = "/nguoiNop/soCCD"
"#;

/// The sample of `MISSPELT_ADAPTER`.
pub const MISSPELT_SAMPLE: &str = r#"{
  "maHoSo": "000.00.10.H42-250915-0001",
  "maThuTuc": "1.001612",
  "coQuan": "000.00.10.H42",
  "trangThai": "MOI",
  "ngayNop": "2025-09-15T08:42:10+07:00",
  "ngayHen": "2025-09-18T17:00:00+07:00",
  "nguoiNop": {"hoTen": "Nguyễn Thị Hồng Nhung", "soCCCD": "042192004518"}
}
"#;
