//! The hub on its PostgreSQL backend (`[store] backend = "postgres"`), against a real server
//! (`common::postgres`): records relayed in order per dossier, a repeat answered with its
//! original exchange, a refused record parked; the audit log exported and verified offline; all
//! of it found again by a hub started anew on the same database; and the schema's version kept,
//! a database of a newer hub refused. Skipped with a message where PostgreSQL is not installed;
//! `scripts/test` installs it and requires these tests.

mod common;

use common::child::{lienthong, output_async};
use common::destination::{Destination, Mode};
use common::hub::{self, ADMIN, HATINH, adapters_for_relay, status_event, wait_for};
use lienthong::config::hub::StoreBackend;
use lienthong::server::Hub;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

async fn start(data: &Path, adapters: &Path, url: &str) -> Hub {
    hub::start(data, |c| {
        c.server.adapters_dir = adapters.to_path_buf();
        c.store.backend = StoreBackend::Postgres;
        c.store.url = url.to_string();
    })
    .await
}

async fn push(c: &reqwest::Client, url: &str, token: &str, body: String) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Exports the audit log of the hub at `url` as `auditor`, verifies the export offline with the
/// key the hub publishes, and returns the export.
/// The exchanges of the accepted ingest entries in an export.
fn accepted_ingests(export: &str) -> std::collections::HashSet<String> {
    export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["entry"]["operation"] == "ingest" && v["entry"]["outcome"] == "accepted")
        .map(|v| v["entry"]["exchange_id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until the portal has applied `total` acknowledged records (the survivor of a killed
/// node delivered them all), checks that no order key's sequence went backwards, and says how
/// long after `killed` that was.
async fn survivor_delivered(
    portal: &Destination,
    total: usize,
    killed: std::time::Instant,
) -> std::time::Duration {
    wait_for(
        60,
        "every acknowledged record delivered by the survivor",
        || portal.applied() == total,
    )
    .await;
    let took_over = killed.elapsed();
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    took_over
}

async fn export_and_verify(url: &str, auditor: &str, dir: &Path) -> String {
    let run = |args: Vec<String>| {
        let mut cmd = lienthong();
        cmd.args(args);
        output_async(cmd)
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let export = run(args(&["audit", "export", "--hub", url, "--token", auditor])).await;
    assert_eq!(export.code, 0, "{}", export.text());
    let key = run(args(&["audit", "key", "--hub", url, "--token", auditor])).await;
    let key = key.stdout.lines().next().unwrap().to_string();
    let file = dir.join("slice.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let file = file.display().to_string();
    let verified = run(args(&["audit", "verify", &file, "--key", &key])).await;
    assert_eq!(verified.code, 0, "{}", verified.text());
    assert!(
        verified.stdout.starts_with("verified"),
        "{}",
        verified.stdout
    );
    export.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_on_postgres_relays_parks_and_keeps_its_log_across_a_restart() {
    if !common::postgres::available() {
        return;
    }
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1);
    let db = common::postgres::database(data.path());
    let hub = start(data.path(), &adapters, &db).await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let token = hub::token(&hub, HATINH, "provider");
    let admin = hub::token(&hub, ADMIN, "admin");
    let auditor = hub::token(&hub, ADMIN, "auditor");
    let mut first = None;
    for d in 0..4 {
        for n in 0..5 {
            let dossier = format!("000.00.10.H42-251205-{d:04}");
            let (status, body) = push(&c, &url, &token, status_event(&dossier, n)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            first.get_or_insert(body["exchange_id"].as_str().unwrap().to_string());
        }
    }
    wait_for(30, "20 deliveries", || portal.applied() == 20).await;
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    // A repeat is answered with its original exchange, and not delivered again.
    let (status, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0000", 0),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["exchange_id"].as_str(), first.as_deref(), "{body}");
    // A refused record is parked.
    portal.set(Mode::Refuse);
    let (status, _) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0009", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for(30, "a dead letter", || {
        hub.state().store.dead_letters(None).unwrap().len() == 1
    })
    .await;
    assert_eq!(portal.applied(), 20);
    // The log, exported and verified offline against the published key.
    export_and_verify(&url, &auditor, data.path()).await;
    let size = hub.state().store.audit_size().unwrap();
    assert!(size >= 20, "{size}");
    hub.shutdown().await.unwrap();

    // A hub started anew on the same database finds everything: tokens, the dead letter, the
    // log, the idempotency keys; its log goes on from where it was.
    let hub = start(data.path(), &adapters, &db).await;
    let url = hub.url();
    let dead: Value = c
        .get(format!("{url}/v1/dead"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dead["total"], 1, "{dead}");
    assert_eq!(hub.state().store.audit_size().unwrap(), size);
    let (status, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0000", 0),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["exchange_id"].as_str(), first.as_deref(), "{body}");
    portal.set(Mode::Ok);
    let seq = dead["dead_letters"][0]["seq"].as_u64().unwrap();
    let resp = c
        .post(format!("{url}/v1/dead/national-portal/{seq}/replay"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    wait_for(30, "the replayed record delivered", || {
        portal.applied() == 21
    })
    .await;
    assert!(hub.state().store.audit_size().unwrap() > size);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_migrate_brings_the_schema_to_this_version_and_refuses_a_newer_one() {
    if !common::postgres::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = common::postgres::database(dir.path());
    let migrate = || {
        let mut cmd = lienthong();
        cmd.args(["store", "migrate", "--url", &db]);
        output_async(cmd)
    };
    let ran = migrate().await;
    assert_eq!(ran.code, 0, "{}", ran.text());
    let version = format!("version {}", lienthong::store::postgres::SCHEMA_VERSION);
    assert!(ran.stderr.contains(&version), "{}", ran.stderr);
    // Again: nothing to do, same answer.
    assert_eq!(migrate().await.code, 0);
    // A database at version 1 (as the first hubs on PostgreSQL left it, with a log of one
    // entry) is brought to this version; the log's head is its size.
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&db2, postgres::NoTls).unwrap();
        c.batch_execute(
            "DROP TABLE audit_head, leases, outbox_marks, quality_dossiers, quality_mark;
             ALTER TABLE outbox DROP COLUMN order_key, DROP COLUMN accepted_at_ms,
                 DROP COLUMN next_attempt_ms, DROP COLUMN mark;
             INSERT INTO audit_entries (idx, entry) VALUES (0, 'x');
             UPDATE lienthong_schema SET version = 1;",
        )
        .unwrap();
    })
    .await
    .unwrap();
    let ran = migrate().await;
    assert_eq!(ran.code, 0, "{}", ran.text());
    let db2 = db.clone();
    let head: i64 = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&db2, postgres::NoTls).unwrap();
        c.execute("DELETE FROM audit_entries", &[]).unwrap();
        c.query_one("SELECT size FROM audit_head", &[])
            .unwrap()
            .get(0)
    })
    .await
    .unwrap();
    assert_eq!(head, 1);
    // A database a newer hub wrote is refused, and left as it is.
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&db2, postgres::NoTls).unwrap();
        c.execute("UPDATE lienthong_schema SET version = 99", &[])
            .unwrap();
    })
    .await
    .unwrap();
    let ran = migrate().await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(
        ran.stderr.contains("version 99, newer than this hub's"),
        "{}",
        ran.stderr
    );
    let db2 = db.clone();
    let version: i32 = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&db2, postgres::NoTls).unwrap();
        c.query_one("SELECT version FROM lienthong_schema", &[])
            .unwrap()
            .get(0)
    })
    .await
    .unwrap();
    assert_eq!(version, 99);
    // A URL that is not one is refused with what is wrong.
    let mut cmd = lienthong();
    cmd.args(["store", "migrate", "--url", "postgresql://[bad"]);
    let ran = output_async(cmd).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(ran.stderr.contains("store.url"), "{}", ran.stderr);
}

