//! The web console in a real browser: Debian's chromium driven over WebDriver (chromedriver),
//! against a real hub on loopback with a simulated portal. One journey per role; screenshots
//! of every page are kept under `target/console-screenshots/`.
//!
//! Without chromedriver the tests say so and pass, unless `LIENTHONG_REQUIRE_BROWSER` is set
//! (as `scripts/test` sets it, after installing chromium and chromium-driver).

mod common;

use common::destination::{Destination, Mode};
use common::hub::{
    self, ADMIN, HATINH, LABOUR, REGISTER, adapters_for_relay, status_event, wait_for,
};
use fantoccini::{Client, ClientBuilder, Locator};
use lienthong::server::Hub;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const APPLICANT: &str = "042192004518";

/// A headless chromium driven by chromedriver; both end when dropped.
struct Browser {
    driver: Child,
    client: Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromedriver");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("LIENTHONG_REQUIRE_BROWSER").is_none(),
        "LIENTHONG_REQUIRE_BROWSER is set but /usr/bin/chromedriver is missing \
         (apt-get install chromium chromium-driver)"
    );
    eprintln!("SKIPPED: no /usr/bin/chromedriver (apt-get install chromium chromium-driver)");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn browser() -> Option<Browser> {
    let exe = chromedriver()?;
    let port = free_port();
    let driver = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
    }))
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut last = String::new();
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    driver,
                    client,
                    _profile: profile,
                });
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start a browser: {last}");
}

fn shots_dir() -> PathBuf {
    let dir = common::repo_path("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    async fn css(&self, sel: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(sel))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                let page = self.js("return document.body.innerText", vec![]).await;
                self.shot("failed").await;
                panic!(
                    "no element {sel}: {e}; the page says:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
        }
    }

    async fn text(&self, sel: &str) -> String {
        self.css(sel).await.text().await.unwrap()
    }

    async fn click(&self, sel: &str) {
        self.css(sel).await.click().await.unwrap();
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Sets a field's value as a paste would.
    async fn fill(&self, sel: &str, value: &str) {
        self.css(sel).await;
        self.js(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
             el.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(sel), json!(value)],
        )
        .await;
    }

    /// Waits until `cond` (a script returning a boolean) holds.
    async fn until(&self, what: &str, cond: &str) {
        for _ in 0..200 {
            if self.js(cond, vec![]).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let page = self
            .js("return document.getElementById('main').innerText", vec![])
            .await;
        panic!("timed out waiting for {what}; the page says:\n{page}");
    }

    /// Opens a page of the console and waits until it is drawn.
    async fn open(&self, page: &str) {
        self.client
            .goto(&format!("{}#/{page}", self.base().await))
            .await
            .unwrap();
        self.until(
            &format!("page {page}"),
            &format!(
                "const m = document.getElementById('main'); \
                 return m.dataset.page === '{page}' && !m.hasAttribute('aria-busy');"
            ),
        )
        .await;
    }

    async fn base(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        format!("{}://{}/console", url.scheme(), url.authority())
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, hub_url: &str, token: &str) {
        self.client
            .goto(&format!("{hub_url}/console"))
            .await
            .unwrap();
        self.fill("#token", token).await;
        self.click("#sign-in-button").await;
        self.css("#sign-out").await;
    }

    async fn sign_out(&self) {
        self.click("#sign-out").await;
        self.css("#token").await;
    }

    /// Presses the confirmation dialog's "confirm".
    async fn confirm(&self) {
        self.until(
            "the confirmation dialog",
            "return document.getElementById('confirm').open",
        )
        .await;
        self.click("#confirm-yes").await;
    }

    /// The bytes the page and everything it loaded took, as the browser counted them.
    async fn transferred(&self) -> u64 {
        self.js(
            "const n = performance.getEntriesByType('navigation')[0]; \
             return performance.getEntriesByType('resource') \
               .reduce((s, r) => s + (r.transferSize || r.encodedBodySize), n.transferSize || n.encodedBodySize);",
            vec![],
        )
        .await
        .as_u64()
        .unwrap()
    }

    /// A fetch made by the page itself, with the session cookie; `csrf` adds its token.
    async fn fetch(&self, method: &str, path: &str, csrf: bool) -> (u64, Value) {
        let v = self
            .js(
                "const [method, path, csrf] = arguments; \
                 const s = await (await fetch('/console/session')).json(); \
                 const headers = {'Content-Type': 'application/json'}; \
                 if (csrf) headers['X-CSRF-Token'] = s.csrf; \
                 const r = await fetch(path, {method, headers, body: method === 'GET' ? undefined : '{}'}); \
                 return [r.status, await r.json().catch(() => null)];",
                vec![json!(method), json!(path), json!(csrf)],
            )
            .await;
        (v[0].as_u64().unwrap(), v[1].clone())
    }
}

struct Setup {
    portal: Destination,
    hub: Hub,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// A hub relaying to a simulated portal (two attempts a record).
async fn setup() -> Setup {
    let portal = Destination::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 2);
    let hub = hub::start(data.path(), |cfg| cfg.server.adapters_dir = adapters).await;
    Setup {
        portal,
        hub,
        _dirs: (data, files),
    }
}

async fn push(hub: &Hub, token: &str, dossier: &str, n: usize) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/ingest/motcua-hatinh/dossier-status",
            hub.url()
        ))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(status_event(dossier, n))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
}

