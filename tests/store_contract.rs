//! The store's contract, written against the port (`lienthong::store::Store`), run on every
//! backend: what each role promises its callers (`store::port`), checked through the port
//! alone. Each backend is opened on a fresh place and, where the promise is durability,
//! closed and opened again. Today's backends: the embedded one (sled) and PostgreSQL (a real
//! server, `common::postgres`, one database per check; skipped with a message where PostgreSQL
//! is not installed, required by `scripts/test`). A new backend adds its opener to `BACKENDS`.

mod common;

use lienthong::audit::{AuditDraft, AuditLog};
use lienthong::config::hub::{AuditConfig, RouteConfig};
use lienthong::signing::HubKey;
use lienthong::store::{
    AdapterVersion, DeadLetter, IssuedDocument, Lookup, OutboxItem, QualitySaved, ReportCount,
    Store, Submission, TokenRecord, report_day,
};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// A backend: its name, and how to open it on a directory of its own (a backend that keeps no
/// files there keeps its data under a name made from it).
type Opener = fn(&Path) -> Store;

const BACKENDS: &[(&str, Opener)] = &[
    ("sled", |dir| Store::open(dir).expect("sled opens")),
    ("postgres", |dir| {
        Store::open_postgres(&common::postgres::database(dir), std::path::Path::new(""))
            .expect("postgres opens")
    }),
];

