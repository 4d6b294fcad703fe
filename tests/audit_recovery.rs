//! The audit log after a crash that lost what sled had not flushed.

mod common;

use common::hub::copy_dir;
use lienthong::audit::{AuditDraft, AuditLog};
use lienthong::store::Store;
use serde_json::Value;

/// A store directory under `data`, the audit log's configuration and the hub's key.
fn setup(
    data: &std::path::Path,
) -> (
    std::path::PathBuf,
    lienthong::config::hub::AuditConfig,
    std::sync::Arc<lienthong::signing::HubKey>,
) {
    let cfg = lienthong::config::hub::AuditConfig::default();
    let key = std::sync::Arc::new(
        lienthong::signing::HubKey::load_or_create(&cfg.origin, &data.join("key")).unwrap(),
    );
    (data.join("store"), cfg, key)
}

/// The sealed entry of exchange `n`.
fn sealed(n: u64, actor: &str, operation: &str, outcome: &str) -> lienthong::audit::SealedDraft {
    AuditDraft {
        exchange_id: format!("exchange-{n}"),
        actor: actor.into(),
        operation: operation.into(),
        outcome: outcome.into(),
        ..Default::default()
    }
    .seal()
    .unwrap()
}

/// The submission of ingest `n`: its exchange and idempotency key, nothing queued.
fn ingest_of(n: u64) -> lienthong::store::Submission {
    lienthong::store::Submission {
        exchange_id: format!("exchange-{n}"),
        dedup_key: Some(format!("key-{n}")),
        ..Default::default()
    }
}

