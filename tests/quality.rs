//! The service-quality indicators of a real hub over HTTP: a province's one-stop system (the
//! simulator) pushes dossiers and their stories; the figures equal the simulator's own
//! reckoning; each role reads what it may; `as_of`, periods and splits; the rebuild from the
//! audit log equals the live figures; the CLI's CSV; the Prometheus gauges.

mod common;

use common::child::{lienthong, output};
use common::hub::{ADMIN, HATINH, REGISTER, get_json, start, token};
use lienthong::sim::motcua;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

/// After every event of the plan (the last dossier is received 2025-12-01 07:30 + 29 × 11
/// min, its story ends within four days).
const AS_OF: &str = "2026-01-01T00:00:00+07:00";

async fn quality(c: &reqwest::Client, url: &str, token: &str, query: &str) -> reqwest::Response {
    c.get(format!("{url}/v1/quality?{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Starts a hub on `data`, waits until its indicators have folded the whole audit log (30 s
/// at most), reads `/v1/quality?{query}` as an auditor, then stops the hub.
async fn folded_after_a_start(
    data: &std::path::Path,
    c: &reqwest::Client,
    query: &str,
) -> serde_json::Value {
    let hub = start(data, |_| {}).await;
    let auditor = token(&hub, ADMIN, "auditor");
    let deadline = Instant::now() + Duration::from_secs(30);
    let folded = loop {
        let r = get_json(c, format!("{}/v1/quality?{query}", hub.url()), &auditor).await;
        if r["folded"]["audit_entries"] == r["folded"]["audit_log_size"] {
            break r;
        }
        assert!(Instant::now() < deadline, "not folded: {}", r["folded"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    hub.shutdown().await.unwrap();
    folded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indicators_by_role_as_of_a_moment_rebuilt_and_exported() {
    let data = tempfile::tempdir().unwrap();
    let hub = start(data.path(), |_| {}).await;
    let url = hub.url();
    let c = reqwest::Client::new();
    // 30 dossiers, no faults, every story told in full (at most six events).
    let plan = motcua::plan(3, 40, 30, 6, 0.0);
    let provider = token(&hub, HATINH, "provider");
    let out = motcua::push(
        &plan,
        &url,
        &provider,
        4,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
        false,
    )
    .await;
    assert_eq!(out.accepted, plan.pushes(), "{:?}", out.rejected);

    // Folded within seconds of the commits.
    let auditor = token(&hub, ADMIN, "auditor");
    let all = format!("period=all&as_of={}", urlencode(AS_OF));
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = get_json(&c, format!("{url}/v1/quality?{all}"), &auditor).await;
        if r["folded"]["audit_entries"] == r["folded"]["audit_log_size"] {
            break r;
        }
        assert!(Instant::now() < deadline, "not folded: {}", r["folded"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // What the committer wrote was handed over in memory, not read back.
    let (from_memory, read_back) = hub.state().quality.as_ref().unwrap().quality.sources();
    assert!(
        from_memory > 0 && read_back <= from_memory / 10,
        "from memory {from_memory}, read back {read_back}"
    );
    let f = &r["total"]["figures"];
    let e = plan.expected_quality(lienthong::quality::fold::time_ms(AS_OF).unwrap());
    let n = |k: &str| f[k].as_u64().unwrap();
    assert_eq!(n("received"), 30, "{f}");
    for (k, want) in [
        ("finished_on_time", e.finished_on_time),
        ("finished_late", e.finished_late),
        ("withdrawn", e.withdrawn),
        ("open", e.open),
        ("open_overdue", e.open_overdue),
        ("submitted_online", e.submitted_online),
        ("with_fee", e.with_fee),
        ("electronic_results", e.electronic_results),
    ] {
        assert_eq!(n(k), want, "{k}: {f}");
    }
    assert!(
        e.finished_on_time > 0 && e.finished_late > 0 && e.open > 0,
        "{e:?}"
    );
    // The register and the portal are not running here: nothing checked, nothing synchronised,
    // and no online payment sent.
    assert_eq!(
        (
            n("checked_with_register"),
            n("synchronised"),
            n("paid_online")
        ),
        (0, 0, 0)
    );
    assert_eq!(r["overdue_now"].as_u64(), Some(e.open_overdue));
    // Points are the formula's: 20 × on time ÷ to resolve.
    let progress = r["total"]["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["group"] == "progress")
        .unwrap();
    let want = 20.0 * e.finished_on_time as f64 / (30 - e.withdrawn) as f64;
    assert!(
        (progress["points"].as_f64().unwrap() - want).abs() < 0.01,
        "{progress}"
    );
    let satisfaction = r["total"]["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["group"] == "satisfaction")
        .unwrap();
    assert_eq!(satisfaction["points"], serde_json::Value::Null);

    // As of 12:00 on the first day: 25 dossiers received (07:30 + 24 × 11 min = 11:54), none
    // finished yet (the earliest finish is 46 h after receipt).
    let noon = format!(
        "period=all&as_of={}",
        urlencode("2025-12-01T12:00:00+07:00")
    );
    let r = get_json(&c, format!("{url}/v1/quality?{noon}"), &auditor).await;
    assert_eq!(r["total"]["figures"]["received"], 25, "{r}");
    assert_eq!(r["total"]["figures"]["finished"], 0, "{r}");
    // By day and by procedure (Vietnam time).
    let q = format!("period=day&by=procedure&as_of={}", urlencode(AS_OF));
    let r = get_json(&c, format!("{url}/v1/quality?{q}"), &auditor).await;
    let rows: Vec<(String, String, u64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap().to_string(),
                r["key"].as_str().unwrap().to_string(),
                r["figures"]["received"].as_u64().unwrap(),
            )
        })
        .collect();
    // The last of the 30 is received at 07:30 + 29 × 11 min = 12:49: all on the first day.
    assert_eq!(rows, vec![("2025-12-01".into(), "1.001612".into(), 30)]);

    // The province's own member reads the same figures; a ministry's member reads none of them
    // and may not name the province's agency.
    let mine = get_json(&c, format!("{url}/v1/quality?{all}"), &provider).await;
    assert_eq!(mine["total"]["figures"], f.clone());
    let ministry = token(&hub, REGISTER, "provider");
    let theirs = get_json(&c, format!("{url}/v1/quality?{all}"), &ministry).await;
    assert_eq!(theirs["total"]["figures"]["received"], 0, "{theirs}");
    let refused = quality(&c, &url, &ministry, "agency=000.00.10.H42").await;
    assert_eq!(refused.status(), 403);
    let p: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(p["code"], "auth.member", "{p}");
    // Bad parameters are refused with what and why.
    for q in [
        "period=week",
        "by=colour",
        "as_of=yesterday",
        "province=H42",
        "colour=red",
    ] {
        let r = quality(&c, &url, &auditor, q).await;
        assert_eq!(r.status(), 400, "{q}");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["code"], "request.query", "{q}: {p}");
    }

    // The rebuild from the audit log: admins only; equal to the live figures.
    let rebuild = |t: String| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            c.post(format!("{url}/v1/quality/rebuild"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(rebuild(provider.clone()).await.status(), 403);
    let admin = token(&hub, ADMIN, "admin");
    let r = common::hub::quality_rebuild(&c, &url, &admin).await;
    assert_eq!(r["equal"], true, "{r}");
    assert_eq!(r["dossiers"], 30, "{r}");
    let ran = output(lienthong().args(["quality", "rebuild", "--hub", &url, "--token", &admin]));
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(
        ran.stdout
            .contains("30 dossiers; the live indicators are the same"),
        "{}",
        ran.stdout
    );

    // The CLI's CSV: a header and the line of the whole.
    let ran = output(lienthong().args([
        "quality", "--period", "all", "--as-of", AS_OF, "--format", "csv", "--hub", &url,
        "--token", &auditor,
    ]));
    assert_eq!(ran.code, 0, "{ran:?}");
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(
        lines[0].starts_with("period,key,received,to_resolve,"),
        "{}",
        lines[0]
    );
    assert!(
        lines.iter().any(|l| l.starts_with("all,,30,")),
        "{}",
        ran.stdout
    );
    // And the table names the indicators it cannot measure.
    let ran = output(lienthong().args([
        "quality", "--as-of", AS_OF, "--hub", &url, "--token", &auditor,
    ]));
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(ran.stdout.contains("not measured here"), "{}", ran.stdout);
    assert!(ran.stdout.contains("2025-12"), "{}", ran.stdout);

    // The gauges: the lag is read at the scrape; the overdue count is today's.
    let metrics = c
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("lienthong_quality_lag_entries "),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("lienthong_quality_overdue_now {}", e.open_overdue)),
        "{metrics}"
    );
    hub.shutdown().await.unwrap();

    // After a restart: the same figures (read back from the store, then caught up).
    let hub = start(data.path(), |_| {}).await;
    let auditor = token(&hub, ADMIN, "auditor");
    let again = get_json(&c, format!("{}/v1/quality?{all}", hub.url()), &auditor).await;
    assert_eq!(again["total"]["figures"], f.clone());
    hub.shutdown().await.unwrap();

    // Stored rows that cannot be read (as a hub of another version may leave them; here bytes
    // that are no row, at the stored mark) are passed over: the hub starts, folds the whole log
    // again to the same figures, and its first save replaces them.
    let unreadable = (String::from("unreadable"), vec![0xff_u8; 4]);
    {
        let store = lienthong::store::Store::open(data.path()).unwrap();
        let (mark, rows) = store.quality_rows().unwrap();
        assert_eq!(rows.len(), 30);
        let put = store.put_quality_rows(std::slice::from_ref(&unreadable), mark, true, 1);
        assert_eq!(put.unwrap(), lienthong::store::QualitySaved::Written);
    }
    let again = folded_after_a_start(data.path(), &c, &all).await;
    assert_eq!(again["total"]["figures"], f.clone());
    let store = lienthong::store::Store::open(data.path()).unwrap();
    let (_, rows) = store.quality_rows().unwrap();
    assert_eq!(rows.len(), 30, "the unreadable rows were not replaced");
    assert!(!rows.contains(&unreadable.1));
    drop(store);

    // A save damaged on disk (a compressed save's key over bytes that are no LZ4 block) is
    // passed over the same way: the hub starts, folds again and replaces the saves.
    {
        let db = sled::open(data.path().join("quality")).unwrap();
        let tree = db.open_tree("quality").unwrap();
        let mut key = vec![b's'];
        key.extend_from_slice(&1_000_000u64.to_be_bytes());
        key.push(b'z');
        tree.insert(key, vec![0xff_u8; 16]).unwrap();
        db.flush().unwrap();
    }
    let err = lienthong::store::Store::open(data.path())
        .unwrap()
        .quality_rows()
        .unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    let again = folded_after_a_start(data.path(), &c, &all).await;
    assert_eq!(again["total"]["figures"], f.clone());
    let store = lienthong::store::Store::open(data.path()).unwrap();
    let (_, rows) = store.quality_rows().unwrap();
    assert_eq!(rows.len(), 30, "the damaged save was not replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_the_indicators_are_not_found() {
    let data = tempfile::tempdir().unwrap();
    let hub = start(data.path(), |c| c.quality.enabled = false).await;
    let auditor = token(&hub, ADMIN, "auditor");
    let r = quality(&reqwest::Client::new(), &hub.url(), &auditor, "").await;
    assert_eq!(r.status(), 404);
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("enabled = false"),
        "{p}"
    );
    hub.shutdown().await.unwrap();
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
