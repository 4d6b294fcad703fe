//! Hand-made event sets, with the figures worked out by hand in the comments.

use super::figures::{self, Period, Query};
use super::fold::{Act, Ledger, time_ms};
use serde_json::{Value, json};

const PORTAL: &str = "national-portal";

/// A dossier record received at `received`, due at `due` (both `MM-DD HH:MM`, 2025, +07:00).
fn dossier(code: &str, received: &str, due: &str, channel: &str, fee: u64) -> Value {
    json!({
        "dossier_code": code, "procedure_code": "1.001612", "field_code": "KT",
        "receiving_agency": "000.00.10.H42", "resolving_agency": "000.00.10.H42",
        "channel": channel, "received_at": t(received), "due_at": t(due), "status": "received",
        "fees": [{"name": "Lệ phí", "amount": fee}],
    })
}

fn t(s: &str) -> String {
    format!("2025-{}:00+07:00", s.replace(' ', "T"))
}

fn ms(s: &str) -> i64 {
    time_ms(&t(s)).unwrap()
}

fn status(code: &str, n: u32, st: &str, at: &str, results: usize) -> Value {
    json!({
        "dossier_code": code, "event_id": format!("{code}#{n}"), "procedure_code": "1.001612",
        "receiving_agency": "000.00.10.H42", "status": st, "event_at": t(at),
        "received_at": t("12-01 08:00"), "due_at": t("12-04 17:00"), "channel": "desk",
        "result_documents": vec![json!({"document_type": "GCN"}); results],
    })
}

/// Folds accepted ingests of `records` (record type, record), in order, the exchange ids
/// `x0`, `x1`, … by position, at hub time `hub`.
fn ledger(records: &[(&str, Value)]) -> Ledger {
    let mut l = Ledger::new(&[PORTAL.to_string()]);
    for (i, (kind, r)) in records.iter().enumerate() {
        let x = format!("x{i}");
        let r = super::fold::Record::of(r);
        l.apply(&Act {
            time_ms: ms("12-01 08:05") + i as i64,
            exchange_id: &x,
            operation: "ingest",
            outcome: "accepted",
            record_type: Some(kind),
            payload: Some(&r),
            ..Default::default()
        });
    }
    l
}

fn figures_at(l: &Ledger, as_of: &str) -> figures::Report {
    figures::report(
        l.dossiers(),
        &Query {
            period: Period::All,
            as_of_ms: ms(as_of),
            ..Default::default()
        },
    )
}

#[test]
fn on_time_and_late() {
    // A: received 12-01 08:00, due 12-04 17:00, resolved 12-03 10:00: on time, 50 h.
    // B: the same times, resolved 12-05 09:00: late, 97 h.
    let l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "in_progress", "12-01 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 2, "resolved", "12-03 10:00", 1),
        ),
        (
            "dossier",
            dossier("B", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("B", 1, "resolved", "12-05 09:00", 0),
        ),
    ]);
    let r = figures_at(&l, "12-10 00:00");
    let f = &r.total.figures;
    assert_eq!((f.received, f.to_resolve, f.finished), (2, 2, 2));
    assert_eq!((f.finished_on_time, f.finished_late), (1, 1));
    assert_eq!(f.handling_hours_avg, Some(73.5));
    // One of two finished with an electronic result.
    assert_eq!(f.electronic_results, 1);
    let progress = &r.total.scores[2];
    assert_eq!((progress.group, progress.points), ("progress", Some(10.0)));
    let results = &r.total.scores[3];
    assert_eq!(
        (results.indicator, results.points),
        ("electronic results", Some(3.0))
    );
    assert_eq!(r.overdue_now, 0);
}

