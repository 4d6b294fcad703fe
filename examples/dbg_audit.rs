use lienthong::audit::{AuditDraft, AuditLog};
use lienthong::config::hub::AuditConfig;
use lienthong::signing::HubKey;
use lienthong::store::Store;
use std::sync::Arc;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let key = Arc::new(HubKey::from_seed("b", [5u8; 32]).unwrap());
    let log = AuditLog::open(store.clone(), key, &AuditConfig::default()).unwrap();
    let d = vec![AuditDraft {
        exchange_id: "x".into(),
        actor: "A".into(),
        operation: "ingest".into(),
        outcome: "accepted".into(),
        ..Default::default()
    }];
    let p = log.prepare(d).unwrap();
    for (k, v) in &p.writes.log {
        println!(
            "{:?} -> {} bytes: {:?}",
            k,
            v.len(),
            String::from_utf8_lossy(&v[..v.len().min(60)])
        );
    }
    store.commit(&[], &p.writes).unwrap();
    let raw = store.audit_tree().get(b"e\0\0\0\0\0\0\0\0").unwrap();
    println!("raw {:?}", raw.map(|r| r.len()));
    println!(
        "{:?}",
        store
            .audit_entry_bytes(0)
            .unwrap()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    );
}
