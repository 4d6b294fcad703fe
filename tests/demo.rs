//! The demo scenario, smaller: every check of the summary holds.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_holds_every_check() {
    let summary = lienthong::demo::run(
        lienthong::demo::DemoOptions {
            dossiers: 120,
            events: 3,
            progress: false,
        },
        &common::repo_path("adapters"),
    )
    .await
    .expect("the demo runs");
    let table = summary.table();
    assert!(summary.ok(), "{table}");
    assert_eq!(summary.pushed, 120 * 4 + 4, "{table}");
    assert_eq!(summary.rejected.get("translate.code"), Some(&3), "{table}");
    assert_eq!(summary.repeats_answered, 4, "{table}");
    assert!(summary.portal_refused_while_down > 0, "{table}");
    // The ministry's pulls: 200 citizens, every tenth for a purpose it has no grant for.
    assert_eq!(
        (summary.pulls_allowed, summary.pulls_denied),
        (180, 20),
        "{table}"
    );
    assert_eq!(summary.signatures_valid, 180, "{table}");
    // Dossiers 11, 36, 61, 86 and 111 had their applicant typed without diacritics.
    assert_eq!(summary.mismatches, 5, "{table}");
    // Ingests, deliveries and pulls are all in the verified log.
    assert!(
        summary.audit_entries_verified >= (summary.pushed as u64 + summary.delivered + 200),
        "{table}"
    );
}
