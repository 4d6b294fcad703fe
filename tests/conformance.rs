//! API conformance: schemathesis (installed by `scripts/test` into the test virtual
//! environment, `LIENTHONG_SCHEMATHESIS` names its `st`) against a hub on loopback, through its
//! own `/openapi.json`, once with a token of each role (the observer's included): no 5xx, responses as documented (status
//! codes, content types, schemas). The population register is simulated, so that pulls reach a
//! source. `PUT /v1/policy` is left out: its body is TOML, which schemathesis cannot generate.
//! Ignored in `cargo test`; `scripts/test` runs it.

mod common;

use common::hub::{ADMIN, HATINH, LABOUR, token};

/// A read-only observer, a member of this test's hubs only.
const OBSERVER: &str = "000.00.00.X01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis; scripts/test runs it"]
async fn schemathesis_finds_no_5xx_and_no_undocumented_answer_for_any_role() {
    let st = std::env::var("LIENTHONG_SCHEMATHESIS")
        .expect("LIENTHONG_SCHEMATHESIS: the schemathesis `st` to run (scripts/test sets it)");
    let dir = tempfile::tempdir().unwrap();
    let adapters = dir.path().join("adapters");
    common::hub::copy_dir(&common::repo_path("adapters"), &adapters);
    let register = lienthong::sim::population::Population::new(1, 50);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let register_url = format!("http://{}/dancu", listener.local_addr().unwrap());
    register.serve(listener);
    let file = adapters.join("population-registry.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("http://127.0.0.1:8701/dancu", &register_url);
    std::fs::write(&file, text).unwrap();
    let examples = std::env::var("LIENTHONG_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    for (member, role) in [
        (ADMIN, "admin"),
        (ADMIN, "auditor"),
        (LABOUR, "consumer"),
        (HATINH, "provider"),
        (OBSERVER, "observer"),
    ] {
        // A fresh hub for each role: what one role's run did (an admin disabling the register's
        // adapter, say) must not change the answers another role's run is checked against.
        let hub = common::hub::start(&dir.path().join(format!("store-{role}")), |c| {
            c.server.adapters_dir = adapters.clone();
            // Schemathesis sends many wrong credentials on purpose.
            c.limits.auth_failures_per_minute = 1_000_000;
            c.members.push(lienthong::config::hub::MemberConfig {
                code: OBSERVER.into(),
                name: "Trung tâm giám sát".into(),
                roles: vec!["observer".into()],
                tls_names: vec![],
            });
        })
        .await;
        let url = hub.url();
        let bearer = token(&hub, member, role);
        let out = tokio::process::Command::new(&st)
            .current_dir(dir.path())
            .args(["run", &format!("{url}/openapi.json")])
            .args(["-H", &format!("Authorization: Bearer {bearer}")])
            .args(["-n", &examples])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_schema_conformance",
            ])
            .args(["--exclude-operation-id", "setPolicy"])
            .args(["--generation-deterministic"])
            .output()
            .await
            .expect("schemathesis runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("generated") || l.contains("failure"))
            .collect();
        eprintln!("{role}: {}", summary.join(" / "));
        assert!(out.status.success(), "schemathesis as {role}:\n{text}");
        hub.shutdown().await.unwrap();
    }
}
