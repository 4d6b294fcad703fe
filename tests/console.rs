//! The web console in a real browser: Debian's chromium driven over WebDriver (chromedriver),
//! against a real hub on loopback with a simulated portal. One journey per role; screenshots
//! of every page are kept under `target/console-screenshots/`.
//!
//! Without chromedriver the tests say so and pass, unless `LIENTHONG_REQUIRE_BROWSER` is set
//! (as `scripts/test` sets it, after installing chromium and chromium-driver).

mod common;

use common::browser::browser;
use common::destination::{Destination, Mode};
use common::hub::{
    self, ADMIN, HATINH, LABOUR, REGISTER, adapters_for_relay, status_event, wait_for,
};
use lienthong::server::Hub;
use serde_json::{Value, json};
use std::time::Duration;

const APPLICANT: &str = "042192004518";

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
    // The list shows each endpoint's last probe: the new adapter's, made at registration; the
    // register's, asked for (nothing listens at its shipped address here).
    b.open("adapters").await;
    let row = |name: &str| {
        format!(
            "return [...document.querySelectorAll('table.adapters tbody tr')] \
             .find(r => r.cells[0].innerText === '{name}')?.innerText ?? ''"
        )
    };
    let new_row = b.js(&row("dancu-thu"), vec![]).await;
    assert!(new_row.as_str().unwrap().contains("trả lời"), "{new_row}");
    b.click("#probe-population-registry").await;
    b.until(
        "the register's probe",
        &format!(
            "const r = (function() {{ {} }})(); return r.includes('connection refused');",
            row("population-registry")
        ),
    )
    .await;
    b.sign_out().await;

    // The portal fails twice (the relay's limit here): a dead letter appears, with each of
    // the portal's answers.
    s.portal.set(Mode::Fail);
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
    assert!(detail.contains("gave up after 2 attempt"), "{detail}");
    let answers = b
        .js(
            "return [...document.querySelector('table.answers').tBodies[0].rows].map(r => r.innerText)",
            vec![],
        )
        .await;
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers.iter().all(|a| a.as_str().unwrap().contains("500")),
        "{answers:?}"
    );
    assert!(detail.contains("parked"), "{detail}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_finds_a_citizens_accesses_and_verifies_a_proof_in_the_browser() {
    let Some(b) = browser().await else { return };
    let s = setup().await;
    let url = s.hub.url();
    let hatinh = hub::token(&s.hub, HATINH, "provider");
    // A dossier of the applicant, received and delivered to the portal.
    let dossier = std::fs::read_to_string(common::repo_path(
        "adapters/samples/motcua-hatinh/dossier.xml",
    ))
    .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/ingest/motcua-hatinh/dossier"))
        .bearer_auth(&hatinh)
        .header("content-type", "application/xml")
        .body(dossier)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    wait_for(20, "the dossier delivered", || s.portal.applied() == 1).await;
    let auditor = hub::token(&s.hub, ADMIN, "auditor");
    // What the API finds about the applicant, once the delivery is in the log.
    let c = reqwest::Client::new();
    let mut expected = 0;
    for _ in 0..100 {
        let v: Value = c
            .get(format!("{url}/v1/audit/entries?subject={APPLICANT}"))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = v["entries"].as_array().unwrap();
        if entries.iter().any(|e| e["operation"] == "deliver") {
            expected = entries.len();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(expected >= 2, "the receipt and the delivery");
    b.sign_in(&url, &auditor).await;

    // Search by subject: posted, so the personal ID is in no URL.
    b.open("audit").await;
    b.fill("#a-subject", APPLICANT).await;
    b.click("#a-find").await;
    b.until(
        "the entries found",
        &format!("const t = document.querySelector('table.audit'); return !!t && t.tBodies[0].rows.length === {expected};"),
    )
    .await;
    let count = b.text("#a-count").await;
    assert!(count.starts_with(&expected.to_string()), "{count}");
    let urls = b
        .js(
            "return [location.href, ...performance.getEntriesByType('resource').map(r => r.name)].join('\\n')",
            vec![],
        )
        .await;
    assert!(!urls.as_str().unwrap().contains(APPLICANT), "{urls}");
    b.shot("07-audit-search").await;

    // An entry's proof checked in the browser: good as given, failed when one hash is changed.
    b.click("button.a-open").await;
    b.until(
        "the proof checked",
        "const v = document.getElementById('proof-verdict'); return !!v;",
    )
    .await;
    assert_eq!(
        b.js(
            "return document.getElementById('proof-verdict').dataset.ok",
            vec![]
        )
        .await,
        json!("true"),
        "{}",
        b.text("#entry-detail").await
    );
    let shown = b.text("#entry-json").await;
    assert!(shown.contains("\"operation\""), "{shown}");
    b.shot("08-audit-proof-verified").await;
    let tampered = b
        .js(
            "const p = document.getElementById('proof-text'); const lines = p.value.split('\\n'); \
             const h = atob(lines[0]); \
             lines[0] = btoa(String.fromCharCode(h.charCodeAt(0) ^ 1) + h.slice(1)); \
             p.value = lines.join('\\n'); return lines.length;",
            vec![],
        )
        .await;
    assert!(tampered.as_u64().unwrap() >= 1);
    b.click("#proof-check").await;
    b.until(
        "the tampered proof failed",
        "const v = document.getElementById('proof-verdict'); return !!v && v.dataset.ok === 'false';",
    )
    .await;
    assert!(b.text("#proof-verdict").await.contains("KHÔNG"));
    b.shot("09-audit-proof-tampered").await;
    // A forged checkpoint (another root, the old signature) fails too.
    b.js(
        "const n = document.getElementById('proof-note'); const l = n.value.split('\\n'); \
         l[1] = String(Number(l[1]) + 1); n.value = l.join('\\n'); \
         document.getElementById('proof-text').value = '';",
        vec![],
    )
    .await;
    b.click("#proof-check").await;
    b.until(
        "the forged checkpoint failed",
        "const v = document.getElementById('proof-verdict'); return !!v && v.dataset.ok === 'false' \
         && document.getElementById('entry-detail').innerText.includes('signature');",
    )
    .await;

    // A hash of the wrong length is refused, not read.
    b.js(
        "document.getElementById('proof-note').value = arguments[0]; \
         document.getElementById('proof-text').value = btoa('x'.repeat(31));",
        vec![json!("")],
    )
    .await;
    b.click("#proof-check").await;
    b.until(
        "the short hash refused",
        "const v = document.getElementById('proof-verdict'); return !!v && v.dataset.ok === 'false';",
    )
    .await;
    // The hub's key is pinned in the browser on first use: a hub that later publishes another
    // key is not taken at its word.
    let other = lienthong::signing::HubKey::from_seed("lienthong.local/audit", [7; 32])
        .unwrap()
        .verifier()
        .encode();
    b.js(
        "localStorage.setItem('lienthong.verifier_key', arguments[0])",
        vec![json!(other)],
    )
    .await;
    b.open("audit").await;
    b.fill("#a-subject", APPLICANT).await;
    b.click("#a-find").await;
    b.click("button.a-open").await;
    b.until(
        "the check with the pinned key",
        "const v = document.getElementById('proof-verdict'); return !!v && v.dataset.ok === 'false';",
    )
    .await;
    let note = b.css("#proof-key-note").await;
    assert_eq!(note.attr("class").await.unwrap().as_deref(), Some("bad"));
    assert!(note.text().await.unwrap().contains("CẢNH BÁO"));
    b.js("localStorage.removeItem('lienthong.verifier_key')", vec![])
        .await;

    // The citizen's report, in Vietnamese and Vietnam time.
    b.open("report").await;
    b.fill("#r-subject", APPLICANT).await;
    b.click("#r-run").await;
    let report = b.text("#r-report").await;
    assert!(
        report.contains("Báo cáo về việc truy cập dữ liệu cá nhân"),
        "{report}"
    );
    assert!(report.contains(APPLICANT));
    assert!(report.contains("Văn phòng UBND tỉnh Hà Tĩnh"), "{report}");
    let vn_date = b
        .js(
            "return new Intl.DateTimeFormat('en-GB', {timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', \
             month: '2-digit', year: 'numeric'}).format(new Date())",
            vec![],
        )
        .await;
    assert!(report.contains(vn_date.as_str().unwrap()), "{report}");
    b.shot("10-citizen-report").await;

    // The export: a file of JSON lines, each an entry with its proof.
    b.open("audit").await;
    b.click("#a-export").await;
    let file = b.text("#a-export-file").await;
    assert!(file.contains("dòng"), "{file}");
    for page in ["onceonly", "quality", "policy", "exchanges", "overview"] {
        b.open(page).await;
        b.shot(&format!("11-auditor-{page}")).await;
    }
    // The overview's last hour, by adapter and by destination: the dossier in, and out.
    let traffic = b.text("table.traffic").await;
    assert!(
        traffic.contains("motcua-hatinh") && traffic.contains("national-portal"),
        "{traffic}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ministry_sees_its_grants_and_no_button_it_may_not_press() {
    let Some(b) = browser().await else { return };
    let s = setup().await;
    let url = s.hub.url();
    let labour = hub::token(&s.hub, LABOUR, "consumer");
    // By keyboard alone: the token field has the focus, Enter signs in, Tab reaches the menu
    // and Enter follows a link.
    b.client.goto(&format!("{url}/console")).await.unwrap();
    b.css("#token").await;
    let focused = b.client.active_element().await.unwrap();
    focused
        .send_keys(&format!("{labour}\u{E007}"))
        .await
        .unwrap();
    b.css("#sign-out").await;
    let mut on_policy = false;
    for _ in 0..30 {
        let el = b.client.active_element().await.unwrap();
        if el.attr("id").await.unwrap().as_deref() == Some("nav-policy") {
            el.send_keys("\u{E007}").await.unwrap();
            on_policy = true;
            break;
        }
        el.send_keys("\u{E004}").await.unwrap();
    }
    assert!(on_policy, "the menu's link was not reached by Tab");
    b.until(
        "the policy page by keyboard",
        "const m = document.getElementById('main'); return m.dataset.page === 'policy' && !m.hasAttribute('aria-busy');",
    )
    .await;
    b.open("policy").await;
    let grants = b.text("#grants").await;
    assert!(grants.contains("employment-support"), "{grants}");
    b.shot("12-ministry-grants").await;
    // Only the pages its role may use are in the menu; none of the operators' buttons.
    let nav = b.text("#nav").await;
    for absent in [
        "Bản tin lỗi",
        "Nhật ký kiểm toán",
        "Mã truy cập",
        "Thành viên",
    ] {
        assert!(!nav.contains(absent), "{absent} in {nav}");
    }
    b.open("adapters").await;
    let buttons = b
        .js(
            "return [...document.querySelectorAll('#main button')].map(b => b.textContent)",
            vec![],
        )
        .await;
    let buttons: Vec<&str> = buttons
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        buttons.iter().all(|t| *t == "Xem định nghĩa"),
        "{buttons:?}"
    );
    // A page it may not see, asked for by its address, says so.
    b.client
        .goto(&format!("{url}/console#/dead"))
        .await
        .unwrap();
    b.until(
        "the refusal",
        "return document.querySelector('#main h1').textContent === 'Không có quyền'",
    )
    .await;
    // The API refuses anyway, even with the CSRF token.
    let (status, body) = b.fetch("POST", "/v1/dead/replay", true).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "auth.role");
    // English by the switch, kept across pages.
    b.js(
        "const l = document.getElementById('lang'); l.value = 'en'; l.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await;
    b.open("policy").await;
    assert!(b.text("#nav").await.contains("Routes & policy"));
    b.shot("13-ministry-grants-english").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_headers_and_page_weight() {
    let Some(b) = browser().await else { return };
    let s = setup().await;
    let url = s.hub.url();
    let admin = hub::token(&s.hub, ADMIN, "admin");
    b.sign_in(&url, &admin).await;

    // A change without the CSRF token is refused; with it, it is done.
    let (status, body) = b.fetch("POST", "/v1/dead/replay", false).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("auth.csrf")),
        "{body}"
    );
    let (status, body) = b.fetch("POST", "/v1/dead/replay", true).await;
    assert_eq!(status, 200, "{body}");
    // Reads with the cookie need no token.
    let (status, _) = b.fetch("GET", "/v1/relay/status", false).await;
    assert_eq!(status, 200);

    // The cookie: HttpOnly (scripts cannot read it), SameSite=Strict; the page's headers.
    let cookies = b.js("return document.cookie", vec![]).await;
    assert_eq!(cookies, json!(""), "a script could read the session cookie");
    let c = reqwest::Client::new();
    let resp = c
        .post(format!("{url}/console/session"))
        .json(&json!({ "token": admin }))
        .send()
        .await
        .unwrap();
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let page = c.get(format!("{url}/console")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // A sign-in by a form of another site (not JSON) is refused.
    let form = c
        .post(format!("{url}/console/session"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    // A request a browser makes for a page of another site is refused whatever its
    // credentials (a client certificate in the browser would otherwise act for that page).
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ] {
        let r = c
            .post(format!("{url}/v1/dead/replay"))
            .bearer_auth(&admin)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "auth.cross-site", "{name}: {value}");
    }
    let own_origin = c
        .get(format!("{url}/v1/relay/status"))
        .bearer_auth(&admin)
        .header("origin", url.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(own_origin.status(), 200);
    // Two session cookies (one planted beside the hub's): refused.
    let (set_id, _) = set.split_once(';').unwrap();
    let two = c
        .get(format!("{url}/v1/relay/status"))
        .header("cookie", format!("{set_id}; lienthong_session=planted"))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 401);

    // Every word in both languages.
    let missing = b
        .js(
            "const { STRINGS } = await import('/console/assets/i18n.js'); \
             const vi = Object.keys(STRINGS.vi), en = Object.keys(STRINGS.en); \
             return vi.filter(k => !en.includes(k)).concat(en.filter(k => !vi.includes(k)));",
            vec![],
        )
        .await;
    assert_eq!(missing, json!([]), "keys in one language only");

    // A verifier key whose base64 holds '+' (the separator) is read whole.
    let key = (0u8..=255)
        .map(|i| {
            lienthong::signing::HubKey::from_seed("lienthong.test/audit", [i; 32])
                .unwrap()
                .verifier()
                .encode()
        })
        .find(|k| k.splitn(3, '+').nth(2).is_some_and(|b| b.contains('+')))
        .expect("a key with '+' in its base64");
    let read = b
        .js(
            "const { parseVerifierKey } = await import('/console/assets/proof.js'); \
             const k = await parseVerifierKey(arguments[0]); return [k.name, k.raw.length];",
            vec![json!(key)],
        )
        .await;
    assert_eq!(read, json!(["lienthong.test/audit", 32]), "{key}");

    // Every page under 200 KB transferred, and drawn; a screenshot of each.
    for page in [
        "overview",
        "adapters",
        "policy",
        "dead",
        "exchanges",
        "audit",
        "report",
        "quality",
        "onceonly",
        "members",
        "tokens",
    ] {
        b.client.goto("about:blank").await.unwrap();
        b.client
            .goto(&format!("{url}/console#/{page}"))
            .await
            .unwrap();
        b.until(
            &format!("page {page}"),
            &format!(
                "const m = document.getElementById('main'); \
                 return m.dataset.page === '{page}' && !m.hasAttribute('aria-busy');"
            ),
        )
        .await;
        let unlabelled = b
            .js(
                "return [...document.querySelectorAll('input, select, textarea')].filter(el => \
                   !el.closest('dialog') && !el.getAttribute('aria-label') && !el.closest('label') && \
                   !(el.id && document.querySelector(`label[for=\"${el.id}\"]`))).map(el => el.outerHTML)",
                vec![],
            )
            .await;
        assert_eq!(unlabelled, json!([]), "{page}: controls without a label");
        let bytes = b.transferred().await;
        eprintln!("page {page}: {bytes} bytes transferred");
        assert!(bytes < 200_000, "{page}: {bytes} bytes");
        assert!(
            bytes > 10_000,
            "{page}: {bytes} bytes: the scripts were not counted"
        );
        b.shot(&format!("20-admin-{page}")).await;
    }
    // On a narrow screen the menu and tables stay usable (no page-wide horizontal scroll).
    b.client.set_window_size(390, 844).await.unwrap();
    b.open("dead").await;
    let wide = b
        .js(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .await;
    assert_eq!(wide, json!(false));
    b.shot("21-narrow-dead-letters").await;

    // Sign-out ends the session: the API no longer takes the cookie.
    b.client.set_window_size(1280, 1000).await.unwrap();
    b.open("overview").await;
    b.sign_out().await;
    let after = b
        .js(
            "const r = await fetch('/v1/relay/status'); return r.status;",
            vec![],
        )
        .await;
    assert_eq!(after, json!(401));

    // Last, as it blocks this address: wrong tokens refused and counted; past the limit, the sign-in itself is refused for the
    // address, as every request is.
    let mut statuses = Vec::new();
    for _ in 0..35 {
        let wrong = c
            .post(format!("{url}/console/session"))
            .json(&json!({ "token": "lt_000000000000_nope" }))
            .send()
            .await
            .unwrap();
        statuses.push(wrong.status().as_u16());
    }
    assert_eq!(statuses[0], 401);
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    let blocked = c
        .post(format!("{url}/console/session"))
        .json(&json!({ "token": admin }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        blocked.status(),
        429,
        "a good token from a guessing address waits too"
    );
}
