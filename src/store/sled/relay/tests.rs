use super::*;
use crate::store::sled::commit::{JOURNAL_FLUSH_AFTER_MS, JOURNAL_FLUSH_AT};
use crate::store::types::*;

fn accept(store: &SledStore, key: &str, exchange: &str) {
    let s = Submission {
        exchange_id: exchange.into(),
        dedup_key: Some(key.into()),
        ..Default::default()
    };
    store.commit(&[&s], &AuditWrites::default()).unwrap();
}

#[test]
fn idempotency_keys_are_kept_until_their_retention_passes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    accept(&store, "k1", "0195f3a0-0000-7000-8000-000000000001");
    accept(&store, "k2", "0195f3a0-0000-7000-8000-000000000002");
    assert_eq!(
        store.seen("k1").unwrap().as_deref(),
        Some("0195f3a0-0000-7000-8000-000000000001")
    );
    // Accepted just now: a cutoff an hour ago keeps them.
    let now = crate::clock::now_ms();
    assert_eq!(store.sweep_dedup(now - 3_600_000).unwrap(), 0);
    assert!(store.seen("k2").unwrap().is_some());
    // A value from before times were kept counts as old.
    store.dedup.insert("k0", "old-exchange").unwrap();
    assert_eq!(store.seen("k0").unwrap().as_deref(), Some("old-exchange"));
    assert_eq!(store.sweep_dedup(now - 3_600_000).unwrap(), 1);
    assert!(store.seen("k0").unwrap().is_none());
    // Past the retention: forgotten, and a repeat would be new.
    assert_eq!(store.sweep_dedup(now + 1).unwrap(), 2);
    assert!(store.seen("k1").unwrap().is_none());
    assert!(store.seen("k2").unwrap().is_none());
}

#[test]
fn a_sweep_in_steps_looks_at_every_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    for i in 0..25 {
        accept(&store, &format!("k{i:02}"), &format!("exchange-{i}"));
    }
    let now = crate::clock::now_ms();
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
    assert_eq!(removed, 25);
    assert_eq!(steps, 3, "10 + 10 + 5 keys");
    assert_eq!(store.dedup.len(), 0);
}

#[test]
fn report_counts_add_up_by_day_within_and_across_commits() {
    use crate::store::types::{ReportCount, report_day, report_day_start_ms};
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    // 2025-10-03 10:00 and 23:30 in Vietnam time (03:00 and 16:30 UTC), and the next day.
    let morning = 1_759_460_400_000u64;
    let night = morning + 13 * 3_600_000 + 1_800_000;
    let next = morning + 86_400_000;
    assert_eq!(report_day(morning), report_day(night));
    assert_eq!(report_day(next), report_day(morning) + 1);
    // The day starts at 00:00 in Vietnam: 17:00 UTC the day before.
    assert_eq!(
        report_day_start_ms(report_day(morning)),
        morning - 10 * 3_600_000
    );
    let dossier = |id: &str, at: u64, procedure: &str, counts: [u64; 5]| Submission {
        exchange_id: id.into(),
        counts: vec![ReportCount {
            day: report_day(at),
            agency: "000.00.10.H42".into(),
            procedure: procedure.into(),
            counts,
        }],
        ..Default::default()
    };
    // Two dossiers of one day and procedure in one commit, one more in the next.
    let (a, b) = (
        dossier("x1", morning, "1.001612", [1, 2, 0, 1, 0]),
        dossier("x2", night, "1.001612", [1, 0, 1, 0, 2]),
    );
    store.commit(&[&a, &b], &AuditWrites::default()).unwrap();
    let c = dossier("x3", morning, "1.001612", [1, 1, 0, 0, 0]);
    let d = dossier("x4", next, "2.000001", [1, 0, 0, 0, 0]);
    store.commit(&[&c, &d], &AuditWrites::default()).unwrap();
    // A row of the format before the counts is folded into its day's counts when the
    // store is opened again.
    store
        .onceonly
        .insert(
            crate::store::sled::onceonly::report_key(night, "x0"),
            serde_json::to_vec(&serde_json::json!({
                "receiving_agency": "000.00.10.H42", "procedure_code": "1.001612",
                "filled": 1, "mismatches": 0, "requested_again": 0, "reused": 0
            }))
            .unwrap(),
        )
        .unwrap();
    store.flush().unwrap();
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.onceonly.scan_prefix([b'r']).count(), 0, "folded");
    let (all, _) = store.report_counts(0).unwrap();
    assert_eq!(
        all[&("000.00.10.H42".to_string(), "1.001612".to_string())],
        [4, 4, 1, 1, 2]
    );
    assert_eq!(
        all[&("000.00.10.H42".to_string(), "2.000001".to_string())],
        [1, 0, 0, 0, 0]
    );
    // Since the next day's noon: that day counts from its start.
    let (later, from) = store.report_counts(next + 2 * 3_600_000).unwrap();
    assert_eq!(from, report_day_start_ms(report_day(next)));
    assert_eq!(later.len(), 1);
    assert_eq!(
        later[&("000.00.10.H42".to_string(), "2.000001".to_string())][0],
        1
    );
    // One key per day, agency and procedure, not one per dossier.
    assert_eq!(store.onceonly.scan_prefix([b'c']).count(), 2);
}

