use super::*;

#[test]
fn the_plan_is_deterministic_and_every_fault_appears() {
    let a = plan(1, 50, 400, 3, 0.5);
    let b = plan(1, 50, 400, 3, 0.5);
    assert_eq!(a.pushes(), b.pushes());
    assert_eq!(a.dossiers[17].pushes[0].body, b.dossiers[17].pushes[0].body);
    let faults = a.faults();
    for f in Fault::ALL {
        assert!(
            faults.get(&f).copied().unwrap_or(0) > 0,
            "{f:?}: {faults:?}"
        );
    }
    let clean = plan(1, 50, 100, 3, 0.0);
    assert!(clean.faults().is_empty());
    // The dossier, then its story's status events, at most three.
    for d in &clean.dossiers {
        assert!(d.timeline.steps.len() <= 3);
        assert_eq!(d.pushes.len(), 1 + d.timeline.steps.len());
    }
    // Every story is told, with dossiers online, with fees and paid online among them.
    let stories: std::collections::HashSet<_> = a
        .dossiers
        .iter()
        .map(|d| format!("{:?}", d.timeline.story))
        .collect();
    assert_eq!(stories.len(), 7, "{stories:?}");
    assert!(a.payments().len() > 20);
}

#[test]
fn a_finishing_event_says_when_and_carries_its_result() {
    let p = plan(1, 50, 60, 6, 0.0);
    let d = p
        .dossiers
        .iter()
        .find(|d| d.timeline.story == crate::sim::stories::Story::OnTime)
        .unwrap();
    let finishing = &d.pushes[3].body;
    assert!(
        finishing.contains("<hs:TrangThai>DAXULY</hs:TrangThai>"),
        "{finishing}"
    );
    assert!(finishing.contains("<hs:NgayKetThuc>"), "{finishing}");
    assert!(finishing.contains("<hs:DanhSachKetQua>"), "{finishing}");
    // Received 2025-12-01 07:30 (Vietnam time) for the first dossier, due three days on.
    assert!(p.dossiers[0].pushes[0].body.contains("01/12/2025 07:30:00"));
    assert!(p.dossiers[0].pushes[0].body.contains("04/12/2025 07:30:00"));
}

/// A push answered 503 and sent again, whose repeat is then answered as a duplicate, was taken
/// by the hub although it said 503: counted as recovered, once. A push answered 200 at once is
/// accepted, not recovered.
#[tokio::test]
async fn a_resend_answered_as_a_repeat_is_counted_as_recovered() {
    use axum::http::StatusCode;
    use std::sync::atomic::AtomicUsize;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let answer = |duplicate: bool| {
                format!(
                    "<lt:IngestResponse><lt:ExchangeId>x</lt:ExchangeId>\
                     <lt:Duplicate>{duplicate}</lt:Duplicate></lt:IngestResponse>"
                )
            };
            match n {
                // The first push: taken, but answered 503 (a commit cut short).
                0 => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "0")],
                    String::new(),
                ),
                1 => (StatusCode::OK, [("retry-after", "0")], answer(true)),
                _ => (StatusCode::OK, [("retry-after", "0")], answer(false)),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut p = plan(1, 2, 1, 2, 0.0);
    p.dossiers.truncate(1);
    let pushes = p.pushes();
    let out = push(
        &p,
        &url,
        "lt_x",
        1,
        std::time::Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
        true,
    )
    .await;
    assert_eq!(out.pushed, pushes);
    assert_eq!((out.resent, out.repeats, out.recovered), (1, 1, 1));
    assert_eq!(out.accepted, pushes - 1);
}
