//! Once-only pulls through a real hub on loopback, against the simulated population register:
//! the policy matrix, batches with partial failures, the cache and its expiry, rate limits,
//! the register down, signatures checked with an independent Ed25519 implementation (AWS-LC),
//! and every pull and denial in the audit log.

mod common;

use base64::Engine as _;
use common::child::{lienthong, output_async};
use common::hub::{ADMIN, HATINH, LABOUR, PORTAL, copy_dir, token};
use common::repo_path;
use lienthong::sim::population::Population;
use serde_json::{Value, json};
use std::path::Path;

const KNOWN: &str = "042192004518";

fn policy(dir: &Path) -> std::path::PathBuf {
    let text = r#"
[purposes]
employment-support = "Hỗ trợ việc làm"
dossier-processing = "Giải quyết thủ tục hành chính"

[sources]
citizen = "population-registry"

[cache_ttl_secs]
citizen = 1

[limits]
per_minute = 1000

[limits.members]
"000.00.00.G22" = 3

[[grants]]
member = "000.00.00.G07"
record_type = "citizen"
purpose = "employment-support"
fields = ["full_name", "birth_date", "sex", "permanent_address"]

[[grants]]
member = "000.00.00.G22"
record_type = "citizen"
purpose = "dossier-processing"
fields = ["full_name"]

[[grants]]
member = "000.00.00.G07"
record_type = "document"
purpose = "employment-support"
fields = ["document_id", "document_type", "issuing_agency", "issued_at"]
"#;
    let p = dir.join("policies.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The simulated register on loopback with `n` citizens (seed 42), and the population-registry
/// adapter in `adapters` pointed at it.
async fn start_register(n: usize, adapters: &Path) -> Population {
    let register = Population::new(42, n);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dancu", listener.local_addr().unwrap());
    register.serve(listener);
    let file = adapters.join("population-registry.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("http://127.0.0.1:8701/dancu", &url);
    std::fs::write(&file, text).unwrap();
    register
}

struct Answer {
    status: u16,
    body: Value,
    text: String,
    signature: Option<String>,
    key: Option<String>,
    retry_after: Option<String>,
}

async fn call(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (signature, key, retry_after) = (
        h("lienthong-signature"),
        h("lienthong-key"),
        h("retry-after"),
    );
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        signature,
        key,
        retry_after,
    }
}

/// A hub with the simulated register (50 citizens) behind a short time-out, so that a slow
/// register is found slow quickly, the test policy, and tokens of the members that pull.
struct Pulls {
    _dir: tempfile::TempDir,
    hub: lienthong::server::Hub,
    register: Population,
    url: String,
    labour: String,
    portal: String,
    provider: String,
    auditor: String,
    c: reqwest::Client,
}

impl Pulls {
    async fn start() -> Pulls {
        let dir = tempfile::tempdir().unwrap();
        let adapters = dir.path().join("adapters");
        copy_dir(&repo_path("adapters"), &adapters);
        let register = start_register(50, &adapters).await;
        let file = adapters.join("population-registry.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("timeout_ms = 3000"));
        std::fs::write(&file, text.replace("timeout_ms = 3000", "timeout_ms = 400")).unwrap();
        let policies = policy(dir.path());
        let hub = common::hub::start(&dir.path().join("store"), |c| {
            c.server.adapters_dir = adapters;
            c.server.policies_file = policies;
        })
        .await;
        Pulls {
            url: hub.url(),
            labour: token(&hub, LABOUR, "consumer"),
            portal: token(&hub, PORTAL, "consumer"),
            provider: token(&hub, HATINH, "provider"),
            auditor: token(&hub, ADMIN, "auditor"),
            c: reqwest::Client::new(),
            register,
            hub,
            _dir: dir,
        }
    }

    /// GETs `path` of the hub with `tok`.
    async fn get(&self, tok: &str, path: &str) -> Answer {
        call(
            self.c
                .get(format!("{}{path}", self.url))
                .bearer_auth(tok.to_string()),
        )
        .await
    }

    /// POSTs a batch to `/v1/citizens:batch` with `tok`.
    async fn batch(&self, tok: &str, body: Value) -> Answer {
        call(
            self.c
                .post(format!("{}/v1/citizens:batch", self.url))
                .bearer_auth(tok.to_string())
                .json(&body),
        )
        .await
    }

    /// A pull of `id` by the labour ministry for employment support.
    async fn employment_support(&self, id: &str) -> Answer {
        self.get(
            &self.labour,
            &format!("/v1/citizens/{id}?purpose=employment-support"),
        )
        .await
    }

    async fn shutdown(self) {
        self.hub.shutdown().await.unwrap();
    }
}

/// The hub's published signing key, as ed25519-dalek reads it (an implementation the hub
/// does not sign with: it signs with AWS-LC), and the key's name (`verifier_key`).
async fn published_key(fx: &Pulls) -> (ed25519_dalek::VerifyingKey, Option<String>) {
    let keys: Value =
        fx.c.get(format!("{}/v1/keys", fx.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let public = b64()
        .decode(keys["keys"][0]["public_key"].as_str().unwrap())
        .unwrap();
    let public: [u8; 32] = public.try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    let name = keys["keys"][0]["verifier_key"].as_str().map(str::to_string);
    (key, name)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Checks an Ed25519 signature over `bytes`.
fn verify(
    key: &ed25519_dalek::VerifyingKey,
    bytes: &[u8],
    sig: &[u8],
) -> Result<(), ed25519_dalek::SignatureError> {
    key.verify_strict(bytes, &ed25519_dalek::Signature::from_slice(sig).unwrap())
}

/// The labour ministry's pull of `KNOWN` for employment support: only the granted fields, the
/// rest listed as withheld, with provenance.
async fn granted_pull(fx: &Pulls) -> Answer {
    let a = fx.employment_support(KNOWN).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let data = a.body["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "birth_date",
            "full_name",
            "permanent_address",
            "personal_id",
            "sex"
        ]
    );
    assert_eq!(data["full_name"], "Nguyễn Thị Hồng Nhung");
    for w in ["religion", "ethnicity", "hometown", "household"] {
        assert!(
            a.body["withheld"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == w),
            "{w} withheld: {}",
            a.body
        );
    }
    let p = &a.body["provenance"];
    assert_eq!(p["source"], "population-registry");
    assert_eq!(p["schema"], "citizen.v1");
    assert_eq!(p["from_cache"], false);
    assert_eq!(p["purpose"], "employment-support");
    a
}

/// Fields asked for: the ungranted one withheld; none granted, no grant, no purpose, not a
/// consumer: denied, each with its code; a malformed personal ID refused as such.
async fn withheld_and_denied(fx: &Pulls) {
    let a = fx
        .get(
            &fx.labour,
            &format!("/v1/citizens/{KNOWN}?purpose=employment-support&fields=full_name,religion"),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["withheld"], json!(["religion"]));
    assert_eq!(
        a.body["data"].as_object().unwrap().len(),
        2,
        "personal_id and full_name: {}",
        a.body
    );
    for (tok, path, status, code) in [
        (
            &fx.labour,
            "?purpose=employment-support&fields=religion",
            403,
            "policy.no-field",
        ),
        (
            &fx.labour,
            "?purpose=curiosity",
            403,
            "policy.unknown-purpose",
        ),
        (
            &fx.labour,
            "?purpose=dossier-processing",
            403,
            "policy.no-grant",
        ),
        (&fx.labour, "", 400, "pull.purpose"),
        (
            &fx.provider,
            "?purpose=employment-support",
            403,
            "auth.role",
        ),
    ] {
        let a = fx.get(tok, &format!("/v1/citizens/{KNOWN}{path}")).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (status, Some(code)),
            "{path}: {}",
            a.text
        );
    }
    let a = fx.employment_support("12345").await;
    assert_eq!(a.body["code"], "pull.personal-id");
}

/// A batch of one known, one unknown and one malformed ID: partial results, each with its
/// error, signed; a batch over the size limit refused.
async fn batch(fx: &Pulls) {
    let (key, _) = published_key(fx).await;
    let unknown = "001099999999";
    let a = fx
        .batch(
            &fx.labour,
            json!({"purpose": "employment-support", "ids": [KNOWN, unknown, "04219200451X"], "fields": ["full_name"]}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body["summary"],
        json!({"asked": 3, "answered": 1, "failed": 2})
    );
    let r = a.body["results"].as_array().unwrap();
    assert_eq!(r[0]["data"]["full_name"], "Nguyễn Thị Hồng Nhung");
    assert_eq!(r[1]["error"]["code"], "pull.not-found");
    assert_eq!(r[1]["error"]["status"], 404);
    assert_eq!(r[2]["error"]["code"], "pull.personal-id");
    assert_eq!(r[2]["error"]["status"], 400);
    let sig = b64().decode(a.signature.unwrap()).unwrap();
    verify(&key, a.text.as_bytes(), &sig).unwrap();
    let too_many: Vec<String> = (0..1001).map(|_| KNOWN.to_string()).collect();
    let a = fx
        .batch(
            &fx.labour,
            json!({"purpose": "employment-support", "ids": too_many}),
        )
        .await;
    assert_eq!(a.body["code"], "pull.batch-size");
}

/// The register down: the pull of `other` is answered 503 with the cause.
async fn register_down(fx: &Pulls, other: &str) {
    fx.register.set_down(true);
    let a = fx.employment_support(other).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(a.body["code"], "upstream.unavailable");
    assert!(
        a.body["detail"].as_str().unwrap().contains("503"),
        "{}",
        a.text
    );
    assert!(a.retry_after.is_some());
    fx.register.set_down(false);
}

/// The portal's member: a batch bigger than its whole allowance can never be answered and is
/// refused as such; it may make 3 pulls a minute, the 4th is answered 429.
async fn portal_limits(fx: &Pulls) {
    let a = fx
        .batch(
            &fx.portal,
            json!({"purpose": "dossier-processing", "ids": [KNOWN, KNOWN, KNOWN, KNOWN]}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (403, Some("pull.batch-over-limit")),
        "{}",
        a.text
    );
    for n in 0..4 {
        let a = fx
            .get(
                &fx.portal,
                &format!("/v1/citizens/{KNOWN}?purpose=dossier-processing"),
            )
            .await;
        if n < 3 {
            assert_eq!(a.status, 200, "{}", a.text);
        } else {
            assert_eq!(a.status, 429, "{}", a.text);
            assert_eq!(a.body["code"], "pull.rate-limited");
            assert!(a.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_answers_only_the_granted_fields_with_provenance() {
    let fx = Pulls::start().await;
    granted_pull(&fx).await;
    fx.shutdown().await;
}

/// AWS-LC's Ed25519 signs; ed25519-dalek checks the signature over the body's bytes with the
/// published key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_is_signed_over_its_canonical_bytes_with_the_published_key() {
    let fx = Pulls::start().await;
    let a = granted_pull(&fx).await;
    let (key, name) = published_key(&fx).await;
    assert_eq!(a.key, name, "the answer names the published key");
    let sig = b64().decode(a.signature.clone().unwrap()).unwrap();
    verify(&key, a.text.as_bytes(), &sig).unwrap();
    // The body is its own RFC 8785 form, so re-canonicalising gives the same bytes.
    assert_eq!(
        serde_json_canonicalizer::to_string(&a.body).unwrap(),
        a.text
    );
    let mut forged = a.text.clone().into_bytes();
    let at = a.text.find("Nhung").unwrap();
    forged[at] = b'M';
    assert!(verify(&key, &forged, &sig).is_err());
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungranted_fields_are_withheld_and_pulls_outside_the_policy_are_denied_with_their_code() {
    let fx = Pulls::start().await;
    withheld_and_denied(&fx).await;
    fx.shutdown().await;
}

/// A second read within the TTL does not reach the register; after it, it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_record_is_served_within_its_ttl_and_fetched_again_after_it() {
    let fx = Pulls::start().await;
    let id = fx.register.ids()[0].clone();
    let before = fx.register.asked();
    let first = fx.employment_support(&id).await;
    let second = fx.employment_support(&id).await;
    assert_eq!(first.body["provenance"]["from_cache"], false);
    assert_eq!(second.body["provenance"]["from_cache"], true);
    assert_eq!(second.body["data"], first.body["data"]);
    assert_eq!(fx.register.asked(), before + 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = fx.employment_support(&id).await;
    assert_eq!(third.body["provenance"]["from_cache"], false);
    assert_eq!(fx.register.asked(), before + 2);
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_each_id_with_its_record_or_its_error() {
    let fx = Pulls::start().await;
    batch(&fx).await;
    fx.shutdown().await;
}

/// The register down: 503 with the cause, and the failure recorded in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_is_down_is_answered_503_with_the_cause_and_recorded() {
    let fx = Pulls::start().await;
    let other = fx.register.ids()[1].clone();
    register_down(&fx, &other).await;
    let failed: Value = common::hub::get_json(
        &fx.c,
        format!("{}/v1/audit/entries?subject={other}&outcome=failed", fx.url),
        &fx.auditor,
    )
    .await;
    assert_eq!(failed["entries"][0]["error_code"], "upstream.unavailable");
    fx.shutdown().await;
}

/// The register slow (past the adapter's time-out): 503 saying so, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_slower_than_its_time_out_is_answered_503_not_a_hang() {
    let fx = Pulls::start().await;
    fx.register.set_latency_ms(1_000);
    let third = fx.register.ids()[2].clone();
    let a = fx.employment_support(&third).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(a.body["code"], "upstream.unavailable");
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("no answer within 400 ms"),
        "{}",
        a.text
    );
    fx.register.set_latency_ms(0);
    fx.shutdown().await;
}

/// The register redirecting elsewhere: not followed (the personal ID would go where the
/// adapter does not say), a 503 naming where it pointed, without the query's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_the_register_is_not_followed() {
    let fx = Pulls::start().await;
    let elsewhere = Population::new(7, 1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_url = format!("http://{}/dancu", listener.local_addr().unwrap());
    elsewhere.serve(listener);
    fx.register.set_redirect(Some(&elsewhere_url));
    let fourth = fx.register.ids()[3].clone();
    let a = fx.employment_support(&fourth).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(a.body["code"], "upstream.unavailable");
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "a redirect to {elsewhere_url}/citizens/{fourth}: not followed"
        )),
        "{detail}"
    );
    assert!(!detail.contains("s3cr3t"), "{detail}");
    assert_eq!(elsewhere.asked(), 0, "the redirect was followed");
    fx.register.set_redirect(None);
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_held_to_its_rate_limit_and_a_batch_over_its_allowance_is_refused() {
    let fx = Pulls::start().await;
    portal_limits(&fx).await;
    fx.shutdown().await;
}

/// Every pull and denial is in the audit log, with purpose and disclosed fields: after the
/// granted pull, the withheld and denied ones, a batch, and the portal's pulls up to its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pull_and_denial_is_in_the_audit_log_with_purpose_and_fields() {
    let fx = Pulls::start().await;
    granted_pull(&fx).await;
    withheld_and_denied(&fx).await;
    batch(&fx).await;
    portal_limits(&fx).await;
    let page: Value = common::hub::get_json(
        &fx.c,
        format!("{}/v1/audit/entries?subject={KNOWN}&limit=100", fx.url),
        &fx.auditor,
    )
    .await;
    let entries = page["entries"].as_array().unwrap();
    let count = |op: &str, outcome: &str| {
        entries
            .iter()
            .filter(|e| e["operation"] == op && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("pull", "allowed"), 6, "{page}");
    // no-field, unknown purpose, no grant, no purpose, not a consumer.
    assert_eq!(count("deny", "denied"), 5, "{page}");
    assert_eq!(count("deny", "rate-limited"), 1, "{page}");
    let first = entries.iter().find(|e| e["operation"] == "pull").unwrap();
    assert_eq!(first["purpose"], "employment-support");
    assert_eq!(first["actor"], LABOUR);
    assert!(
        first["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "full_name")
    );
    fx.shutdown().await;
}

/// The operator's explanation of a decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_explains_a_decision_to_the_operator() {
    let fx = Pulls::start().await;
    let explain = format!(
        "{}/v1/policy/explain?member={LABOUR}&purpose=employment-support&fields=full_name,religion",
        fx.url
    );
    let e: Value = common::hub::get_json(&fx.c, explain, &fx.auditor).await;
    assert_eq!(e["decision"], "allowed");
    assert_eq!(e["withheld"], json!(["religion"]));
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossiers_are_checked_against_the_register_and_completed_on_ingest() {
    let portal = common::destination::Destination::start().await;
    let dir = tempfile::tempdir().unwrap();
    let adapters = common::hub::adapters_for_relay(dir.path(), &portal.url, 5);
    start_register(10, &adapters).await;
    let policies = policy(dir.path());
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.server.adapters_dir = adapters;
        c.server.policies_file = policies;
        for r in &mut c.routes {
            if r.record_type == "dossier" {
                r.once_only = lienthong::config::hub::OnceOnlyMode::Enrich;
            }
        }
    })
    .await;
    let url = hub.url();
    let provider = token(&hub, HATINH, "provider");
    let auditor = token(&hub, ADMIN, "auditor");
    let c = reqwest::Client::new();
    let sample =
        std::fs::read_to_string(repo_path("adapters/samples/motcua-hatinh/dossier.xml")).unwrap();
    let variant = |n: usize, from: &str, to: &str| {
        sample
            .replace(
                "000.00.10.H42-250915-0001",
                &format!("000.00.10.H42-250915-{n:04}"),
            )
            .replace(from, to)
    };
    let cases = [
        (variant(1, "", ""), vec![]),
        (
            variant(2, "<hs:Ho>Nguyễn</hs:Ho>", "<hs:Ho>Nguyen</hs:Ho>"),
            vec!["mismatch.full_name"],
        ),
        (
            variant(
                3,
                "<hs:NgaySinh>14/05/1992</hs:NgaySinh>",
                "<hs:NgaySinh>14/06/1992</hs:NgaySinh>",
            ),
            vec!["mismatch.birth_date"],
        ),
        (
            variant(4, "<hs:NgaySinh>14/05/1992</hs:NgaySinh>", ""),
            vec!["filled.birth_date"],
        ),
        (
            variant(5, "042192004518", "042192004519"),
            vec!["unverified.not-in-register"],
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let r = c
            .post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
            .bearer_auth(&provider)
            .header("content-type", "application/xml")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            status, 202,
            "case {i}: a finding never blocks the dossier: {v}"
        );
        let codes: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(&codes, want, "case {i}: {v}");
    }
    // Every dossier, findings or not, reached the portal.
    common::hub::wait_for(20, "5 deliveries", || portal.applied() == 5).await;
    let received = portal.log.lock().unwrap().received.len();
    assert!(received >= 5);
    // Every finding is in the audit log, with the exchange it belongs to.
    let page: Value = common::hub::get_json(
        &c,
        format!("{url}/v1/audit/entries?operation=verify"),
        &auditor,
    )
    .await;
    let entries = page["entries"].as_array().unwrap();
    // A register that agreed is an entry too: it was asked about the citizen.
    let matched: Vec<&Value> = entries
        .iter()
        .filter(|e| e["outcome"] == "matched")
        .collect();
    assert!(!matched.is_empty(), "{page}");
    for m in &matched {
        assert_eq!(m["error_code"], Value::Null, "{m}");
        assert_eq!(m["fields"], serde_json::json!(["/applicant"]), "{m}");
    }
    let mut outcomes: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["outcome"] != "matched")
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_string(),
                e["error_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("filled".to_string(), "filled.birth_date".to_string()),
            ("mismatch".to_string(), "mismatch.birth_date".to_string()),
            ("mismatch".to_string(), "mismatch.full_name".to_string()),
            (
                "unverified".to_string(),
                "unverified.not-in-register".to_string()
            ),
        ]
    );
    hub.shutdown().await.unwrap();
}

/// Document reuse, set up: a hub with the register, the test policy and a portal; a dossier
/// that uploads a business certificate (before the state's copy is known, an upload is just an
/// upload), the province's issued certificate, then the same upload again in a second dossier.
struct Reuse {
    _dir: tempfile::TempDir,
    hub: lienthong::server::Hub,
    portal: common::destination::Destination,
    url: String,
    auditor: String,
    labour: String,
    c: reqwest::Client,
    /// The hub's answer to the second dossier.
    second: Value,
}

impl Reuse {
    async fn start() -> Reuse {
        let portal = common::destination::Destination::start().await;
        let dir = tempfile::tempdir().unwrap();
        let adapters = common::hub::adapters_for_relay(dir.path(), &portal.url, 5);
        start_register(10, &adapters).await;
        let policies = policy(dir.path());
        let hub = common::hub::start(&dir.path().join("store"), |c| {
            c.server.adapters_dir = adapters;
            c.server.policies_file = policies;
        })
        .await;
        let url = hub.url();
        let provider = token(&hub, HATINH, "provider");
        let c = reqwest::Client::new();
        let post = |record_type: &'static str, body: String| {
            c.post(format!("{url}/v1/ingest/motcua-hatinh/{record_type}"))
                .bearer_auth(&provider)
                .header("content-type", "application/xml")
                .body(body)
                .send()
        };
        let certificate = "Giấy chứng nhận đăng ký hộ kinh doanh";
        let sample =
            std::fs::read_to_string(repo_path("adapters/samples/motcua-hatinh/dossier.xml"))
                .unwrap();
        let dossier = |n: usize| {
            sample
                .replace(
                    "000.00.10.H42-250915-0001",
                    &format!("000.00.10.H42-250916-{n:04}"),
                )
                .replace(
                    "<hs:LoaiGiayTo>Hợp đồng thuê mặt bằng kinh doanh</hs:LoaiGiayTo>",
                    &format!("<hs:LoaiGiayTo>{certificate}</hs:LoaiGiayTo>"),
                )
        };
        let v: Value = post("dossier", dossier(1))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["findings"], serde_json::json!([]), "{v}");
        // The province issues the certificate and pushes its digitised result.
        let document =
            std::fs::read_to_string(repo_path("adapters/samples/motcua-hatinh/document.xml"))
                .unwrap();
        let r = post("document", document).await.unwrap();
        assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
        let second: Value = post("dossier", dossier(2))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Reuse {
            auditor: token(&hub, ADMIN, "auditor"),
            labour: token(&hub, LABOUR, "consumer"),
            url,
            c,
            second,
            portal,
            hub,
            _dir: dir,
        }
    }
}

/// An issued document, ingested once, makes a later upload of the same type by the same person
/// a `requested-again` finding, and the dossier carries the reusable document's id to the
/// portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_the_state_issued_is_found_when_it_is_asked_for_again() {
    let fx = Reuse::start().await;
    let v = &fx.second;
    let f = &v["findings"][0];
    assert_eq!(f["code"], "requested-again", "{v}");
    assert_eq!(f["field"], "/documents/1");
    assert_eq!(f["register"], "42A8001234");
    let portal = &fx.portal;
    common::hub::wait_for(20, "2 dossiers delivered", || portal.applied() >= 2).await;
    let second = portal
        .log
        .lock()
        .unwrap()
        .received
        .iter()
        .find(|r| r.dossier == "000.00.10.H42-250916-0002")
        .map(|r| r.record.clone())
        .expect("the second dossier reached the portal");
    assert_eq!(
        second["TaiLieuNop"][1]["DuongDanTepTin"], "42A8001234",
        "{second}"
    );
    fx.hub.shutdown().await.unwrap();
}

