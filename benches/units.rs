//! Administrative-unit look-ups: by code and by free text, beside a plain `HashMap` look-up of
//! the same codes in the same run.
//!
//! cargo bench --bench units

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lienthong::units::Units;
use std::collections::HashMap;
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let units = Units::embedded().expect("units");
    let codes: Vec<String> = units.communes.iter().map(|u| u.code.clone()).collect();
    let plain: HashMap<String, usize> = codes
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| (c, i))
        .collect();
    let texts: Vec<String> = units
        .legacy_communes
        .iter()
        .map(|c| {
            let d = units.legacy_district(&c.parent).expect("district");
            let p = units.legacy_province(&d.parent).expect("province");
            format!("{}, {}, {}", c.full_name(), d.full_name(), p.full_name())
        })
        .collect();
    let mut g = c.benchmark_group("units");
    g.throughput(Throughput::Elements(codes.len() as u64));
    g.bench_function("plain HashMap look-up of every 2025 commune code", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter(|c| plain.contains_key(black_box(c.as_str())))
                .count()
        })
    });
    g.bench_function("Units::commune of every 2025 commune code", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter(|c| units.commune(black_box(c.as_str())).is_some())
                .count()
        })
    });
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("resolve_text of every legacy commune", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter(|t| units.resolve_text(black_box(t)).status() != "unknown")
                .count()
        })
    });
    g.finish();
}

criterion_group!(units_bench, benches);
criterion_main!(units_bench);
