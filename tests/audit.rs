//! The audit log through a real hub on loopback: every exchange recorded, signed checkpoints,
//! proofs that agree with an independent RFC 6962 implementation (the `ct-merkle` crate),
//! queries and the subject report, exports verified offline, and tampering with the stored log
//! (a flipped byte, a deleted entry, a rollback) detected by the CLI's `audit verify`.

mod common;

use common::child::{lienthong, output};
use common::destination::Destination;
use common::hub::{ADMIN, HATINH, adapters_for_relay, copy_dir, status_event, token, wait_for};
use common::repo_path;
use lienthong::audit::merkle::{self, Hash};
use lienthong::audit::note::{Checkpoint, Verifier};
use lienthong::audit::{AuditDraft, AuditEntry, AuditLog};
use lienthong::store::Store;
use serde_json::Value;
use std::path::Path;

fn b64(v: &Value) -> Vec<Hash> {
    use base64::Engine as _;
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

async fn push(client: &reqwest::Client, url: &str, token: &str, path: &str, body: String) -> Value {
    let r = client
        .post(format!("{url}/v1/ingest/motcua-hatinh/{path}"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut v: Value = r.json().await.unwrap();
    v["status"] = status.into();
    v
}

async fn get(client: &reqwest::Client, url: &str, token: &str, path: &str) -> (u16, String) {
    let r = client
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str, path: &str) -> Value {
    let (status, text) = get(client, url, token, path).await;
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_are_logged_proven_queried_and_exported() {
    let portal = Destination::start().await;
    let dir = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(dir.path(), &portal.url, 5);
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.server.adapters_dir = adapters;
        c.audit.checkpoint_every = 5;
        // No register here: the entries counted below are the exchanges' own.
        for r in &mut c.routes {
            r.once_only = lienthong::config::hub::OnceOnlyMode::Off;
        }
    })
    .await;
    let url = hub.url();
    let provider = token(&hub, HATINH, "provider");
    let auditor = token(&hub, ADMIN, "auditor");
    let client = reqwest::Client::new();

    // 10 status events, a dossier about a person, a repeat, a rejected record.
    for n in 0..10 {
        let v = push(
            &client,
            &url,
            &provider,
            "dossier-status",
            status_event("000.00.10.H42-251124-00001", n),
        )
        .await;
        assert_eq!(v["status"], 202, "{v}");
    }
    let dossier =
        std::fs::read_to_string(repo_path("adapters/samples/motcua-hatinh/dossier.xml")).unwrap();
    let first = push(&client, &url, &provider, "dossier", dossier.clone()).await;
    assert_eq!(first["status"], 202, "{first}");
    let again = push(&client, &url, &provider, "dossier", dossier.clone()).await;
    assert_eq!(again["status"], 200, "{again}");
    let bad = push(
        &client,
        &url,
        &provider,
        "dossier",
        dossier.replace("042192004518", "04219200451X"),
    )
    .await;
    assert_eq!(bad["status"], 422, "{bad}");
    wait_for(20, "11 deliveries", || portal.applied() == 11).await;

    // The hub's key, open to anyone, checks its checkpoints.
    let keys: Value = client
        .get(format!("{url}/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = Verifier::parse(keys["keys"][0]["verifier_key"].as_str().unwrap()).unwrap();
    // Ingests (13) and deliveries (11) are all in the log once the deliveries' entries land.
    let log = hub.state().relay.audit().clone();
    wait_for(10, "24 entries", || log.size() >= 24).await;
    let (_, note1) = hub.state().relay.checkpoint_now().await.unwrap();
    let (status, note) = get(&client, &url, &auditor, "/v1/audit/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(note, note1);
    let cp1 = Checkpoint::verify(&note, &verifier).unwrap();
    assert_eq!(cp1.size, 24);

    // Every entry is proven in the checkpoint's tree, and agrees with ct-merkle.
    let mut reference =
        ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    let mut entries = Vec::new();
    for i in 0..cp1.size {
        let p = get_json(
            &client,
            &url,
            &auditor,
            &format!("/v1/audit/proof/inclusion?index={i}&size={}", cp1.size),
        )
        .await;
        let e: AuditEntry = serde_json::from_value(p["entry"].clone()).unwrap();
        let bytes = e.canonical_bytes();
        let proof = b64(&p["proof"]);
        merkle::verify_inclusion(i, cp1.size, &merkle::leaf_hash(&bytes), &proof, &cp1.root)
            .unwrap();
        reference.push(bytes);
        entries.push((e, proof));
    }
    assert_eq!(reference.root().as_bytes().as_slice(), cp1.root.as_slice());
    for (i, (_, proof)) in entries.iter().enumerate() {
        let theirs = reference.prove_inclusion(i);
        assert_eq!(
            theirs.as_bytes(),
            proof.concat().as_slice(),
            "inclusion {i}"
        );
    }

    // More exchanges; the new checkpoint extends the old one, by our proof and by ct-merkle's.
    for n in 0..5 {
        push(
            &client,
            &url,
            &provider,
            "dossier-status",
            status_event("000.00.10.H42-251124-00002", n),
        )
        .await;
    }
    wait_for(20, "16 deliveries", || portal.applied() == 16).await;
    wait_for(10, "34 entries", || log.size() >= 34).await;
    let (size2, note2) = hub.state().relay.checkpoint_now().await.unwrap();
    let cp2 = Checkpoint::verify(&note2, &verifier).unwrap();
    assert_eq!(cp2.size, size2);
    let c = get_json(
        &client,
        &url,
        &auditor,
        &format!(
            "/v1/audit/proof/consistency?from={}&to={}",
            cp1.size, cp2.size
        ),
    )
    .await;
    let proof = b64(&c["proof"]);
    merkle::verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &proof).unwrap();
    for i in cp1.size..cp2.size {
        let p = get_json(
            &client,
            &url,
            &auditor,
            &format!("/v1/audit/proof/inclusion?index={i}&size={}", cp2.size),
        )
        .await;
        let e: AuditEntry = serde_json::from_value(p["entry"].clone()).unwrap();
        reference.push(e.canonical_bytes());
    }
    assert_eq!(reference.root().as_bytes().as_slice(), cp2.root.as_slice());
    let theirs = reference.prove_consistency((cp2.size - cp1.size) as usize);
    assert_eq!(theirs.as_bytes(), proof.concat().as_slice());
    let checkpoints = get_json(&client, &url, &auditor, "/v1/audit/checkpoints").await;
    let sizes: Vec<u64> = checkpoints["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert!(
        sizes.contains(&cp1.size) && sizes.contains(&cp2.size),
        "{sizes:?}"
    );

    // Queries: the rejection with its code, the repeat pointing at the original, the subject.
    let q = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/entries?operation=ingest&outcome=rejected",
    )
    .await;
    let rejected = q["entries"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{q}");
    assert_eq!(rejected[0]["actor"], HATINH);
    assert!(rejected[0]["error_code"].as_str().unwrap().contains('.'));
    let q = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/entries?outcome=duplicate",
    )
    .await;
    assert_eq!(q["entries"][0]["refers_to"], first["exchange_id"], "{q}");
    let q = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/entries?subject=042192004518",
    )
    .await;
    let mut ops: Vec<(&str, &str)> = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            ("deliver", "delivered"),
            ("ingest", "accepted"),
            ("ingest", "duplicate")
        ],
        "{q}"
    );
    assert_eq!(q["entries"][0]["subject"], "042192004518");
    // Pages: 3 at a time over 34+ entries.
    let mut after = String::new();
    let mut seen = 0;
    loop {
        let page = get_json(
            &client,
            &url,
            &auditor,
            &format!("/v1/audit/entries?limit=3{after}"),
        )
        .await;
        let n = page["entries"].as_array().unwrap().len();
        assert!(n <= 3);
        seen += n;
        match page["next"].as_u64() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen as u64, log.size());
    let report = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/subjects/042192004518/report",
    )
    .await;
    assert_eq!(report["count"], 3);
    assert!(
        report["events"][0]["who"]
            .as_str()
            .unwrap()
            .contains("Hà Tĩnh"),
        "{report}"
    );
    // The audit API is for auditors; proofs and checkpoints for every member.
    let (status, _) = get(&client, &url, &provider, "/v1/audit/entries").await;
    assert_eq!(status, 403);
    let (status, _) = get(&client, &url, &provider, "/v1/audit/export").await;
    assert_eq!(status, 403);
    let (status, _) = get(&client, &url, &provider, "/v1/audit/checkpoint").await;
    assert_eq!(status, 200);
    // Proofs are for every member; who did what only for auditors.
    let (status, text) = get(
        &client,
        &url,
        &provider,
        "/v1/audit/proof/inclusion?index=0&size=5",
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["entry"].is_null(), "{v}");
    assert_eq!(v["proof"].as_array().unwrap().len(), 3, "{v}");
    let (status, text) = get(&client, &url, &auditor, "/v1/audit/entries?from=yesterday").await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = get(
        &client,
        &url,
        &auditor,
        "/v1/audit/proof/inclusion?index=5&size=100000",
    )
    .await;
    assert_eq!(status, 400, "{text}");

    // Exports verify offline; a pseudonymised one carries no personal ID.
    let (status, export) = get(&client, &url, &auditor, "/v1/audit/export").await;
    assert_eq!(status, 200);
    let v = lienthong::audit::export::verify(export.as_bytes(), &verifier, |_| {}).unwrap();
    assert_eq!(v.entries, v.checkpoint_size);
    assert_eq!(v.subjects_checked, 3);
    let (_, export) = get(
        &client,
        &url,
        &auditor,
        "/v1/audit/export?pseudonymise=true",
    )
    .await;
    assert!(!export.contains("042192004518"));
    lienthong::audit::export::verify(export.as_bytes(), &verifier, |_| {}).unwrap();

    // A data-protection request: what is kept beside the dossier's ingest entry is purged;
    // the entry stays, the log still verifies, the person is no longer found by that entry.
    let admin = token(&hub, ADMIN, "admin");
    let q = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/entries?subject=042192004518&operation=ingest&outcome=accepted",
    )
    .await;
    let index = q["entries"][0]["index"].as_u64().unwrap();
    let purge = |tok: &str| {
        client
            .delete(format!("{url}/v1/audit/entries/{index}/sealed"))
            .bearer_auth(tok.to_string())
            .send()
    };
    let r = purge(&auditor).await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "auditors read, admins purge");
    let r = purge(&admin).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let q = get_json(
        &client,
        &url,
        &auditor,
        "/v1/audit/entries?subject=042192004518",
    )
    .await;
    let left = q["entries"].as_array().unwrap();
    assert_eq!(left.len(), 2, "{q}");
    assert!(left.iter().all(|e| e["index"] != index));
    let (_, export) = get(&client, &url, &auditor, "/v1/audit/export").await;
    let v = lienthong::audit::export::verify(export.as_bytes(), &verifier, |_| {}).unwrap();
    assert_eq!(
        v.subjects_checked, 2,
        "the purged entry has no subject to open"
    );
    let q = get_json(&client, &url, &auditor, "/v1/audit/entries?operation=purge").await;
    assert_eq!(q["entries"][0]["actor"], ADMIN);
    assert!(q["entries"][0].get("subject").is_none());
    hub.shutdown().await.unwrap();
}