#[test]
fn a_supplement_pause_moves_the_due_time() {
    // Due 12-04 17:00; a supplement asked 12-02 09:00 and handed in 12-04 09:00 stops the
    // clock for 48 h: due 12-06 17:00. Resolved 12-06 10:00: on time, handled 122 − 48 = 74 h.
    let l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "supplement_requested", "12-02 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 2, "in_progress", "12-04 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 3, "resolved", "12-06 10:00", 0),
        ),
    ]);
    let f = figures_at(&l, "12-10 00:00").total.figures;
    assert_eq!((f.finished_on_time, f.finished_late), (1, 0));
    assert_eq!(f.handling_hours_avg, Some(74.0));
    // Still waiting for the supplement on 12-05: not overdue (the clock is stopped), though
    // past the due time as first set.
    let r = figures_at(&l, "12-05 12:00");
    assert_eq!((r.total.figures.open, r.overdue_now), (1, 0));
    // Handed in on 12-04 09:00 and not resolved by 12-06 18:00: overdue by one hour.
    let r = figures_at(&l, "12-06 18:00");
    assert_eq!(r.overdue_now, 0, "resolved at 10:00 that day");
    let open = ledger(&[
        (
            "dossier",
            dossier("C", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("C", 1, "supplement_requested", "12-02 09:00", 0),
        ),
        (
            "dossier-status",
            status("C", 2, "in_progress", "12-04 09:00", 0),
        ),
    ]);
    let r = figures_at(&open, "12-06 18:00");
    assert_eq!(r.overdue_now, 1);
    assert_eq!(r.overdue[0].hours_overdue, 1.0);
    assert_eq!(r.overdue[0].due_at, "2025-12-06T17:00:00+07:00");
}

#[test]
fn two_supplement_requests_count_as_late() {
    // Resolved well before the due time, but after two supplement requests: late.
    let l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "supplement_requested", "12-01 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 2, "in_progress", "12-01 10:00", 0),
        ),
        (
            "dossier-status",
            status("A", 3, "supplement_requested", "12-01 11:00", 0),
        ),
        (
            "dossier-status",
            status("A", 4, "in_progress", "12-01 12:00", 0),
        ),
        (
            "dossier-status",
            status("A", 5, "resolved", "12-02 08:00", 0),
        ),
    ]);
    let f = figures_at(&l, "12-10 00:00").total.figures;
    assert_eq!((f.finished, f.finished_on_time, f.finished_late), (1, 0, 1));
}

#[test]
fn a_withdrawn_dossier_is_not_to_be_resolved() {
    // A withdrawn, B resolved on time: 1 to resolve, 1 on time: 20 of 20 points; A, open and
    // past its due time, is not overdue.
    let l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "withdrawn", "12-02 08:00", 0),
        ),
        (
            "dossier",
            dossier("B", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("B", 1, "resolved", "12-03 08:00", 0),
        ),
    ]);
    let r = figures_at(&l, "12-10 00:00");
    let f = &r.total.figures;
    assert_eq!((f.received, f.withdrawn, f.to_resolve), (2, 1, 1));
    assert_eq!(r.total.scores[2].points, Some(20.0));
    assert_eq!(r.overdue_now, 0);
}

#[test]
fn events_out_of_order_and_repeats_give_the_same_figures() {
    let in_order = vec![
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "supplement_requested", "12-02 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 2, "in_progress", "12-04 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 3, "resolved", "12-06 10:00", 1),
        ),
    ];
    // The resolution first, the dossier last, and the supplement request pushed twice.
    let shuffled = vec![
        in_order[3].clone(),
        in_order[1].clone(),
        in_order[2].clone(),
        in_order[1].clone(),
        in_order[0].clone(),
    ];
    let a = ledger(&in_order);
    let b = ledger(&shuffled);
    assert_eq!(a.get("A").unwrap().events, b.get("A").unwrap().events);
    assert_eq!(
        b.get("A").unwrap().events.len(),
        3,
        "the repeat is taken once"
    );
    for at in ["12-03 00:00", "12-05 00:00", "12-10 00:00"] {
        let (x, y) = (figures_at(&a, at), figures_at(&b, at));
        assert_eq!(x.total.figures, y.total.figures, "as of {at}");
        assert_eq!(x.overdue, y.overdue);
    }
    let f = figures_at(&b, "12-10 00:00").total.figures;
    assert_eq!((f.finished, f.finished_on_time), (1, 1));
}

#[test]
fn events_after_as_of_are_not_known_yet() {
    // As of 12-02 the resolution (12-03) has not happened: the dossier is open, not overdue.
    let l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "resolved", "12-03 10:00", 0),
        ),
    ]);
    let f = figures_at(&l, "12-02 00:00").total.figures;
    assert_eq!((f.open, f.finished), (1, 0));
    // Not received yet on 11-30.
    assert_eq!(figures_at(&l, "11-30 00:00").total.figures.received, 0);
}