fn item(destination: &str, seq: u64) -> OutboxItem {
    OutboxItem {
        seq,
        destination: destination.into(),
        exchange_id: format!("exchange-{seq}"),
        record_type: "dossier-status".into(),
        order_key: String::new(),
        source_adapter: "motcua-hatinh".into(),
        member: "000.00.00.H42".into(),
        record: serde_json::json!({ "seq": seq }),
        accepted_at_ms: 1,
        attempts: 0,
        next_attempt_ms: 0,
        last_error: None,
        answers: Vec::new(),
    }
}

/// Commits the delivery of an item, as the relay does before the next of its order key.
fn deliver(store: &SledStore, destination: &str, seq: u64) {
    let s = Submission {
        exchange_id: format!("exchange-{seq}"),
        delivered: vec![(destination.to_string(), seq)],
        ..Default::default()
    };
    store.commit(&[&s], &AuditWrites::default()).unwrap();
}

fn queue(store: &SledStore, items: Vec<OutboxItem>) {
    let s = Submission {
        exchange_id: "exchange".into(),
        items: items.into_iter().map(Arc::new).collect(),
        ..Default::default()
    };
    store.commit(&[&s], &AuditWrites::default()).unwrap();
}

fn seqs(store: &SledStore, destination: &str) -> Vec<u64> {
    let items = store.outbox_items(destination).unwrap();
    items.iter().map(|i| i.seq).collect()
}

/// Items of commits since the last flush wait in memory: every reader sees them as it sees
/// the items in sled; a flush writes those not delivered, with their latest attempt, and the
/// outbox is the same after a reopen.
#[test]
fn items_waiting_in_memory_read_update_park_and_flush_like_items_in_sled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        queue(&store, vec![item("portal", 1), item("ministry", 2)]);
        store.flush().unwrap();
        queue(&store, (3..=6).map(|n| item("portal", n)).collect());
        assert!(store.outbox.get(item_key("portal", 3)).unwrap().is_none());
        assert_eq!(seqs(&store, "portal"), [1, 3, 4, 5, 6]);
        assert_eq!(store.outbox_destinations().unwrap(), ["ministry", "portal"]);
        assert_eq!(
            store.outbox_item("portal", 4).unwrap(),
            Some(Arc::new(item("portal", 4)))
        );

        // Delivered: 1 from sled, 3 from memory.
        deliver(&store, "portal", 1);
        deliver(&store, "portal", 3);
        // A failed attempt at 4: rewritten; a flush must not put the older copy back.
        let mut retried = item("portal", 4);
        retried.attempts = 2;
        store.update_item(&retried).unwrap();
        // 5 parked.
        let dead = DeadLetter {
            item: item("portal", 5),
            reason: "refused".into(),
            last_response: None,
            parked_at: "2026-11-25T00:00:00Z".into(),
        };
        store.park(&dead).unwrap();
        assert_eq!(seqs(&store, "portal"), [4, 6]);
        store.flush().unwrap();
        assert!(store.outbox.get(item_key("portal", 6)).unwrap().is_some());
        assert!(store.unwritten().is_empty());
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(seqs(&store, "portal"), [4, 6]);
    assert_eq!(store.outbox_item("portal", 4).unwrap().unwrap().attempts, 2);
    assert_eq!(store.outbox_item("portal", 3).unwrap(), None);
    assert_eq!(seqs(&store, "ministry"), [2]);
    assert_eq!(store.dead_letters(Some("portal")).unwrap().len(), 1);
}

