//! Writes an export of N synthetic entries (default 1,000,000) and the verifier key, to time
//! `lienthong audit verify` on a large file:
//!
//!   cargo run --release --example audit_export -- /tmp/slice.jsonl 1000000
//!   time target/release/lienthong audit verify /tmp/slice.jsonl --key /tmp/slice.jsonl.key

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lienthong::audit::AuditDraft;
use lienthong::audit::export::{self, FORMAT, Header};
use lienthong::audit::merkle::MemoryTree;
use lienthong::audit::note::{Checkpoint, Verifier, sign};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "slice.jsonl".into());
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let mut tree = MemoryTree::default();
    let mut entries = Vec::with_capacity(n as usize);
    for i in 0..n {
        let draft = AuditDraft {
            exchange_id: format!("0195f3a0-7c4e-7d2a-9b1c-{i:012}"),
            actor: "000.00.00.G07".into(),
            counterparty: Some("population-registry".into()),
            operation: "pull".into(),
            record_type: Some("citizen".into()),
            subject: Some(format!("0010990{:05}", i % 100_000)),
            purpose: Some("social-insurance".into()),
            fields: vec!["full_name".into(), "birth_date".into()],
            outcome: "allowed".into(),
            latency_ms: 2,
            ..Default::default()
        };
        let (e, s) = lienthong::audit::entry::seal(
            draft,
            i,
            format!("2026-11-24T{:02}:00:00.000Z", (i * 24 / n.max(1)).min(23)),
        )?;
        let bytes = e.canonical_bytes();
        tree.push(&bytes);
        entries.push((i, bytes, Some(s)));
    }
    let cp = Checkpoint {
        origin: "lienthong.local/audit".into(),
        size: n,
        root: tree.root(),
    };
    let header = Header {
        format: FORMAT.into(),
        checkpoint: sign(&cp.text(), &cp.origin, &key)?,
        from_index: 0,
        to_index: n,
        pseudonymised: false,
        exported_at: lienthong::audit::now_time(),
        from_time: None,
        to_time: None,
    };
    let out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    export::write(out, &tree, &header, n, entries.into_iter().map(Ok), |_| {})?;
    let v = Verifier::new(&cp.origin, key.verifying_key())?;
    std::fs::write(format!("{path}.key"), v.encode())?;
    eprintln!("wrote {n} entries to {path} and the key to {path}.key");
    Ok(())
}