/// Runs a contract check on every backend, each on a fresh directory; the check gets the
/// directory and the opener (to close and open the store again).
fn on_every_backend(check: impl Fn(&Path, Opener)) {
    for (name, open) in BACKENDS {
        if *name == "postgres" && !common::postgres::available() {
            continue;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        eprintln!("backend {name}");
        check(&dir.path().join("store"), *open);
    }
}

fn item(destination: &str, seq: u64, order_key: &str) -> OutboxItem {
    OutboxItem {
        seq,
        destination: destination.into(),
        exchange_id: format!("exchange-{seq}"),
        record_type: "dossier-status".into(),
        order_key: order_key.into(),
        source_adapter: "motcua-hatinh".into(),
        member: "000.00.00.H42".into(),
        record: json!({ "MaHoSo": format!("000.00.10.H42-251101-{seq:05}") }),
        accepted_at_ms: 1_764_000_000_000,
        attempts: 0,
        next_attempt_ms: 0,
        last_error: None,
        answers: Vec::new(),
    }
}

/// Commits one ingest: its idempotency key and its items, numbered by the store.
fn ingest(store: &Store, key: &str, destination: &str, n: usize) -> Vec<u64> {
    let items: Vec<Arc<OutboxItem>> = (0..n)
        .map(|_| Arc::new(item(destination, store.next_seq().unwrap(), "dossier-1")))
        .collect();
    let seqs = items.iter().map(|i| i.seq).collect();
    let s = Submission {
        exchange_id: format!("exchange-of-{key}"),
        dedup_key: Some(key.into()),
        items,
        ..Default::default()
    };
    store.commit(&[&s], &Default::default()).unwrap();
    seqs
}

/// Two nodes (stores) on one PostgreSQL database of their own, and the directory it is named
/// after; None when PostgreSQL is not installed here.
fn two_nodes() -> Option<(tempfile::TempDir, Store, Store)> {
    if !common::postgres::available() {
        return None;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = common::postgres::database(&dir.path().join("store"));
    let a = Store::open_postgres(&url, Path::new("")).expect("node a opens");
    let b = Store::open_postgres(&url, Path::new("")).expect("node b opens");
    Some((dir, a, b))
}

fn seqs(store: &Store, destination: &str) -> Vec<u64> {
    store
        .outbox_items(destination)
        .unwrap()
        .iter()
        .map(|i| i.seq)
        .collect()
}

#[test]
fn a_group_commit_is_durable_and_its_keys_and_items_are_read_back_in_order() {
    on_every_backend(|dir, open| {
        {
            let store = open(dir);
            assert_eq!(store.seen("k1").unwrap(), None);
            let first = ingest(&store, "k1", "portal", 2);
            let second = ingest(&store, "k2", "portal", 1);
            assert!(
                first[0] < first[1] && first[1] < second[0],
                "sequence numbers grow"
            );
            assert_eq!(seqs(&store, "portal"), [first[0], first[1], second[0]]);
            assert_eq!(store.seen("k1").unwrap().as_deref(), Some("exchange-of-k1"));
            assert_eq!(store.outbox_destinations().unwrap(), ["portal"]);
            assert_eq!(store.failed_write(), None);
        }
        // Closed without a flush: a commit is durable when it returns.
        let store = open(dir);
        assert_eq!(seqs(&store, "portal").len(), 3);
        assert_eq!(store.seen("k2").unwrap().as_deref(), Some("exchange-of-k2"));
        let item = store
            .outbox_item("portal", seqs(&store, "portal")[0])
            .unwrap();
        assert_eq!(item.unwrap().order_key, "dossier-1");
        // Sequence numbers go on growing across a reopen.
        let last = *seqs(&store, "portal").last().unwrap();
        assert!(store.next_seq().unwrap() > last);
    });
}

#[test]
fn a_delivery_recorded_by_a_commit_stays_delivered_after_a_reopen() {
    on_every_backend(|dir, open| {
        let delivered;
        {
            let store = open(dir);
            let s = ingest(&store, "k", "portal", 3);
            delivered = s[0];
            let record = Submission {
                exchange_id: "exchange-of-k".into(),
                delivered: vec![("portal".into(), s[0])],
                ..Default::default()
            };
            store.commit(&[&record], &Default::default()).unwrap();
            assert_eq!(seqs(&store, "portal"), &s[1..]);
            assert!(store.outbox_item("portal", delivered).unwrap().is_none());
        }
        let store = open(dir);
        assert!(!seqs(&store, "portal").contains(&delivered));
        assert_eq!(seqs(&store, "portal").len(), 2);
    });
}

#[test]
fn parking_replaying_and_discarding_dead_letters_are_durable() {
    on_every_backend(|dir, open| {
        let (parked, other);
        {
            let store = open(dir);
            let s = ingest(&store, "k", "portal", 2);
            (parked, other) = (s[0], s[1]);
            // A failed attempt is rewritten.
            let mut tried = (*store.outbox_item("portal", other).unwrap().unwrap()).clone();
            tried.attempts = 2;
            tried.last_error = Some("answered 500".into());
            store.update_item(&tried).unwrap();
            assert_eq!(
                store
                    .outbox_item("portal", other)
                    .unwrap()
                    .unwrap()
                    .attempts,
                2
            );
            let mut dead_item = (*store.outbox_item("portal", parked).unwrap().unwrap()).clone();
            dead_item.attempts = 3;
            store
                .park(&DeadLetter {
                    item: dead_item,
                    reason: "answered 400: refused".into(),
                    last_response: Some("400 {}".into()),
                    parked_at: "2026-12-05T00:00:00Z".into(),
                })
                .unwrap();
            assert_eq!(seqs(&store, "portal"), [other]);
        }
        let store = open(dir);
        assert_eq!(seqs(&store, "portal"), [other]);
        let dead = store.dead_letters(Some("portal")).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].reason, "answered 400: refused");
        assert_eq!(store.dead_letters(None).unwrap().len(), 1);
        assert!(store.dead_letters(Some("elsewhere")).unwrap().is_empty());
        let dl = store.dead_letter("portal", parked).unwrap().unwrap();
        // Replayed under a new number, attempts reset; a second replay finds nothing.
        let new_seq = store.next_seq().unwrap();
        let back = store.replay(&dl, new_seq).unwrap().unwrap();
        assert_eq!(
            (back.seq, back.attempts, back.last_error),
            (new_seq, 0, None)
        );
        assert!(
            store
                .replay(&dl, store.next_seq().unwrap())
                .unwrap()
                .is_none()
        );
        drop(store);
        let store = open(dir);
        assert_eq!(seqs(&store, "portal"), [other, new_seq]);
        assert!(store.dead_letters(None).unwrap().is_empty());
        // Discarded: gone; a second discard says so.
        let s = ingest(&store, "k2", "portal", 1);
        let i = (*store.outbox_item("portal", s[0]).unwrap().unwrap()).clone();
        store
            .park(&DeadLetter {
                item: i,
                reason: "gave up".into(),
                last_response: None,
                parked_at: "2026-12-05T00:00:00Z".into(),
            })
            .unwrap();
        assert!(store.discard("portal", s[0]).unwrap());
        assert!(!store.discard("portal", s[0]).unwrap());
        drop(store);
        assert!(open(dir).dead_letters(None).unwrap().is_empty());
    });
}