/// The population register's adapter as a province's IT team would write a new one: renamed,
/// its endpoint at `endpoint`, one sample.
fn new_adapter(endpoint: &str, external_birth_date: &str) -> String {
    let text =
        std::fs::read_to_string(common::repo_path("adapters/population-registry.toml")).unwrap();
    let text = text
        .replace("name = \"population-registry\"", "name = \"dancu-thu\"")
        .replace("http://127.0.0.1:8701/dancu", endpoint)
        .replace(
            "samples = [\n  \"samples/population-registry/citizen.json\",\n  \"samples/population-registry/citizen-partial-date.json\",\n]",
            "samples = [\"samples/citizen.json\"]",
        )
        .replace("external = \"/ngaySinh\"", &format!("external = \"{external_birth_date}\""));
    assert!(text.contains("samples/citizen.json") && text.contains("dancu-thu"));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_it_team_dry_runs_fixes_registers_and_replays_a_dead_letter() {
    let Some(b) = browser().await else { return };
    let s = setup().await;
    let url = s.hub.url();
    let register = hub::token(&s.hub, REGISTER, "provider");
    b.sign_in(&url, &register).await;
    b.shot("01-overview").await;
    assert!(b.text("#ov-health").await.contains("Sẵn sàng"));

    // The dry run fails, with the place in the canonical record and in the original.
    b.open("adapters").await;
    b.fill("#definition", &new_adapter(&s.portal.url, "/ngaySinhX"))
        .await;
    b.fill(".sample-name", "samples/citizen.json").await;
    let sample = std::fs::read_to_string(common::repo_path(
        "adapters/samples/population-registry/citizen.json",
    ))
    .unwrap();
    b.fill(".sample-text", &sample).await;
    b.click("#dry-run").await;
    b.css("#check-verdict").await;
    assert!(b.text("#check-verdict").await.starts_with("Không đạt"));
    let errors = b.text("table.field-errors").await;
    assert!(errors.contains("/birth_date"), "{errors}");
    assert!(errors.contains("ngaySinhX"), "{errors}");
    b.shot("02-adapters-dry-run-failed").await;

    // Fixed: the dry run passes and shows the canonical record; nothing registered yet.
    b.fill("#definition", &new_adapter(&s.portal.url, "/ngaySinh"))
        .await;
    b.click("#dry-run").await;
    b.until(
        "the dry run to pass",
        "const v = document.getElementById('check-verdict'); return !!v && v.className === 'ok';",
    )
    .await;
    let canonical = b
        .js(
            "return document.querySelector('pre.canonical').textContent",
            vec![],
        )
        .await;
    assert!(
        canonical.as_str().unwrap().contains("\"birth_date\""),
        "{canonical}"
    );
    assert!(s.hub.state().registry.get("dancu-thu").is_none());
    b.click("#register").await;
    b.confirm().await;
    let done = b.text("#registered").await;
    assert!(done.contains("dancu-thu") && done.contains('1'), "{done}");
    assert!(s.hub.state().registry.get("dancu-thu").is_some());
    b.shot("03-adapters-registered").await;
    b.sign_out().await;

    // The portal refuses: a dead letter appears, with the portal's answer.
    s.portal.set(Mode::Refuse);
    let hatinh = hub::token(&s.hub, HATINH, "provider");
    push(&s.hub, &hatinh, "000.00.10.H42-251201-0001", 1).await;
    wait_for(20, "the record parked", || {
        s.hub.state().store.dead_letters(None).unwrap().len() == 1
    })
    .await;
    let applied = s.portal.applied();
    s.portal.set(Mode::Ok);
    b.sign_in(&url, &hatinh).await;
    b.open("dead").await;
    assert!(b.text("#dead-total").await.starts_with('1'));
    b.click("button.dead-show").await;
    let detail = b.text("#dead-detail").await;
    assert!(detail.contains("400"), "{detail}");
    assert!(
        detail.contains("parked") || detail.contains("park"),
        "{detail}"
    );
    b.shot("04-dead-letter").await;
    b.click("#dead-replay-one").await;
    b.confirm().await;
    b.css("#dead-done").await;
    wait_for(20, "the replayed record delivered", || {
        s.portal.applied() == applied + 1
    })
    .await;
    b.click("#dead-filter").await;
    b.until(
        "no dead letter left",
        "const t = document.getElementById('dead-total'); return !!t && t.textContent.startsWith('0');",
    )
    .await;
    // The replay is in the audit log, by the province's member.
    let admin = hub::token(&s.hub, ADMIN, "admin");
    let found: Value = reqwest::Client::new()
        .get(format!("{url}/v1/audit/entries?operation=replay"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["entries"][0]["actor"], HATINH, "{found}");
    b.shot("05-dead-letter-replayed").await;
    b.open("exchanges").await;
    b.fill("#ex-dossier", "000.00.10.H42-251201-0001").await;
    b.js(
        "document.querySelector('#main form').requestSubmit()",
        vec![],
    )
    .await;
    b.until(
        "the record's path",
        "return !!document.querySelector('table.path') && document.querySelector('table.path').innerText.includes('deliver');",
    )
    .await;
    b.shot("06-exchanges").await;
}
