//! Translate + validate of the shipped samples, beside a raw parse of the same bytes in the
//! same run: the ratio is the cost of the hub's work over the parser's.
//!
//! cargo bench --bench translate

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lienthong::translate::Adapter;
use lienthong::validate::translated::translate_validate;
use lienthong::validate::{SchemaRegistry, ValidationOptions};
use std::hint::black_box;
use std::path::Path;

fn load(registry: &SchemaRegistry, name: &str) -> Adapter {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Adapter::load(&root.join(format!("adapters/{name}.toml")), registry).expect("adapter")
}

fn sample(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).expect("sample")
}

fn raw_quick_xml(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let mut reader = quick_xml::Reader::from_str(text);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("{e}"),
        }
    }
}

fn benches(c: &mut Criterion) {
    let registry = SchemaRegistry::embedded(&ValidationOptions::default()).expect("schemas");
    let motcua = load(&registry, "motcua-hatinh");
    let population = load(&registry, "population-registry");

    // The shipped dossier sample without its indentation (2,549 bytes): the ~2 KB dossier of
    // the target. `benches/data/dossier-compact.xml` is generated from the sample; see
    // BENCHMARKS.md.
    let xml = sample("benches/data/dossier-compact.xml");
    let mut g = c.benchmark_group("xml-dossier");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("raw quick-xml parse", |b| {
        b.iter(|| raw_quick_xml(black_box(&xml)))
    });
    g.bench_function("translate + validate", |b| {
        b.iter(|| translate_validate(&motcua, &registry, "dossier", black_box(&xml)).expect("ok"))
    });
    g.bench_function("translate only", |b| {
        b.iter(|| motcua.inbound("dossier", black_box(&xml)).expect("ok"))
    });
    let record = motcua.inbound("dossier", &xml).expect("ok");
    let schema = registry.get("dossier.v1").expect("schema");
    g.bench_function("validate only", |b| {
        b.iter(|| schema.validate(black_box(&record)).expect("valid"))
    });
    g.finish();

    let json = sample("adapters/samples/population-registry/citizen.json");
    let mut g = c.benchmark_group("json-citizen");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("raw serde_json parse", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&json)).expect("ok"))
    });
    g.bench_function("translate + validate", |b| {
        b.iter(|| {
            translate_validate(&population, &registry, "citizen", black_box(&json)).expect("ok")
        })
    });
    g.finish();
}

criterion_group!(translate, benches);
criterion_main!(translate);