#[test]
fn idempotency_keys_are_swept_in_bounded_steps() {
    on_every_backend(|dir, open| {
        let store = open(dir);
        for i in 0..25 {
            ingest(&store, &format!("k{i:02}"), "portal", 0);
        }
        let now = lienthong::clock::now_ms();
        let (forgot, _) = store.sweep_dedup_step(now - 3_600_000, None, 100).unwrap();
        assert_eq!(forgot, 0, "accepted just now: kept");
        let (mut removed, mut steps, mut after) = (0, 0, None::<Vec<u8>>);
        loop {
            let (n, next) = store
                .sweep_dedup_step(now + 1, after.as_deref(), 10)
                .unwrap();
            removed += n;
            steps += 1;
            match next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        assert_eq!((removed, steps), (25, 3));
        assert_eq!(store.seen("k00").unwrap(), None);
    });
}

/// The audit log's key and config, under `dir`'s parent.
fn audit_setup(dir: &Path) -> (AuditConfig, Arc<HubKey>) {
    let cfg = AuditConfig::default();
    let key =
        Arc::new(HubKey::load_or_create(&cfg.origin, &dir.with_extension("key")).expect("a key"));
    (cfg, key)
}

fn draft(n: u64, subject: &str) -> lienthong::audit::SealedDraft {
    AuditDraft {
        exchange_id: format!("exchange-{n}"),
        actor: "000.00.00.G07".into(),
        operation: "pull".into(),
        outcome: "allowed".into(),
        subject: Some(subject.into()),
        ..Default::default()
    }
    .seal()
    .unwrap()
}

#[test]
fn audit_entries_checkpoints_look_ups_and_purges_are_kept() {
    on_every_backend(|dir, open| {
        let (cfg, key) = audit_setup(dir);
        {
            let store = open(dir);
            let log = AuditLog::open(store.clone(), key.clone(), &cfg).unwrap();
            let p = log
                .prepare((0..5).map(|n| draft(n, "001099012345")).collect())
                .unwrap();
            store.commit(&[], &p.writes).unwrap();
            log.applied(p);
            assert_eq!(store.audit_size().unwrap(), 5);
            store.put_checkpoint(5, "the note of size 5").unwrap();
            // Several kinds in one batch, one of them twice: written once.
            store
                .put_audit_lookups(
                    vec![
                        (Lookup::Subject, "001099012345".into(), 3),
                        (Lookup::Member, "000.00.00.H42".into(), 3),
                        (Lookup::Subject, "001099012345".into(), 3),
                        (Lookup::Member, "000.00.00.H42".into(), 4),
                    ],
                    5,
                )
                .unwrap();
        }
        let store = open(dir);
        assert_eq!(store.audit_size().unwrap(), 5);
        let entries: Vec<_> = store.audit_entries(1, 4).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2, 3]);
        let (bytes, sealed) = store.audit_record(2).unwrap().unwrap();
        assert_eq!(store.audit_entry_bytes(2).unwrap().unwrap(), bytes);
        assert!(sealed.is_some());
        assert_eq!(store.audit_record(5).unwrap(), None);
        assert_eq!(
            store.checkpoint_at(5).unwrap().as_deref(),
            Some("the note of size 5")
        );
        assert_eq!(store.checkpoint_at(4).unwrap(), None);
        assert_eq!(store.latest_checkpoint().unwrap().unwrap().0, 5);
        assert_eq!(store.checkpoints(0, 10).unwrap().len(), 1);
        assert!(store.checkpoints(5, 10).unwrap().is_empty());
        assert_eq!(store.audit_indexed().unwrap(), 5);
        let found: Vec<u64> = store
            .audit_lookup(Lookup::Subject, "001099012345", 0)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, [3]);
        let found: Vec<u64> = store
            .audit_lookup(Lookup::Member, "000.00.00.H42", 0)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, [3, 4]);
        // The Merkle tree's root agrees with the log's.
        let log = AuditLog::open(store.clone(), key, &cfg).unwrap();
        assert_eq!(log.size(), 5);
        // A purge removes the sealed part and the look-up, durably; the entry stays.
        assert!(store.audit_purge(3, Some("001099012345")).unwrap());
        drop((log, store));
        let store = open(dir);
        let (_, sealed) = store.audit_record(3).unwrap().unwrap();
        assert_eq!(sealed, None);
        let found: Vec<u64> = store
            .audit_lookup(Lookup::Subject, "001099012345", 0)
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(found.is_empty());
        assert_eq!(store.audit_size().unwrap(), 5);
    });
}

#[test]
fn the_catalogue_keeps_tokens_adapters_routes_and_policies() {
    on_every_backend(|dir, open| {
        {
            let store = open(dir);
            let token = TokenRecord {
                id: "t1".into(),
                member: "000.00.00.H42".into(),
                role: "provider".into(),
                secret_sha256: "00".repeat(32),
                created_at: "2026-12-05T00:00:00Z".into(),
                revoked_at: None,
                expires_at: None,
            };
            store.put_token(&token).unwrap();
            let v = |version: u32| AdapterVersion {
                name: "motcua-hatinh".into(),
                version,
                definition: format!("# version {version}"),
                samples: Default::default(),
                source: "api:000.00.00.A01".into(),
                registered_at: "2026-12-05T00:00:00Z".into(),
            };
            store.put_adapter_version(&v(1), true).unwrap();
            store.put_adapter_version(&v(2), true).unwrap();
            assert!(store.set_adapter_enabled("motcua-hatinh", false).unwrap());
            assert!(!store.set_adapter_enabled("no-such-adapter", false).unwrap());
            let route: RouteConfig =
                toml::from_str("record_type = \"payment\"\nto = [\"national-portal\"]").unwrap();
            let id = store.add_route(&route).unwrap();
            let second = store.add_route(&route).unwrap();
            assert_ne!(id, second);
            assert!(store.remove_route(second).unwrap());
            assert!(!store.remove_route(second).unwrap());
            assert_eq!(
                store
                    .put_policy("# policy", "2026-12-05T00:00:00Z", "A01")
                    .unwrap(),
                1
            );
            assert_eq!(
                store
                    .put_policy("# policy 2", "2026-12-05T00:00:01Z", "A01")
                    .unwrap(),
                2
            );
        }
        let store = open(dir);
        assert_eq!(store.token("t1").unwrap().unwrap().member, "000.00.00.H42");
        assert_eq!(store.token("t2").unwrap(), None);
        assert_eq!(store.tokens().unwrap().len(), 1);
        let state = store.adapter_state("motcua-hatinh").unwrap().unwrap();
        assert_eq!((state.latest, state.enabled), (2, false));
        assert_eq!(
            store.adapter_version_numbers("motcua-hatinh").unwrap(),
            [1, 2]
        );
        assert_eq!(
            store
                .adapter_version("motcua-hatinh", 1)
                .unwrap()
                .unwrap()
                .definition,
            "# version 1"
        );
        assert_eq!(store.adapter_states().unwrap().len(), 1);
        let routes = store.routes().unwrap();
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].1.record_type, "payment");
        let policy = store.latest_policy().unwrap().unwrap();
        assert_eq!((policy.version, policy.text.as_str()), (2, "# policy 2"));
    });
}

