//! Appends N synthetic audit entries to a hub's store (the hub stopped), the way the hub
//! appends them: sealed in group commits, Merkle tree nodes kept, look-ups indexed and
//! checkpoints signed with the hub's key. For load runs that measure the hub with a large log
//! (`benches/load/run`, the scaling curve):
//!
//!   cargo run --release --example audit_fill -- --config config/hub.toml DATA_DIR 10000000
//!
//! Entries come in pairs, as a relayed status event makes them: an `ingest` by a province's
//! one-stop system (with the canonical event as payload and the applicant as subject), then a
//! `deliver` to the national portal. Progress goes to stderr.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;
use lienthong::audit::{AuditDraft, AuditLog};
use std::sync::Arc;
use std::time::Instant;

const BATCH: u64 = 20_000;

fn main() -> anyhow::Result<()> {
    let mut config = std::path::PathBuf::from("config/hub.toml");
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--config" {
            config = args.next().context("--config needs a file")?.into();
        } else {
            rest.push(a);
        }
    }
    let [dir, n] = rest.as_slice() else {
        anyhow::bail!("usage: audit_fill [--config FILE] DATA_DIR COUNT");
    };
    let n: u64 = n.replace('_', "").parse().context("COUNT is a number")?;
    let dir = std::path::PathBuf::from(dir);
    let cfg = lienthong::config::hub::HubConfig::load(&config)
        .with_context(|| format!("loading {}", config.display()))?;
    let store = lienthong::store::Store::open(&dir)?;
    let key = Arc::new(lienthong::signing::HubKey::load_or_create(
        &cfg.audit.origin,
        &cfg.audit.key_path(&dir),
    )?);
    let log = AuditLog::open(store.clone(), key, &cfg.audit)?;
    let payload: serde_json::Value = serde_json::from_str(include_str!(
        "../adapters/samples/motcua-hatinh/status-in-progress.xml.canonical.json"
    ))?;
    let start = log.size();
    let target = start + n;
    let t0 = Instant::now();
    let mut i = start;
    while i < target {
        let m = BATCH.min(target - i);
        let mut drafts = Vec::with_capacity(m as usize);
        for j in i..i + m {
            let pair = j / 2;
            let exchange_id = format!("0195f3a0-7c4e-7d2a-9b1c-{pair:012}");
            let draft = if j % 2 == 0 {
                let mut p = payload.clone();
                p["dossier_code"] = format!("000.00.10.H42-250915-{pair}").into();
                p["event_id"] = format!("000.00.10.H42-250915-{pair}#1").into();
                AuditDraft {
                    exchange_id,
                    actor: "000.00.00.H42".into(),
                    counterparty: Some("motcua-hatinh".into()),
                    operation: "ingest".into(),
                    record_type: Some("dossier-status".into()),
                    subject: Some(format!("0421920{:05}", pair % 100_000)),
                    outcome: "accepted".into(),
                    latency_ms: 1,
                    payload: Some(p),
                    ..Default::default()
                }
            } else {
                AuditDraft {
                    exchange_id,
                    actor: "hub".into(),
                    counterparty: Some("national-portal".into()),
                    operation: "deliver".into(),
                    record_type: Some("dossier-status".into()),
                    outcome: "delivered".into(),
                    latency_ms: 2,
                    ..Default::default()
                }
            };
            drafts.push(draft.seal()?);
        }
        let prepared = log.prepare(drafts)?;
        store.apply_audit_writes(&prepared.writes)?;
        log.applied(prepared);
        log.index_all()?;
        if log.checkpoint_due() {
            log.checkpoint()?;
        }
        i += m;
        if (i - start) % 1_000_000 < BATCH || i == target {
            let secs = t0.elapsed().as_secs_f64();
            eprintln!(
                "{} of {n} entries ({:.0}/s)",
                i - start,
                (i - start) as f64 / secs.max(1e-9)
            );
        }
    }
    log.checkpoint()?;
    store.flush()?;
    println!("{}", log.size());
    Ok(())
}
