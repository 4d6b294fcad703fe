//! Real hubs for integration tests: in-process on an ephemeral loopback port with a temporary
//! data directory, and tokens for the configured members.

use super::repo_path;
use lienthong::auth::{Role, create_token};
use lienthong::config::hub::HubConfig;
use lienthong::server::Hub;
use std::path::Path;

/// The shipped config with a free loopback port, `data` as the store and the shipped adapters.
pub fn config(data: &Path) -> HubConfig {
    let mut cfg = HubConfig::load(&repo_path("config/hub.toml")).expect("the shipped config loads");
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = data.to_path_buf();
    cfg.server.adapters_dir = repo_path("adapters");
    cfg.server.shutdown_grace_secs = 5;
    cfg
}

/// Starts a hub with the shipped config, changed by `tweak`.
pub async fn start(data: &Path, tweak: impl FnOnce(&mut HubConfig)) -> Hub {
    let mut cfg = config(data);
    tweak(&mut cfg);
    Hub::start(cfg).await.expect("the hub starts")
}

/// A bearer token for `member` acting as `role`.
pub fn token(hub: &Hub, member: &str, role: &str) -> String {
    let role = Role::parse(role).expect("a role");
    create_token(&hub.state().store, member, role)
        .expect("a token")
        .bearer()
}

/// Agency codes of the shipped config's members.
pub const ADMIN: &str = "000.00.00.A01";
pub const HATINH: &str = "000.00.00.H42";
pub const REGISTER: &str = "000.00.00.G12";
pub const PORTAL: &str = "000.00.00.G22";
pub const LABOUR: &str = "000.00.00.G07";

/// A copy of the shipped adapters in `dir`, with the national portal's endpoint at `portal` and
/// fast delivery settings for tests (short backoff and cool-down, `max_attempts`).
pub fn adapters_for_relay(dir: &Path, portal: &str, max_attempts: u32) -> std::path::PathBuf {
    let out = dir.join("adapters");
    copy_dir(&repo_path("adapters"), &out);
    let file = out.join("national-portal.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replace(
            "endpoint = \"http://127.0.0.1:8703/dvcqg\"",
            &format!("endpoint = \"{portal}\""),
        )
        .replace("timeout_ms = 5000", "timeout_ms = 1000")
        .replace(
            "max_attempts = 12",
            &format!("max_attempts = {max_attempts}"),
        )
        .replace("backoff_base_ms = 200", "backoff_base_ms = 20")
        .replace("backoff_max_ms = 60000", "backoff_max_ms = 300")
        .replace("breaker_failures = 5", "breaker_failures = 3")
        .replace("breaker_cooldown_ms = 2000", "breaker_cooldown_ms = 300");
    assert!(
        text.contains(portal),
        "the endpoint line changed in the shipped adapter"
    );
    std::fs::write(&file, text).unwrap();
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A status event of the Hà Tĩnh one-stop system (SOAP) for `dossier`, event number `n`.
pub fn status_event(dossier: &str, n: usize) -> String {
    std::fs::read_to_string(repo_path(
        "adapters/samples/motcua-hatinh/status-in-progress.xml",
    ))
    .unwrap()
    .replace("000.00.10.H42-250915-0001#3", &format!("{dossier}#{n}"))
    .replace("000.00.10.H42-250915-0001", dossier)
}

/// Waits until `cond` holds, or panics after `secs` seconds with `what`.
pub async fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// GETs a URL with a bearer token and reads the answer as JSON (whatever its status).
pub async fn get_json(
    c: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    token: &str,
) -> serde_json::Value {
    c.get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("a JSON answer")
}

/// The hub's `/metrics` text.
/// Asks the hub at `url` to fold its audit log again and compare with its live
/// service-quality indicators (`POST /v1/quality/rebuild`); the answer.
pub async fn quality_rebuild(c: &reqwest::Client, url: &str, admin: &str) -> serde_json::Value {
    c.post(format!("{url}/v1/quality/rebuild"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("a JSON answer")
}

pub async fn metrics(c: &reqwest::Client, url: &str) -> String {
    c.get(format!("{url}/metrics"))
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a text answer")
}

/// The value of an unlabelled metric in `/metrics` text (`name value`).
pub fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
}

/// How a push retried until acknowledged ended.
pub enum Pushed {
    /// Acknowledged (202/200), with its exchange id.
    Acked(String),
    /// Answered with a status other than success, 429 or 503, and its body.
    Refused(u16, String),
}

/// Pushes a Hà Tĩnh status event (SOAP) until the hub acknowledges it: 429 and 503 are waited
/// out (200 ms), connection errors (a hub being restarted) tried again (50 ms); each retry is
/// told to `retried` ("429", "503" or the connection error). Panics after 120 s.
pub async fn push_until_acked(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    body: &str,
    mut retried: impl FnMut(String),
) -> Pushed {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "a status event was not acknowledged within 120 s"
        );
        let resp = c
            .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(body.to_string())
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = r.json().await.expect("a JSON acknowledgement");
                let id = v["exchange_id"].as_str().expect("an exchange id");
                return Pushed::Acked(id.to_string());
            }
            Ok(r) if matches!(r.status().as_u16(), 429 | 503) => {
                retried(r.status().as_u16().to_string());
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Ok(r) => {
                let s = r.status().as_u16();
                return Pushed::Refused(s, r.text().await.unwrap_or_default());
            }
            Err(e) => {
                retried(e.to_string());
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