/// A ministry reads the person's documents under its grant, and not for another purpose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ministry_reads_a_persons_issued_documents_under_its_grant() {
    let fx = Reuse::start().await;
    let (c, url) = (&fx.c, &fx.url);
    let r = c
        .get(format!(
            "{url}/v1/citizens/042192004518/documents?purpose=employment-support"
        ))
        .bearer_auth(&fx.labour)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().contains_key("lienthong-signature"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["document_id"], "42A8001234", "{v}");
    assert!(v["data"][0].get("content_hash").is_none(), "withheld: {v}");
    let r = c
        .get(format!(
            "{url}/v1/citizens/042192004518/documents?purpose=social-insurance"
        ))
        .bearer_auth(&fx.labour)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    fx.hub.shutdown().await.unwrap();
}

/// The once-only report counts dossiers, documents asked for again and documents reused, per
/// agency and procedure, from a day on; for auditors, over HTTP and from the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_once_only_report_counts_it_all_per_agency_and_procedure() {
    let fx = Reuse::start().await;
    let (c, url, auditor) = (&fx.c, &fx.url, &fx.auditor);
    // Two dossiers of one procedure at one agency, one upload asked for again.
    let r: Value = common::hub::get_json(c, format!("{url}/v1/onceonly/report"), auditor).await;
    assert_eq!(r["total"]["dossiers"], 2, "{r}");
    assert_eq!(r["total"]["requested_again"], 1, "{r}");
    assert_eq!(r["total"]["reused"], 2, "{r}");
    assert_eq!(r["groups"][0]["receiving_agency"], "000.00.10.H42");
    assert_eq!(r["groups"][0]["procedure_code"], "1.001612");
    let r = c
        .get(format!(
            "{url}/v1/onceonly/report?since=2999-01-01T00:00:00Z"
        ))
        .bearer_auth(auditor)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"]["dossiers"], 0, "{v}");
    // Counts are kept by the day (Vietnam time): the report says where it starts.
    assert_eq!(v["counted_from"], "2999-01-01T00:00:00+07:00", "{v}");
    let r = c
        .get(format!("{url}/v1/onceonly/report"))
        .bearer_auth(&fx.labour)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "auditors only");
    // The same report from the command line.
    let mut report = lienthong();
    report.args(["onceonly", "report", "--hub", url, "--token", auditor]);
    let out = output_async(report).await;
    let text = out.stdout;
    assert!(out.code == 0, "{text}");
    let total = text
        .lines()
        .find(|l| l.starts_with("total"))
        .expect("a total line");
    let numbers: Vec<&str> = total.split_whitespace().skip(1).collect();
    // Each dossier also carries a land-use certificate the state issued (reused, not asked).
    assert_eq!(numbers, ["2", "0", "0", "1", "2"], "{text}");
    fx.hub.shutdown().await.unwrap();
}