/// The CLI, on a hub started on `data`: its exit code and all it printed.
fn cli(data: &Path, args: &[&str]) -> (i32, String) {
    let out = output(
        lienthong()
            .args(args)
            .env("LIENTHONG_SERVER_DATA_DIR", data),
    );
    (out.code, out.text())
}

/// Rewrites the stored log as an operator holding the hub's key could: keeps the entries
/// `keep` accepts, appends `extra` new ones, recomputes the tree and signs a new checkpoint.
fn rewrite(data: &Path, keep: impl Fn(u64) -> bool, extra: usize) {
    let store = Store::open(data).unwrap();
    let old: Vec<AuditEntry> = store
        .audit_entries(0, u64::MAX)
        .map(|r| serde_json::from_slice(&r.unwrap().1).unwrap())
        .collect();
    store.audit_erase().unwrap();
    let cfg = lienthong::config::hub::AuditConfig::default();
    let key = std::sync::Arc::new(
        lienthong::signing::HubKey::load_or_create(&cfg.origin, &data.join("signing.key")).unwrap(),
    );
    let log = AuditLog::open(store.clone(), key, &cfg).unwrap();
    let mut drafts: Vec<AuditDraft> = old
        .into_iter()
        .filter(|e| keep(e.index))
        .map(|e| AuditDraft {
            exchange_id: e.exchange_id,
            actor: e.actor,
            operation: e.operation,
            outcome: e.outcome,
            ..Default::default()
        })
        .collect();
    for n in 0..extra {
        drafts.push(AuditDraft {
            exchange_id: format!("made-up-{n}"),
            actor: HATINH.into(),
            operation: "ingest".into(),
            outcome: "accepted".into(),
            ..Default::default()
        });
    }
    let p = log
        .prepare(drafts.into_iter().map(|d| d.seal().unwrap()).collect())
        .unwrap();
    store.apply_audit_writes(&p.writes).unwrap();
    log.applied(p);
    log.checkpoint().unwrap();
    store.flush().unwrap();
}

