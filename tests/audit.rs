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

/// The audit log's scenario, set up: a hub that makes a checkpoint every 5 entries, with a
/// portal and no register (the entries counted are the exchanges' own); 10 status events, a
/// dossier about a person, its repeat and a rejected record ingested, the 11 accepted ones
/// delivered; the hub's published key; and a checkpoint of the 24 entries, as served to an
/// auditor.
struct Logged {
    _dir: tempfile::TempDir,
    portal: Destination,
    hub: lienthong::server::Hub,
    url: String,
    provider: String,
    auditor: String,
    client: reqwest::Client,
    /// The dossier's acknowledgement.
    first: Value,
    verifier: Verifier,
    log: std::sync::Arc<AuditLog>,
    cp1: Checkpoint,
}

impl Logged {
    async fn start() -> Logged {
        let portal = Destination::start().await;
        let dir = tempfile::tempdir().unwrap();
        let adapters = adapters_for_relay(dir.path(), &portal.url, 5);
        let hub = common::hub::start(&dir.path().join("store"), |c| {
            c.server.adapters_dir = adapters;
            c.audit.checkpoint_every = 5;
            for r in &mut c.routes {
                r.once_only = lienthong::config::hub::OnceOnlyMode::Off;
            }
        })
        .await;
        let url = hub.url();
        let provider = token(&hub, HATINH, "provider");
        let auditor = token(&hub, ADMIN, "auditor");
        let client = reqwest::Client::new();
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
            std::fs::read_to_string(repo_path("adapters/samples/motcua-hatinh/dossier.xml"))
                .unwrap();
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
        Logged {
            _dir: dir,
            portal,
            hub,
            url,
            provider,
            auditor,
            client,
            first,
            verifier,
            log,
            cp1,
        }
    }

    async fn get_json(&self, path: &str) -> Value {
        get_json(&self.client, &self.url, &self.auditor, path).await
    }

    /// GETs `path` as the provider (a member that is not an auditor).
    async fn get_as_provider(&self, path: &str) -> (u16, String) {
        get(&self.client, &self.url, &self.provider, path).await
    }

    /// Every entry of the first checkpoint with its inclusion proof, each proof checked
    /// against the checkpoint's root; and ct-merkle's tree of the same entries.
    async fn proven_entries(&self) -> (ReferenceTree, Vec<Vec<Hash>>) {
        let cp1 = &self.cp1;
        let mut reference = ReferenceTree::new();
        let mut proofs = Vec::new();
        for i in 0..cp1.size {
            let p = self
                .get_json(&format!(
                    "/v1/audit/proof/inclusion?index={i}&size={}",
                    cp1.size
                ))
                .await;
            let e: AuditEntry = serde_json::from_value(p["entry"].clone()).unwrap();
            let bytes = e.canonical_bytes();
            let proof = b64(&p["proof"]);
            merkle::verify_inclusion(i, cp1.size, &merkle::leaf_hash(&bytes), &proof, &cp1.root)
                .unwrap();
            reference.push(bytes);
            proofs.push(proof);
        }
        (reference, proofs)
    }
}

type ReferenceTree = ct_merkle::mem_backed_tree::MemoryBackedTree<sha2::Sha256, Vec<u8>>;

/// Every entry is proven in the checkpoint's tree, and the proofs agree with ct-merkle's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exchange_is_proven_in_a_signed_checkpoint_as_ct_merkle_proves_it() {
    let fx = Logged::start().await;
    let (reference, proofs) = fx.proven_entries().await;
    assert_eq!(
        reference.root().as_bytes().as_slice(),
        fx.cp1.root.as_slice()
    );
    for (i, proof) in proofs.iter().enumerate() {
        let theirs = reference.prove_inclusion(i);
        assert_eq!(
            theirs.as_bytes(),
            proof.concat().as_slice(),
            "inclusion {i}"
        );
    }
    fx.hub.shutdown().await.unwrap();
}

