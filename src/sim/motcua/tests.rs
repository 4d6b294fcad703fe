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
