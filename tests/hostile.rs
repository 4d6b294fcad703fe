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
    read(r.send().await.expect("an answer")).await
}

/// The status and body (JSON, or else the text) of an answer.
async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A hub whose body limit is 64 KiB and head time-out 500 ms, a provider's token of the
/// register, and its citizen sample.
struct Target {
    _dir: tempfile::TempDir,
    hub: lienthong::server::Hub,
    url: String,
    provider: String,
    c: reqwest::Client,
    sample: String,
}

impl Target {
    async fn start() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let hub = common::hub::start(&dir.path().join("store"), |c| {
            c.limits.max_body_bytes = 64 * 1024;
            c.limits.header_timeout_ms = 500;
        })
        .await;
        Target {
            url: hub.url(),
            provider: token(&hub, REGISTER, "provider"),
            // A connection a request each: after a refusal with its body unread (413) the hub
            // closes the connection, and a pooled one reused meanwhile would end the next
            // request with "connection closed before message completed", not its answer.
            c: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            sample: std::fs::read_to_string(common::repo_path(CITIZEN)).unwrap(),
            hub,
            _dir: dir,
        }
    }

    /// A citizen ingest of `body` as `ct`.
    fn post(&self, body: Vec<u8>, ct: &str) -> reqwest::RequestBuilder {
        self.c
            .post(format!(
                "{}/v1/ingest/population-registry/citizen",
                self.url
            ))
            .bearer_auth(&self.provider)
            .header("content-type", ct.to_string())
            .body(body)
    }

    /// `GET /v1/adapters` with `token`.
    fn adapters(&self, token: &str) -> reqwest::RequestBuilder {
        self.c
            .get(format!("{}/v1/adapters", self.url))
            .bearer_auth(token)
    }
}

/// How the request `name` was answered, never with a 5xx: its status, and the code of its first
/// field error, else of the problem.
fn refusal(name: &'static str, (status, body): (u16, Value)) -> (&'static str, u16, String) {
    let code = body["code"].as_str().unwrap_or_default().to_string();
    let first = body["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(status < 500, "{name}: {status} {body}");
    (name, status, if first.is_empty() { code } else { first })
}

/// Checks that a refusal has the `status` and, unless empty, the `code` expected.
fn expect(got: &(&str, u16, String), status: u16, code: &str) {
    let name = got.0;
    assert_eq!(got.1, status, "{name}: {got:?}");
    if !code.is_empty() {
        assert_eq!(got.2, code, "{name}: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_or_head_is_refused_413_or_431() {
    let t = Target::start().await;
    let r = t
        .post(vec![b' '; 200 * 1024], "application/json")
        .send()
        .await
        .expect("an answer");
    // Its body is left unread, so the answer says the connection ends with it.
    assert_eq!(
        r.headers().get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );
    let got = refusal("oversized body", read(r).await);
    expect(&got, 413, "limits.max-body-bytes");
    // An answer that read its body keeps the connection.
    let r = t
        .post(b"{}".to_vec(), "application/json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(r.headers().get("connection"), None);
    let got = refusal(
        "oversized header",
        answer(
            t.adapters(&t.provider)
                .header("x-filler", "a".repeat(64 * 1024)),
        )
        .await,
    );
    expect(&got, 431, "");
    t.hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_of_the_wrong_shape_is_refused_with_its_code() {
    let t = Target::start().await;
    let sample = &t.sample;
    let got = refusal(
        "wrong content type",
        answer(t.post(sample.clone().into_bytes(), "text/plain")).await,
    );
    expect(&got, 415, "ingest.content-type");
    let mut bad_utf8 = sample.clone().into_bytes();
    let at = bad_utf8.iter().position(|&b| b == b'N').unwrap();
    bad_utf8[at] = 0xff;
    let got = refusal(
        "invalid UTF-8",
        answer(t.post(bad_utf8, "application/json")).await,
    );
    expect(&got, 422, "document.invalid-utf8");
    let bomb = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let got = refusal(
        "nesting bomb",
        answer(t.post(bomb.into_bytes(), "application/json")).await,
    );
    expect(&got, 422, "json.too-deep");
    let dup = sample.replacen("{", "{\"maKetQua\": \"99\", ", 1);
    let got = refusal(
        "duplicate keys",
        answer(t.post(dup.into_bytes(), "application/json")).await,
    );
    expect(&got, 422, "json.duplicate-key");
    let huge = sample.replacen("\"maKetQua\": \"00\"", "\"maKetQua\": 1e999999", 1);
    let got = refusal(
        "number out of range",
        answer(t.post(huge.into_bytes(), "application/json")).await,
    );
    expect(&got, 422, "");
    t.hub.shutdown().await.unwrap();
}

/// Strings shaped like SQL or shell commands are data: stored as given, or refused by the
/// field's own rule, never interpreted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_shaped_like_sql_or_shell_commands_are_stored_as_data() {
    let t = Target::start().await;
    let sql = t.sample.replace(
        "Nguyễn Thị Hồng Nhung",
        "Robert'); DROP TABLE citizens;-- $(rm -rf /)",
    );
    let sql = refusal(
        "SQL- and shell-shaped strings",
        answer(t.post(sql.into_bytes(), "application/json")).await,
    );
    assert_eq!(sql.1, 202, "{sql:?}");
    t.hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_climbs_out_or_holds_a_nul_is_refused_with_a_4xx() {
    let t = Target::start().await;
    for path in [
        "/v1/ingest/..%2F..%2Fetc%2Fpasswd/citizen",
        "/v1/ingest/../../etc/passwd/citizen",
        "/v1/adapters/..%2Fconfig%2Fhub",
        "/v1/ingest/population-registry%00/citizen",
    ] {
        let (status, body) = answer(
            t.c.post(format!("{}{path}", t.url))
                .bearer_auth(&t.provider)
                .header("content-type", "application/json")
                .body(t.sample.clone()),
        )
        .await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }
    t.hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_revoked_or_expired_token_is_refused_401_with_its_code() {
    let t = Target::start().await;
    let provider = &t.provider;
    let forged = format!("{}x", &provider[..provider.len() - 1]);
    let got = refusal("forged token", answer(t.adapters(&forged)).await);
    expect(&got, 401, "auth.unknown");
    let revoked = token(&t.hub, REGISTER, "provider");
    let id = revoked.split('_').nth(1).unwrap().to_string();
    lienthong::auth::revoke_token(&t.hub.state().store, &id).unwrap();
    let got = refusal("revoked token", answer(t.adapters(&revoked)).await);
    expect(&got, 401, "auth.revoked");
    let expired = lienthong::auth::create_token_until(
        &t.hub.state().store,
        REGISTER,
        lienthong::auth::Role::Provider,
        Some("2026-01-01T00:00:00.000Z".into()),
    )
    .unwrap()
    .bearer();
    let got = refusal("expired token", answer(t.adapters(&expired)).await);
    expect(&got, 401, "auth.expired");
    t.hub.shutdown().await.unwrap();
}

/// A client that trickles its request head is cut off at the head time-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_request_head_is_cut_off() {
    let t = Target::start().await;
    let addr = t.url.trim_start_matches("http://").to_string();
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
    t.hub.shutdown().await.unwrap();
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
