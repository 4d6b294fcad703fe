//! The relay against a real destination on loopback: order per dossier under random failures,
//! each idempotency key applied once, duplicates, dead letters and replay, the circuit breaker,
//! a 200 that says no, and backpressure.

mod common;

use common::destination::{Destination, Mode};
use common::hub::{self, ADMIN, HATINH, adapters_for_relay, status_event, wait_for};
use lienthong::server::Hub;
use lienthong::store::DeadLetter;
use reqwest::StatusCode;
use serde_json::Value;

/// The temporary directories of a test's hub (its store, its adapters); removed when dropped.
struct Dirs {
    _data: tempfile::TempDir,
    _files: tempfile::TempDir,
}

/// A hub relaying to `portal` (at most `max_attempts` a record), its store and adapters in
/// temporary directories that live as long as the `Dirs`.
async fn relay_hub(
    portal: &Destination,
    max_attempts: u32,
    tweak: impl FnOnce(&mut lienthong::config::hub::HubConfig),
) -> (Dirs, Hub) {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, max_attempts);
    let hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters;
        tweak(cfg);
    })
    .await;
    let dirs = Dirs {
        _data: data,
        _files: files,
    };
    (dirs, hub)
}

/// A hub whose portal answers every delivery as `mode` says, two attempts a record, after one
/// status event of `dossier` was pushed and parked: the portal, the hub and the dead letter.
async fn parked_after(mode: Mode, dossier: &str) -> (Destination, Dirs, Hub, DeadLetter) {
    let portal = Destination::start().await;
    portal.set(mode);
    let (dirs, hub) = relay_hub(&portal, 2, |_| {}).await;
    let token = hub::token(&hub, HATINH, "provider");
    push(
        &reqwest::Client::new(),
        &hub.url(),
        &token,
        status_event(dossier, 0),
    )
    .await;
    wait_for(20, "the record parked", || {
        hub.state()
            .store
            .dead_letters(Some("national-portal"))
            .unwrap()
            .len()
            == 1
    })
    .await;
    let dead = hub.state().store.dead_letters(None).unwrap().remove(0);
    (portal, dirs, hub, dead)
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

/// The destination's dead letters, once there are `total` of them (or the last answer after
/// five seconds).
async fn dead_letters(c: &reqwest::Client, url: &str, admin: &str, total: u64) -> Value {
    let mut dead = Value::Null;
    for _ in 0..200 {
        dead = c
            .get(format!("{url}/v1/dead?destination=national-portal"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        if dead["total"] == total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    dead
}

fn depth(hub: &Hub) -> usize {
    hub.state().relay.status().iter().map(|d| d.depth).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_for_same_dossier_is_delivered_in_order_and_each_key_applied_once() {
    let portal = Destination::start().await;
    portal.set(Mode::Flaky(0.3));
    let (_dirs, hub) = relay_hub(&portal, 50, |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    // 20 dossiers pushed concurrently, each dossier's 10 events one after another.
    let mut tasks = Vec::new();
    for d in 0..20 {
        let (c, url, token) = (c.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let dossier = format!("000.00.10.H42-251001-{d:04}");
            let mut ids = Vec::new();
            for n in 0..10 {
                let (status, body) = push(&c, &url, &token, status_event(&dossier, n)).await;
                assert_eq!(status, StatusCode::ACCEPTED, "{body}");
                assert_eq!(body["destinations"][0], "national-portal");
                ids.push(body["exchange_id"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut acknowledged = std::collections::HashSet::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 200);
    wait_for(60, "every event delivered", || {
        portal.applied() == 200 && depth(&hub) == 0
    })
    .await;
    {
        let log = portal.log.lock().unwrap();
        assert_eq!(
            log.applied_keys, acknowledged,
            "exactly the acknowledged exchanges applied"
        );
        for (dossier, events) in &log.applied_order {
            let expected: Vec<String> = (0..10).map(|n| format!("{dossier}#{n}")).collect();
            assert_eq!(events, &expected, "order of {dossier}");
        }
    }
    let status = hub.state().relay.status();
    let portal_status = status
        .iter()
        .find(|s| s.destination == "national-portal")
        .unwrap();
    assert_eq!(portal_status.delivered, 200);
    assert!(
        portal_status.failed > 0,
        "the destination did fail at times"
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_push_is_answered_with_the_original_exchange_and_delivered_once() {
    let portal = Destination::start().await;
    let (_dirs, hub) = relay_hub(&portal, 5, |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    let event = status_event("000.00.10.H42-251002-0001", 1);
    let (s1, b1) = push(&c, &url, &token, event.clone()).await;
    let (s2, b2) = push(&c, &url, &token, event.clone()).await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::OK));
    assert_eq!(b1["exchange_id"], b2["exchange_id"]);
    assert_eq!(b2["duplicate"], true);
    // The same event id with a different body is still the same event (natural key).
    let (s3, b3) = push(
        &c,
        &url,
        &token,
        event.replace("Chuyển thẩm định", "Chuyển lại"),
    )
    .await;
    assert_eq!(s3, StatusCode::OK);
    assert_eq!(b3["exchange_id"], b1["exchange_id"]);
    // An Idempotency-Key header wins over the natural key.
    for _ in 0..2 {
        let resp = c
            .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
            .bearer_auth(&token)
            .header("idempotency-key", "lan-gui-7")
            .body(status_event("000.00.10.H42-251002-0001", 2))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
    wait_for(20, "two deliveries", || {
        portal.applied() == 2 && depth(&hub) == 0
    })
    .await;
    assert_eq!(portal.log.lock().unwrap().received.len(), 2);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_records_are_parked_and_can_be_replayed_or_discarded() {
    let portal = Destination::start().await;
    portal.set(Mode::Refuse);
    let (_dirs, hub) = relay_hub(&portal, 5, |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let admin = hub::token(&hub, ADMIN, "admin");
    let c = reqwest::Client::new();
    for n in 0..2 {
        push(
            &c,
            &url,
            &token,
            status_event("000.00.10.H42-251003-0001", n),
        )
        .await;
    }
    let dead = dead_letters(&c, &url, &admin, 2).await;
    assert_eq!(dead["total"], 2, "{dead}");
    let first = &dead["dead_letters"][0];
    assert!(first["reason"].as_str().unwrap().contains("400"), "{first}");
    assert!(
        first["last_response"]
            .as_str()
            .unwrap()
            .contains("bad record")
    );
    assert_eq!(first["attempts"], 1, "a 400 is not retried");
    let seq = first["seq"].as_u64().unwrap();
    let second = dead["dead_letters"][1]["seq"].as_u64().unwrap();
    let shown: Value = c
        .get(format!("{url}/v1/dead/national-portal/{seq}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["record"]["dossier_code"], "000.00.10.H42-251003-0001");
    // The destination is fixed; replay the first, discard the second.
    portal.set(Mode::Ok);
    let resp = c
        .post(format!("{url}/v1/dead/national-portal/{seq}/replay"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c
        .delete(format!("{url}/v1/dead/national-portal/{second}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    wait_for(20, "the replayed record delivered", || {
        portal.applied() == 1
    })
    .await;
    assert_eq!(dead_letters(&c, &url, &admin, 0).await["total"], 0);
    // A provider replays only its own dead letters: none are left.
    let resp = c
        .post(format!("{url}/v1/dead/replay"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["replayed"], 0);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_on_a_dead_destination_and_closes_when_it_returns() {
    let portal = Destination::start().await;
    portal.set(Mode::Fail);
    let (_dirs, hub) = relay_hub(&portal, 1000, |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    for n in 0..5 {
        push(
            &c,
            &url,
            &token,
            status_event(&format!("000.00.10.H42-251004-{n:04}"), 0),
        )
        .await;
    }
    let breaker = |hub: &Hub| {
        hub.state()
            .relay
            .status()
            .into_iter()
            .find(|s| s.destination == "national-portal")
            .map(|s| s.breaker)
            .unwrap_or("?")
    };
    wait_for(10, "the breaker to open", || breaker(&hub) != "closed").await;
    // While open, attempts are spaced by the cool-down instead of hammering.
    let received_before = portal.log.lock().unwrap().received.len();
    let failed_at_open = hub.state().relay.status()[0].failed;
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let failed_later = hub.state().relay.status()[0].failed;
    assert!(
        failed_later <= failed_at_open + 1,
        "{failed_at_open} → {failed_later}: a half-open breaker sends one probe"
    );
    assert_eq!(received_before, 0);
    portal.set(Mode::Ok);
    wait_for(20, "delivery after the destination returns", || {
        portal.applied() == 5
    })
    .await;
    assert_eq!(breaker(&hub), "closed");
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_that_says_no_is_retried_then_parked_with_the_answer() {
    let (portal, _dirs, hub, dead) = parked_after(Mode::SaysNo, "000.00.10.H42-251005-0001").await;
    assert_eq!(dead.item.attempts, 2);
    assert!(
        dead.reason.contains("error_code") && dead.reason.contains("\"99\""),
        "{}",
        dead.reason
    );
    assert!(
        dead.last_response
            .as_deref()
            .unwrap()
            .contains("Mã hồ sơ không hợp lệ")
    );
    assert_eq!(
        portal.applied(),
        0,
        "a 200 with error_code 99 is never counted as delivered"
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_answers_503_with_retry_after() {
    let portal = Destination::start().await;
    portal.set(Mode::Fail);
    let (_dirs, hub) = relay_hub(&portal, 1000, |cfg| {
        cfg.relay.max_outbox_depth = 5;
    })
    .await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    for n in 0..5 {
        let (s, _) = push(
            &c,
            &url,
            &token,
            status_event("000.00.10.H42-251006-0001", n),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
        .bearer_auth(&token)
        .body(status_event("000.00.10.H42-251006-0001", 5))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "relay.backpressure");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("max_outbox_depth")
    );
    // When the destination drains, new work is taken again.
    portal.set(Mode::Ok);
    wait_for(20, "the outbox drained", || depth(&hub) == 0).await;
    let (s, _) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251006-0001", 5),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_managed_through_the_registry_api() {
    let portal = Destination::start().await;
    let (_dirs, hub) = relay_hub(&portal, 5, |cfg| {
        cfg.routes.clear();
    })
    .await;
    let url = hub.url();
    let admin = hub::token(&hub, ADMIN, "admin");
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    // No route: accepted, recorded, going nowhere.
    let (s, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251007-0001", 0),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(body["destinations"], serde_json::json!([]));
    // A route to an adapter that does not consume the type is refused with the reason.
    let resp = c
        .post(format!("{url}/v1/routes"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"record_type": "dossier-status", "to": ["motcua-hatinh"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("does not consume"),
        "{body}"
    );
    // A valid one, only for Hà Tĩnh's adapter; status events now reach the portal.
    let resp = c
        .post(format!("{url}/v1/routes"))
        .bearer_auth(&admin)
        .json(
            &serde_json::json!({"record_type": "dossier-status", "to": ["national-portal"],
                                  "from_adapters": ["motcua-hatinh"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = resp.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let (_, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251007-0001", 1),
    )
    .await;
    assert_eq!(body["destinations"], serde_json::json!(["national-portal"]));
    wait_for(20, "delivery over the new route", || portal.applied() == 1).await;
    let list: Value = c
        .get(format!("{url}/v1/routes"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["routes"][0]["source"], "registry");
    let resp = c
        .delete(format!("{url}/v1/routes/{id}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c
        .delete(format!("{url}/v1/routes/{id}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_an_order_key_are_sent_once_at_a_time() {
    let portal = Destination::start().await;
    portal.set(Mode::Slow(400));
    let (_dirs, hub) = relay_hub(&portal, 5, |cfg| {
        for r in &mut cfg.routes {
            r.order_key = "/no_such_field".into();
        }
    })
    .await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    for n in 0..6 {
        let (s, _) = push(
            &c,
            &url,
            &token,
            status_event("000.00.10.H42-251008-0001", n),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    wait_for(20, "six deliveries", || {
        portal.applied() == 6 && depth(&hub) == 0
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        portal.log.lock().unwrap().received.len(),
        6,
        "a record in flight was sent again"
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_spreads_deliveries_to_a_destination() {
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 5);
    let file = adapters.join("national-portal.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("rate_per_sec = 0", "rate_per_sec = 4");
    std::fs::write(&file, text).unwrap();
    let hub = hub::start(data.path(), |cfg| cfg.server.adapters_dir = adapters).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let c = reqwest::Client::new();
    let start = std::time::Instant::now();
    for n in 0..20 {
        push(
            &c,
            &url,
            &token,
            status_event(&format!("000.00.10.H42-251009-{n:04}"), 0),
        )
        .await;
    }
    // 4 a second with a burst of 4: at most 8 in the first second, whatever the machine.
    let until = start + std::time::Duration::from_millis(1000);
    tokio::time::sleep_until(until.into()).await;
    let early = portal.applied();
    assert!(early <= 8, "{early} deliveries in the first second at 4/s");
    wait_for(20, "all twenty delivered", || portal.applied() == 20).await;
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_with_garbage_is_not_a_delivery_and_the_record_is_kept() {
    let (portal, _dirs, hub, dead) = parked_after(Mode::Garbage, "000.00.10.H42-251006-0001").await;
    assert!(
        dead.last_response
            .as_deref()
            .unwrap()
            .contains("Bad Gateway"),
        "{dead:?}"
    );
    assert_eq!(portal.applied(), 0);
    // Replayed once the destination answers properly: delivered.
    portal.set(Mode::Ok);
    hub.state()
        .relay
        .replay("national-portal", dead.item.seq)
        .unwrap();
    wait_for(20, "delivered after the replay", || portal.applied() == 1).await;
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_the_record_is_parked_with_where_it_pointed() {
    // A followed 301/302 turns the POST into a GET; a followed 307 sends the record where the
    // adapter does not say. Either way the endpoint in the adapter is wrong: park, and say so.
    let portal = Destination::start().await;
    portal.set(Mode::Redirect);
    let (_dirs, hub) = relay_hub(&portal, 5, |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let admin = hub::token(&hub, ADMIN, "admin");
    let c = reqwest::Client::new();
    let (status, _) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251003-0002", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let dead = dead_letters(&c, &url, &admin, 1).await;
    assert_eq!(dead["total"], 1, "{dead}");
    let reason = dead["dead_letters"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("307") && reason.contains("/moved"),
        "{reason}"
    );
    assert_eq!(dead["dead_letters"][0]["attempts"], 1, "not retried");
    assert_eq!(
        portal.log.lock().unwrap().followed,
        0,
        "the redirect was followed"
    );
    assert_eq!(portal.applied(), 0);
    hub.shutdown().await.unwrap();
}

/// A route to two destinations without a purpose: each gets the whole record, and the audit
/// entry of the ingest commits to that record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_to_two_destinations_gives_each_the_whole_record() {
    let portal = Destination::start().await;
    let copy = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 5);
    // A second portal: the same adapter under another name and endpoint.
    let text = std::fs::read_to_string(adapters.join("national-portal.toml")).unwrap();
    let second = text
        .replace(
            "name = \"national-portal\"",
            "name = \"national-portal-copy\"",
        )
        .replace(&portal.url, &copy.url);
    assert!(second.contains("national-portal-copy") && second.contains(&copy.url));
    std::fs::write(adapters.join("national-portal-copy.toml"), second).unwrap();
    let hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters;
        for r in &mut cfg.routes {
            if r.record_type == "dossier-status" {
                r.to.push("national-portal-copy".into());
            }
        }
    })
    .await;
    let url = hub.url();
    let token = hub::token(&hub, HATINH, "provider");
    let auditor = hub::token(&hub, ADMIN, "auditor");
    let c = reqwest::Client::new();
    let (status, body) = push(
        &c,
        &url,
        &token,
        status_event("000.00.10.H42-251009-0001", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body["destinations"],
        serde_json::json!(["national-portal", "national-portal-copy"])
    );
    wait_for(20, "both deliveries", || {
        portal.applied() == 1 && copy.applied() == 1 && depth(&hub) == 0
    })
    .await;
    let sent = |d: &Destination| d.log.lock().unwrap().received[0].record.clone();
    let record = sent(&portal);
    assert_eq!(record["MaHoSo"], "000.00.10.H42-251009-0001", "{record}");
    assert_eq!(record, sent(&copy));
    // The ingest's entry opens with the record the hub accepted.
    let exchange = body["exchange_id"].as_str().unwrap();
    let page: Value = hub::get_json(
        &c,
        format!("{url}/v1/audit/entries?exchange_id={exchange}&operation=ingest"),
        &auditor,
    )
    .await;
    assert_eq!(page["entries"][0]["outcome"], "accepted", "{page}");
    let index = page["entries"][0]["index"].as_u64().unwrap();
    let (entry, sealed) = hub.state().store.audit_record(index).unwrap().unwrap();
    let entry: lienthong::audit::AuditEntry = serde_json::from_slice(&entry).unwrap();
    let sealed: lienthong::audit::entry::Sealed = serde_json::from_slice(&sealed.unwrap()).unwrap();
    lienthong::audit::entry::check_sealed(&entry, &sealed).unwrap();
    let payload = sealed.payload.unwrap();
    assert_eq!(
        payload["dossier_code"], "000.00.10.H42-251009-0001",
        "{payload}"
    );
    hub.shutdown().await.unwrap();
}

/// A strict SOAP receiver: what it was sent (media type, SOAPAction header, body), and its
/// answer: 200 only for the SOAP version it speaks, 415 otherwise (as a SOAP 1.2 stack answers
/// a SOAP 1.1 request, and the other way round).
#[derive(Clone, Default)]
struct SoapReceiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<SoapRequest>>>,
}

/// A request as a SOAP receiver got it: media type, SOAPAction header, body.
type SoapRequest = (String, Option<String>, String);

async fn soap_receiver(version: &'static str) -> (SoapReceiver, String) {
    use axum::http::HeaderMap;
    let r = SoapReceiver::default();
    let got = r.got.clone();
    let app = axum::Router::new().route(
        "/soap",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let got = got.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let action = headers
                    .get("soapaction")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                got.lock()
                    .unwrap()
                    .push((ct.clone(), action.clone(), body.clone()));
                let ok = match version {
                    "1.2" => {
                        ct.starts_with("application/soap+xml")
                            && ct.contains("action=")
                            && action.is_none()
                            && body.contains("http://www.w3.org/2003/05/soap-envelope")
                    }
                    _ => {
                        ct.starts_with("text/xml")
                            && action.is_some()
                            && body.contains("http://schemas.xmlsoap.org/soap/envelope/")
                    }
                };
                if ok {
                    (StatusCode::OK, "<ok/>")
                } else {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "wrong SOAP version")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/soap", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soap_deliveries_carry_the_headers_of_their_soap_version() {
    let portal = Destination::start().await;
    let (soap11, url11) = soap_receiver("1.1").await;
    let (soap12, url12) = soap_receiver("1.2").await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 2);
    // Two SOAP systems that take dossier status events: the Hà Tĩnh adapter under other names,
    // one speaking SOAP 1.1, one SOAP 1.2.
    let hatinh = std::fs::read_to_string(adapters.join("motcua-hatinh.toml")).unwrap();
    for (name, url, version) in [("soap-11", &url11, "1.1"), ("soap-12", &url12, "1.2")] {
        let text = hatinh
            .replace("name = \"motcua-hatinh\"", &format!("name = \"{name}\""))
            .replace(
                "endpoint = \"http://127.0.0.1:8702/motcua\"",
                &format!("endpoint = \"{url}\""),
            )
            .replace("version = \"1.1\"", &format!("version = \"{version}\""));
        assert!(text.contains(url.as_str()) && text.contains(name));
        std::fs::write(adapters.join(format!("{name}.toml")), text).unwrap();
    }
    let hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters;
        for r in &mut cfg.routes {
            if r.record_type == "dossier-status" {
                r.to = vec!["soap-11".into(), "soap-12".into()];
            }
        }
    })
    .await;
    let token = hub::token(&hub, HATINH, "provider");
    let (status, body) = push(
        &reqwest::Client::new(),
        &hub.url(),
        &token,
        status_event("000.00.10.H42-251009-0002", 0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(20, "both deliveries", || depth(&hub) == 0).await;
    assert!(hub.state().store.dead_letters(None).unwrap().is_empty());
    let (ct, action, body) = soap12.got.lock().unwrap()[0].clone();
    assert_eq!(
        ct,
        "application/soap+xml; charset=utf-8; action=\"urn:lienthong:deliver:dossier-status\""
    );
    assert_eq!(action, None, "no SOAPAction header in SOAP 1.2");
    assert!(body.contains("<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\""));
    let (ct, action, _) = soap11.got.lock().unwrap()[0].clone();
    assert_eq!(ct, "text/xml; charset=utf-8");
    assert_eq!(
        action.as_deref(),
        Some("\"urn:lienthong:deliver:dossier-status\"")
    );
    hub.shutdown().await.unwrap();
}
