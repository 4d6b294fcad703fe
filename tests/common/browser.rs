//! A real browser for the console's tests: Debian's chromium, headless, driven over WebDriver
//! by chromedriver (fantoccini), with helpers to find, fill, click, wait, take screenshots
//! (under `target/console-screenshots/`) and measure what a page transferred.
//!
//! Without chromedriver, `browser()` says so and gives `None`, unless
//! `LIENTHONG_REQUIRE_BROWSER` is set (as `scripts/test` sets it).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A headless chromium driven by chromedriver; both end when dropped.
pub struct Browser {
    driver: Child,
    pub client: Client,
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

pub async fn browser() -> Option<Browser> {
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
                "--disable-sync", "--disable-quic", "--window-size=1280,1000", "--lang=vi-VN",
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
    let dir = super::repo_path("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    pub async fn css(&self, sel: &str) -> fantoccini::elements::Element {
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

    pub async fn text(&self, sel: &str) -> String {
        self.css(sel).await.text().await.unwrap()
    }

    pub async fn click(&self, sel: &str) {
        self.css(sel).await.click().await.unwrap();
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Sets a field's value as a paste would.
    pub async fn fill(&self, sel: &str, value: &str) {
        self.css(sel).await;
        self.js(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
             el.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(sel), json!(value)],
        )
        .await;
    }

    /// Waits until `cond` (a script returning a boolean) holds.
    pub async fn until(&self, what: &str, cond: &str) {
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

    /// Opens a page of the console afresh and waits until it is drawn.
    pub async fn open(&self, page: &str) {
        let base = self.base().await;
        // Drawn anew even when it is the page shown.
        self.client.goto("about:blank").await.unwrap();
        self.client.goto(&format!("{base}#/{page}")).await.unwrap();
        self.until(
            &format!("page {page}"),
            &format!(
                "const m = document.getElementById('main'); \
                 return m.dataset.page === '{page}' && !m.hasAttribute('aria-busy');"
            ),
        )
        .await;
    }

    pub async fn base(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        format!("{}://{}/console", url.scheme(), url.authority())
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
    }

    pub async fn sign_in(&self, hub_url: &str, token: &str) {
        self.client
            .goto(&format!("{hub_url}/console"))
            .await
            .unwrap();
        self.fill("#token", token).await;
        self.click("#sign-in-button").await;
        self.css("#sign-out").await;
    }

    pub async fn sign_out(&self) {
        self.click("#sign-out").await;
        self.css("#token").await;
    }

    /// Presses the confirmation dialog's "confirm".
    pub async fn confirm(&self) {
        self.until(
            "the confirmation dialog",
            "return document.getElementById('confirm').open",
        )
        .await;
        self.click("#confirm-yes").await;
    }

    /// The bytes the page and everything it loaded took, as the browser counted them.
    pub async fn transferred(&self) -> u64 {
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
    pub async fn fetch(&self, method: &str, path: &str, csrf: bool) -> (u64, Value) {
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
