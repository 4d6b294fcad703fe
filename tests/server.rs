//! A real hub on an ephemeral loopback port with a temporary data directory, over HTTP:
//! registering adapters, ingesting records, restarting, and malformed requests.

mod common;

use common::hub::{self, ADMIN, HATINH, LABOUR, REGISTER};
use common::repo_path;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap()
}

/// A registration body for the shipped population-registry adapter under another name.
fn registry_copy(name: &str) -> Value {
    let definition = read("adapters/population-registry.toml")
        .replace(
            "name = \"population-registry\"",
            &format!("name = \"{name}\""),
        )
        .replace(
            "http://127.0.0.1:8701/dancu",
            &format!("{}/dancu", closed_url()),
        );
    let mut samples = BTreeMap::new();
    for s in [
        "samples/population-registry/citizen.json",
        "samples/population-registry/citizen-partial-date.json",
    ] {
        samples.insert(s.to_string(), read(&format!("adapters/{s}")));
    }
    json!({"definition": definition, "samples": samples})
}

/// A loopback URL on which nothing listens: a port the OS handed out, then closed again (the
/// shipped adapter's fixed port may be in use on the machine running the tests).
fn closed_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    })
    .clone()
}

async fn problem(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = resp.json().await.unwrap();
    if !status.is_success() {
        assert_eq!(ct, "application/problem+json", "{status}: {body}");
        assert!(
            body["code"].is_string() && body["detail"].is_string(),
            "{body}"
        );
    }
    (status, body)
}

/// A hub with the shipped config on a new data directory, and tokens of an admin and of two
/// providers (Hà Tĩnh's one-stop system and the register).
struct Started {
    data: tempfile::TempDir,
    hub: lienthong::server::Hub,
    url: String,
    admin: String,
    hatinh: String,
    register_member: String,
    c: reqwest::Client,
}

impl Started {
    async fn new() -> Started {
        let data = tempfile::tempdir().unwrap();
        let hub = hub::start(data.path(), |_| {}).await;
        Started {
            url: hub.url(),
            admin: hub::token(&hub, ADMIN, "admin"),
            hatinh: hub::token(&hub, HATINH, "provider"),
            register_member: hub::token(&hub, REGISTER, "provider"),
            c: client(),
            hub,
            data,
        }
    }