/// Copies the files of a data directory (not its sub-folders): sled's files as they are on
/// disk, as a crash would leave them.
fn copy(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A crash before the flush: the journal puts the items back, the parked one excepted.
#[test]
fn after_a_crash_the_journal_puts_back_the_items_but_not_a_parked_one() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.flush().unwrap();
        // sled's files as they are before the commit.
        copy(dir.path(), crashed.path());
        queue(&store, (1..=3).map(|n| item("portal", n)).collect());
        for f in super::super::journal::FILES {
            let journal = std::fs::read(dir.path().join(f)).unwrap();
            std::fs::write(crashed.path().join(f), journal).unwrap();
        }
    }
    let store = SledStore::open(crashed.path()).unwrap();
    assert_eq!(seqs(&store, "portal"), [1, 2, 3]);
    drop(store);

    // The same, with item 2 in the dead letters (parked, and the park's flush written, but
    // the journal not emptied: the crash came in between).
    let again = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.flush().unwrap();
        copy(dir.path(), again.path());
        queue(&store, (7..=9).map(|n| item("portal", n)).collect());
        let journal: Vec<Vec<u8>> = super::super::journal::FILES
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
            .collect();
        drop(store);
        let sled_only = SledStore::open(again.path()).unwrap();
        let dead = DeadLetter {
            item: item("portal", 8),
            reason: "refused".into(),
            last_response: None,
            parked_at: "2026-11-25T00:00:00Z".into(),
        };
        sled_only
            .dead
            .insert(item_key("portal", 8), encode(&dead))
            .unwrap();
        sled_only.db.flush().unwrap();
        drop(sled_only);
        for (f, bytes) in super::super::journal::FILES.iter().zip(journal) {
            std::fs::write(again.path().join(f), bytes).unwrap();
        }
    }
    let store = SledStore::open(again.path()).unwrap();
    // 1–3 from the first part (the store was reopened since), 8 left where it is.
    assert_eq!(seqs(&store, "portal"), [1, 2, 3, 7, 9]);
    assert_eq!(store.dead_letters(Some("portal")).unwrap().len(), 1);
}

/// A commit made `JOURNAL_FLUSH_AFTER_MS` or more after the last flush starts one, however
/// little the journal holds: at low load the journal, and so what a crash delivers again, covers
/// only the last seconds.
#[test]
fn a_commit_long_after_the_last_flush_starts_one() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let journal = || -> u64 {
        super::super::journal::FILES
            .iter()
            .map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len())
            .sum()
    };
    queue(&store, vec![item("portal", 1)]);
    queue(&store, vec![item("portal", 2)]);
    // Soon after the last flush (the open): the journal keeps the commits, sled has no item.
    assert!(journal() > 0);
    assert!(!store.flush_started.load(Ordering::Acquire));
    assert!(store.outbox.is_empty());
    // The last flush long past: the next commit starts one.
    let long_ago = crate::clock::now_ms() - JOURNAL_FLUSH_AFTER_MS;
    store.flushed_at_ms.store(long_ago, Ordering::Release);
    queue(&store, vec![item("portal", 3)]);
    let started = std::time::Instant::now();
    while store.flushed_at_ms.load(Ordering::Acquire) == long_ago
        || store.flush_started.load(Ordering::Acquire)
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(journal(), 0, "the journal was emptied");
    assert_eq!(store.outbox.len(), 3, "the waiting items are in sled");
    assert_eq!(seqs(&store, "portal"), [1, 2, 3]);
}

/// Past 4 MiB of journal a commit starts a flush behind it: the commits turn to the other
/// file, the items still waiting go to sled, and the full file is emptied.
#[test]
fn a_full_journal_file_is_emptied_behind_the_commits() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let big = "x".repeat(8 << 10);
    let mut seq = 0;
    while seq < 600 {
        let items = (0..10)
            .map(|_| {
                seq += 1;
                let mut i = item("portal", seq);
                i.record = serde_json::json!({ "seq": seq, "pad": big });
                i
            })
            .collect();
        queue(&store, items);
    }
    let started = std::time::Instant::now();
    while store.flush_started.load(Ordering::Acquire) || store.outbox.is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let sizes: Vec<u64> = super::super::journal::FILES
        .iter()
        .map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len())
        .collect();
    assert!(sizes.contains(&0), "one file emptied: {sizes:?}");
    assert!(sizes.iter().sum::<u64>() < JOURNAL_FLUSH_AT, "{sizes:?}");
    // The items of the emptied file are in sled; none is lost.
    assert!(store.outbox.len() >= 400, "{}", store.outbox.len());
    assert_eq!(seqs(&store, "portal"), (1..=600).collect::<Vec<_>>());
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(seqs(&store, "portal"), (1..=600).collect::<Vec<_>>());
}