/// The database goes away under a running hub (a fast shutdown, as when a primary dies) and
/// comes back on the same address (as a promoted standby behind the same name would): the hub
/// answers 503 with `Retry-After` meanwhile, never a hang or a 500, takes pushes again without
/// a restart of its own, and delivers every record it acknowledged, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_rides_out_its_database_going_away_and_coming_back() {
    if !common::postgres::available() {
        return;
    }
    let mut pg = common::postgres::OwnServer::start();
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = pg.database(data.path());
    let hub = start(data.path(), &adapters, &db).await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let token = hub::token(&hub, HATINH, "provider");
    let admin = hub::token(&hub, ADMIN, "admin");
    let dossier = "000.00.10.H42-251205-0100";
    let mut acked = 0;
    for n in 0..5 {
        let (status, body) = push(&c, &url, &token, status_event(dossier, n)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        acked += 1;
    }
    wait_for(30, "5 deliveries", || portal.applied() == 5).await;

    // One more, acknowledged; the portal takes it slowly, and the database goes away while it
    // does: the delivery cannot be recorded, the store refuses writes, nothing more is sent.
    portal.set(Mode::Slow(800));
    let (status, body) = push(&c, &url, &token, status_event(dossier, 5)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    acked += 1;
    // On its way to the portal (read from the database and sent) before the database stops.
    wait_for(10, "the delivery in flight", || {
        hub.state().relay.status().iter().any(|d| d.in_flight == 1)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    pg.stop();
    wait_for(10, "the store to refuse writes", || {
        hub.state().store.failed_write().is_some()
    })
    .await;
    portal.set(Mode::Ok);
    let asked = std::time::Instant::now();
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
        .bearer_auth(&token)
        .header("content-type", "application/xml")
        .body(status_event(dossier, 6))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        resp.headers().contains_key("retry-after"),
        "{:?}",
        resp.headers()
    );
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("store.")),
        "{body}"
    );
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(15),
        "answered at once, not hung"
    );
    let resp = c
        .get(format!("{url}/v1/dead"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);

    pg.restart();
    // The same hub, not restarted: writable again, the unrecorded delivery is sent again (the
    // portal takes it once, by its idempotency key), the refused event is sent again until it
    // is taken, then the rest of the dossier's events.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for n in 6..10 {
        loop {
            let (status, body) = push(&c, &url, &token, status_event(dossier, n)).await;
            if status == StatusCode::ACCEPTED || status == StatusCode::OK {
                acked += 1;
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert!(
                std::time::Instant::now() < deadline,
                "still refused: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    wait_for(60, "every acknowledged record delivered", || {
        portal.applied() == acked
    })
    .await;
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    assert_eq!(hub.state().store.failed_write(), None);
    hub.shutdown().await.unwrap();
}

/// A single-node hub on the embedded store moves into PostgreSQL (`lienthong store copy`) and
/// goes on there as it was: its tokens, members, dead letter, idempotency keys and audit log
/// (the same root, exported and verified offline), then moves back; a copy into a store that
/// is not empty is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_hub_moves_into_postgres_and_back_with_the_same_audit_root() {
    if !common::postgres::available() {
        return;
    }
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1);
    let c = reqwest::Client::new();
    let sled_hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters.clone()
    })
    .await;
    let url = sled_hub.url();
    let token = hub::token(&sled_hub, HATINH, "provider");
    let admin = hub::token(&sled_hub, ADMIN, "admin");
    let auditor = hub::token(&sled_hub, ADMIN, "auditor");
    let (status, first) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0200", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    for n in 1..4 {
        push(
            &c,
            &url,
            &token,
            status_event("000.00.10.H42-251205-0200", n),
        )
        .await;
    }
    wait_for(30, "4 deliveries", || portal.applied() == 4).await;
    portal.set(Mode::Refuse);
    push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0201", 0),
    )
    .await;
    wait_for(30, "a dead letter", || {
        sled_hub.state().store.dead_letters(None).unwrap().len() == 1
    })
    .await;
    let added = c
        .post(format!("{url}/v1/members"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"code": "000.00.00.H40", "roles": ["provider"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let size = sled_hub.state().store.audit_size().unwrap();
    sled_hub.shutdown().await.unwrap();

    let db = common::postgres::database(files.path());
    let store_dir = data.path().display().to_string();
    let copy = |from: String, to: String| {
        let mut cmd = lienthong();
        cmd.args(["store", "copy", "--from", &from, "--to", &to]);
        output_async(cmd)
    };
    let ran = copy(store_dir.clone(), db.clone()).await;
    assert_eq!(ran.code, 0, "{}", ran.text());
    let root_line = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("audit log:"))
        .unwrap()
        .to_string();
    assert!(
        root_line.contains(&format!("{size} entries")),
        "{root_line}"
    );
    // Into a store that is not empty: refused, naming what it holds.
    let again = copy(store_dir.clone(), db.clone()).await;
    assert_eq!(again.code, 2, "{}", again.text());
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);

    // The hub goes on on PostgreSQL (its signing key stays in the data directory).
    let pg_hub = start(data.path(), &adapters, &db).await;
    let url = pg_hub.url();
    assert_eq!(pg_hub.state().store.audit_size().unwrap(), size);
    let (status, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251205-0200", 0),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(
        body["exchange_id"], first["exchange_id"],
        "a repeat, answered with its original"
    );
    let dead: Value = c
        .get(format!("{url}/v1/dead"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dead["total"], 1, "{dead}");
    let member = c
        .get(format!("{url}/v1/members/000.00.00.H40"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(member.status(), StatusCode::OK);
    export_and_verify(&url, &auditor, files.path()).await;
    let size_after = pg_hub.state().store.audit_size().unwrap();
    pg_hub.shutdown().await.unwrap();

    // And back into a new data directory: the same root as PostgreSQL's.
    let back = files.path().join("back");
    let ran = copy(db.clone(), back.display().to_string()).await;
    assert_eq!(ran.code, 0, "{}", ran.text());
    assert!(
        ran.stdout.contains(&format!("{size_after} entries")),
        "{}",
        ran.stdout
    );
    let (pg, sled) = tokio::task::spawn_blocking(move || {
        let pg = lienthong::store::Store::open_postgres(&db, Path::new("")).unwrap();
        let sled = lienthong::store::Store::open(&back).unwrap();
        let roots = (
            lienthong::merkle::root(&pg, size_after).unwrap(),
            lienthong::merkle::root(&sled, size_after).unwrap(),
        );
        assert_eq!(sled.dead_letters(None).unwrap().len(), 1);
        assert_eq!(sled.tokens().unwrap().len(), pg.tokens().unwrap().len());
        roots
    })
    .await
    .unwrap();
    assert_eq!(pg, sled);
}

/// Two hub nodes on one database: pushes of the same dossiers go to one node and the other in
/// turn; one audit log with contiguous indexes whichever node appended; one node delivers the
/// destination at a time, and when it is killed (SIGKILL) the other takes the deliveries over
/// within seconds; every acknowledged record arrives, each dossier's in order; the log exported
/// from the survivor verifies offline and holds an accepted ingest entry for every
/// acknowledged exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_log_and_one_survives_the_others_death() {
    use common::child::{HubProcess, Log};
    use std::collections::HashSet;
    if !common::postgres::available() {
        return;
    }
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = common::postgres::database(data.path());
    // Node A, a process that will be killed; it shares the data directory with node B only
    // for the hub's signing key (both sign checkpoints of the one log with it).
    let node_a = HubProcess::new(data.path().to_path_buf(), adapters.clone())
        .env("LIENTHONG_STORE_BACKEND", "postgres")
        .env("LIENTHONG_STORE_URL", &db)
        .log(Log::Discard);
    let mut a = node_a.start();
    let a_url = node_a.url();
    let token = node_a.token(HATINH, "provider");
    let auditor = node_a.token(ADMIN, "auditor");
    let c = reqwest::Client::new();
    let mut acked: HashSet<String> = HashSet::new();
    let accept = |acked: &mut HashSet<String>, body: &Value| {
        acked.insert(body["exchange_id"].as_str().unwrap().to_string());
    };
    // A delivers first, so it holds the destination.
    let (status, body) = push(
        &c,
        &a_url,
        &token,
        status_event("000.00.10.H42-251205-0300", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    accept(&mut acked, &body);
    wait_for(30, "node A's first delivery", || portal.applied() == 1).await;
    let b = start(data.path(), &adapters, &db).await;
    let b_url = b.url();
    // Each dossier's events go to A and B in turn, each after the one before was answered.
    let dossiers: Vec<String> = (0..6)
        .map(|d| format!("000.00.10.H42-251205-03{d:02}"))
        .collect();
    for n in 1..5 {
        for (i, d) in dossiers.iter().enumerate() {
            let url = if (n + i) % 2 == 0 { &a_url } else { &b_url };
            let (status, body) = push(&c, url, &token, status_event(d, n)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            accept(&mut acked, &body);
        }
    }
    let before_kill = acked.len();
    wait_for(60, "every record accepted by both nodes delivered", || {
        portal.applied() == before_kill
    })
    .await;
    // Either node names the node delivering the portal's records: A, not itself.
    let status = common::hub::get_json(&c, format!("{b_url}/v1/relay/status"), &auditor).await;
    assert_eq!(status["shared"], true, "{status}");
    let claims = status["claims"].as_array().unwrap();
    let portal_claim = claims
        .iter()
        .find(|c| c["destination"] == "national-portal")
        .unwrap_or_else(|| panic!("no claim on the portal: {status}"));
    assert_ne!(portal_claim["node"], status["node"], "{status}");
    assert!(portal_claim["ms_left"].as_i64().unwrap() > 0, "{status}");
    // The look-ups' claim is shown on its own, held by one of the two nodes, not as a
    // destination.
    assert!(
        claims
            .iter()
            .all(|c| c["destination"] != "audit log look-ups"),
        "{status}"
    );
    let writer = &status["audit_lookups"]["node"];
    assert!(
        *writer == portal_claim["node"] || *writer == status["node"],
        "{status}"
    );
    // A dies holding the destination; B takes it over once A's claim runs out.
    a.kill();
    let killed = std::time::Instant::now();
    for n in 5..8 {
        for d in &dossiers {
            let (status, body) = push(&c, &b_url, &token, status_event(d, n)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            accept(&mut acked, &body);
        }
    }
    let took_over = survivor_delivered(&portal, acked.len(), killed).await;
    assert!(
        took_over < std::time::Duration::from_secs(20),
        "taken over in {took_over:?}"
    );

    // One log: exported from the survivor, it verifies and holds every acknowledged exchange.
    let export = export_and_verify(&b_url, &auditor, files.path()).await;
    let logged = accepted_ingests(&export);
    assert_eq!(
        logged, acked,
        "an accepted ingest entry for every acknowledged exchange"
    );
    eprintln!(
        "two nodes: {} records, {} entries, the survivor took over in {took_over:?}",
        acked.len(),
        b.state().store.audit_size().unwrap()
    );
    // The survivor's service-quality indicators hold the dossiers both nodes took in (it
    // follows the one log), the same as a rebuild from it.
    let admin = node_a.token(ADMIN, "admin");
    let rebuilt = common::hub::quality_rebuild(&c, &b_url, &admin).await;
    assert_eq!(rebuilt["equal"], true, "{rebuilt}");
    assert_eq!(rebuilt["dossiers"], dossiers.len(), "{rebuilt}");
    b.shutdown().await.unwrap();
}

/// Two nodes on one database: a member added on one is in force on the other, and a token
/// revoked on one is refused by the other, within seconds, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_and_revocations_reach_every_node() {
    if !common::postgres::available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let portal = Destination::start().await;
    let adapters = adapters_for_relay(files.path(), &portal.url, 1);
    let db = common::postgres::database(data.path());
    let a = start(data.path(), &adapters, &db).await;
    let b = start(data.path(), &adapters, &db).await;
    let c = reqwest::Client::new();
    let admin = hub::token(&a, ADMIN, "admin");
    let hatinh = hub::token(&a, HATINH, "provider");
    let status = |url: String, token: String| {
        let c = c.clone();
        async move {
            c.get(format!("{url}/v1/relay/status"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status(b.url(), hatinh.clone()).await, StatusCode::OK);
    // A member added on A; a token for it, used on B.
    let added = c
        .post(format!("{}/v1/members", a.url()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"code": "000.00.00.H40", "roles": ["observer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let issued: Value = c
        .post(format!("{}/v1/tokens", a.url()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"member": "000.00.00.H40", "role": "observer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let observer = issued["token"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(b.url(), observer.clone()).await != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "the new member is not in force on B"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Hà Tĩnh's token revoked on B: refused on A.
    let id = hatinh.split('_').nth(1).unwrap();
    let revoked = c
        .delete(format!("{}/v1/tokens/{id}", b.url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked_at = std::time::Instant::now();
    while status(a.url(), hatinh.clone()).await != StatusCode::UNAUTHORIZED {
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(10),
            "the revoked token still works on A"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eprintln!(
        "revocation in force on the other node after {:?}",
        revoked_at.elapsed()
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// The same record (the same idempotency key) pushed to two nodes at the same instant is one
/// exchange: both are answered with its id, and it is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_pushed_to_two_nodes_at_once_is_one_exchange() {
    if !common::postgres::available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let portal = Destination::start().await;
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = common::postgres::database(data.path());
    let a = start(data.path(), &adapters, &db).await;
    let b = start(data.path(), &adapters, &db).await;
    let c = reqwest::Client::new();
    let token = hub::token(&a, HATINH, "provider");
    let (a_url, b_url) = (a.url(), b.url());
    // Each event pushed to `to.0` and `to.1` at the same instant: one exchange for both.
    let at_once = async |to: (&str, &str), dossier: String| {
        let event = status_event(&dossier, 0);
        let ((s1, b1), (s2, b2)) = tokio::join!(
            push(&c, to.0, &token, event.clone()),
            push(&c, to.1, &token, event)
        );
        assert!(s1.is_success() && s2.is_success(), "{s1} {b1} / {s2} {b2}");
        assert_eq!(b1["exchange_id"], b2["exchange_id"], "{b1} / {b2}");
    };
    let pairs = 20;
    for n in 0..pairs {
        at_once((&a_url, &b_url), format!("000.00.10.H42-251205-04{n:02}")).await;
    }
    // Pushed twice at once to one node: its committer does not look keys up (the commit finds
    // a key taken by an earlier group of its own), and the two are one exchange all the same.
    let same_node = 10;
    for n in 0..same_node {
        at_once((&a_url, &a_url), format!("000.00.10.H42-251205-05{n:02}")).await;
    }
    let pairs = pairs + same_node;
    wait_for(30, "every record delivered", || portal.applied() == pairs).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let received = portal.log.lock().unwrap().received.len();
    assert_eq!(received, pairs, "each record sent once");
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// A primary and a synchronous standby. The standby goes away: the primary's commits wait for
/// it, and the hub answers 503 with `Retry-After` within its time-out, acknowledging nothing;
/// the standby back, a push sent again is answered (with its original exchange if the primary
/// kept the first). Then the primary dies (SIGKILL) with records waiting in the outbox and the
/// standby is promoted: the hub, not restarted, finds the new primary among the URL's hosts and
/// takes pushes again; every acknowledged record is delivered, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_standby_holds_every_acknowledged_record_through_a_failover() {
    if !common::postgres::available() {
        return;
    }
    let mut pair = common::postgres::Replicated::start();
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = pair.database(data.path());
    let hub = hub::start(data.path(), |c| {
        c.server.adapters_dir = adapters.clone();
        c.store.backend = StoreBackend::Postgres;
        c.store.url = db.clone();
        c.store.timeout_ms = 2_000;
    })
    .await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let token = hub::token(&hub, HATINH, "provider");
    let dossier = "000.00.10.H42-251205-0500";
    let mut acked = 0;
    for n in 0..3 {
        let (status, body) = push(&c, &url, &token, status_event(dossier, n)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        acked += 1;
    }
    wait_for(30, "3 deliveries", || portal.applied() == 3).await;

    // The standby goes away: no commit can be acknowledged.
    pair.standby.stop();
    let asked = std::time::Instant::now();
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
        .bearer_auth(&token)
        .header("content-type", "application/xml")
        .body(status_event(dossier, 3))
        .send()
        .await
        .unwrap();
    let waited = asked.elapsed();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(
        waited < std::time::Duration::from_secs(8),
        "answered in {waited:?}"
    );
    pair.standby.restart();
    // Sent again until answered: accepted, or a repeat of the first if the primary kept it.
    let send_until_answered = |n: usize| {
        let (c, url, token) = (c.clone(), url.clone(), token.clone());
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let (status, body) = push(&c, &url, &token, status_event(dossier, n)).await;
                if status.is_success() {
                    return body;
                }
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
                assert!(
                    std::time::Instant::now() < deadline,
                    "still refused: {body}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    send_until_answered(3).await;
    acked += 1;
    wait_for(30, "4 deliveries", || portal.applied() == 4).await;

    // Records waiting in the outbox (the portal down), acknowledged: on the standby too.
    portal.set(Mode::Fail);
    for n in 4..8 {
        let (status, body) = push(&c, &url, &token, status_event(dossier, n)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        acked += 1;
    }
    // The primary dies; the standby is promoted (as an HA manager would do).
    pair.primary.kill();
    let died = std::time::Instant::now();
    pair.standby.promote();
    let recovered = send_until_answered(8).await;
    assert!(recovered["exchange_id"].is_string(), "{recovered}");
    acked += 1;
    let took = died.elapsed();
    portal.set(Mode::Ok);
    wait_for(
        60,
        "every acknowledged record delivered from the new primary",
        || portal.applied() == acked,
    )
    .await;
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    eprintln!(
        "failover: the first push acknowledged by the new primary {took:?} after the old one died"
    );
    hub.shutdown().await.unwrap();
}

/// The cluster as shipped, all of it at once: a primary and a synchronous standby, two hub
/// nodes, several clients pushing dossiers' events through both nodes in turn. Half-way one
/// node is SIGKILLed; later the primary is killed and the standby promoted. Every acknowledged
/// record is delivered, no dossier's events go backwards, the destination never has two
/// requests of one dossier at once, and the survivor's audit log verifies offline with an
/// accepted ingest entry for every acknowledged exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_loses_nothing_when_a_node_and_then_the_primary_die() {
    use common::child::{HubProcess, Log};
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    if !common::postgres::available() {
        return;
    }
    let mut pair = common::postgres::Replicated::start();
    let portal = Destination::start().await;
    portal.set(Mode::Slow(5));
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = pair.database(data.path());
    let node_a = HubProcess::new(data.path().to_path_buf(), adapters.clone())
        .env("LIENTHONG_STORE_BACKEND", "postgres")
        .env("LIENTHONG_STORE_URL", &db)
        .env("LIENTHONG_STORE_TIMEOUT_MS", "2000")
        .log(Log::Discard);
    let mut a = node_a.start();
    let b = hub::start(data.path(), |c| {
        c.server.adapters_dir = adapters.clone();
        c.store.backend = StoreBackend::Postgres;
        c.store.url = db.clone();
        c.store.timeout_ms = 2_000;
    })
    .await;
    let token = node_a.token(HATINH, "provider");
    let auditor = node_a.token(ADMIN, "auditor");
    let nodes = [node_a.url(), b.url()];
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (clients, dossiers_each, events) = (4, 3, 12);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (nodes, token, acked) = (nodes.clone(), token.clone(), acked.clone());
        tasks.spawn(async move {
            let c = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap();
            for n in 0..events {
                for d in 0..dossiers_each {
                    let dossier = format!("000.00.10.H42-251205-6{client}{d:02}");
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
                    // Through the nodes in turn; sent again, to the other node, until answered.
                    for attempt in 0usize.. {
                        let url = &nodes[(n + d + attempt) % 2];
                        let sent = c
                            .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
                            .bearer_auth(&token)
                            .header("content-type", "application/xml")
                            .body(status_event(&dossier, n))
                            .send()
                            .await;
                        if let Ok(resp) = sent
                            && resp.status().is_success()
                        {
                            let body: Value = resp.json().await.unwrap();
                            let id = body["exchange_id"].as_str().unwrap().to_string();
                            acked.lock().unwrap().insert(id);
                            break;
                        }
                        assert!(
                            std::time::Instant::now() < deadline,
                            "{dossier}#{n} never taken"
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    let total = clients * dossiers_each * events;
    let acked_now = || acked.lock().unwrap().len();
    wait_for(120, "a third of the pushes", || acked_now() >= total / 3).await;
    a.kill();
    let node_died = std::time::Instant::now();
    wait_for(120, "two thirds of the pushes", || {
        acked_now() >= 2 * total / 3
    })
    .await;
    pair.primary.kill();
    let primary_died = std::time::Instant::now();
    let before = acked_now();
    pair.standby.promote();
    wait_for(120, "a push acknowledged by the new primary", || {
        acked_now() > before
    })
    .await;
    let failover = primary_died.elapsed();
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), total, "one exchange a record");
    wait_for(120, "every acknowledged record delivered", || {
        portal.applied() == acked.len()
    })
    .await;
    {
        let log = portal.log.lock().unwrap();
        let backwards = log.gone_backwards();
        assert!(backwards.is_empty(), "{backwards:?}");
        assert_eq!(log.overlaps, 0, "two requests of one dossier at once");
    }
    let export = export_and_verify(&nodes[1], &auditor, files.path()).await;
    let logged: HashSet<String> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["entry"]["operation"] == "ingest" && v["entry"]["outcome"] == "accepted")
        .map(|v| v["entry"]["exchange_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        logged, acked,
        "an accepted ingest entry for every acknowledged exchange"
    );
    eprintln!(
        "cluster: {total} records from {clients} clients through two nodes; node killed {:?} \
         before the end; first push acknowledged by the new primary {failover:?} after the old \
         one died",
        node_died.elapsed()
    );
    b.shutdown().await.unwrap();
}

/// What an operator gets wrong is refused with what to fix: a user or a database that does not
/// exist, and a standby named as the only host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_url_or_a_standby_is_refused_with_what_to_fix() {
    if !common::postgres::available() {
        return;
    }
    let pair = common::postgres::Replicated::start();
    let migrate = |url: String| {
        let mut cmd = lienthong();
        cmd.args(["store", "migrate", "--url", &url]);
        output_async(cmd)
    };
    let p = pair.primary.port();
    let ran = migrate(format!("postgresql://nobody@127.0.0.1:{p}/postgres")).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(
        ran.stderr.contains("role \"nobody\" does not exist"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("cannot be reached"), "{}", ran.stderr);
    let ran = migrate(format!("postgresql://postgres@127.0.0.1:{p}/nope")).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(
        ran.stderr.contains("database \"nope\" does not exist"),
        "{}",
        ran.stderr
    );
    let s = pair.standby.port();
    let ran = migrate(format!("postgresql://postgres@127.0.0.1:{s}/postgres")).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(ran.stderr.contains("names a standby"), "{}", ran.stderr);
    // Nothing listening: the database cannot be reached, said so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ran = migrate(format!("postgresql://postgres@127.0.0.1:{closed}/postgres")).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(ran.stderr.contains("cannot be reached"), "{}", ran.stderr);
}

/// A dead letter replayed through the node that does not deliver its destination is delivered
/// by the node that does (the replay moves the destination's mark, and the holder reads it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_on_the_other_node_is_delivered_by_the_holder() {
    if !common::postgres::available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let portal = Destination::start().await;
    portal.set(Mode::Refuse);
    let adapters = adapters_for_relay(files.path(), &portal.url, 1);
    let db = common::postgres::database(data.path());
    let a = start(data.path(), &adapters, &db).await;
    let c = reqwest::Client::new();
    let token = hub::token(&a, HATINH, "provider");
    let admin = hub::token(&a, ADMIN, "admin");
    // A holds the destination: the record is refused and parked by it.
    let (status, body) = push(
        &c,
        &a.url(),
        &token,
        status_event("000.00.10.H42-251205-0700", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(30, "a dead letter", || {
        a.state().store.dead_letters(None).unwrap().len() == 1
    })
    .await;
    let b = start(data.path(), &adapters, &db).await;
    portal.set(Mode::Ok);
    let seq = a.state().store.dead_letters(None).unwrap()[0].item.seq;
    let resp = c
        .post(format!("{}/v1/dead/national-portal/{seq}/replay", b.url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    wait_for(30, "the replayed record delivered by A", || {
        portal.applied() == 1
    })
    .await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// TLS to the database: with the CA that signed the server's certificate, the hub's
/// connections are encrypted (the server says so) and it works as ever; a server whose
/// certificate another CA signed is refused, as is `sslmode=require` without a CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_is_verified_and_encrypted() {
    if !common::postgres::available() {
        return;
    }
    let ca = common::ca::Ca::new("lienthong test database CA");
    let (cert, key) = ca.issue("localhost", &["localhost"], true);
    let server = common::postgres::OwnServer::start_tls(&cert, &key);
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let plain = server.database(data.path());
    let url = plain.replace("@127.0.0.1:", "@localhost:") + "?sslmode=require";
    let ca_file = files.path().join("db-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let portal = Destination::start().await;
    let adapters = adapters_for_relay(files.path(), &portal.url, 3);
    let with_ca = |ca: std::path::PathBuf| {
        let mut cfg = hub::config(data.path());
        cfg.server.adapters_dir = adapters.clone();
        cfg.store.backend = StoreBackend::Postgres;
        cfg.store.url = url.clone();
        cfg.store.ca_file = ca;
        cfg
    };

    // Without the CA, sslmode=require is refused with what to give.
    let err = Hub::start(with_ca(std::path::PathBuf::new()))
        .await
        .err()
        .expect("refused without a CA")
        .to_string();
    assert!(err.contains("store.ca_file"), "{err}");
    // A CA that did not sign the server's certificate: refused, naming the certificate.
    let other = common::ca::Ca::new("another CA");
    let other_file = files.path().join("other-ca.pem");
    std::fs::write(&other_file, other.pem()).unwrap();
    let err = Hub::start(with_ca(other_file))
        .await
        .err()
        .expect("refused with another CA")
        .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // The command line takes the CA too.
    let mut cmd = lienthong();
    cmd.args(["store", "migrate", "--url", &url]);
    let ran = output_async(cmd).await;
    assert_eq!(ran.code, 2, "{}", ran.text());
    assert!(ran.stderr.contains("store.ca_file"), "{}", ran.stderr);
    let mut cmd = lienthong();
    cmd.args(["store", "migrate", "--url", &url, "--ca-file"])
        .arg(&ca_file);
    let ran = output_async(cmd).await;
    assert_eq!(ran.code, 0, "{}", ran.text());

    // With it: encrypted, and the hub relays as ever.
    let hub = Hub::start(with_ca(ca_file)).await.expect("the hub starts");
    let token = hub::token(&hub, HATINH, "provider");
    let (status, body) = push(
        &reqwest::Client::new(),
        &hub.url(),
        &token,
        status_event("000.00.10.H42-251205-0900", 1),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(20, "the delivery", || portal.applied() == 1).await;
    let rows = server.sql(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'lienthong'",
    );
    let (encrypted, all): (i64, i64) = (rows[0].get(0), rows[0].get(1));
    assert!(
        all > 0 && encrypted == all,
        "{encrypted} of {all} connections encrypted"
    );
    hub.shutdown().await.unwrap();
}

/// A server that authenticates the hub by its client certificate (`cert` in pg_hba.conf): the
/// hub presents `store.cert_file` and `store.key_file` over the TLS `store.ca_file` verifies;
/// without a certificate, or with one of another name, it is refused with the server's words;
/// half a pair is refused before any connection; the command line takes them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_signs_the_hub_in_to_the_database() {
    if !common::postgres::available() {
        return;
    }
    let ca = common::ca::Ca::new("lienthong test database CA");
    let (cert, key) = ca.issue("localhost", &["localhost"], true);
    let clients = common::ca::Ca::new("lienthong test clients CA");
    let server = common::postgres::OwnServer::start_tls_client_auth(
        &cert,
        &key,
        &clients.pem(),
        "lienthong",
    );
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let plain = server.database(data.path());
    let db = plain.rsplit('/').next().unwrap().to_string();
    server.sql(&format!("ALTER DATABASE {db} OWNER TO lienthong"));
    let url = format!(
        "postgresql://lienthong@localhost:{}/{db}?sslmode=require",
        server.port()
    );
    // Private keys readable by their owner only, as libpq (and the hub) require.
    let write = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = files.path().join(name);
        std::fs::write(&p, text).unwrap();
        let mode = if name.ends_with(".key") { 0o600 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    let ca_file = write("db-ca.pem", &ca.pem());
    let (own_cert, own_key) = clients.issue("lienthong", &[], false);
    let (cert_file, key_file) = (write("hub.pem", &own_cert), write("hub.key", &own_key));
    let (other_cert, other_key) = clients.issue("someone-else", &[], false);
    let (other_cert, other_key) = (
        write("other.pem", &other_cert),
        write("other.key", &other_key),
    );
    let portal = Destination::start().await;
    let adapters = adapters_for_relay(files.path(), &portal.url, 3);
    let config = |cert: &std::path::Path, key: &std::path::Path| {
        let mut cfg = hub::config(data.path());
        cfg.server.adapters_dir = adapters.clone();
        cfg.store.backend = StoreBackend::Postgres;
        cfg.store.url = url.clone();
        cfg.store.ca_file = ca_file.clone();
        cfg.store.cert_file = cert.to_path_buf();
        cfg.store.key_file = key.to_path_buf();
        cfg
    };
    let refused = |cfg| async move {
        Hub::start(cfg)
            .await
            .err()
            .expect("the hub is refused")
            .to_string()
    };
    let none = std::path::Path::new("");

    // No certificate: the server asks for one.
    let err = refused(config(none, none)).await;
    assert!(
        err.contains("connection requires a valid client certificate"),
        "{err}"
    );
    // One of another name: not this user's.
    let err = refused(config(&other_cert, &other_key)).await;
    assert!(err.contains("certificate authentication failed"), "{err}");
    // Half a pair: refused before any connection, naming what is missing.
    let err = refused(config(&cert_file, none)).await;
    assert!(err.contains("store.key_file"), "{err}");
    // A key that is not one.
    let key_like = write("cert-as.key", &own_cert);
    let err = refused(config(&cert_file, &key_like)).await;
    assert!(err.contains("store.key_file"), "{err}");
    // A key open to others: refused as libpq refuses it.
    let err = refused(config(&cert_file, &cert_file)).await;
    assert!(
        err.contains("store.key_file") && err.contains("chmod 600"),
        "{err}"
    );

    // The command line takes them.
    let mut cmd = lienthong();
    cmd.args(["store", "migrate", "--url", &url, "--ca-file"])
        .arg(&ca_file);
    let ran = output_async(cmd).await;
    assert_ne!(ran.code, 0, "{}", ran.text());
    assert!(
        ran.stderr
            .contains("connection requires a valid client certificate"),
        "{}",
        ran.stderr
    );
    let mut cmd = lienthong();
    cmd.args(["store", "migrate", "--url", &url, "--ca-file"])
        .arg(&ca_file)
        .arg("--cert-file")
        .arg(&cert_file)
        .arg("--key-file")
        .arg(&key_file);
    let ran = output_async(cmd).await;
    assert_eq!(ran.code, 0, "{}", ran.text());

    // With its own: signed in by it on every connection, and the hub relays as ever.
    let hub = Hub::start(config(&cert_file, &key_file))
        .await
        .expect("the hub starts");
    let token = hub::token(&hub, HATINH, "provider");
    let (status, body) = push(
        &reqwest::Client::new(),
        &hub.url(),
        &token,
        status_event("000.00.10.H42-251206-0400", 1),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(20, "the delivery", || portal.applied() == 1).await;
    let rows = server.sql(
        "SELECT count(*) FILTER (WHERE s.client_dn = '/CN=lienthong'), count(*) \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = 'lienthong'",
    );
    let (by_cert, all): (i64, i64) = (rows[0].get(0), rows[0].get(1));
    assert!(
        all > 0 && by_cert == all,
        "{by_cert} of {all} connections signed in by the hub's certificate"
    );
    hub.shutdown().await.unwrap();
}

/// libfaketime (Debian's `faketime`), which sets a process's clock off by a given time.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Two nodes, one of them with its clock five minutes ahead (libfaketime): the node says so in
/// its log and in its relay status, the other reads its own clock as right; the fast node holds
/// the portal's deliveries, dies, and the other takes them over within seconds (claims run out
/// by the database's clock, not the dead node's), every acknowledged record delivered in order,
/// and the log, with entries stamped by both clocks, verifies offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_is_minutes_off_says_so_and_loses_nothing() {
    use common::child::{HubProcess, Log};
    use std::collections::HashSet;
    if !common::postgres::available() {
        return;
    }
    if !Path::new(FAKETIME).exists() {
        assert!(
            std::env::var("LIENTHONG_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "{FAKETIME} is missing: install Debian's faketime (scripts/test does)"
        );
        eprintln!("skipped: {FAKETIME} is missing (Debian's faketime)");
        return;
    }
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let db = common::postgres::database(data.path());
    let plain = HubProcess::new(data.path().to_path_buf(), adapters.clone())
        .env("LIENTHONG_STORE_BACKEND", "postgres")
        .env("LIENTHONG_STORE_URL", &db);
    let token = plain.token(HATINH, "provider");
    let auditor = plain.token(ADMIN, "auditor");
    let fast = HubProcess::new(data.path().to_path_buf(), adapters.clone())
        .env("LIENTHONG_STORE_BACKEND", "postgres")
        .env("LIENTHONG_STORE_URL", &db)
        .env("LD_PRELOAD", FAKETIME)
        .env("FAKETIME", "+5m")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .log(Log::Capture);
    let mut a = fast.start();
    let a_url = fast.url();
    let c = reqwest::Client::new();
    let mut acked: HashSet<String> = HashSet::new();
    // The fast node delivers first, so it holds the destination.
    let (status, body) = push(
        &c,
        &a_url,
        &token,
        status_event("000.00.10.H42-251205-0500", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    acked.insert(body["exchange_id"].as_str().unwrap().to_string());
    wait_for(30, "the fast node's first delivery", || {
        portal.applied() == 1
    })
    .await;
    let b = start(data.path(), &adapters, &db).await;
    let b_url = b.url();
    let offset = |url: String| {
        let (c, auditor) = (c.clone(), auditor.clone());
        async move {
            for _ in 0..100 {
                let s = common::hub::get_json(&c, format!("{url}/v1/relay/status"), &auditor).await;
                if let Some(ms) = s["clock_offset_ms"].as_i64() {
                    return ms;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("no clock offset in {url}'s relay status within 10 s");
        }
    };
    let fast_offset = offset(a_url.clone()).await;
    assert!(
        (290_000..310_000).contains(&fast_offset),
        "the fast node's offset: {fast_offset} ms"
    );
    let right_offset = offset(b_url.clone()).await;
    assert!(
        right_offset.abs() < 5_000,
        "the other node's offset: {right_offset} ms"
    );

    let dossiers: Vec<String> = (0..4)
        .map(|d| format!("000.00.10.H42-251205-05{d:02}"))
        .collect();
    for n in 1..4 {
        for (i, d) in dossiers.iter().enumerate() {
            let url = if (n + i) % 2 == 0 { &a_url } else { &b_url };
            let (status, body) = push(&c, url, &token, status_event(d, n)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            acked.insert(body["exchange_id"].as_str().unwrap().to_string());
        }
    }
    let before = acked.len();
    wait_for(60, "every record accepted by both nodes delivered", || {
        portal.applied() == before
    })
    .await;
    let status = common::hub::get_json(&c, format!("{b_url}/v1/relay/status"), &auditor).await;
    let holder = status["claims"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["destination"] == "national-portal"))
        .map(|c| c["node"].clone());
    assert_ne!(holder, Some(status["node"].clone()), "{status}");
    a.kill();
    let log = a.stderr();
    assert!(
        log.contains("this node's clock is 300.")
            && log.contains("s ahead of the database's")
            && log.contains("set it right (NTP)"),
        "the fast node's log does not say its clock is off:\n{log}"
    );
    let killed = std::time::Instant::now();
    for d in &dossiers {
        let (status, body) = push(&c, &b_url, &token, status_event(d, 4)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        acked.insert(body["exchange_id"].as_str().unwrap().to_string());
    }
    let took_over = survivor_delivered(&portal, acked.len(), killed).await;
    assert!(
        took_over < std::time::Duration::from_secs(10),
        "taken over in {took_over:?}: the dead node's clock, five minutes ahead, held its claim"
    );
    let export = export_and_verify(&b_url, &auditor, files.path()).await;
    assert_eq!(accepted_ingests(&export), acked);
    eprintln!(
        "clock five minutes ahead: offset read {fast_offset} ms (the other node {right_offset} ms); taken over in {took_over:?}"
    );
    b.shutdown().await.unwrap();
}