/// What a crash leaves when sled had not flushed the last commits: their entries are synced in
/// `entries.dat`, sled's size is that of the last flushed commit. Commits of entries alone
/// (pulls, deliveries) record their size in `size.dat` instead of flushing sled; the log keeps
/// them.
#[test]
fn entries_of_commits_sled_never_flushed_are_kept_by_their_recorded_size() {
    let data = tempfile::tempdir().unwrap();
    let (dir, cfg, key) = setup(data.path());
    let draft = |n: u64, operation: &str| sealed(n, "000.00.00.G07", operation, "allowed");
    {
        let store = Store::open(&dir).unwrap();
        let log = AuditLog::open(store.clone(), key.clone(), &cfg).unwrap();
        // An ingest: it writes to sled, so its commit flushes sled.
        let p = log
            .prepare((0..3).map(|n| draft(n, "ingest")).collect())
            .unwrap();
        let ingest = ingest_of(0);
        store.commit(&[&ingest], &p.writes).unwrap();
        log.applied(p);
        // Three commits of pulls' entries alone.
        for c in 0..3u64 {
            let p = log
                .prepare((3 + c * 4..7 + c * 4).map(|n| draft(n, "pull")).collect())
                .unwrap();
            store.commit(&[], &p.writes).unwrap();
            log.applied(p);
        }
        assert_eq!(store.audit_size().unwrap(), 15);
    }
    // Sled's size set back to the last flushed commit's, as a crash would leave it.
    let crashed = |name: &str, keep_size_file: bool| {
        let copy = data.path().join(name);
        copy_dir(&dir, &copy);
        if !keep_size_file {
            std::fs::remove_file(copy.join("audit/size.dat")).unwrap();
        }
        let db = sled::open(&copy).unwrap();
        let t = db.open_tree("audit").unwrap();
        t.insert("z", &3u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
        drop((t, db));
        copy
    };
    let copy = crashed("crashed", true);
    let store = Store::open(&copy).unwrap();
    assert_eq!(
        store.audit_size().unwrap(),
        15,
        "the pulls' entries are kept"
    );
    let log = AuditLog::open(store.clone(), key.clone(), &cfg).unwrap();
    assert_eq!(log.size(), 15);
    let ops: Vec<String> = store
        .audit_entries(0, u64::MAX)
        .map(|r| {
            let e: Value = serde_json::from_slice(&r.unwrap().1).unwrap();
            e["operation"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ops.len(), 15);
    assert_eq!((ops[2].as_str(), ops[14].as_str()), ("ingest", "pull"));
    // The log goes on after them.
    let p = log.prepare(vec![draft(15, "pull")]).unwrap();
    store.commit(&[], &p.writes).unwrap();
    log.applied(p);
    assert_eq!(store.audit_size().unwrap(), 16);
    drop((log, store));
    // Without size.dat, sled's size alone counts: what the file is there for.
    let copy = crashed("crashed-without-size", false);
    let store = Store::open(&copy).unwrap();
    assert_eq!(store.audit_size().unwrap(), 3);
}

/// A checkpoint signed over entries whose size only `size.dat` held records that size with
/// itself in the commit journal: after a crash that lost sled's writes and `size.dat`, the
/// journal brings back both the checkpoint and the size it signed; without the journal
/// neither is there.
#[test]
fn a_checkpoint_over_entries_alone_brings_their_size_back_with_it() {
    let data = tempfile::tempdir().unwrap();
    let (dir, cfg, key) = setup(data.path());
    let draft = |n: u64| sealed(n, "000.00.00.G07", "pull", "allowed");
    {
        let store = Store::open(&dir).unwrap();
        let log = AuditLog::open(store.clone(), key.clone(), &cfg).unwrap();
        let p = log.prepare(vec![draft(0)]).unwrap();
        let ingest = ingest_of(0);
        store.commit(&[&ingest], &p.writes).unwrap();
        log.applied(p);
        // Entries alone: their size goes to size.dat, not to sled.
        let p = log.prepare((1..5).map(draft).collect()).unwrap();
        store.commit(&[], &p.writes).unwrap();
        log.applied(p);
        assert_eq!(log.checkpoint().unwrap().0, 5);
    }
    let crashed = |name: &str, journal: bool| {
        let copy = data.path().join(name);
        copy_dir(&dir, &copy);
        std::fs::remove_file(copy.join("audit/size.dat")).unwrap();
        if !journal {
            for f in JOURNAL {
                std::fs::remove_file(copy.join(f)).unwrap();
            }
        }
        // Sled's own state as the ingest's commit left it, before the checkpoint.
        let db = sled::open(&copy).unwrap();
        let t = db.open_tree("audit").unwrap();
        t.insert("z", &1u64.to_be_bytes()).unwrap();
        let checkpoints: Vec<_> = t.scan_prefix([b'c']).keys().map(|k| k.unwrap()).collect();
        for k in checkpoints {
            t.remove(k).unwrap();
        }
        db.flush().unwrap();
        drop((t, db));
        copy
    };
    let reopen = |copy: std::path::PathBuf| {
        let store = Store::open(&copy).unwrap();
        (
            store.audit_size().unwrap(),
            store.checkpoint_at(5).unwrap().is_some(),
        )
    };
    assert_eq!(reopen(crashed("crashed", true)), (5, true));
    assert_eq!(reopen(crashed("without-journal", false)), (1, false));
}

/// The commit journal's files.
const JOURNAL: [&str; 2] = ["journal-0.dat", "journal-1.dat"];

fn journal_len(dir: &std::path::Path) -> u64 {
    JOURNAL
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum()
}

/// What a crash leaves when sled had not flushed the last ingests: sled's files as they were
/// before them, the commit journal and the audit files as the commits left them. The journal
/// puts the ingests' outbox items, idempotency keys, the log's size and a signed checkpoint
/// back in sled.
#[test]
fn ingests_sled_never_flushed_are_put_back_from_the_commit_journal() {
    use lienthong::store::{OutboxItem, Submission};
    let data = tempfile::tempdir().unwrap();
    let (dir, cfg, key) = setup(data.path());
    let ingest = |n: u64| {
        let draft = sealed(n, "000.00.00.H42", "ingest", "accepted");
        let item = OutboxItem {
            seq: n,
            destination: "national-portal".into(),
            exchange_id: format!("exchange-{n}"),
            record_type: "dossier-status".into(),
            order_key: "dossier-1".into(),
            source_adapter: "motcua-hatinh".into(),
            member: "000.00.00.H42".into(),
            record: serde_json::json!({ "n": n }),
            accepted_at_ms: 1,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            answers: Vec::new(),
        };
        let s = Submission {
            items: vec![std::sync::Arc::new(item)],
            ..ingest_of(n)
        };
        (draft, s)
    };
    let sled_before = data.path().join("sled-before");
    {
        let store = Store::open(&dir).unwrap();
        let log = AuditLog::open(store.clone(), key.clone(), &cfg).unwrap();
        let (d, s) = ingest(1);
        let p = log.prepare(vec![d]).unwrap();
        store.commit(&[&s], &p.writes).unwrap();
        log.applied(p);
        // Sled's durable state from here on: this ingest and nothing after it.
        store.flush().unwrap();
        copy_dir(&dir, &sled_before);
        for n in 2..=4 {
            let (d, s) = ingest(n);
            let p = log.prepare(vec![d]).unwrap();
            store.commit(&[&s], &p.writes).unwrap();
            log.applied(p);
        }
        assert_eq!(store.audit_size().unwrap(), 4);
        // A signed checkpoint of the four, durable through the journal like the commits.
        assert_eq!(log.checkpoint().unwrap().0, 4);
        // The crash: what is on disk now, but sled's files from before the last three (and,
        // to compare, the same without the journal).
        let crash = |name: &str, journal: bool| {
            let to = data.path().join(name);
            copy_dir(&sled_before, &to);
            for f in JOURNAL {
                if journal {
                    std::fs::copy(dir.join(f), to.join(f)).unwrap();
                } else {
                    std::fs::remove_file(to.join(f)).unwrap();
                }
            }
            std::fs::remove_dir_all(to.join("audit")).unwrap();
            copy_dir(&dir.join("audit"), &to.join("audit"));
            to
        };
        let crashed = crash("crashed", true);
        crash("without-journal", false);
        // size.dat records only commits of entries alone: none here, so it is no help.
        assert!(
            journal_len(&crashed) > 0,
            "the three commits are in the journal"
        );
    }
    let reopen = |path: &std::path::Path| {
        let store = Store::open(path).unwrap();
        let seqs: Vec<u64> = store
            .outbox_items("national-portal")
            .unwrap()
            .iter()
            .map(|i| i.seq)
            .collect();
        let seen: Vec<bool> = (1..=4)
            .map(|n| store.seen(&format!("key-{n}")).unwrap().is_some())
            .collect();
        let checkpoint = store.checkpoint_at(4).unwrap().is_some();
        (seqs, seen, store.audit_size().unwrap(), checkpoint)
    };
    let crashed = data.path().join("crashed");
    assert_eq!(
        reopen(&crashed),
        (vec![1, 2, 3, 4], vec![true; 4], 4, true),
        "every acknowledged ingest is back, and the checkpoint"
    );
    // Opened again: the journal was applied and emptied; nothing is lost or doubled.
    assert_eq!(journal_len(&crashed), 0);
    assert_eq!(reopen(&crashed), (vec![1, 2, 3, 4], vec![true; 4], 4, true));

    // Without the journal sled has only the first ingest, and the log stops there too.
    let bare = data.path().join("without-journal");
    assert_eq!(
        reopen(&bare),
        (vec![1], vec![true, false, false, false], 1, false)
    );
}