/// Flips one byte of a stored entry (in its outcome), leaving the tree as it was.
fn flip(data: &Path, index: u64) {
    let store = Store::open(data).unwrap();
    let (file, at, len) = store.audit_entry_location(index).unwrap();
    drop(store);
    let mut bytes = std::fs::read(&file).unwrap();
    let entry = &bytes[at as usize..(at + len) as usize];
    let pos = at as usize + entry.windows(9).position(|w| w == b"\"accepted").unwrap() + 8;
    bytes[pos] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_the_stored_log_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    let hub = common::hub::start(&original, |c| c.routes.clear()).await;
    let provider = token(&hub, HATINH, "provider");
    let auditor = token(&hub, ADMIN, "auditor");
    let client = reqwest::Client::new();
    for n in 0..30 {
        let v = push(
            &client,
            &hub.url(),
            &provider,
            "dossier-status",
            status_event("000.00.10.H42-251124-00003", n),
        )
        .await;
        assert_eq!(v["status"], 202);
    }
    let saved = dir.path().join("saved.checkpoint");
    let (code, out) = cli(
        &original,
        &[
            "audit",
            "checkpoint",
            "--hub",
            &hub.url(),
            "--token",
            &auditor,
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, key) = cli(
        &original,
        &["audit", "key", "--hub", &hub.url(), "--token", &auditor],
    );
    assert_eq!(code, 0, "{key}");
    let key = key.lines().next().unwrap().to_string();
    hub.shutdown().await.unwrap();

    // Each kind of tampering on its own copy of the store; the hub is started on it and the
    // auditor checks it as they would.
    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str, &str)> = vec![
        (
            "untouched",
            Box::new(|_: &Path| {}),
            "verified: 30 entries",
            "verified: the hub's log (30 entries",
        ),
        (
            "a flipped byte",
            Box::new(|d: &Path| flip(d, 7)),
            "NOT verified: -: line 9 (entry 7): not in the log of the checkpoint",
            "verified: the hub's log",
        ),
        (
            "a deleted entry, the tree recomputed and re-signed",
            Box::new(|d: &Path| rewrite(d, |i| i != 7, 0)),
            "verified: 29 entries",
            "NOT verified: the log shrank",
        ),
        (
            "a deleted entry and new ones appended",
            Box::new(|d: &Path| rewrite(d, |i| i != 7, 5)),
            "verified: 34 entries",
            "is not an extension of the saved checkpoint of 30 entries",
        ),
        (
            "a rollback: truncated to 20, then new entries appended",
            Box::new(|d: &Path| rewrite(d, |i| i < 20, 15)),
            "verified: 35 entries",
            "is not an extension of the saved checkpoint of 30 entries",
        ),
    ];
    for (name, tamper, offline, online) in cases {
        let copy = dir.path().join(name.replace(' ', "-"));
        copy_dir(&original, &copy);
        tamper(&copy);
        let hub = common::hub::start(&copy, |c| c.routes.clear()).await;
        // Offline: the export, against the hub's key.
        let export = cli(
            &copy,
            &["audit", "export", "--hub", &hub.url(), "--token", &auditor],
        );
        assert_eq!(export.0, 0, "{name}: {}", export.1);
        let file = copy.join("slice.jsonl");
        std::fs::write(
            &file,
            export
                .1
                .lines()
                .filter(|l| l.starts_with('{'))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n",
        )
        .unwrap();
        let verified = output(
            lienthong()
                .args(["audit", "verify", "-", "--key", &key])
                .stdin(std::fs::File::open(&file).unwrap()),
        );
        let (code, out) = (verified.code, verified.stdout);
        assert!(out.contains(offline), "{name}: offline: {out}");
        assert_eq!(
            code,
            if out.starts_with("verified") { 0 } else { 1 },
            "{name}"
        );
        // Online: today's log against the checkpoint saved before the tampering.
        let (code, out) = cli(
            &copy,
            &[
                "audit",
                "verify",
                "--hub",
                &hub.url(),
                "--token",
                &auditor,
                "--since-checkpoint",
                saved.to_str().unwrap(),
                "--key",
                &key,
            ],
        );
        assert!(out.contains(online), "{name}: online: {out}");
        assert_eq!(
            code,
            if out.starts_with("verified") { 0 } else { 1 },
            "{name}"
        );
        hub.shutdown().await.unwrap();
    }
}
