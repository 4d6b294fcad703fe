use lienthong::audit::{AuditDraft, AuditLog};
use lienthong::config::hub::AuditConfig;
use lienthong::signing::HubKey;
use lienthong::store::{AuditWrites, Store};
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
    let mode = std::env::var("MODE").unwrap_or_default();
    let mut t_all = 0f64;
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
        let p = log.prepare(d).unwrap();
        let w = &p.writes;
        let sel = |v: &Vec<(Vec<u8>, Vec<u8>)>, f: &dyn Fn(u8) -> bool| {
            v.iter()
                .filter(|(k, _)| f(k[0]))
                .cloned()
                .collect::<Vec<_>>()
        };
        let writes = match mode.as_str() {
            "entries" => AuditWrites {
                log: sel(&w.log, &|c| c == b'e'),
                side: vec![],
            },
            "nodes" => AuditWrites {
                log: sel(&w.log, &|c| c == b'n'),
                side: vec![],
            },
            "sealed" => AuditWrites {
                log: vec![],
                side: sel(&w.side, &|c| c == b's'),
            },
            "lookups" => AuditWrites {
                log: vec![],
                side: sel(&w.side, &|c| c != b's'),
            },
            _ => w.clone(),
        };
        let t = Instant::now();
        store.apply_audit_writes(&writes).unwrap();
        store.flush().unwrap();
        t_all += t.elapsed().as_secs_f64();
        log.applied(p);
    }
    println!("{mode}: {:.2} ms/batch", t_all / 40.0 * 1e3);
}