/// Change propagation: the register pushes a changed citizen record; a route with a purpose
/// shares it with each subscriber as far as the policy grants that subscriber's member, and
/// with none that has no grant; both are in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_the_register_reaches_subscribers_as_far_as_their_grants_go() {
    use std::sync::{Arc, Mutex};
    // A subscriber's receiving end: keeps what it is sent.
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/{*rest}",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink = format!("http://{}/cases", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let portal = common::destination::Destination::start().await;
    let dir = tempfile::tempdir().unwrap();
    let adapters = common::hub::adapters_for_relay(dir.path(), &portal.url, 5);
    // Two subscribers that keep a copy of citizens: the labour ministry's case system, which
    // has a grant for employment support, and the portal's member, which has none for it.
    let register = std::fs::read_to_string(adapters.join("population-registry.toml")).unwrap();
    let register = register[..register.find("# Once-only pulls read one citizen").unwrap()]
        .to_string()
        + &register[register.find("[json.limits]").unwrap()..];
    for (name, member) in [("labour-cases", LABOUR), ("portal-copy", PORTAL)] {
        let text = register
            .replace(
                "name = \"population-registry\"",
                &format!("name = \"{name}\""),
            )
            .replace(
                "member = \"000.00.00.G12\"",
                &format!("member = \"{member}\""),
            )
            .replace("http://127.0.0.1:8701/dancu", &sink)
            .replace("provides = [\"citizen\"]", "provides = []")
            .replace("consumes = []", "consumes = [\"citizen\"]");
        std::fs::write(adapters.join(format!("{name}.toml")), text).unwrap();
    }
    let policies = policy(dir.path());
    let hub = common::hub::start(&dir.path().join("store"), |c| {
        c.server.adapters_dir = adapters;
        c.server.policies_file = policies;
        c.routes.push(lienthong::config::hub::RouteConfig {
            record_type: "citizen".into(),
            from_adapters: vec!["population-registry".into()],
            agencies: vec![],
            to: vec!["labour-cases".into(), "portal-copy".into()],
            order_key: "/personal_id".into(),
            once_only: Default::default(),
            purpose: Some("employment-support".into()),
        });
    })
    .await;
    let url = hub.url();
    let register_token = token(&hub, common::hub::REGISTER, "provider");
    let auditor = token(&hub, ADMIN, "auditor");
    let c = reqwest::Client::new();
    let change = std::fs::read_to_string(repo_path(
        "adapters/samples/population-registry/citizen.json",
    ))
    .unwrap()
    .replace("Số 12 đường Hà Huy Tập", "Số 40 đường Trần Phú");
    let r = c
        .post(format!("{url}/v1/ingest/population-registry/citizen"))
        .bearer_auth(&register_token)
        .header("content-type", "application/json")
        .body(change)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["destinations"], json!(["labour-cases"]), "{v}");
    common::hub::wait_for(20, "the labour ministry's copy", || {
        !got.lock().unwrap().is_empty()
    })
    .await;
    let sent = got.lock().unwrap()[0].to_string();
    assert!(
        sent.contains(KNOWN) && sent.contains("Số 40 đường Trần Phú"),
        "{sent}"
    );
    // Outside the grant: religion, ethnicity, household.
    for withheld in ["tonGiao", "danToc", "hoGiaDinh"] {
        assert!(!sent.contains(withheld), "{withheld} was shared: {sent}");
    }
    let page: Value = common::hub::get_json(
        &c,
        format!("{url}/v1/audit/entries?operation=share"),
        &auditor,
    )
    .await;
    let mut seen: Vec<(String, String)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["counterparty"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (LABOUR.to_string(), "allowed".to_string()),
            (PORTAL.to_string(), "denied".to_string())
        ]
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "nothing went to the member without a grant"
    );
    hub.shutdown().await.unwrap();
}

