//! The audit log: durable appends in group commits of 512 beside raw sled inserts of the same
//! bytes (entries and their sealed parts) flushed the same way, in the same run; the parts done
//! off the committer (sealing by the callers, look-ups by the indexer); inclusion proofs read
//! from the store; verification of an export.
//!
//! cargo bench --bench audit

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lienthong::audit::export::{self, FORMAT, Header};
use lienthong::audit::note::{Checkpoint, Verifier, sign};
use lienthong::audit::{AuditDraft, AuditLog, SealedDraft};
use lienthong::config::hub::AuditConfig;
use lienthong::signing::HubKey;
use lienthong::store::Store;
use std::hint::black_box;
use std::sync::Arc;

const BATCH: usize = 512;

fn dossier() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/adapters/samples/motcua-hatinh/dossier.xml.canonical.json"
    ))
    .expect("sample");
    serde_json::from_str(&text).expect("json")
}

fn sealed(n: usize, payload: &serde_json::Value) -> Vec<SealedDraft> {
    drafts(n, payload)
        .into_iter()
        .map(|d| d.seal().expect("seal"))
        .collect()
}

fn drafts(n: usize, payload: &serde_json::Value) -> Vec<AuditDraft> {
    (0..n)
        .map(|i| AuditDraft {
            exchange_id: format!("0195f3a0-7c4e-7d2a-9b1c-{i:012}"),
            actor: "000.00.00.H42".into(),
            counterparty: Some("motcua-hatinh".into()),
            operation: "ingest".into(),
            record_type: Some("dossier".into()),
            subject: Some(format!("042192{i:06}")),
            outcome: "accepted".into(),
            latency_ms: 1,
            payload: Some(payload.clone()),
            ..Default::default()
        })
        .collect()
}

fn open_log(dir: &std::path::Path) -> (Store, AuditLog) {
    let store = Store::open(dir).expect("store");
    let key = Arc::new(HubKey::from_seed("bench.log", [5u8; 32]).expect("key"));
    let log = AuditLog::open(store.clone(), key, &AuditConfig::default()).expect("log");
    (store, log)
}

fn appends(c: &mut Criterion) {
    let payload = dossier();
    let mut g = c.benchmark_group("audit append (group commit of 512, flushed)");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(30);

    // The same bytes as the log writes for its entries and sealed parts.
    let sample_dir = tempfile::tempdir().expect("dir");
    let (_, sample_log) = open_log(sample_dir.path());
    let prepared = sample_log
        .prepare(sealed(BATCH, &payload))
        .expect("prepare");
    let same_bytes: Vec<Vec<u8>> = prepared
        .writes
        .records
        .iter()
        .flat_map(|r| [r.entry.clone(), r.sealed.clone()])
        .collect();

    let raw_dir = tempfile::tempdir().expect("dir");
    // Configured as the hub's store is.
    let db = sled::Config::new()
        .path(raw_dir.path())
        .mode(sled::Mode::HighThroughput)
        .open()
        .expect("sled");
    let tree = db.open_tree("raw").expect("tree");
    let mut next = 0u64;
    g.bench_function("raw sled: insert the same bytes, one batch, flush", |b| {
        b.iter(|| {
            let mut batch = sled::Batch::default();
            for v in &same_bytes {
                batch.insert(&next.to_be_bytes(), v.as_slice());
                next += 1;
            }
            tree.apply_batch(batch).expect("batch");
            db.flush().expect("flush");
        })
    });

    let dir = tempfile::tempdir().expect("dir");
    let (store, log) = open_log(dir.path());
    g.bench_function(
        "audit log (committer): number, hash, append to its files and sync, size in one transaction, flush",
        |b| {
            b.iter_batched(
                || sealed(BATCH, &payload),
                |d| {
                    let p = log.prepare(d).expect("prepare");
                    store.commit(&[], &p.writes).expect("commit");
                    log.applied(p);
                },
                BatchSize::LargeInput,
            )
        },
    );
    // Look-ups are written behind the committer by the indexer thread.
    g.bench_function("indexer: look-ups of the same entries (not flushed)", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                if log.size() - log.indexed() < BATCH as u64 {
                    let p = log.prepare(sealed(BATCH, &payload)).expect("prepare");
                    store.commit(&[], &p.writes).expect("commit");
                    log.applied(p);
                }
                let t = std::time::Instant::now();
                log.index_pending(BATCH as u64).expect("index");
                spent += t.elapsed();
            }
            spent
        })
    });
    // Done by each request's task before it reaches the committer, on every core.
    g.bench_function(
        "sealing by the callers: salt, commitments, canonical payload",
        |b| {
            b.iter_batched(
                || drafts(BATCH, &payload),
                |d| {
                    d.into_iter()
                        .map(|d| d.seal().expect("seal"))
                        .collect::<Vec<_>>()
                },
                BatchSize::LargeInput,
            )
        },
    );
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("dir");
    let (store, log) = open_log(dir.path());
    let payload = serde_json::json!({"x": 1});
    for _ in 0..200 {
        let p = log.prepare(sealed(1000, &payload)).expect("prepare");
        store.apply_audit_writes(&p.writes).expect("apply");
        log.applied(p);
    }
    let size = log.size();
    let mut g = c.benchmark_group("audit proofs (log of 200,000 entries)");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function("inclusion proof from the store", |b| {
        b.iter(|| {
            i = (i + 7919) % size;
            black_box(log.inclusion_proof(i, size).expect("proof"))
        })
    });
    let mut j = 1u64;
    g.bench_function("consistency proof from the store", |b| {
        b.iter(|| {
            j = (j + 7919) % (size - 1) + 1;
            black_box(log.consistency_proof(j, size).expect("proof"))
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    const N: u64 = 100_000;
    let key = ed25519_dalek::SigningKey::from_bytes(&[6u8; 32]);
    let mut tree = lienthong::audit::merkle::MemoryTree::default();
    let mut entries = Vec::new();
    let payload = serde_json::json!({"x": 1});
    for (i, d) in drafts(N as usize, &payload).into_iter().enumerate() {
        let (e, s) = lienthong::audit::entry::seal(d, i as u64, "2026-11-24T00:00:00.000Z".into())
            .expect("seal");
        let bytes = e.canonical_bytes();
        tree.push(&bytes);
        entries.push((i as u64, bytes, Some(s)));
    }
    let cp = Checkpoint {
        origin: "bench.log".into(),
        size: N,
        root: tree.root(),
    };
    let header = Header {
        format: FORMAT.into(),
        checkpoint: sign(&cp.text(), "bench.log", &key).expect("sign"),
        from_index: 0,
        to_index: N,
        pseudonymised: false,
        exported_at: "2026-11-24T00:00:00.000Z".into(),
        from_time: None,
        to_time: None,
    };
    let mut text = Vec::new();
    export::write(
        &mut text,
        &tree,
        &header,
        N,
        entries.into_iter().map(Ok),
        |_| {},
    )
    .expect("export");
    let verifier = Verifier::new("bench.log", key.verifying_key()).expect("verifier");
    let mut g = c.benchmark_group("audit verify (export of 100,000 entries)");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("parse only (serde_json, every line)", |b| {
        b.iter(|| {
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    serde_json::from_slice::<serde_json::Value>(l)
                        .map(|_| 1)
                        .unwrap_or(0)
                })
                .sum::<u64>()
        })
    });
    g.bench_function("export::verify", |b| {
        b.iter(|| export::verify(text.as_slice(), &verifier, |_| {}).expect("verified"))
    });
    g.finish();
}

criterion_group!(benches, appends, proofs, verify);
criterion_main!(benches);