    /// POSTs a registration to `/v1/adapters` with `token`.
    async fn register(&self, token: &str, body: &Value) -> reqwest::Response {
        self.c
            .post(format!("{}/v1/adapters", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a record to `/v1/ingest/{path}` with `token`.
    async fn ingest(&self, path: &str, token: &str, ct: &str, body: String) -> reqwest::Response {
        self.c
            .post(format!("{}/v1/ingest/{path}", self.url))
            .bearer_auth(token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// A valid adapter is registered as version 1, with the check and probe in the report; the
/// same again is unchanged; a changed definition is version 2.
async fn register_two_versions(fx: &Started) {
    let resp = fx
        .register(&fx.admin, &registry_copy("dancu-thu-nghiem"))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reg: Value = resp.json().await.unwrap();
    assert_eq!(reg["accepted"], true);
    assert_eq!(reg["version"], 1);
    assert_eq!(reg["check"]["samples"].as_array().unwrap().len(), 2);
    assert_eq!(
        reg["probe"]["reachable"], false,
        "nothing listens on the adapter's endpoint in this test"
    );
    let resp = fx
        .register(&fx.admin, &registry_copy("dancu-thu-nghiem"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["unchanged"], true);
    let mut v2 = registry_copy("dancu-thu-nghiem");
    v2["definition"] = json!(v2["definition"].as_str().unwrap().replace(
        "title = \"Cơ sở dữ liệu quốc gia về dân cư\"",
        "title = \"Thử nghiệm\""
    ));
    let resp = fx.register(&fx.admin, &v2).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.json::<Value>().await.unwrap()["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_adapters_are_loaded_at_start() {
    let fx = Started::new().await;
    let list: Value =
        fx.c.get(format!("{}/v1/adapters", fx.url))
            .bearer_auth(&fx.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let names: Vec<&str> = list["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["motcua-hatinh", "national-portal", "population-registry"]
    );
    fx.hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_adapter_is_registered_as_version_1_and_a_changed_one_as_version_2() {
    let fx = Started::new().await;
    register_two_versions(&fx).await;
    fx.hub.shutdown().await.unwrap();
}

/// An invalid adapter is refused with the reasons; samples that fail are refused too, each
/// with its errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_adapter_or_a_failing_sample_is_refused_with_the_reasons() {
    let fx = Started::new().await;
    let mut bad = registry_copy("dancu-hong");
    bad["definition"] = json!(
        bad["definition"]
            .as_str()
            .unwrap()
            .replace("canonical = \"/full_name\"", "canonical = \"/fullname\"")
    );
    let (status, body) = problem(fx.register(&fx.admin, &bad).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "adapter.invalid");
    let problems = body["registration"]["check"]["definition"].to_string();
    assert!(problems.contains("/fullname"), "{problems}");
    let mut bad_sample = registry_copy("dancu-mau-hong");
    bad_sample["samples"]["samples/population-registry/citizen.json"] = json!(
        read("adapters/samples/population-registry/citizen.json")
            .replace("14/05/1992", "31/02/1992")
    );
    let (status, body) = problem(fx.register(&fx.admin, &bad_sample).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["registration"]["check"]["samples"]
            .to_string()
            .contains("translate.date")
    );
    fx.hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_may_not_register_another_members_adapter() {
    let fx = Started::new().await;
    let (status, body) = problem(
        fx.register(&fx.hatinh, &registry_copy("dancu-cua-tinh"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    fx.hub.shutdown().await.unwrap();
}

/// Valid and invalid XML through the SOAP adapter, as a plain POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_record_is_accepted_with_its_digest_and_an_invalid_one_refused_with_its_error() {
    let fx = Started::new().await;
    let xml = read("adapters/samples/motcua-hatinh/dossier.xml");
    let resp = fx
        .ingest(
            "motcua-hatinh/dossier",
            &fx.hatinh,
            "application/xml",
            xml.clone(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let ok: Value = resp.json().await.unwrap();
    let golden: Value = serde_json::from_str(&read(
        "adapters/samples/motcua-hatinh/dossier.xml.canonical.json",
    ))
    .unwrap();
    assert_eq!(ok["digest"], lienthong::model::record_digest(&golden));
    assert!(ok["exchange_id"].as_str().unwrap().len() >= 32);
    let (status, body) = problem(
        fx.ingest(
            "motcua-hatinh/dossier",
            &fx.hatinh,
            "application/xml",
            xml.replace(
                "<hs:TrangThai>MOI</hs:TrangThai>",
                "<hs:TrangThai>?</hs:TrangThai>",
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "translate.code");
    assert_eq!(body["errors"][0]["pointer"], "/status");
    fx.hub.shutdown().await.unwrap();
}

/// Valid and invalid JSON through the register's adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_record_is_accepted_and_an_invalid_one_refused_with_its_error_and_exchange() {
    let fx = Started::new().await;
    let citizen = read("adapters/samples/population-registry/citizen.json");
    let resp = fx
        .ingest(
            "population-registry/citizen",
            &fx.register_member,
            "application/json",
            citizen.clone(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let (status, body) = problem(
        fx.ingest(
            "population-registry/citizen",
            &fx.register_member,
            "application/json",
            citizen.replace("\"gioiTinh\": \"2\"", "\"gioiTinh\": \"1\""),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "cross.id-sex-mismatch");
    assert!(body["exchange_id"].is_string());
    fx.hub.shutdown().await.unwrap();
}

/// Two versions registered and the adapter disabled; after a restart on the same data
/// directory the registry is as it was, and tokens still hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_and_the_tokens_are_kept_across_a_restart() {
    let fx = Started::new().await;
    register_two_versions(&fx).await;
    let resp =
        fx.c.post(format!("{}/v1/adapters/dancu-thu-nghiem/disable", fx.url))
            .bearer_auth(&fx.admin)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let Started {
        data,
        hub,
        admin,
        hatinh,
        c,
        ..
    } = fx;
    hub.shutdown().await.unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let shown: Value = c
        .get(format!("{url}/v1/adapters/dancu-thu-nghiem"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["versions"], json!([1, 2]));
    assert_eq!(shown["enabled"], false);
    assert!(shown["definition"].as_str().unwrap().contains("Thử nghiệm"));
    let v1: Value = c
        .get(format!("{url}/v1/adapters/dancu-thu-nghiem/versions/1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!v1["definition"].as_str().unwrap().contains("Thử nghiệm"));
    // Tokens survive too.
    let (status, body) = problem(
        c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
            .bearer_auth(&hatinh)
            .header("content-type", "application/xml")
            .body("<hs:HoSo xmlns:hs=\"urn:motcua:hatinh:hoso:1\"/>")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_roles_are_checked() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = client();
    let labour = hub::token(&hub, LABOUR, "consumer");
    let admin = hub::token(&hub, ADMIN, "admin");
    let xml = read("adapters/samples/motcua-hatinh/dossier.xml");
    let ingest = format!("{url}/v1/ingest/motcua-hatinh/dossier");
    // No credential, a malformed one, an unknown one: 401.
    for auth in [None, Some("Basic abc"), Some("Bearer lt_000000000000_nope")] {
        let mut req = c.post(&ingest).body(xml.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.headers().contains_key("www-authenticate"));
        let (status, _) = problem(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    // A consumer may not push: 403 naming the role.
    let (status, body) = problem(
        c.post(&ingest)
            .bearer_auth(&labour)
            .body(xml.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "auth.role");
    // Tokens created over the API work, and stop working when revoked.
    let created: Value = c
        .post(format!("{url}/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"member": HATINH, "role": "provider"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = created["token"].as_str().unwrap();
    let resp = c
        .post(&ingest)
        .bearer_auth(t)
        .body(xml.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = c
        .delete(format!(
            "{url}/v1/tokens/{}",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, body) = problem(
        c.post(&ingest)
            .bearer_auth(t)
            .body(xml)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "auth.revoked");
    // The token list never shows secrets.
    let list = c
        .get(format!("{url}/v1/tokens"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains(t.splitn(3, '_').nth(2).unwrap()), "{list}");
    hub.shutdown().await.unwrap();
}

/// A hub whose body limit is 64 KiB.
async fn with_a_64_kib_body_limit(data: &std::path::Path) -> lienthong::server::Hub {
    hub::start(data, |cfg| {
        cfg.limits.max_body_bytes = 64 * 1024;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_answers_5xx_to_a_malformed_request() {
    let data = tempfile::tempdir().unwrap();
    let hub = with_a_64_kib_body_limit(data.path()).await;
    let url = hub.url();
    let admin = hub::token(&hub, ADMIN, "admin");
    let hatinh = hub::token(&hub, HATINH, "provider");
    // A new connection a case: a malformed request may end its connection (a body over the
    // limit is not read), and a pooled one closed meanwhile would fail the next case's send.
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let big = vec![b'x'; 200 * 1024];
    type Case<'a> = (
        reqwest::Method,
        String,
        Option<&'a str>,
        Option<&'a str>,
        Vec<u8>,
    );
    let cases: Vec<Case> = vec![
        (
            reqwest::Method::POST,
            "/v1/adapters".into(),
            Some(&admin),
            Some("application/json"),
            b"{not json".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/adapters".into(),
            Some(&admin),
            Some("application/json"),
            b"{\"definition\": 5}".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/adapters".into(),
            Some(&admin),
            Some("application/toml"),
            b"name = [".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/adapters".into(),
            Some(&admin),
            Some("image/png"),
            b"\x89PNG".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/adapters".into(),
            Some(&admin),
            Some("text/plain"),
            vec![0xff, 0xfe],
        ),
        (
            reqwest::Method::POST,
            "/v1/ingest/motcua-hatinh/dossier".into(),
            Some(&hatinh),
            Some("application/xml"),
            vec![0xff, 0xfe, 0xfd],
        ),
        (
            reqwest::Method::POST,
            "/v1/ingest/motcua-hatinh/dossier".into(),
            Some(&hatinh),
            Some("application/xml"),
            big,
        ),
        (
            reqwest::Method::POST,
            "/v1/ingest/motcua-hatinh/nothing".into(),
            Some(&hatinh),
            None,
            b"<a/>".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/ingest/no-such/dossier".into(),
            Some(&hatinh),
            None,
            b"<a/>".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/ingest/motcua-hatinh".into(),
            Some(&hatinh),
            Some("text/xml"),
            b"<a/>".to_vec(),
        ),
        (
            reqwest::Method::GET,
            "/v1/ingest/motcua-hatinh/dossier".into(),
            None,
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/v1/ingest/population-registry?wsdl".into(),
            None,
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/v1/adapters/x/versions/abc".into(),
            Some(&admin),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/v1/adapters/x/versions/99999999999".into(),
            Some(&admin),
            None,
            vec![],
        ),
        (
            reqwest::Method::DELETE,
            "/v1/adapters".into(),
            Some(&admin),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/v1/../../etc/passwd".into(),
            None,
            None,
            vec![],
        ),
        (reqwest::Method::GET, "/nothing".into(), None, None, vec![]),
        (
            reqwest::Method::POST,
            "/v1/tokens".into(),
            Some(&admin),
            Some("application/json"),
            b"[]".to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/v1/tokens".into(),
            Some(&admin),
            Some("application/json"),
            b"{\"member\":\"x\",\"role\":\"admin\"}".to_vec(),
        ),
        (
            reqwest::Method::DELETE,
            "/v1/tokens/%00".into(),
            Some(&admin),
            None,
            vec![],
        ),
    ];
    for (method, path, token, ct, body) in cases {
        let mut req = c.request(method.clone(), format!("{url}{path}")).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_client_error(), "{method} {path}: {status} {text}");
    }
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_limit_is_431_and_a_body_over_it_413_naming_the_limit() {
    let data = tempfile::tempdir().unwrap();
    let hub = with_a_64_kib_body_limit(data.path()).await;
    let url = hub.url();
    let hatinh = hub::token(&hub, HATINH, "provider");
    let c = client();
    let big = vec![b'x'; 200 * 1024];
    // A head over the limit is 431.
    let resp = c
        .get(format!("{url}/healthz"))
        .header("x-filler", "y".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // The body limit names itself.
    let (status, body) = problem(
        c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
            .bearer_auth(&hatinh)
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("limits.max_body_bytes")
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_answer() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = client();
    assert_eq!(
        c.get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready: Value = c
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["adapters"], 3);
    let hatinh = hub::token(&hub, HATINH, "provider");
    c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
        .bearer_auth(&hatinh)
        .body("<!DOCTYPE x []><x/>")
        .send()
        .await
        .unwrap();
    let metrics = hub::metrics(&c, &url).await;
    assert!(
        metrics.contains(
            "lienthong_ingest_rejected_total{adapter=\"motcua-hatinh\",reason=\"xml.doctype\"} 1"
        ),
        "{metrics}"
    );
    let entries = hub::metric(&metrics, "lienthong_audit_entries")
        .unwrap_or_else(|| panic!("the audit log's size in {metrics}"));
    assert_eq!(entries, hub.state().relay.audit().size());
    assert!(metrics.contains("lienthong_http_requests_total{method=\"POST\",route=\"/v1/ingest/{adapter}/{record_type}\",status=\"422\"} 1") || metrics.contains("route=\"/v1/ingest/{adapter}/{record_type}\""), "{metrics}");
    let openapi: Value = c
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"].as_str().map(|s| &s[..3]), Some("3.1"));
    for path in [
        "/v1/adapters",
        "/v1/ingest/{adapter}/{record_type}",
        "/healthz",
        "/metrics",
        "/v1/tokens",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_cannot_take_over_or_re_enable_an_adapter() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = client();
    let admin = hub::token(&hub, ADMIN, "admin");
    let hatinh = hub::token(&hub, HATINH, "provider");
    let register = hub::token(&hub, REGISTER, "provider");
    // Hà Tĩnh rewrites the register's adapter as its own: refused, the owner decides.
    let mut takeover = registry_copy("population-registry");
    takeover["definition"] = json!(takeover["definition"].as_str().unwrap().replace(
        "member = \"000.00.00.G12\"",
        &format!("member = \"{HATINH}\"")
    ));
    let (status, body) = problem(
        c.post(format!("{url}/v1/adapters"))
            .bearer_auth(&hatinh)
            .json(&takeover)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("belongs to member 000.00.00.G12")
    );
    // The admin disables the register's adapter; its owner's new version stays disabled.
    let resp = c
        .post(format!("{url}/v1/adapters/population-registry/disable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut v2 = registry_copy("population-registry");
    v2["definition"] = json!(format!("{}\n# v2\n", v2["definition"].as_str().unwrap()));
    let resp = c
        .post(format!("{url}/v1/adapters"))
        .bearer_auth(&register)
        .json(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let shown: Value = c
        .get(format!("{url}/v1/adapters/population-registry"))
        .bearer_auth(&register)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["enabled"], false);
    // Ingest through it is refused while disabled, with the way out named.
    let (status, body) = problem(
        c.post(format!("{url}/v1/ingest/population-registry/citizen"))
            .bearer_auth(&register)
            .header("content-type", "application/json")
            .body(read("adapters/samples/population-registry/citizen.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains("/enable"));
    // A body in the wrong format is 415, naming what the adapter takes.
    let (status, body) = problem(
        c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
            .bearer_auth(&hatinh)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body["detail"].as_str().unwrap().contains("XML"));
    // Unauthenticated callers learn nothing about which adapters exist.
    let (status, _) = problem(
        c.post(format!("{url}/v1/ingest/no-such-adapter/x"))
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A path segment that is not UTF-8 is a problem+json 400, like every other error.
    let (status, body) = problem(
        c.get(format!("{url}/v1/adapters/%FF"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_time_and_concurrency_limits_answer_408_and_429_naming_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |cfg| {
        cfg.limits.request_timeout_ms = 300;
        cfg.limits.max_concurrency = 1;
    })
    .await;
    let addr = hub.addr();
    let token = hub::token(&hub, HATINH, "provider");
    // A client that announces a body and then stalls holds the only slot...
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /v1/ingest/motcua-hatinh/dossier HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-length: 1000\r\n\r\n<hs:HoSo"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // ...so another request is refused at once with 429 and Retry-After...
    let resp = client()
        .get(format!("{}/healthz", hub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let (_, body) = problem(resp).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("limits.max_concurrency")
    );
    // ...and the stalled one is answered 408 when its time is up.
    let mut answer = String::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_string(&mut answer),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("limits.request_timeout_ms"), "{answer}");
    // The slot is free again.
    let resp = client()
        .get(format!("{}/healthz", hub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_systems_convert_addresses_in_batches() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let token = hub::token(&hub, LABOUR, "consumer");
    let c = client();
    let resp = c
        .post(format!("{url}/v1/units:convert"))
        .bearer_auth(&token)
        .json(&json!([
            {"text": "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"},
            {"province": "Hà Nội", "district": "Ba Đình", "commune": "Cống Vị"},
            {"province": "42", "commune": "Thành Sen"},
            {"text": "Xã Không Có, Tỉnh Hà Tĩnh"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let statuses: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["converted", "ambiguous", "current", "unknown"]);
    assert_eq!(body["results"][0]["commune_code"], "00097");
    // Decomposed text (NFD), as one-stop systems send it, answers as composed text; a ward
    // not in the district written is unknown, never another ward.
    let nfd = |s: &str| -> String { unicode_normalization::UnicodeNormalization::nfd(s).collect() };
    let resp = c
        .post(format!("{url}/v1/units:convert"))
        .bearer_auth(&token)
        .json(&json!([
            {"province": nfd("Tỉnh Hà Tĩnh"), "district": nfd("Huyện Cẩm Xuyên"), "commune": nfd("Xã Cẩm Thạch")},
            {"text": nfd("Xã Cẩm Thạch, Huyện Cẩm Xuyên, Tỉnh Hà Tĩnh")},
            {"text": "Phường Hông Gai, Thành phố Hạ Long, Tỉnh Quảng Ninh"}
        ]))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let r = &body["results"];
    assert_eq!(r[0]["status"], "converted", "{body}");
    assert_eq!(r[0]["legacy"]["commune_code"], "18706", "{body}");
    assert_eq!(r[1], r[0], "{body}");
    assert_eq!(r[2]["status"], "unknown", "{body}");
    assert_eq!(r[2]["suggestions"][0], "Phường Hồng Gai", "{body}");
    // Too many, or a malformed address: refused with the reason.
    let many: Vec<Value> = (0..1001).map(|_| json!({"text": "x, y"})).collect();
    let (status, _) = problem(
        c.post(format!("{url}/v1/units:convert"))
            .bearer_auth(&token)
            .json(&many)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = problem(
        c.post(format!("{url}/v1/units:convert"))
            .bearer_auth(&token)
            .json(&json!([{"province": "Hà Nội"}]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains("address 0"));
    hub.shutdown().await.unwrap();
}

/// A pushed record with a field that does not translate and another the schema refuses is
/// answered with both errors at once, over REST and over SOAP, each naming the external place
/// to fix; the schema's "required" for the field that did not translate is not said twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_answers_every_error_of_a_record_at_once_over_rest_and_soap() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let hatinh = hub::token(&hub, HATINH, "provider");
    let register_member = hub::token(&hub, REGISTER, "provider");
    let c = client();

    let citizen = read("adapters/samples/population-registry/citizen.json")
        .replace("14/05/1992", "31/02/1992")
        .replace(",\n      \"quanHeVoiChuHo\": \"Vợ\"", "");
    let (status, body) = problem(
        c.post(format!("{url}/v1/ingest/population-registry/citizen"))
            .bearer_auth(&register_member)
            .header("content-type", "application/json")
            .body(citizen)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"],
        json!([
            {"pointer": "/birth_date", "code": "translate.date", "source": "/ngaySinh",
             "message": body["errors"][0]["message"]},
            {"pointer": "/household/relation", "code": "schema.required",
             "source": "/hoGiaDinh/quanHeVoiChuHo", "message": "relation is required"},
        ]),
        "{body}"
    );

    // The SOAP face: the Fault's detail lists both, the schema's with its source.
    let xml = read("adapters/samples/motcua-hatinh/dossier.xml")
        .replace("15/09/2025 08:42:10", "31/09/2025 08:42:10")
        .replace(
            "sha256:739f678b74120b13404fdb471d48be431fdfbd1a28cde8e55c491162aa3e1935",
            "sha256:not-a-digest",
        );
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-hatinh"))
        .bearer_auth(&hatinh)
        .header("content-type", "text/xml; charset=utf-8")
        .header(
            "SOAPAction",
            "\"urn:lienthong:ingest:motcua-hatinh:dossier\"",
        )
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fault = resp.text().await.unwrap();
    assert!(fault.contains("Fault"), "{fault}");
    let errors: Vec<&str> = fault.split("<lt:Error>").skip(1).collect();
    assert_eq!(errors.len(), 2, "{fault}");
    assert!(
        errors[0].contains("<lt:Pointer>/received_at</lt:Pointer>")
            && errors[0].contains("<lt:Code>translate.datetime</lt:Code>")
            && errors[0].contains("<lt:Source>hs:NgayTiepNhan</lt:Source>"),
        "{fault}"
    );
    assert!(
        errors[1].contains("<lt:Pointer>/documents/2/content_hash</lt:Pointer>")
            && errors[1].contains("<lt:Source>hs:MaBam</lt:Source>"),
        "{fault}"
    );
    hub.shutdown().await.unwrap();
}

/// Registration runs the same check as `adapter check`: its warnings come in the report, and
/// with `strict` they refuse the definition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_reports_mapping_warnings_and_refuses_them_under_strict() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let hatinh = hub::token(&hub, HATINH, "provider");
    let c = client();
    let submission = |strict: Option<bool>| {
        let mut body = json!({
            "definition": read(common::MISSPELT_ADAPTER),
            "samples": {"samples/ho-so.json": read("tests/adapters/samples/ho-so.json")},
        });
        if let Some(s) = strict {
            body["strict"] = json!(s);
        }
        body
    };

    let (status, body) = problem(
        c.post(format!("{url}/v1/adapters"))
            .bearer_auth(&hatinh)
            .json(&submission(Some(true)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "adapter.invalid");
    assert!(
        body["detail"].as_str().unwrap().contains("2 warning(s)"),
        "{body}"
    );
    let check = &body["registration"]["check"];
    assert_eq!(check["strict"], true);
    let paths: Vec<&str> = check["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/nguoiNop/soCCCD", "/nguoiNop/soCCD"], "{body}");

    // Without strict: registered, the warnings in the report.
    for strict in [None, Some(false)] {
        let resp = c
            .post(format!("{url}/v1/adapters"))
            .bearer_auth(&hatinh)
            .json(&submission(strict))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["accepted"], true, "{body}");
        assert_eq!(body["check"]["warnings"].as_array().unwrap().len(), 2);
        assert_eq!(
            body["check"]["warnings"][1]["code"],
            "mapping.not-in-samples"
        );
    }
    hub.shutdown().await.unwrap();
}
