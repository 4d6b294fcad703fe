use lienthong::audit::{AuditDraft, AuditLog};
use lienthong::config::hub::AuditConfig;
use lienthong::signing::HubKey;
use lienthong::store::Store;
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("adapters/samples/motcua-hatinh/dossier.xml.canonical.json")
            .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let key = Arc::new(HubKey::from_seed("b", [5u8; 32]).unwrap());
    let log = AuditLog::open(store.clone(), key, &AuditConfig::default()).unwrap();
    let (mut tp, mut tc, mut tw, mut nw, mut nb) = (0f64, 0f64, 0f64, 0usize, 0usize);
    for _ in 0..40 {
        let d: Vec<AuditDraft> = (0..512)
            .map(|i| AuditDraft {
                exchange_id: format!("x{i}"),
                actor: "A".into(),
                counterparty: Some("B".into()),
                operation: "ingest".into(),
                subject: Some(format!("0421920{i:05}")),
                outcome: "accepted".into(),
                payload: Some(payload.clone()),
                ..Default::default()
            })
            .collect();
        let t = Instant::now();
        let p = log.prepare(d).unwrap();
        tp += t.elapsed().as_secs_f64();
        let t = Instant::now();
        if std::env::var("BATCH").is_ok() {
            store.apply_audit_writes(&p.writes).unwrap();
            tw += t.elapsed().as_secs_f64();
            store.flush().unwrap();
        } else {
            store.commit(&[], &p.writes).unwrap();
        }
        nw += p.writes.log.len() + p.writes.side.len();
        nb += p
            .writes
            .log
            .iter()
            .chain(p.writes.side.iter())
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
        tc += t.elapsed().as_secs_f64();
        log.applied(p);
    }
    println!(
        "writes/batch {} bytes/batch {} insert part {:.2} ms",
        nw / 40,
        nb / 40,
        tw / 40.0 * 1e3
    );
    println!(
        "prepare {:.2} ms/batch, commit {:.2} ms/batch",
        tp / 40.0 * 1e3,
        tc / 40.0 * 1e3
    );
}