/// After a failed commit the store refuses every later one, with the first one's cause, until
/// it is opened again (here the failure is entries prepared for the wrong index).
#[test]
fn after_a_failed_commit_later_ones_are_refused_until_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        queue(&store, vec![item("portal", 1)]);
        let wrong = AuditWrites {
            first: 7,
            records: vec![crate::store::AuditRecord {
                entry: b"{}".to_vec(),
                sealed: Vec::new(),
            }],
            hashes: vec![[0u8; 32]],
        };
        let s = Submission {
            exchange_id: "exchange".into(),
            items: vec![Arc::new(item("portal", 2))],
            ..Default::default()
        };
        let e = store.commit(&[&s], &wrong).unwrap_err().to_string();
        assert!(e.contains("prepared from index 7"), "{e}");
        let s = Submission {
            exchange_id: "exchange".into(),
            items: vec![Arc::new(item("portal", 3))],
            ..Default::default()
        };
        let e = store
            .commit(&[&s], &AuditWrites::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("earlier write failed") && e.contains("prepared from index 7"),
            "{e}"
        );
        assert_eq!(seqs(&store, "portal"), [1]);
    }
    let store = SledStore::open(dir.path()).unwrap();
    queue(&store, vec![item("portal", 4)]);
    assert_eq!(seqs(&store, "portal"), [1, 4]);
}

proptest::proptest! {
    /// The hand-written stored form of an outbox item is serde's, byte for byte, and reads
    /// back as the same item.
    #[test]
    fn an_item_is_encoded_as_serde_encodes_it(
        seq in proptest::prelude::any::<u64>(),
        text in "\\PC{0,12}|[\\x00-\\x7f]{0,12}",
        attempts in proptest::prelude::any::<u32>(),
        times in proptest::prelude::any::<(u64, u64)>(),
        error in proptest::option::of("\\PC{0,12}"),
        record in proptest::collection::btree_map("\\PC{0,6}", "\\PC{0,10}", 0..4),
        answers in proptest::collection::vec(("\\PC{0,8}", proptest::option::of("\\PC{0,8}")), 0..3),
    ) {
        let item = OutboxItem {
            seq,
            destination: text.clone(),
            exchange_id: format!("{text}\"x"),
            record_type: "dossier-status".into(),
            order_key: text.clone(),
            source_adapter: "motcua-hatinh".into(),
            member: format!("\n{text}"),
            record: serde_json::to_value(record).unwrap(),
            accepted_at_ms: times.0,
            attempts,
            next_attempt_ms: times.1,
            last_error: error,
            answers: answers
                .into_iter()
                .map(|(reason, response)| crate::store::Answer {
                    at: "2026-12-05T08:00:00.000Z".into(),
                    reason,
                    response,
                })
                .collect(),
        };
        let bytes = item.encode();
        proptest::prop_assert_eq!(&bytes, &serde_json::to_vec(&item).unwrap());
        proptest::prop_assert_eq!(serde_json::from_slice::<OutboxItem>(&bytes).unwrap(), item);
    }
}

/// A delivery committed before a crash stays delivered: the journal that puts back the items
/// of its commits also removes those delivered since, in memory or already in sled.
#[test]
fn after_a_crash_a_committed_delivery_is_not_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        queue(&store, vec![item("portal", 1), item("portal", 2)]);
        // 1 and 2 in sled's durable state; the crash keeps sled as it is now.
        store.flush().unwrap();
        copy(dir.path(), crashed.path());
        queue(&store, (3..=5).map(|n| item("portal", n)).collect());
        // 1 from sled, 3 from memory; nothing flushed since.
        deliver(&store, "portal", 1);
        deliver(&store, "portal", 3);
        for f in super::super::journal::FILES {
            let journal = std::fs::read(dir.path().join(f)).unwrap();
            std::fs::write(crashed.path().join(f), journal).unwrap();
        }
    }
    let store = SledStore::open(crashed.path()).unwrap();
    assert_eq!(seqs(&store, "portal"), [2, 4, 5]);
}