/// More exchanges; the new checkpoint extends the old one, by our proof and by ct-merkle's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_checkpoint_extends_the_earlier_one_as_ct_merkle_proves_it() {
    let fx = Logged::start().await;
    let (mut reference, _) = fx.proven_entries().await;
    let cp1 = &fx.cp1;
    for n in 0..5 {
        push(
            &fx.client,
            &fx.url,
            &fx.provider,
            "dossier-status",
            status_event("000.00.10.H42-251124-00002", n),
        )
        .await;
    }
    let (portal, log) = (&fx.portal, &fx.log);
    wait_for(20, "16 deliveries", || portal.applied() == 16).await;
    wait_for(10, "34 entries", || log.size() >= 34).await;
    let (size2, note2) = fx.hub.state().relay.checkpoint_now().await.unwrap();
    let cp2 = Checkpoint::verify(&note2, &fx.verifier).unwrap();
    assert_eq!(cp2.size, size2);
    let c = fx
        .get_json(&format!(
            "/v1/audit/proof/consistency?from={}&to={}",
            cp1.size, cp2.size
        ))
        .await;
    let proof = b64(&c["proof"]);
    merkle::verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &proof).unwrap();
    for i in cp1.size..cp2.size {
        let p = fx
            .get_json(&format!(
                "/v1/audit/proof/inclusion?index={i}&size={}",
                cp2.size
            ))
            .await;
        let e: AuditEntry = serde_json::from_value(p["entry"].clone()).unwrap();
        reference.push(e.canonical_bytes());
    }
    assert_eq!(reference.root().as_bytes().as_slice(), cp2.root.as_slice());
    let theirs = reference.prove_consistency((cp2.size - cp1.size) as usize);
    assert_eq!(theirs.as_bytes(), proof.concat().as_slice());
    let checkpoints = fx.get_json("/v1/audit/checkpoints").await;
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
    fx.hub.shutdown().await.unwrap();
}

/// Queries: the rejection with its code, the repeat pointing at the original, the subject;
/// every entry page by page; the subject's report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_find_the_rejection_the_repeat_and_the_subject_page_by_page() {
    let fx = Logged::start().await;
    let q = fx
        .get_json("/v1/audit/entries?operation=ingest&outcome=rejected")
        .await;
    let rejected = q["entries"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{q}");
    assert_eq!(rejected[0]["actor"], HATINH);
    assert!(rejected[0]["error_code"].as_str().unwrap().contains('.'));
    let q = fx.get_json("/v1/audit/entries?outcome=duplicate").await;
    assert_eq!(q["entries"][0]["refers_to"], fx.first["exchange_id"], "{q}");
    let q = fx.get_json("/v1/audit/entries?subject=042192004518").await;
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
    // Pages: 3 at a time over all the entries.
    let mut after = String::new();
    let mut seen = 0;
    loop {
        let page = fx
            .get_json(&format!("/v1/audit/entries?limit=3{after}"))
            .await;
        let n = page["entries"].as_array().unwrap().len();
        assert!(n <= 3);
        seen += n;
        match page["next"].as_u64() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen as u64, fx.log.size());
    let report = fx.get_json("/v1/audit/subjects/042192004518/report").await;
    assert_eq!(report["count"], 3);
    assert!(
        report["events"][0]["who"]
            .as_str()
            .unwrap()
            .contains("Hà Tĩnh"),
        "{report}"
    );
    fx.hub.shutdown().await.unwrap();
}

/// The audit API is for auditors; proofs and checkpoints for every member, without who did
/// what; malformed queries are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_for_auditors_and_proofs_and_checkpoints_for_every_member() {
    let fx = Logged::start().await;
    let (status, _) = fx.get_as_provider("/v1/audit/entries").await;
    assert_eq!(status, 403);
    let (status, _) = fx.get_as_provider("/v1/audit/export").await;
    assert_eq!(status, 403);
    let (status, _) = fx.get_as_provider("/v1/audit/checkpoint").await;
    assert_eq!(status, 200);
    let (status, text) = fx
        .get_as_provider("/v1/audit/proof/inclusion?index=0&size=5")
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["entry"].is_null(), "{v}");
    assert_eq!(v["proof"].as_array().unwrap().len(), 3, "{v}");
    let (client, url, auditor) = (&fx.client, &fx.url, &fx.auditor);
    let (status, text) = get(client, url, auditor, "/v1/audit/entries?from=yesterday").await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = get(
        client,
        url,
        auditor,
        "/v1/audit/proof/inclusion?index=5&size=100000",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    // A malformed personal ID is refused, not answered "no events".
    let (status, text) = get(client, url, auditor, "/v1/audit/subjects/12345/report").await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("audit.subject"), "{text}");
    fx.hub.shutdown().await.unwrap();
}

/// Exports verify offline; a pseudonymised one carries no personal ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_verify_offline_and_a_pseudonymised_one_holds_no_personal_id() {
    let fx = Logged::start().await;
    let (client, url, auditor) = (&fx.client, &fx.url, &fx.auditor);
    let (status, export) = get(client, url, auditor, "/v1/audit/export").await;
    assert_eq!(status, 200);
    let v = lienthong::audit::export::verify(export.as_bytes(), &fx.verifier, |_| {}).unwrap();
    assert_eq!(v.entries, v.checkpoint_size);
    assert_eq!(v.subjects_checked, 3);
    let (_, export) = get(client, url, auditor, "/v1/audit/export?pseudonymise=true").await;
    assert!(!export.contains("042192004518"));
    lienthong::audit::export::verify(export.as_bytes(), &fx.verifier, |_| {}).unwrap();
    fx.hub.shutdown().await.unwrap();
}

