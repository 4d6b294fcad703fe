//! Self-service over real HTTP: a province joins while the hub runs (a member added through the
//! API, its token, its adapter, its pushes), each provider sees and replays its own dead letters
//! and finds its own exchanges but never another member's, a consumer reads its own grants and
//! asks why its pulls would be allowed, the observer sees the hub's health and no personal
//! data, reads of personal data are audit entries, and a retired member is refused at once.

mod common;

use common::destination::{Destination, Mode};
use common::hub::{
    self, ADMIN, HATINH, LABOUR, PORTAL, adapters_for_relay, status_event, wait_for,
};
use common::repo_path;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The province that joins during the test.
const NEWCOMER: &str = "000.00.00.H40";

/// Sends a request with a bearer token and a JSON body; the status and the JSON answer.
async fn call(
    c: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn push(c: &reqwest::Client, url: &str, adapter: &str, token: &str, body: String) -> Value {
    let resp = c
        .post(format!("{url}/v1/ingest/{adapter}/dossier-status"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

/// The Hà Tĩnh adapter's definition, as another province's own.
fn newcomer_adapter() -> String {
    std::fs::read_to_string(repo_path("adapters/motcua-hatinh.toml"))
        .unwrap()
        .replace("name = \"motcua-hatinh\"", "name = \"motcua-h40\"")
        .replace(
            "member = \"000.00.00.H42\"",
            &format!("member = \"{NEWCOMER}\""),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_joins_and_each_provider_sees_only_its_own() {
    let portal = Destination::start().await;
    portal.set(Mode::Refuse);
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1);
    let hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters.clone()
    })
    .await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let admin = hub::token(&hub, ADMIN, "admin");
    let hatinh = hub::token(&hub, HATINH, "provider");

    // A member that is not there yet cannot be given a token.
    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/tokens"),
        &admin,
        Some(json!({"member": NEWCOMER, "role": "provider"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    // The province joins: added through the API, no restart.
    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/members"),
        &admin,
        Some(
            json!({"code": NEWCOMER, "name": "UBND tỉnh Quảng Trị", "roles": ["provider"],
                    "tls_names": ["motcua-h40"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["in_force"], true);
    assert_eq!(b["source"], format!("api:{ADMIN}"));
    // Bad forms are refused with what and why.
    for (body, status, code) in [
        (
            json!({"code": NEWCOMER, "roles": ["provider"]}),
            StatusCode::CONFLICT,
            "member.exists",
        ),
        (
            json!({"code": "H40", "roles": ["provider"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "member.code",
        ),
        (
            json!({"code": "000.00.00.H41", "roles": ["king"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "member.roles",
        ),
        (
            json!({"code": "000.00.00.H41", "roles": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "member.roles",
        ),
        (
            json!({"code": "000.00.00.H41", "roles": ["provider"], "tls_names": ["motcua-hatinh"]}),
            StatusCode::CONFLICT,
            "member.tls_names",
        ),
        (
            json!({"code": "000.00.00.H41", "roles": ["provider"], "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "request.json",
        ),
    ] {
        let (s, b) = call(
            &c,
            Method::POST,
            format!("{url}/v1/members"),
            &admin,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
    }
    // Only an admin adds members.
    let (s, _) = call(
        &c,
        Method::POST,
        format!("{url}/v1/members"),
        &hatinh,
        Some(json!({"code": "000.00.00.H41", "roles": ["provider"]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/tokens"),
        &admin,
        Some(json!({"member": NEWCOMER, "role": "provider"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let newcomer = b["token"].as_str().unwrap().to_string();

    // Its IT team registers its own adapter and pushes through it.
    let mut samples = serde_json::Map::new();
    for f in std::fs::read_dir(repo_path("adapters/samples/motcua-hatinh")).unwrap() {
        let f = f.unwrap().path();
        let name = format!(
            "samples/motcua-hatinh/{}",
            f.file_name().unwrap().to_string_lossy()
        );
        samples.insert(name, json!(std::fs::read_to_string(&f).unwrap()));
    }
    let resp = c
        .post(format!("{url}/v1/adapters"))
        .bearer_auth(&newcomer)
        .json(&json!({"definition": newcomer_adapter(), "samples": samples}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        resp.text().await.unwrap()
    );
    let theirs = push(
        &c,
        &url,
        "motcua-h40",
        &newcomer,
        status_event("000.00.10.H40-251201-0001", 0),
    )
    .await;
    let ours = push(
        &c,
        &url,
        "motcua-hatinh",
        &hatinh,
        status_event("000.00.10.H42-251201-0001", 0),
    )
    .await;
    // Hà Tĩnh may not push through another province's adapter.
    let resp = c
        .post(format!("{url}/v1/ingest/motcua-h40/dossier-status"))
        .bearer_auth(&hatinh)
        .header("content-type", "application/xml")
        .body(status_event("000.00.10.H42-251201-0002", 0))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The portal refuses both: two dead letters, one each.
    wait_for(20, "two dead letters", || {
        hub.state().store.dead_letters(None).unwrap().len() == 2
    })
    .await;
    let (s, all) = call(&c, Method::GET, format!("{url}/v1/dead"), &admin, None).await;
    assert_eq!(
        (s, all["total"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{all}"
    );
    let seq_of = |exchange: &Value| {
        all["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["exchange_id"] == exchange["exchange_id"])
            .unwrap_or_else(|| panic!("no dead letter of {exchange} in {all}"))["seq"]
            .as_u64()
            .unwrap()
    };
    let (our_seq, their_seq) = (seq_of(&ours), seq_of(&theirs));

    for (token, own, other, dossier) in [
        (&hatinh, our_seq, their_seq, "000.00.10.H42-251201-0001"),
        (&newcomer, their_seq, our_seq, "000.00.10.H40-251201-0001"),
    ] {
        let (s, list) = call(&c, Method::GET, format!("{url}/v1/dead"), token, None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(
            list["total"], 1,
            "a provider lists its own dead letter only: {list}"
        );
        assert_eq!(list["dead_letters"][0]["seq"], own);
        let (s, mine) = call(
            &c,
            Method::GET,
            format!("{url}/v1/dead/national-portal/{own}"),
            token,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(mine["record"]["dossier_code"], dossier);
        for (method, path) in [
            (
                Method::GET,
                format!("{url}/v1/dead/national-portal/{other}"),
            ),
            (
                Method::POST,
                format!("{url}/v1/dead/national-portal/{other}/replay"),
            ),
            (
                Method::DELETE,
                format!("{url}/v1/dead/national-portal/{other}"),
            ),
        ] {
            let (s, b) = call(&c, method.clone(), path.clone(), token, None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {b}");
            assert_eq!(b["code"], "auth.owner");
        }
    }
    // The other's dead letter is still there, untouched by the refused calls.
    assert_eq!(hub.state().store.dead_letters(None).unwrap().len(), 2);

    // Each provider finds its own exchange by id and by dossier code, not the other's.
    let ours_id = ours["exchange_id"].as_str().unwrap();
    let theirs_id = theirs["exchange_id"].as_str().unwrap();
    let (s, x) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges/{ours_id}"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_eq!(x["member"], HATINH);
    let steps: Vec<&str> = x["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["step"].as_str())
        .collect();
    assert!(steps.contains(&"received"), "{x}");
    assert!(steps.contains(&"parked as a dead letter"), "{x}");
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges/{theirs_id}"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("auth.owner")),
        "{b}"
    );
    let (s, found) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges?dossier_code=000.00.10.H42-251201-0001"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["exchanges"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["exchanges"][0]["exchange_id"], ours_id);
    // Asking by the other's dossier code finds nothing of the other's; naming the other member
    // is refused.
    let (s, found) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges?dossier_code=000.00.10.H40-251201-0001"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(
        (s, found["exchanges"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges?dossier_code=000.00.10.H40-251201-0001&member={NEWCOMER}"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("auth.member"))
    );
    // The admin finds the newcomer's exchange by time.
    let (s, found) = call(
        &c,
        Method::GET,
        format!("{url}/v1/exchanges?from=2020-01-01T00:00:00Z&member={NEWCOMER}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["exchanges"][0]["exchange_id"], theirs_id, "{found}");

    // A provider replays its own dead letter: delivered once the portal takes it.
    portal.set(Mode::Ok);
    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/dead/national-portal/{their_seq}/replay"),
        &newcomer,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    wait_for(20, "the replayed record delivered", || {
        portal.applied() == 1
    })
    .await;

    // Reading a dead letter's record is an audit entry naming the reader, like a pull.
    let (s, reads) = call(
        &c,
        Method::GET,
        format!("{url}/v1/audit/entries?member={HATINH}&operation=read"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{reads}");
    assert!(
        reads["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == HATINH),
        "{reads}"
    );

    // Retired: the newcomer's token stops working at once; the change is audited; an admin
    // does not retire its own member.
    let (s, b) = call(
        &c,
        Method::DELETE,
        format!("{url}/v1/members/{NEWCOMER}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["retired_at"].is_string(), "{b}");
    let (s, _) = call(&c, Method::GET, format!("{url}/v1/dead"), &newcomer, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = call(
        &c,
        Method::DELETE,
        format!("{url}/v1/members/{ADMIN}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("member.self"))
    );
    let (s, changes) = call(
        &c,
        Method::GET,
        format!("{url}/v1/audit/entries?member={ADMIN}&limit=1000"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{changes}");
    let ops: Vec<&str> = changes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert!(
        ops.contains(&"member-add") && ops.contains(&"member-retire"),
        "{ops:?}"
    );

    // Durable: after a restart the retired member stays retired and Hà Tĩnh is still there.
    hub.shutdown().await.unwrap();
    let hub = hub::start(data.path(), |cfg| {
        cfg.server.adapters_dir = adapters.clone()
    })
    .await;
    let url = hub.url();
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/members/{NEWCOMER}"),
        &hatinh,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["in_force"], false, "{b}");
    let (s, _) = call(&c, Method::GET, format!("{url}/v1/dead"), &newcomer, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Changed: Hà Tĩnh also consumes; in force for the next request.
    let (s, b) = call(
        &c,
        Method::PUT,
        format!("{url}/v1/members/{HATINH}"),
        &hub::token(&hub, ADMIN, "admin"),
        Some(json!({"roles": ["provider", "consumer"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["roles"], json!(["provider", "consumer"]));
    assert_eq!(
        b["name"], "Văn phòng UBND tỉnh Hà Tĩnh (hệ thống một cửa)",
        "what is not given stays"
    );
    let consumer = hub::token(&hub, HATINH, "consumer");
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/policy/grants"),
        &consumer,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_reads_its_own_grants_and_asks_why_for_itself_only() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let labour = hub::token(&hub, LABOUR, "consumer");
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/policy/grants"),
        &labour,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["member"], LABOUR);
    let purposes: Vec<&str> = b["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["purpose"].as_str())
        .collect();
    assert!(purposes.contains(&"employment-support"), "{b}");
    assert!(
        b["grants"][0]["legal_basis"].is_string() || b["grants"][0]["legal_basis"].is_object(),
        "{b}"
    );
    // Another consumer's grants: refused.
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/policy/grants?member={PORTAL}"),
        &labour,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("auth.member")),
        "{b}"
    );
    // An admin reads anyone's.
    let admin = hub::token(&hub, ADMIN, "admin");
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/policy/grants?member={PORTAL}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (s, b["member"].as_str()),
        (StatusCode::OK, Some(PORTAL)),
        "{b}"
    );
    // Why a pull would be allowed or denied, for itself.
    let (s, b) = call(
        &c,
        Method::GET,
        format!("{url}/v1/policy/explain?purpose=employment-support&fields=full_name"),
        &labour,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = call(
        &c,
        Method::GET,
        format!(
            "{url}/v1/policy/explain?member={PORTAL}&purpose=dossier-processing&fields=full_name"
        ),
        &labour,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("auth.member")),
        "{b}"
    );
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_sees_the_hub_and_no_personal_data() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = reqwest::Client::new();
    let admin = hub::token(&hub, ADMIN, "admin");
    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/members"),
        &admin,
        Some(json!({"code": "000.00.00.X01", "name": "Trung tâm giám sát", "roles": ["observer"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = call(
        &c,
        Method::POST,
        format!("{url}/v1/tokens"),
        &admin,
        Some(json!({"member": "000.00.00.X01", "role": "observer"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let observer = b["token"].as_str().unwrap().to_string();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/relay/status",
        "/v1/adapters",
        "/v1/members",
    ] {
        let resp = c
            .get(format!("{url}{path}"))
            .bearer_auth(&observer)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "observer GET {path}");
    }
    for path in [
        "/v1/dead",
        "/v1/audit/entries",
        "/v1/exchanges?from=2020-01-01T00:00:00Z",
        "/v1/policy/grants",
        "/v1/tokens",
        "/v1/citizens/001099012345?purpose=dossier-processing",
    ] {
        let resp = c
            .get(format!("{url}{path}"))
            .bearer_auth(&observer)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "observer GET {path}");
    }
    hub.shutdown().await.unwrap();
}