#[test]
fn once_only_writes_of_a_commit_are_found_by_subject_and_summed_by_day() {
    on_every_backend(|dir, open| {
        let at = 1_764_900_000_000u64; // 2025-12-05, Vietnam time
        let count = |procedure: &str, counts: [u64; 5]| ReportCount {
            day: report_day(at),
            agency: "000.00.10.H42".into(),
            procedure: procedure.into(),
            counts,
        };
        {
            let store = open(dir);
            let doc = |id: &str, kind: &str| IssuedDocument {
                subject: "001099012345".into(),
                type_key: kind.into(),
                document_id: id.into(),
                record: json!({"document_id": id}),
            };
            let a = Submission {
                exchange_id: "a".into(),
                onceonly: vec![doc("GCN-1", "giay chung nhan"), doc("GP-2", "giay phep")],
                counts: vec![count("1.001612", [1, 2, 0, 1, 0])],
                ..Default::default()
            };
            let b = Submission {
                exchange_id: "b".into(),
                counts: vec![count("1.001612", [1, 0, 1, 0, 1])],
                ..Default::default()
            };
            store.commit(&[&a, &b], &Default::default()).unwrap();
        }
        let store = open(dir);
        assert_eq!(
            store.issued_documents("001099012345", None).unwrap().len(),
            2
        );
        let one = store
            .issued_documents("001099012345", Some("giay phep"))
            .unwrap();
        assert_eq!(one, [json!({"document_id": "GP-2"})]);
        assert!(
            store
                .issued_documents("001099099999", None)
                .unwrap()
                .is_empty()
        );
        let (groups, from) = store.report_counts(at).unwrap();
        assert!(from <= at);
        assert_eq!(
            groups[&("000.00.10.H42".to_string(), "1.001612".to_string())],
            [2, 2, 1, 1, 1]
        );
        // A later commit adds to the stored counts.
        let c = Submission {
            exchange_id: "c".into(),
            counts: vec![count("1.001612", [1, 1, 0, 0, 3])],
            ..Default::default()
        };
        store.commit(&[&c], &Default::default()).unwrap();
        let (groups, _) = store.report_counts(at).unwrap();
        assert_eq!(
            groups[&("000.00.10.H42".to_string(), "1.001612".to_string())],
            [3, 3, 1, 1, 4]
        );
    });
}

#[test]
fn the_pull_cache_answers_what_was_put() {
    on_every_backend(|dir, open| {
        let store = open(dir);
        assert_eq!(store.cache_get("citizen", "001099012345").unwrap(), None);
        let record = json!({"personal_id": "001099012345", "full_name": "Nguyễn Văn A"});
        store
            .cache_put("citizen", "001099012345", 42, &record)
            .unwrap();
        assert_eq!(
            store.cache_get("citizen", "001099012345").unwrap(),
            Some((42, record))
        );
        assert_eq!(store.cache_get("document", "001099012345").unwrap(), None);
    });
}

#[test]
fn the_quality_rows_move_with_their_mark_and_a_save_behind_it_is_refused() {
    on_every_backend(|dir, open| {
        let store = open(dir);
        assert_eq!(store.quality_rows().unwrap(), (0, Vec::<Vec<u8>>::new()));
        let row = |code: &str, v: u8| (code.to_string(), vec![v; 3]);
        assert!(
            store
                .put_quality_rows(&[row("A", 1), row("B", 2)], 10, false, 2)
                .unwrap()
                .written()
        );
        // A save behind the stored mark (another node's later fold is in): nothing written.
        assert_eq!(
            store.put_quality_rows(&[row("A", 9)], 7, false, 2).unwrap(),
            QualitySaved::Behind
        );
        assert_eq!(
            store
                .put_quality_rows(&[row("A", 9)], 10, false, 2)
                .unwrap(),
            QualitySaved::Behind
        );
        // A later one updates its rows and keeps the others.
        assert!(
            store
                .put_quality_rows(&[row("B", 3)], 12, false, 2)
                .unwrap()
                .written()
        );
        drop(store);
        let store = open(dir);
        let (mark, mut rows) = store.quality_rows().unwrap();
        rows.sort();
        assert_eq!((mark, rows), (12, vec![vec![1; 3], vec![3; 3]]));
        // A replacement is all there is; not behind the stored mark.
        assert_eq!(
            store.put_quality_rows(&[row("C", 4)], 5, true, 1).unwrap(),
            QualitySaved::Behind
        );
        assert!(
            store
                .put_quality_rows(&[row("C", 4)], 12, true, 1)
                .unwrap()
                .written()
        );
        assert_eq!(store.quality_rows().unwrap(), (12, vec![vec![4; 3]]));
    });
}