/// A data-protection request: what is kept beside the dossier's ingest entry is purged, by an
/// admin only; the entry stays, the log still verifies, the person is no longer found by that
/// entry, and the purge is itself logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_removes_what_is_kept_beside_an_entry_and_the_log_still_verifies() {
    let fx = Logged::start().await;
    let (client, url, auditor) = (&fx.client, &fx.url, &fx.auditor);
    let admin = token(&fx.hub, ADMIN, "admin");
    let q = fx
        .get_json("/v1/audit/entries?subject=042192004518&operation=ingest&outcome=accepted")
        .await;
    let index = q["entries"][0]["index"].as_u64().unwrap();
    let purge = |tok: &str| {
        client
            .delete(format!("{url}/v1/audit/entries/{index}/sealed"))
            .bearer_auth(tok.to_string())
            .send()
    };
    let r = purge(auditor).await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "auditors read, admins purge");
    let r = purge(&admin).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let q = fx.get_json("/v1/audit/entries?subject=042192004518").await;
    let left = q["entries"].as_array().unwrap();
    assert_eq!(left.len(), 2, "{q}");
    assert!(left.iter().all(|e| e["index"] != index));
    let (_, export) = get(client, url, auditor, "/v1/audit/export").await;
    let v = lienthong::audit::export::verify(export.as_bytes(), &fx.verifier, |_| {}).unwrap();
    assert_eq!(
        v.subjects_checked, 2,
        "the purged entry has no subject to open"
    );
    let q = fx.get_json("/v1/audit/entries?operation=purge").await;
    assert_eq!(q["entries"][0]["actor"], ADMIN);
    assert!(q["entries"][0].get("subject").is_none());
    fx.hub.shutdown().await.unwrap();
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

/// Checks a tampered copy of a log as an auditor would: 30 status events are ingested by a
/// hub, which the auditor's CLI saves a checkpoint of and asks the key of; the hub stopped,
/// `tamper` changes a copy of its store, and a hub is started on the copy. Offline, the export
/// is verified against the hub's key (the report contains `offline`); online, today's log
/// against the checkpoint saved before the tampering (the report contains `online`). Each
/// exits 0 when its report says verified, else 1.
async fn check_tampered(name: &str, tamper: impl Fn(&Path), offline: &str, online: &str) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_log_verifies_offline_and_online() {
    check_tampered(
        "untouched",
        |_: &Path| {},
        "verified: 30 entries",
        "verified: the hub's log (30 entries",
    )
    .await;
}

/// A flipped byte in a stored entry, the tree left as it was: the offline check finds the
/// entry no longer in the checkpoint's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_stored_entry_is_detected_offline() {
    check_tampered(
        "a flipped byte",
        |d: &Path| flip(d, 7),
        "NOT verified: -: line 9 (entry 7): not in the log of the checkpoint",
        "verified: the hub's log",
    )
    .await;
}

/// A deleted entry, the tree recomputed and re-signed with the hub's key: it verifies on its
/// own, and the online check against the saved checkpoint finds the log shrank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_entry_under_a_re_signed_tree_is_detected_online() {
    check_tampered(
        "a deleted entry, the tree recomputed and re-signed",
        |d: &Path| rewrite(d, |i| i != 7, 0),
        "verified: 29 entries",
        "NOT verified: the log shrank",
    )
    .await;
}

/// A deleted entry and new ones appended, so that the log does not shrink: no extension of the
/// saved checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_entry_hidden_by_appended_ones_is_detected_online() {
    check_tampered(
        "a deleted entry and new ones appended",
        |d: &Path| rewrite(d, |i| i != 7, 5),
        "verified: 34 entries",
        "is not an extension of the saved checkpoint of 30 entries",
    )
    .await;
}

/// A rollback (truncated to 20 entries, then new ones appended): no extension of the saved
/// checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_hidden_by_appended_entries_is_detected_online() {
    check_tampered(
        "a rollback: truncated to 20, then new entries appended",
        |d: &Path| rewrite(d, |i| i < 20, 15),
        "verified: 35 entries",
        "is not an extension of the saved checkpoint of 30 entries",
    )
    .await;
}
