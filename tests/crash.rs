//! The crash test: the hub runs as a child process; 10,000 status events for 1,000 dossiers are
//! pushed concurrently while the destination fails at random (500s, hangs past the time-out,
//! connections reset mid-answer), and the hub is killed with SIGKILL twice mid-run and
//! restarted. At the end every acknowledged event reached the destination, per dossier in
//! order, each idempotency key applied once; nothing acknowledged is missing, nothing extra;
//! the events a dossier's destination accepted, repeats included, never go backwards (as a
//! portal that does not deduplicate would show them); a crash sends again at most what was in
//! flight (requests on the wire, and records accepted but not yet recorded as delivered: five
//! times the destination's concurrency at most); and the audit log, exported and verified with the
//! CLI, holds an accepted ingest entry for every acknowledged exchange; the service-quality
//! indicators kept across the kills equal those rebuilt from the log.

mod common;

use common::child::HubProcess;
use common::destination::{Destination, Mode};
use common::hub::{Pushed, adapters_for_relay, push_until_acked, status_event};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DOSSIERS: usize = 1_000;
const EVENTS: usize = 10;
const CLIENTS: usize = 32;
/// Kills of the hub mid-run.
const KILLS: usize = 2;
/// Deliveries in flight to the portal at most: requests on the wire (`concurrency` of
/// `adapters/national-portal.toml`, 16) and accepted records waiting for their record (four
/// times as many, `relay::deliver::UNRECORDED`).
const IN_FLIGHT: usize = (1 + 4) * 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_arrive_in_order_once() {
    let portal = Destination::start().await;
    portal.set(Mode::Flaky(0.2));
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let hub = HubProcess::new(
        data.path().join("store"),
        adapters_for_relay(files.path(), &portal.url, 100_000),
    )
    .env("LIENTHONG_LOG_LEVEL", "error");
    let token = hub.token("000.00.00.H42", "provider");
    let admin = hub.token("000.00.00.A01", "admin");
    let mut child = hub.start();
    let url = hub.url();

    let acked = Arc::new(Mutex::new(HashSet::<String>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token, acked, done) = (
            client.clone(),
            url.clone(),
            token.clone(),
            acked.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for d in (c..DOSSIERS).step_by(CLIENTS) {
                let dossier = format!("000.00.10.H42-251101-{d:05}");
                for n in 0..EVENTS {
                    let body = status_event(&dossier, n);
                    // Until acknowledged: a killed hub drops the connection, the client tries
                    // again, and a repeat of a committed event gets the original exchange.
                    match push_until_acked(&client, &url, &token, &body, |_| {}).await {
                        Pushed::Acked(id) => {
                            acked.lock().unwrap().insert(id);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Pushed::Refused(s, b) => panic!("unexpected answer {s}: {b}"),
                    }
                }
            }
        }));
    }

    // Kill the hub twice while the load runs, and start it again.
    for at in [DOSSIERS * EVENTS * 3 / 10, DOSSIERS * EVENTS * 65 / 100] {
        let deadline = Instant::now() + Duration::from_secs(300);
        while done.load(Ordering::Relaxed) < at {
            assert!(
                Instant::now() < deadline,
                "the load stalled at {}",
                done.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill(); // SIGKILL
        eprintln!(
            "killed the hub after {} acknowledgements",
            done.load(Ordering::Relaxed)
        );
        child = hub.start();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        DOSSIERS * EVENTS,
        "every event acknowledged once, by its exchange"
    );

    // Everything acknowledged reaches the destination.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let applied = portal.applied();
        let status: serde_json::Value = client
            .get(format!("{url}/v1/relay/status"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let depth: u64 = status["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["depth"].as_u64().unwrap())
            .sum();
        if applied == acked.len() && depth == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "delivery stalled: {applied} applied of {}, depth {depth}",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    {
        let log = portal.log.lock().unwrap();
        assert_eq!(
            log.applied_keys, acked,
            "applied = acknowledged: nothing missing, nothing extra"
        );
        assert_eq!(log.applied_order.len(), DOSSIERS);
        for (dossier, events) in &log.applied_order {
            let expected: Vec<String> = (0..EVENTS).map(|n| format!("{dossier}#{n}")).collect();
            assert_eq!(events, &expected, "order of {dossier}");
        }
        eprintln!(
            "{} deliveries received, {} repeats of an applied key (ignored by the destination), \
             {:.1} a kill",
            log.received.len(),
            log.duplicates,
            log.duplicates as f64 / KILLS as f64
        );
        let backwards = log.gone_backwards();
        assert!(
            backwards.is_empty(),
            "{} dossiers went backwards at the destination, e.g. {:?}",
            backwards.len(),
            backwards.first()
        );
        // Only what was in flight at a kill is sent again: an accepted delivery is recorded
        // before the next of its order key starts.
        assert!(
            log.duplicates <= KILLS * IN_FLIGHT,
            "{} deliveries made twice over {KILLS} kills: more than the {IN_FLIGHT} in flight \
             at each",
            log.duplicates
        );
    }
    // The audit log verifies, and every acknowledged exchange has its entry.
    let report = hub.verify_audit(&admin, &data.path().join("audit.jsonl"), &acked);
    eprintln!("audit log: {report}");
    // The service-quality indicators, saved and taken up again across the kills, are those
    // rebuilt from the log: every dossier, each with its ten events.
    let rebuilt = common::hub::quality_rebuild(&client, &url, &admin).await;
    assert_eq!(rebuilt["equal"], true, "{rebuilt}");
    assert_eq!(rebuilt["dossiers"], DOSSIERS, "{rebuilt}");

    // A graceful stop at the end (SIGTERM flushes); the store opens cleanly after the kills,
    // with no dead letter and an empty outbox.
    child.terminate();
    let store = lienthong::store::Store::open(&hub.data).unwrap();
    assert!(store.dead_letters(None).unwrap().is_empty());
    assert!(store.outbox_destinations().unwrap().is_empty());
}
