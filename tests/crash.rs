//! The crash test: the hub runs as a child process; 10,000 status events for 1,000 dossiers are
//! pushed concurrently while the destination fails at random (500s, hangs past the time-out,
//! connections reset mid-answer), and the hub is killed with SIGKILL twice mid-run and
//! restarted. At the end every acknowledged event reached the destination, per dossier in
//! order, each idempotency key applied once; nothing acknowledged is missing, nothing extra;
//! and the audit log, exported and verified with the CLI, holds an accepted ingest entry for
//! every acknowledged exchange.

mod common;

use common::destination::{Destination, Mode};
use common::hub::{adapters_for_relay, status_event};
use common::repo_path;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DOSSIERS: usize = 1_000;
const EVENTS: usize = 10;
const CLIENTS: usize = 32;

struct HubProcess {
    data: std::path::PathBuf,
    adapters: std::path::PathBuf,
    addr: String,
}

impl HubProcess {
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lienthong"));
        c.env("LIENTHONG_SERVER_DATA_DIR", &self.data)
            .env("LIENTHONG_SERVER_LISTEN", &self.addr)
            .env("LIENTHONG_SERVER_ADAPTERS_DIR", &self.adapters)
            .env("LIENTHONG_LOG_LEVEL", "error")
            .current_dir(repo_path(""));
        c
    }

    fn token(&self, member: &str, role: &str) -> String {
        common::hub::token_by_command(self.command(), member, role)
    }

    fn start(&self) -> Child {
        let mut child = self
            .command()
            .args(["serve", "--config", "config/hub.toml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("listening on"), "{line:?}");
        child
    }
}

/// Kills the hub if the test fails before it stops it.
struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_arrive_in_order_once() {
    let portal = Destination::start().await;
    portal.set(Mode::Flaky(0.2));
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let hub = HubProcess {
        data: data.path().join("store"),
        adapters: adapters_for_relay(files.path(), &portal.url, 100_000),
        addr: format!("127.0.0.1:{}", free_port()),
    };
    let token = hub.token("000.00.00.H42", "provider");
    let admin = hub.token("000.00.00.A01", "admin");
    let child = Arc::new(Mutex::new(hub.start()));
    let _guard = KillOnDrop(child.clone());
    let url = format!("http://{}", hub.addr);

    let acked = Arc::new(Mutex::new(HashSet::<String>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token, acked, done) = (
            client.clone(),
            url.clone(),
            token.clone(),
            acked.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for d in (c..DOSSIERS).step_by(CLIENTS) {
                let dossier = format!("000.00.10.H42-251101-{d:05}");
                for n in 0..EVENTS {
                    let body = status_event(&dossier, n);
                    // Until acknowledged: a killed hub drops the connection, the client tries
                    // again, and a repeat of a committed event gets the original exchange.
                    let deadline = Instant::now() + Duration::from_secs(120);
                    loop {
                        assert!(
                            Instant::now() < deadline,
                            "event {dossier}#{n} never acknowledged"
                        );
                        let resp = client
                            .post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
                            .bearer_auth(&token)
                            .header("content-type", "application/xml")
                            .body(body.clone())
                            .send()
                            .await;
                        match resp {
                            Ok(r) if r.status().is_success() => {
                                let v: serde_json::Value = r.json().await.unwrap();
                                acked
                                    .lock()
                                    .unwrap()
                                    .insert(v["exchange_id"].as_str().unwrap().to_string());
                                done.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Ok(r) if r.status().as_u16() == 503 || r.status().as_u16() == 429 => {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            Ok(r) => panic!("unexpected answer {}", r.status()),
                            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                }
            }
        }));
    }

    // Kill the hub twice while the load runs, and start it again.
    for at in [DOSSIERS * EVENTS * 3 / 10, DOSSIERS * EVENTS * 65 / 100] {
        let deadline = Instant::now() + Duration::from_secs(300);
        while done.load(Ordering::Relaxed) < at {
            assert!(
                Instant::now() < deadline,
                "the load stalled at {}",
                done.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut c = child.lock().unwrap();
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        eprintln!(
            "killed the hub after {} acknowledgements",
            done.load(Ordering::Relaxed)
        );
        *c = hub.start();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        DOSSIERS * EVENTS,
        "every event acknowledged once, by its exchange"
    );

    // Everything acknowledged reaches the destination.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let applied = portal.applied();
        let status: serde_json::Value = client
            .get(format!("{url}/v1/relay/status"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let depth: u64 = status["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["depth"].as_u64().unwrap())
            .sum();
        if applied == acked.len() && depth == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "delivery stalled: {applied} applied of {}, depth {depth}",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    {
        let log = portal.log.lock().unwrap();
        assert_eq!(
            log.applied_keys, acked,
            "applied = acknowledged: nothing missing, nothing extra"
        );
        assert_eq!(log.applied_order.len(), DOSSIERS);
        for (dossier, events) in &log.applied_order {
            let expected: Vec<String> = (0..EVENTS).map(|n| format!("{dossier}#{n}")).collect();
            assert_eq!(events, &expected, "order of {dossier}");
        }
        eprintln!(
            "{} deliveries received, {} repeats of an applied key (ignored by the destination)",
            log.received.len(),
            log.duplicates
        );
    }
    // The audit log verifies, and every acknowledged exchange has its entry.
    let export = data.path().join("audit.jsonl");
    let cli = |args: &[&str]| {
        let out = hub
            .command()
            .args(args)
            .args(["--hub", &url])
            .env("LIENTHONG_TOKEN", &admin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["audit", "export", "--out", export.to_str().unwrap()]);
    let key = cli(&["audit", "key"]);
    let out = hub
        .command()
        .args([
            "audit",
            "verify",
            export.to_str().unwrap(),
            "--key",
            key.trim(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.starts_with("verified:"), "{report}");
    let mut logged = HashSet::new();
    for line in std::fs::read_to_string(&export).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let e = &v["entry"];
        if e["operation"] == "ingest" && e["outcome"] == "accepted" {
            logged.insert(e["exchange_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        logged, acked,
        "an accepted ingest entry for every acknowledged exchange, and no other"
    );
    eprintln!("audit log: {report}");

    // A graceful stop at the end (SIGTERM flushes); the store opens cleanly after the kills,
    // with no dead letter and an empty outbox.
    let mut c = child.lock().unwrap();
    let ok = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(c.wait().unwrap().success());
    let store = lienthong::store::Store::open(&hub.data).unwrap();
    assert!(store.dead_letters(None).unwrap().is_empty());
    assert!(store.outbox_destinations().unwrap().is_empty());
}
