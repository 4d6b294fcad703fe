//! The demo scenario, smaller: every check of the summary holds; a run too small to carry
//! every kind of fault says which were not put to the test and still exits 0; `--keep` leaves
//! a hub to explore with the commands it prints.

mod common;

use common::child::{Process, lienthong, output};
use std::process::Stdio;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_holds_every_check() {
    let summary = lienthong::demo::run(
        lienthong::demo::DemoOptions {
            dossiers: 120,
            events: 3,
            error_rate: 0.3,
            ..Default::default()
        },
        &common::repo_path("adapters"),
    )
    .await
    .expect("the demo runs");
    let table = summary.table();
    assert!(summary.ok(), "{table}");
    // The plan of the simulated one-stop system says what should have happened.
    let plan = lienthong::sim::motcua::plan(1, 200, 120, 3, 0.3);
    use lienthong::sim::motcua::Fault;
    assert_eq!(summary.pushed, plan.pushes(), "{table}");
    assert_eq!(
        summary.rejected.get("translate.code").copied().unwrap_or(0),
        plan.count(Fault::InvalidStatus),
        "{table}"
    );
    assert_eq!(
        summary.repeats_answered,
        plan.count(Fault::Repeat),
        "{table}"
    );
    assert_eq!(summary.mismatches, plan.count(Fault::TypedName), "{table}");
    assert_eq!(
        summary.requested_again,
        plan.count(Fault::ReUpload),
        "{table}"
    );
    assert!(
        summary.mismatches > 0 && summary.addresses_converted > 0,
        "{table}"
    );
    assert!(summary.portal_refused_while_down > 0, "{table}");
    // The ministry's pulls: 200 citizens, every tenth for a purpose it has no grant for.
    assert_eq!(
        (summary.pulls_allowed, summary.pulls_denied),
        (180, 20),
        "{table}"
    );
    assert_eq!(summary.signatures_valid, 180, "{table}");
    // Ingests, deliveries and pulls are all in the verified log.
    assert!(
        summary.audit_entries_verified >= (summary.pushed as u64 + summary.delivered + 200),
        "{table}"
    );
}

/// `lienthong demo --keep DIR`: the store stays in DIR and the hub keeps running, with tokens
/// to explore it, until SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_leaves_a_running_hub_and_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    let mut child = Process::spawn(
        lienthong()
            .args(["demo", "--dossiers", "20", "--error-rate", "0", "--keep"])
            .arg(&kept)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let tokens = kept.join("tokens.env");
    common::hub::wait_for(60, "tokens.env", || tokens.exists()).await;
    let env = std::fs::read_to_string(&tokens).unwrap();
    let value = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {k}=")))
            .unwrap()
            .to_string()
    };
    let (url, auditor) = (value("LIENTHONG_HUB"), value("AUDITOR"));
    let c = reqwest::Client::new();
    let r: serde_json::Value =
        common::hub::get_json(&c, format!("{url}/v1/onceonly/report"), &auditor).await;
    assert!(r["total"]["dossiers"].as_u64().unwrap() > 0, "{r}");
    // The commands the demo prints work as pasted: tokens.env exports what they use.
    let ran = common::child::shell(
        "source tokens.env\nlienthong relay status --token $ADMIN\n\
         lienthong onceonly report --token $AUDITOR",
        &kept,
    );
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(ran.stdout.contains("national-portal"), "{ran:?}");
    child.sigterm();
    let status = child.wait();
    assert!(status.success(), "{status}");
    assert!(kept.join("data").is_dir());
    // A second run into the same directory is refused, not mixed into the kept store.
    let again = output(
        lienthong()
            .args(["demo", "--dossiers", "5", "--keep"])
            .arg(&kept),
    );
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already holds a store"));
}

/// `demo --dossiers 50` carries too few dossiers for every kind of fault: it names the kinds
/// missing and exits 0, since every check that could be made held.
#[test]
fn a_small_demo_names_what_it_did_not_exercise_and_exits_0() {
    let ran = output(lienthong().args(["demo", "--dossiers", "50"]));
    assert_eq!(ran.code, 0, "{}", ran.text());
    assert!(!ran.stdout.contains("FAILED"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("not put to the test: no record of this run carried these kinds of fault"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("  - address in the old form\n"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("of which documents: indexed for once-only, not relayed"),
        "{}",
        ran.stdout
    );
}