#[test]
fn synchronisation_online_and_payment() {
    // A: online, fee, paid online, resolved with a result, its dossier record delivered to
    // the portal 2 h after receipt: synchronised, full-process online.
    // B: online, fee, not paid; delivered to another destination only: not synchronised.
    let mut l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "online", 50_000),
        ),
        (
            "dossier",
            dossier("B", "12-01 08:00", "12-04 17:00", "online", 50_000),
        ),
        (
            "dossier-status",
            status("A", 1, "resolved", "12-02 08:00", 1),
        ),
        (
            "payment",
            json!({"payment_id": "P1", "dossier_code": "A", "method": "online",
                   "status": "paid", "paid_at": t("12-01 09:00")}),
        ),
        (
            "payment",
            json!({"payment_id": "P2", "dossier_code": "B", "method": "counter",
                   "status": "paid", "paid_at": t("12-01 09:00")}),
        ),
    ]);
    for (x, to) in [("x0", PORTAL), ("x1", "ministry-labour")] {
        l.apply(&Act {
            time_ms: ms("12-01 10:00"),
            exchange_id: x,
            operation: "deliver",
            outcome: "delivered",
            record_type: Some("dossier"),
            counterparty: Some(to),
            ..Default::default()
        });
    }
    let r = figures_at(&l, "12-10 00:00");
    let f = &r.total.figures;
    assert_eq!((f.synchronised, f.sync_delay_hours_avg), (1, Some(2.0)));
    assert_eq!((f.submitted_online, f.with_fee, f.paid_online), (2, 2, 1));
    assert_eq!(f.full_process_online, 1);
    // 6 × 1/2 synchronised; 12 × 1/2 full-process online; 6 × 1/2 paid online.
    let points: Vec<_> = r
        .total
        .scores
        .iter()
        .map(|s| (s.indicator, s.points))
        .collect();
    assert!(points.contains(&("dossiers synchronised to the national portal", Some(3.0))));
    assert!(points.contains(&("full-process online dossiers", Some(6.0))));
    assert!(points.contains(&("dossiers paid online", Some(3.0))));
    // What the hub cannot see is not measured, never zero.
    let satisfaction = r
        .total
        .scores
        .iter()
        .find(|s| s.group == "satisfaction")
        .unwrap();
    assert_eq!(
        (satisfaction.points, satisfaction.view),
        (None, "not-measured")
    );
}

#[test]
fn register_checks_and_reuse_come_from_the_verify_acts() {
    // A: the register agreed; B: it filled a field (reuse of data the state holds); C: the
    // register could not be asked (not checked). 2 of 3 checked, 1 of 3 reused: 2 × (1/3)/0.8.
    let mut l = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier",
            dossier("B", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier",
            dossier("C", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
    ]);
    for (x, outcome, code) in [
        ("x0", "matched", None),
        ("x1", "filled", Some("filled.birth_date")),
        ("x2", "unverified", Some("unverified.register-unavailable")),
    ] {
        l.apply(&Act {
            exchange_id: x,
            operation: "verify",
            outcome,
            error_code: code,
            ..Default::default()
        });
    }
    let r = figures_at(&l, "12-10 00:00");
    let f = &r.total.figures;
    assert_eq!((f.checked_with_register, f.reused_state_data), (2, 1));
    let reuse = r
        .total
        .scores
        .iter()
        .find(|s| s.indicator.starts_with("reuse"))
        .unwrap();
    assert_eq!(reuse.points, Some(0.83));
}

#[test]
fn periods_provinces_and_scope() {
    // Received 2025-12-31 20:00 in Vietnam is 13:00 UTC: December, Q4 in Vietnam time; and
    // 2026-01-01 01:00 Vietnam time is still 2025 in UTC, but January here.
    assert_eq!(Period::Month.key(ms("12-31 20:00")), "2025-12");
    let jan = time_ms("2026-01-01T01:00:00+07:00").unwrap();
    assert_eq!(Period::Month.key(jan), "2026-01");
    assert_eq!(Period::Quarter.key(jan), "2026-Q1");
    // Hà Tĩnh kept its code; Hà Giang (02) went into Tuyên Quang (08) in 2025.
    assert_eq!(figures::province_of("000.00.10.H42").as_deref(), Some("42"));
    assert_eq!(figures::province_of("000.00.10.H02").as_deref(), Some("08"));
    assert_eq!(figures::province_of("000.00.00.G07"), None);
    // A province's top member sees its agencies, not another province's.
    assert!(figures::agency_of_member("000.00.10.H42", "000.00.00.H42"));
    assert!(!figures::agency_of_member("000.00.10.H40", "000.00.00.H42"));
    assert!(!figures::agency_of_member("000.00.10.H42", "000.00.11.H42"));
}