/// The policy managed through the registry: an admin puts a new version in force at once, it
/// is recorded, and it stays in force over the file after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_through_the_registry_is_in_force_at_once_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let adapters = dir.path().join("adapters");
    copy_dir(&repo_path("adapters"), &adapters);
    start_register(5, &adapters).await;
    let policies = policy(dir.path());
    let store = dir.path().join("store");
    let configure = |adapters: std::path::PathBuf, policies: std::path::PathBuf| {
        move |c: &mut lienthong::config::hub::HubConfig| {
            c.server.adapters_dir = adapters;
            c.server.policies_file = policies;
        }
    };
    let hub = common::hub::start(&store, configure(adapters.clone(), policies.clone())).await;
    let url = hub.url();
    let admin = token(&hub, ADMIN, "admin");
    let auditor = token(&hub, ADMIN, "auditor");
    let labour = token(&hub, LABOUR, "consumer");
    let c = reqwest::Client::new();
    let pull = |url: String, t: String| {
        let c = c.clone();
        async move {
            c.get(format!(
                "{url}/v1/citizens/{KNOWN}?purpose=employment-support"
            ))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
        }
    };
    assert_eq!(pull(url.clone(), labour.clone()).await, 200);
    let shown: Value = common::hub::get_json(&c, format!("{url}/v1/policy"), &auditor).await;
    assert_eq!(shown["source"], "file", "{shown}");
    let put = |t: &str, body: String| {
        c.put(format!("{url}/v1/policy"))
            .bearer_auth(t)
            .body(body)
            .send()
    };
    // Only admins; only a policy that checks.
    let text = std::fs::read_to_string(&policies).unwrap();
    assert_eq!(
        put(&labour, text.clone()).await.unwrap().status().as_u16(),
        403
    );
    let r = put(&admin, text.replace("[purposes]", "[purposes]\nbroken ="))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "policy.invalid", "{v}");
    // The labour ministry's employment-support grant withdrawn: in force at once.
    let start = text
        .find("[[grants]]\nmember = \"000.00.00.G07\"\nrecord_type = \"citizen\"")
        .unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let withdrawn = format!("{}{}", &text[..start], &text[end..]);
    let r = put(&admin, withdrawn).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(pull(url.clone(), labour.clone()).await, 403);
    let page: Value = common::hub::get_json(
        &c,
        format!("{url}/v1/audit/entries?operation=policy"),
        &auditor,
    )
    .await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1, "{page}");
    hub.shutdown().await.unwrap();
    // After a restart the registry's version is still in force, over the file.
    let hub = common::hub::start(&store, configure(adapters, policies.clone())).await;
    let url = hub.url();
    assert_eq!(pull(url.clone(), labour).await, 403);
    let shown: Value = common::hub::get_json(&c, format!("{url}/v1/policy"), &auditor).await;
    assert_eq!(
        (shown["source"].as_str(), shown["version"].as_u64()),
        (Some("registry"), Some(1))
    );
    // The same through the command line: set the file's policy again as version 2.
    let mut set = lienthong();
    set.args(["policy", "set"])
        .arg(&policies)
        .args(["--hub", &url, "--token", &admin]);
    let out = output_async(set).await;
    let said = out.stdout;
    assert!(out.code == 0 && said.contains("policy version 2"), "{said}");
    assert_eq!(
        pull(url.clone(), token(&hub, LABOUR, "consumer")).await,
        200
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_record_outlives_a_restart_of_the_hub() {
    // The hub keeps cached records as values in memory in front of the store: after a
    // restart, memory is empty and the store still answers within the TTL.
    let dir = tempfile::tempdir().unwrap();
    let adapters = dir.path().join("adapters");
    copy_dir(&repo_path("adapters"), &adapters);
    let register = start_register(5, &adapters).await;
    let policies = policy(dir.path());
    let text = std::fs::read_to_string(&policies).unwrap();
    std::fs::write(&policies, text.replace("citizen = 1\n", "citizen = 600\n")).unwrap();
    let store = dir.path().join("store");
    let configure = |c: &mut lienthong::config::hub::HubConfig| {
        c.server.adapters_dir = adapters.clone();
        c.server.policies_file = policies.clone();
    };
    let path = format!("/v1/citizens/{KNOWN}?purpose=employment-support");
    let mut seen = Vec::new();
    for round in 0..2 {
        let hub = common::hub::start(&store, configure).await;
        let labour = token(&hub, LABOUR, "consumer");
        let c = reqwest::Client::new();
        for _ in 0..2 {
            let a = call(c.get(format!("{}{path}", hub.url())).bearer_auth(&labour)).await;
            assert_eq!(a.status, 200, "{}", a.text);
            seen.push(a.body["provenance"].clone());
        }
        assert_eq!(
            register.asked(),
            1,
            "round {round}: the register was asked once in all"
        );
        hub.shutdown().await.unwrap();
    }
    let from_cache: Vec<&Value> = seen.iter().map(|p| &p["from_cache"]).collect();
    assert_eq!(
        from_cache,
        [&json!(false), &json!(true), &json!(true), &json!(true)]
    );
    // The same fetch every time: its time is the register's answer's.
    assert!(
        seen.iter()
            .all(|p| p["retrieved_at"] == seen[0]["retrieved_at"])
    );
}
