//! The three simulators as processes (`lienthong sim population|motcua|portal`), as an adapter
//! author runs them, against a hub on loopback: the one-stop system pushes its dossiers with
//! faults; the register answers the hub's checks; the portal takes the deliveries and fails a
//! fifth of them on purpose. What the hub found matches the faults that were put in,
//! and every accepted record that is relayed reaches the portal.

mod common;

use common::child::{Process, lienthong};
use common::hub::{HATINH, token};
use lienthong::sim::motcua::{Fault, plan};
use serde_json::Value;
use std::process::Stdio;

/// A simulator process (`lienthong sim …` on a port the OS gives), with the URL it printed on
/// its first line.
fn sim(args: &[&str]) -> Process {
    Process::listening(
        lienthong()
            .arg("sim")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stderr(Stdio::null()),
        "listening on ",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_drive_a_hub_and_it_finds_every_fault() {
    let (seed, citizens, dossiers, events, rate) = ("5", "40", 120, 2, 0.5);
    let portal = sim(&["portal", "--error-rate", "0.2"]);
    let register = sim(&["population", "--seed", seed, "--citizens", citizens]);
    let dir = tempfile::tempdir().unwrap();
    let adapters = common::hub::adapters_for_relay(dir.path(), portal.url(), 50);
    let file = adapters.join("population-registry.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("http://127.0.0.1:8701/dancu", register.url());
    std::fs::write(&file, text).unwrap();
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.server.adapters_dir = adapters;
    })
    .await;
    let url = hub.url();
    let provider = token(&hub, HATINH, "provider");
    let motcua = sim(&[
        "motcua",
        "--hub",
        &url,
        "--token",
        &provider,
        "--seed",
        seed,
        "--citizens",
        citizens,
        "--dossiers",
        &dossiers.to_string(),
        "--events",
        &events.to_string(),
        "--error-rate",
        &rate.to_string(),
    ]);
    let c = reqwest::Client::new();
    let mut report = Value::Null;
    for _ in 0..600 {
        report = c
            .get(motcua.url())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if report["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(report["state"], "done", "{report}");
    // The same plan, computed here, says what the hub should have found.
    let plan = plan(5, 40, dossiers, events, rate);
    let count = |f: Fault| plan.count(f) as u64;
    for f in [
        Fault::TypedName,
        Fault::OldAddress,
        Fault::ReUpload,
        Fault::Repeat,
    ] {
        assert!(count(f) > 0, "{f:?} is in the plan");
    }
    let finding = |code: &str| report["findings"][code].as_u64().unwrap_or(0);
    let rejected = |code: &str| report["rejected"][code].as_u64().unwrap_or(0);
    assert_eq!(report["pushed"].as_u64(), Some(plan.pushes() as u64));
    assert_eq!(
        report["repeats"].as_u64(),
        Some(count(Fault::Repeat)),
        "{report}"
    );
    assert_eq!(
        finding("address.converted"),
        count(Fault::OldAddress),
        "{report}"
    );
    assert_eq!(
        finding("address.ambiguous"),
        count(Fault::SplitAddress),
        "{report}"
    );
    assert_eq!(
        rejected("address.unknown"),
        count(Fault::TypoAddress),
        "{report}"
    );
    assert_eq!(
        rejected("translate.code"),
        count(Fault::InvalidStatus),
        "{report}"
    );
    assert_eq!(
        finding("requested-again"),
        count(Fault::ReUpload),
        "{report}"
    );
    assert_eq!(
        finding("mismatch.address"),
        count(Fault::WrongAddress),
        "{report}"
    );
    assert_eq!(
        finding("mismatch.full_name"),
        count(Fault::TypedName),
        "{report}"
    );
    // Every accepted record but the indexed documents reaches the portal, once.
    let relayed = report["accepted"].as_u64().unwrap() - count(Fault::ReUpload);
    let portal_report = format!("{}/_report", portal.url());
    let mut seen = Value::Null;
    for _ in 0..300 {
        seen = c
            .get(&portal_report)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if seen["applied"].as_u64() == Some(relayed) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen["applied"].as_u64(), Some(relayed), "{seen}");
    assert_eq!(seen["out_of_order"], 0, "{seen}");
    assert!(seen["failed_on_purpose"].as_u64().unwrap() > 0, "{seen}");
    hub.shutdown().await.unwrap();
}

/// The register simulator's change events: citizens move, and the register pushes each change
/// to the hub, which accepts them as records of the population-registry adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_pushes_its_changes_to_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = common::hub::start(&dir.path().join("store"), |_| {}).await;
    let url = hub.url();
    let register = token(&hub, common::hub::REGISTER, "provider");
    let auditor = token(&hub, common::hub::ADMIN, "auditor");
    let _sim = sim(&[
        "population",
        "--citizens",
        "30",
        "--changes",
        "4",
        "--hub",
        &url,
        "--token",
        &register,
    ]);
    let c = reqwest::Client::new();
    let query = format!(
        "{url}/v1/audit/entries?operation=ingest&member={}&outcome=accepted",
        common::hub::REGISTER
    );
    let mut n = 0;
    for _ in 0..100 {
        let page: Value = common::hub::get_json(&c, &query, &auditor).await;
        n = page["entries"].as_array().map_or(0, Vec::len);
        if n >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(n, 4);
    hub.shutdown().await.unwrap();
}