#[test]
fn a_request_repeated_while_waiting_is_one_and_the_pause_ends_with_the_handling() {
    // The request sent twice (new event ids) while waiting: one supplement request, on time.
    let repeated = ledger(&[
        (
            "dossier",
            dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("A", 1, "supplement_requested", "12-02 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 2, "supplement_requested", "12-02 10:00", 0),
        ),
        (
            "dossier-status",
            status("A", 3, "in_progress", "12-03 09:00", 0),
        ),
        (
            "dossier-status",
            status("A", 4, "resolved", "12-05 10:00", 0),
        ),
    ]);
    // Paused 24 h (12-02 09:00 to 12-03 09:00): due 12-05 17:00, resolved 12-05 10:00.
    let f = figures_at(&repeated, "12-10 00:00").total.figures;
    assert_eq!((f.finished_on_time, f.finished_late), (1, 0));
    // Asked on 12-02 09:00 and resolved straight away, the resolution saying handling ended on
    // 12-02 12:00, recorded on 12-09: the pause is 3 h, not a week, and it finished on time.
    let mut resolved = status("B", 2, "resolved", "12-09 10:00", 0);
    resolved["finished_at"] = json!(t("12-02 12:00"));
    let l = ledger(&[
        (
            "dossier",
            dossier("B", "12-01 08:00", "12-04 17:00", "desk", 0),
        ),
        (
            "dossier-status",
            status("B", 1, "supplement_requested", "12-02 09:00", 0),
        ),
        ("dossier-status", resolved),
    ]);
    let r = figures_at(&l, "12-10 00:00");
    assert_eq!(r.total.figures.finished_on_time, 1);
    // Handled from 12-01 08:00 to 12-02 12:00 less 3 h: 25 h.
    assert_eq!(r.total.figures.handling_hours_avg, Some(25.0));
}

#[test]
fn a_re_upload_found_is_not_a_check_against_the_register() {
    let mut l = ledger(&[(
        "dossier",
        dossier("A", "12-01 08:00", "12-04 17:00", "desk", 0),
    )]);
    for (outcome, code) in [
        ("requested-again", Some("requested-again")),
        ("unverified", Some("unverified.register-unavailable")),
    ] {
        l.apply(&Act {
            exchange_id: "x0",
            operation: "verify",
            outcome,
            error_code: code,
            ..Default::default()
        });
    }
    let f = figures_at(&l, "12-10 00:00").total.figures;
    assert_eq!(f.checked_with_register, 0);
}

/// Saves found damaged when a save is written (here a save numbered at the last number there
/// is, after which none can be numbered) are replaced whole by the next save, not met again
/// by every save after.
#[test]
fn a_save_that_finds_the_saves_damaged_is_followed_by_one_that_replaces_them() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("quality")).unwrap();
        let tree = db.open_tree("quality").unwrap();
        let mut key = vec![b's'];
        key.extend_from_slice(&u64::MAX.to_be_bytes());
        key.push(b'z');
        // An empty pack, compressed: a readable save of no rows.
        tree.insert(key, lz4_flex::block::compress_prepend_size(&[]))
            .unwrap();
        db.flush().unwrap();
    }
    let store = crate::store::Store::open(dir.path()).unwrap();
    let q = super::Quality::open(store.clone(), &[PORTAL.into()]).unwrap();
    q.mark.store(5, Ordering::Release);
    let err = q.save().unwrap_err();
    assert!(
        matches!(
            err,
            super::QualityError::Store(crate::store::StoreError::Damaged(_))
        ),
        "{err}"
    );
    q.mark.store(6, Ordering::Release);
    q.save().unwrap();
    assert_eq!(store.quality_rows().unwrap(), (6, vec![]));
    q.mark.store(7, Ordering::Release);
    q.save().unwrap();
    assert_eq!(store.quality_rows().unwrap().0, 7);
}
