//! The hostile-request catalogue, over real HTTP against a hub on loopback: each request gets a
//! clear 4xx with its code (never a 5xx, a hang or a silent drop), and guessing tokens is
//! slowed down and recorded.

mod common;

use common::hub::{REGISTER, token};
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const CITIZEN: &str = "adapters/samples/population-registry/citizen.json";

async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("an answer");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_clear_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.limits.max_body_bytes = 64 * 1024;
        c.limits.header_timeout_ms = 500;
    })
    .await;
    let url = hub.url();
    let provider = token(&hub, REGISTER, "provider");
    let c = reqwest::Client::new();
    let ingest = format!("{url}/v1/ingest/population-registry/citizen");
    let sample = std::fs::read_to_string(common::repo_path(CITIZEN)).unwrap();
    let post = |body: Vec<u8>, ct: &str| {
        c.post(&ingest)
            .bearer_auth(&provider)
            .header("content-type", ct.to_string())
            .body(body)
    };
    let mut seen: Vec<(&str, u16, String)> = Vec::new();
    let mut note = |name: &'static str, (status, body): (u16, Value)| {
        let code = body["code"].as_str().unwrap_or_default().to_string();
        let first = body["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(status < 500, "{name}: {status} {body}");
        seen.push((name, status, if first.is_empty() { code } else { first }));
    };

    // Sizes.
    note(
        "oversized body",
        answer(post(vec![b' '; 200 * 1024], "application/json")).await,
    );
    note(
        "oversized header",
        answer(
            c.get(format!("{url}/v1/adapters"))
                .bearer_auth(&provider)
                .header("x-filler", "a".repeat(64 * 1024)),
        )
        .await,
    );
    // Shapes.
    note(
        "wrong content type",
        answer(post(sample.clone().into_bytes(), "text/plain")).await,
    );
    let mut bad_utf8 = sample.clone().into_bytes();
    let at = bad_utf8.iter().position(|&b| b == b'N').unwrap();
    bad_utf8[at] = 0xff;
    note(
        "invalid UTF-8",
        answer(post(bad_utf8, "application/json")).await,
    );
    let bomb = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    note(
        "nesting bomb",
        answer(post(bomb.into_bytes(), "application/json")).await,
    );
    // Strings shaped like SQL or shell commands are data: stored as given, or refused by the
    // field's own rule, never interpreted.
    let sql = sample.replace(
        "Nguyễn Thị Hồng Nhung",
        "Robert'); DROP TABLE citizens;-- $(rm -rf /)",
    );
    note(
        "SQL- and shell-shaped strings",
        answer(post(sql.into_bytes(), "application/json")).await,
    );
    let dup = sample.replacen("{", "{\"maKetQua\": \"99\", ", 1);
    note(
        "duplicate keys",
        answer(post(dup.into_bytes(), "application/json")).await,
    );
    let huge = sample.replacen("\"maKetQua\": \"00\"", "\"maKetQua\": 1e999999", 1);
    note(
        "number out of range",
        answer(post(huge.into_bytes(), "application/json")).await,
    );
    // Paths.
    for path in [
        "/v1/ingest/..%2F..%2Fetc%2Fpasswd/citizen",
        "/v1/ingest/../../etc/passwd/citizen",
        "/v1/adapters/..%2Fconfig%2Fhub",
        "/v1/ingest/population-registry%00/citizen",
    ] {
        let (status, body) = answer(
            c.post(format!("{url}{path}"))
                .bearer_auth(&provider)
                .header("content-type", "application/json")
                .body(sample.clone()),
        )
        .await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }
    // Credentials.
    let forged = format!("{}x", &provider[..provider.len() - 1]);
    note(
        "forged token",
        answer(c.get(format!("{url}/v1/adapters")).bearer_auth(&forged)).await,
    );
    let revoked = token(&hub, REGISTER, "provider");
    let id = revoked.split('_').nth(1).unwrap().to_string();
    lienthong::auth::revoke_token(&hub.state().store, &id).unwrap();
    note(
        "revoked token",
        answer(c.get(format!("{url}/v1/adapters")).bearer_auth(&revoked)).await,
    );
    let expired = lienthong::auth::create_token_until(
        &hub.state().store,
        REGISTER,
        lienthong::auth::Role::Provider,
        Some("2026-01-01T00:00:00.000Z".into()),
    )
    .unwrap()
    .bearer();
    note(
        "expired token",
        answer(c.get(format!("{url}/v1/adapters")).bearer_auth(&expired)).await,
    );

    let expect = [
        ("oversized body", 413, "limits.max-body-bytes"),
        ("oversized header", 431, ""),
        ("wrong content type", 415, "ingest.content-type"),
        ("invalid UTF-8", 422, "document.invalid-utf8"),
        ("nesting bomb", 422, "json.too-deep"),
        ("duplicate keys", 422, "json.duplicate-key"),
        ("number out of range", 422, ""),
        ("forged token", 401, "auth.unknown"),
        ("revoked token", 401, "auth.revoked"),
        ("expired token", 401, "auth.expired"),
    ];
    for (name, status, code) in expect {
        let got = seen.iter().find(|s| s.0 == name).unwrap();
        assert_eq!(got.1, status, "{name}: {got:?}");
        if !code.is_empty() {
            assert_eq!(got.2, code, "{name}: {got:?}");
        }
    }
    let sql = seen
        .iter()
        .find(|s| s.0 == "SQL- and shell-shaped strings")
        .unwrap();
    assert_eq!(sql.1, 202, "{sql:?}");

    // A client that trickles its request head is cut off at the head time-out.
    let addr = url.trim_start_matches("http://").to_string();
    let slow = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = Instant::now();
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter() {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(
        slow < Duration::from_secs(4),
        "the trickling client was cut off: {slow:?}"
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_tokens_is_slowed_down_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.limits.auth_failures_per_minute = 10;
    })
    .await;
    let url = hub.url();
    let good = token(&hub, REGISTER, "provider");
    let c = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..12 {
        let guess = format!("lt_{:012x}_{}", i, "x".repeat(43));
        let (status, _) = answer(c.get(format!("{url}/v1/adapters")).bearer_auth(guess)).await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    // Blocked means blocked: even the right token is not checked from this address now.
    let r = c
        .get(format!("{url}/v1/adapters"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "auth.too-many-failures");
    // The first failure and the block are in the audit log (read from the store: the
    // auditor's own requests come from the blocked address too); the ones between are counted.
    let log = hub.state().relay.audit().clone();
    common::hub::wait_for(10, "two entries", || log.size() >= 2).await;
    let q = lienthong::audit::Query {
        operation: Some("authenticate".into()),
        limit: 100,
        ..Default::default()
    };
    let page = log.query(&q).unwrap();
    let outcomes: Vec<&str> = page
        .entries
        .iter()
        .map(|e| e.entry.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["denied", "blocked"], "{outcomes:?}");
    hub.shutdown().await.unwrap();
}
