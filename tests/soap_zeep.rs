//! A real third-party SOAP client (Python's zeep) drives the WSDL the hub serves for a SOAP
//! adapter: a response for a good dossier status event, a Fault with the error details for a
//! bad one. Needs a Python with zeep in `LIENTHONG_PYTHON`; `scripts/test` installs one and
//! runs this test.

mod common;

use common::hub::{self, HATINH};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with zeep (LIENTHONG_PYTHON); scripts/test runs it"]
async fn zeep_pushes_through_the_generated_wsdl() {
    let python = std::env::var("LIENTHONG_PYTHON")
        .expect("set LIENTHONG_PYTHON to a Python that has zeep (scripts/test does)");
    let data = tempfile::tempdir().unwrap();
    let hub = hub::start(data.path(), |_| {}).await;
    let token = hub::token(&hub, HATINH, "provider");
    let script = common::repo_path("tests/soap/zeep_client.py");
    let url = hub.url();
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&url)
        .arg(&token)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "zeep client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["call"], "good");
    assert_eq!(lines[0]["record_type"], "dossier-status");
    assert!(lines[0]["digest"].as_str().unwrap().starts_with("sha256:"));
    let page = hub
        .state()
        .relay
        .audit()
        .query(&lienthong::audit::Query {
            exchange_id: Some(lines[0]["exchange_id"].as_str().unwrap().to_string()),
            operation: Some("ingest".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let stored = &page
        .entries
        .first()
        .expect("the exchange was recorded")
        .entry;
    assert_eq!(stored.outcome, "accepted");
    assert_eq!(stored.actor, HATINH);
    assert_eq!(lines[1]["call"], "bad");
    assert!(
        lines[1]["fault"].as_str().unwrap().contains("rejected"),
        "{stdout}"
    );
    let codes = lines[1]["codes"].to_string();
    for code in ["translate.code", "translate.datetime"] {
        assert!(
            codes.contains(code),
            "{code} not in the Fault detail: {codes}"
        );
    }
    hub.shutdown().await.unwrap();
}