/// Two hub nodes on one shared store (PostgreSQL only: the embedded store is one process's).
/// The node holding a destination's claim must see another node's item below one of its own
/// before it picks its own (order of one key across nodes), however recently it last looked;
/// and what it keeps of its own items must not outlive a break in its claim, during which
/// another node may have retried, parked or delivered them.
#[test]
fn a_claim_holder_sees_other_nodes_items_below_its_own_and_nothing_stale_after_a_break() {
    let Some((_dir, a, b)) = two_nodes() else {
        return;
    };
    let waiting = |s: &Store| {
        s.outbox_waiting_if_changed("portal")
            .unwrap()
            .map(|w| w.iter().map(|i| i.seq).collect::<Vec<_>>())
    };
    assert!(a.claim_delivery("portal", "node-a", 1_500).unwrap());
    assert_eq!(waiting(&a), Some(vec![]), "the first look reads");
    // B accepts a record, then A one of the same key (its client waited for B's answer).
    let from_b = ingest(&b, "kb", "portal", 1);
    let from_a = ingest(&a, "ka", "portal", 2);
    assert!(from_b[0] < from_a[0]);
    assert_eq!(
        waiting(&a),
        Some(vec![from_b[0], from_a[0], from_a[1]]),
        "A's commit skipped B's mark: B's item is read at once, before A's are picked"
    );
    assert_eq!(waiting(&a), None, "nothing new since");
    // B accepts one more, above all of A's: seen within the backend's interval.
    let later = ingest(&b, "kb2", "portal", 1);
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(
        waiting(&a).expect("read again after the interval").last(),
        Some(&later[0])
    );
    // A holds its own items: read as committed.
    assert_eq!(
        a.outbox_item("portal", from_a[0])
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    // A's claim runs out; B takes it, retries one of A's items and delivers the other.
    std::thread::sleep(std::time::Duration::from_millis(1_700));
    assert!(b.claim_delivery("portal", "node-b", 300).unwrap());
    let mut retried = (*b.outbox_item("portal", from_a[0]).unwrap().unwrap()).clone();
    retried.attempts = 3;
    retried.last_error = Some("503 from the portal".into());
    b.update_item(&retried).unwrap();
    let delivered = Submission {
        exchange_id: "exchange-of-ka".into(),
        delivered: vec![("portal".into(), from_a[1])],
        ..Default::default()
    };
    b.commit(&[&delivered], &Default::default()).unwrap();
    // B's claim runs out; A takes it again and reads what B left, not what it kept.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(a.claim_delivery("portal", "node-a", 1_500).unwrap());
    let again = a.outbox_item("portal", from_a[0]).unwrap().unwrap();
    assert_eq!(
        (again.attempts, again.last_error.as_deref()),
        (3, Some("503 from the portal"))
    );
    assert!(
        a.outbox_item("portal", from_a[1]).unwrap().is_none(),
        "delivered by B meanwhile"
    );
}

/// A shared store's commit finds the idempotency keys accepted meanwhile (by another node, or
/// by an earlier commit of the same one) itself, since the committer does not look them up
/// first: a group holding several is refused whole, nothing of it written, and every taken
/// key is named with its exchange in one answer; the group without them then commits.
#[test]
fn a_group_with_keys_taken_meanwhile_is_refused_whole_naming_each() {
    let Some((_dir, a, b)) = two_nodes() else {
        return;
    };
    ingest(&a, "k1", "portal", 1);
    ingest(&a, "k2", "portal", 1);
    let sub = |key: &str, seq: u64| Submission {
        exchange_id: format!("b-exchange-of-{key}"),
        dedup_key: Some(key.into()),
        items: vec![Arc::new(item("portal", seq, key))],
        ..Default::default()
    };
    let group: Vec<Submission> = ["k1", "k3", "k2"]
        .iter()
        .map(|k| sub(k, b.next_seq().unwrap()))
        .collect();
    let refs: Vec<&Submission> = group.iter().collect();
    match b.commit(&refs, &Default::default()) {
        Err(lienthong::store::StoreError::Duplicate { mut taken }) => {
            taken.sort();
            assert_eq!(
                taken,
                vec![
                    ("k1".to_string(), "exchange-of-k1".to_string()),
                    ("k2".to_string(), "exchange-of-k2".to_string())
                ]
            );
        }
        other => panic!("expected the taken keys, got {other:?}"),
    }
    assert_eq!(b.seen("k3").unwrap(), None, "nothing of the group written");
    assert_eq!(seqs(&b, "portal").len(), 2);
    b.commit(&[&group[1]], &Default::default()).unwrap();
    assert_eq!(b.seen("k3").unwrap().as_deref(), Some("b-exchange-of-k3"));
    assert_eq!(seqs(&b, "portal").len(), 3);
}

/// A node whose log is behind the shared head (another node appended since it prepared) is
/// not sent back to start again: its commit keeps the head, has the log number the group after
/// it (`commit_after_head`), and writes that in the same transaction. One log results, with
/// contiguous indexes and the same root read from either node; a numbering that fails writes
/// nothing and says `Behind`.
#[test]
fn a_commit_behind_another_nodes_appends_is_numbered_again_after_them() {
    let Some((dir, a, b)) = two_nodes() else {
        return;
    };
    let (cfg, key) = audit_setup(&dir.path().join("audit"));
    let log_a = AuditLog::open(a.clone(), key.clone(), &cfg).unwrap();
    let log_b = Arc::new(AuditLog::open(b.clone(), key.clone(), &cfg).unwrap());
    // Node a appends 3 entries, then 4 more: a right edge of two subtrees (4 and 2 and 1).
    for range in [0..3, 3..7] {
        let p = log_a
            .prepare(range.map(|n| draft(n, "001099012345")).collect())
            .unwrap();
        a.commit(&[], &p.writes).unwrap();
        log_a.applied(p);
    }
    // Node b, which saw none of it, prepares from 0.
    let drafts: Vec<_> = (100..102).map(|n| draft(n, "001099012346")).collect();
    let stale = log_b.prepare(drafts.clone()).unwrap();
    assert_eq!(stale.writes.first, 0);
    // A numbering that fails: nothing written, `Behind` with the head found.
    let failing: lienthong::store::Renumber = Box::new(|_| Err("no numbering".into()));
    match b.commit_after_head(&[], Some(&stale.writes), failing) {
        Err(lienthong::store::StoreError::Behind { expected, found }) => {
            assert_eq!((expected, found), (0, 7))
        }
        other => panic!("expected Behind, got {other:?}"),
    }
    assert_eq!(b.audit_shared_size().unwrap(), 7);
    // With the log's numbering: written after a's, in one commit.
    let (renumber, again) = log_b.renumber(Arc::new(drafts));
    let key_written = Submission {
        exchange_id: "exchange-100".into(),
        dedup_key: Some("b-key".into()),
        ..Default::default()
    };
    b.commit_after_head(&[&key_written], Some(&stale.writes), renumber)
        .unwrap();
    let again = again.lock().unwrap().take().expect("numbered again");
    assert_eq!((again.writes.first, again.indexes.clone()), (7, vec![7, 8]));
    log_b.applied(again);
    assert_eq!(b.seen("b-key").unwrap().as_deref(), Some("exchange-100"));
    assert_eq!(a.audit_shared_size().unwrap(), 9);
    // One log: each entry where it was numbered, one root from either node and from a log
    // opened afresh.
    assert!(log_a.catch_up().unwrap(), "node a finds b's entries");
    for (index, exchange) in [(6, "exchange-6"), (7, "exchange-100"), (8, "exchange-101")] {
        let (entry, _) = log_a.entry(index).unwrap().expect("the entry");
        assert_eq!((entry.index, entry.exchange_id.as_str()), (index, exchange));
    }
    assert_eq!((log_a.size(), log_b.size()), (9, 9));
    assert_eq!(log_a.root(), log_b.root());
    let fresh = AuditLog::open(a.clone(), key.clone(), &cfg).unwrap();
    assert_eq!(fresh.root(), log_b.root());
    assert_eq!(fresh.root_at(9).unwrap(), log_b.root());
    // With the head kept first (no writes prepared): numbered once, after a's latest.
    let p = log_a
        .prepare((9..12).map(|n| draft(n, "001099012345")).collect())
        .unwrap();
    a.commit(&[], &p.writes).unwrap();
    log_a.applied(p);
    let (renumber, again) = log_b.renumber(Arc::new(vec![draft(200, "001099012346")]));
    b.commit_after_head(&[], None, renumber).unwrap();
    let again = again
        .lock()
        .unwrap()
        .take()
        .expect("numbered under the head");
    assert_eq!(again.indexes, vec![12]);
    log_b.applied(again);
    let fresh = AuditLog::open(a.clone(), key, &cfg).unwrap();
    fresh.catch_up().unwrap();
    assert_eq!((fresh.size(), fresh.root()), (13, log_b.root()));
    // The embedded store, which has one writer, takes only what was prepared.
    let sled_dir = tempfile::tempdir().unwrap();
    let sled = Store::open(sled_dir.path()).unwrap();
    let (renumber, _) = log_b.renumber(Arc::new(Vec::new()));
    assert!(sled.commit_after_head(&[], None, renumber).is_err());
}

/// On a shared store one node writes the look-ups (the holder of the indexer's claim); another
/// takes the mark that node moved rather than index the same entries again, and finds the
/// entries by their look-ups.
#[test]
fn a_node_that_does_not_index_follows_the_mark_of_the_one_that_does() {
    let Some((dir, a, b)) = two_nodes() else {
        return;
    };
    let (cfg, key) = audit_setup(&dir.path().join("audit"));
    let log_a = AuditLog::open(a.clone(), key.clone(), &cfg).unwrap();
    let log_b = AuditLog::open(b.clone(), key, &cfg).unwrap();
    let p = log_a
        .prepare((0..4).map(|n| draft(n, "001099012345")).collect())
        .unwrap();
    a.commit(&[], &p.writes).unwrap();
    log_a.applied(p);
    log_a.index_all().unwrap();
    assert_eq!(log_a.indexed(), 4);
    assert!(log_b.catch_up().unwrap());
    assert_eq!((log_b.size(), log_b.indexed()), (4, 0));
    log_b.follow_indexed().unwrap();
    assert_eq!(log_b.indexed(), 4);
    let found = log_b
        .query(&lienthong::audit::Query {
            subject: Some("001099012345".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.entries.len(), 4);
}

#[test]
fn a_purge_on_one_node_is_not_undone_by_the_look_ups_another_node_holds_in_memory() {
    let Some((dir, a, b)) = two_nodes() else {
        return;
    };
    let (cfg, key) = audit_setup(&dir.path().join("audit"));
    let log_a = AuditLog::open(a.clone(), key.clone(), &cfg).unwrap();
    let log_b = AuditLog::open(b.clone(), key, &cfg).unwrap();
    // Node a commits four entries about one citizen and keeps their look-ups in memory, not
    // yet written (it holds the look-ups' claim).
    let p = log_a
        .prepare((0..4).map(|n| draft(n, "001099012345")).collect())
        .unwrap();
    a.commit(&[], &p.writes).unwrap();
    log_a.applied(p);
    assert_eq!(log_a.indexed(), 0);
    // Node b purges entry 2 meanwhile; then node a writes what it held.
    assert!(log_b.catch_up().unwrap());
    assert!(log_b.purge(2).unwrap().is_some());
    log_a.index_all().unwrap();
    assert_eq!(log_a.indexed(), 4);
    // The subject's look-ups as stored, and a query by subject on either node.
    let mut stored: Vec<u64> = b
        .audit_lookup(Lookup::Subject, "001099012345", 0)
        .collect::<Result<_, _>>()
        .unwrap();
    stored.sort_unstable();
    assert_eq!(
        stored,
        [0, 1, 3],
        "the purged entry's subject look-up is not written back"
    );
    let by_subject = |log: &AuditLog| -> Vec<u64> {
        let mut found: Vec<u64> = log
            .query(&lienthong::audit::Query {
                subject: Some("001099012345".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .entries
            .iter()
            .map(|e| e.entry.index)
            .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(by_subject(&log_a), [0, 1, 3]);
    log_b.follow_indexed().unwrap();
    assert_eq!(by_subject(&log_b), [0, 1, 3]);
    // Its other look-ups (by member, by exchange) are kept: the entry stays in the log.
    let by_member: Vec<u64> = a
        .audit_lookup(Lookup::Member, "000.00.00.G07", 0)
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(by_member.contains(&2), "{by_member:?}");
}

/// Two nodes on one database, node `a` saving the quality indicators one dossier a
/// transaction, `pause` apart (`QualitySaves`); node `b` as shipped.
fn two_nodes_one_saving_slowly(
    pause: std::time::Duration,
) -> Option<(tempfile::TempDir, Store, Store)> {
    use lienthong::store::postgres::{PgStore, QualitySaves};
    if !common::postgres::available() {
        return None;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = common::postgres::database(&dir.path().join("store"));
    let slow = PgStore::open(&url, lienthong::store::postgres::DEFAULT_TIMEOUT)
        .expect("node a opens")
        .with_quality_saves(QualitySaves { rows: 1, pause });
    let b = Store::open_postgres(&url, Path::new("")).expect("node b opens");
    Some((dir, Store::new(slow), b))
}

fn quality_row(code: &str, v: u8) -> (String, Vec<u8>) {
    (code.to_string(), [code.as_bytes(), &[v]].concat())
}

/// A save in several transactions (PostgreSQL cuts a large save so that the commits
/// meanwhile do not wait behind it) overtaken by another node's save of a later fold: what
/// the later one wrote stands, the earlier one stops at its next part without moving the mark
/// (`Behind` once the later one is in), and a save of an earlier fold than the one under way
/// writes nothing and is `Overtaken` (the stored mark is not past it: its changes are to be
/// saved again, since the save under way may never end).
#[test]
fn a_save_of_the_indicators_in_parts_is_stopped_by_a_later_one_and_stops_an_earlier_one() {
    let pause = std::time::Duration::from_millis(500);
    let Some((_dir, a, b)) = two_nodes_one_saving_slowly(pause) else {
        return;
    };
    let codes = ["A", "B", "C", "D", "E"];
    let old: Vec<_> = codes.iter().map(|c| quality_row(c, 1)).collect();
    // Node a saves its fold to entry 10 (five parts, 2 s); node b, once a's first part is in,
    // its fold to 20, where A and C changed.
    let slow = std::thread::spawn({
        let a = a.clone();
        move || a.put_quality_rows(&old, 10, false, 5).unwrap()
    });
    first_part_in(&b);
    // While a's save is under way, a save of a fold earlier than a's writes nothing; the
    // stored mark is not past it, so it is to be saved again.
    assert_eq!(
        b.put_quality_rows(&[quality_row("A", 7), quality_row("F", 7)], 8, false, 6)
            .unwrap(),
        QualitySaved::Overtaken,
        "a save behind the one under way was taken"
    );
    assert_eq!(
        b.put_quality_rows(&[quality_row("A", 2), quality_row("C", 2)], 20, false, 5)
            .unwrap(),
        QualitySaved::Written
    );
    // Stopped at its next part; b's save, which holds a's changes, is in by then: `Behind`.
    assert_eq!(
        slow.join().unwrap(),
        QualitySaved::Behind,
        "the overtaken save went on to its end (it had 1.5 s of parts left)"
    );
    let (mark, rows) = a.quality_rows().unwrap();
    assert_eq!(mark, 20);
    let by_code: std::collections::BTreeMap<u8, u8> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        by_code.get(&b'A'),
        Some(&2),
        "the later save's A was overwritten"
    );
    assert_eq!(
        by_code.get(&b'C'),
        Some(&2),
        "the later save's C was overwritten"
    );
    assert_eq!(by_code.get(&b'F'), None, "the earlier save's F was written");
    // a's last part (E, with the mark) was stopped; what it wrote before the stop is its
    // fold's, newer than the mark it left.
    assert_eq!(
        by_code.get(&b'E'),
        None,
        "the overtaken save's last part was written"
    );
    // The next save of a (its fold now at 30) is written whole, past b's.
    let all: Vec<_> = codes.iter().map(|c| quality_row(c, 3)).collect();
    assert!(a.put_quality_rows(&all, 30, false, 5).unwrap().written());
    let (mark, mut rows) = b.quality_rows().unwrap();
    rows.sort();
    assert_eq!(
        (mark, rows),
        (30, all.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>())
    );
}

/// Waits until a save's first part is in (some rows stored).
fn first_part_in(store: &Store) {
    let started = std::time::Instant::now();
    while store.quality_rows().unwrap().1.is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the first part never came"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A rebuild (a replacement) of a fold earlier than a save under way of another node is
/// refused, as `Overtaken`: it would put its older rows under the later save's mark. The save
/// goes on to its end.
#[test]
fn a_rebuild_during_a_later_save_of_the_indicators_is_refused() {
    let Some((_dir, a, b)) = two_nodes_one_saving_slowly(std::time::Duration::from_millis(200))
    else {
        return;
    };
    let later: Vec<_> = ["A", "B", "C"].iter().map(|c| quality_row(c, 5)).collect();
    let slow = std::thread::spawn({
        let (a, later) = (a.clone(), later.clone());
        move || a.put_quality_rows(&later, 30, false, 3).unwrap()
    });
    first_part_in(&b);
    assert_eq!(
        b.put_quality_rows(&[quality_row("A", 4)], 25, true, 1)
            .unwrap(),
        QualitySaved::Overtaken
    );
    assert_eq!(slow.join().unwrap(), QualitySaved::Written);
    let (mark, mut rows) = b.quality_rows().unwrap();
    rows.sort();
    assert_eq!(
        (mark, rows),
        (30, later.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>())
    );
    // Past it, a rebuild is all there is.
    assert_eq!(
        b.put_quality_rows(&[quality_row("A", 6)], 31, true, 1)
            .unwrap(),
        QualitySaved::Written
    );
    assert_eq!(a.quality_rows().unwrap(), (31, vec![b"A\x06".to_vec()]));
}

/// A save of more dossiers than one part holds (500) is read back whole, and a rebuild's
/// replacement is all there is after it, on the database a cluster shares.
#[test]
fn a_save_of_the_indicators_larger_than_a_part_is_kept_whole() {
    let Some((_dir, a, b)) = two_nodes() else {
        return;
    };
    let many: Vec<_> = (0..1_234u32)
        .map(|i| (format!("{i:05}"), i.to_be_bytes().to_vec()))
        .collect();
    assert!(
        a.put_quality_rows(&many, 40, false, 1_234)
            .unwrap()
            .written()
    );
    let (mark, mut rows) = b.quality_rows().unwrap();
    rows.sort();
    assert_eq!(mark, 40);
    assert_eq!(
        rows,
        many.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>()
    );
    assert!(
        b.put_quality_rows(&many[..3], 40, true, 3)
            .unwrap()
            .written()
    );
    assert_eq!(a.quality_rows().unwrap().1.len(), 3);
}
