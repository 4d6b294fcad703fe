//! `lienthong demo`: the hub at work on loopback, in one command. A hub with a temporary store,
//! the national portal's receiving end and the population register (both simulated), and a
//! province's one-stop system pushing dossiers and their status events over SOAP while the
//! portal is down for part of the run; then a ministry pulls verified data for 200 citizens,
//! some denied by policy, and an auditor exports the log and verifies it offline. It ends with
//! a summary a person can read, and checks that decide the exit status.
//!
//! Not yet in the scenario: dossier enrichment and the once-only report (their issue is open).

mod readers;

use crate::auth::{Role, create_token};
use crate::config::hub::HubConfig;
use crate::server::Hub;
use crate::sim::portal::Portal;
use readers::{audit, pull};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How big a run.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub dossiers: usize,
    /// Status events per dossier, after the dossier itself.
    pub events: usize,
    /// Print progress on standard error.
    pub progress: bool,
}

/// What happened, and whether every check held.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub pushed: usize,
    pub accepted: usize,
    pub rejected: BTreeMap<String, usize>,
    pub repeats_answered: usize,
    pub delivered: u64,
    pub failed_attempts: u64,
    pub dead: u64,
    pub portal_refused_while_down: usize,
    pub portal_repeats_ignored: usize,
    pub out_of_order: usize,
    /// Differences between what the one-stop system typed and the register.
    pub mismatches: usize,
    pub pulls_allowed: usize,
    pub pulls_denied: usize,
    pub signatures_valid: usize,
    pub audit_entries_verified: u64,
    pub seconds: f64,
    pub checks: Vec<(String, bool)>,
}

impl DemoSummary {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.1)
    }

    /// The table a person reads.
    pub fn table(&self) -> String {
        let rejected: usize = self.rejected.values().sum();
        let reasons: Vec<String> = self
            .rejected
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let mut out = String::new();
        out.push_str("\n  lienthong demo: one province, the national portal, the hub\n\n");
        let rows = [
            (
                "records pushed by the one-stop system (SOAP)",
                self.pushed.to_string(),
            ),
            ("accepted (durable, 202)", self.accepted.to_string()),
            (
                "rejected, with reasons",
                format!("{rejected} ({})", reasons.join(", ")),
            ),
            (
                "repeated pushes answered with the original exchange",
                self.repeats_answered.to_string(),
            ),
            (
                "delivered to the national portal",
                self.delivered.to_string(),
            ),
            (
                "delivery attempts that failed and were retried",
                self.failed_attempts.to_string(),
            ),
            (
                "  of which refused by the portal while it was down",
                self.portal_refused_while_down.to_string(),
            ),
            ("dead-lettered", self.dead.to_string()),
            (
                "repeats the portal ignored by idempotency key",
                self.portal_repeats_ignored.to_string(),
            ),
            (
                "status events out of order at the portal",
                self.out_of_order.to_string(),
            ),
            (
                "applicant names that differ from the register",
                self.mismatches.to_string(),
            ),
            (
                "ministry pulls answered (policy-checked, redacted)",
                self.pulls_allowed.to_string(),
            ),
            (
                "ministry pulls denied by policy",
                self.pulls_denied.to_string(),
            ),
            (
                "answers whose Ed25519 signature verifies",
                self.signatures_valid.to_string(),
            ),
            (
                "audit log entries exported and verified offline",
                self.audit_entries_verified.to_string(),
            ),
            ("seconds", format!("{:.1}", self.seconds)),
        ];
        for (k, v) in rows {
            out.push_str(&format!("  {k:<54} {v}\n"));
        }
        out.push_str("\n  checks\n");
        for (name, ok) in &self.checks {
            out.push_str(&format!(
                "  [{}] {name}\n",
                if *ok { "ok" } else { "FAILED" }
            ));
        }
        out
    }
}

/// Why the demo could not run (not a failed check: that is in the summary).
#[derive(Debug, thiserror::Error)]
#[error("demo: {0}")]
pub struct DemoError(String);

fn err(e: impl std::fmt::Display) -> DemoError {
    DemoError(e.to_string())
}

const HUB_TOML: &str = include_str!("../../config/hub.toml");
const POLICIES_TOML: &str = include_str!("../../config/policies.toml");
/// Citizens the ministry asks about; every tenth for a purpose its grants do not cover.
const PULLS: usize = 200;
const DOSSIER: &str = include_str!("../../adapters/samples/motcua-hatinh/dossier.xml");
const STATUS: &str = include_str!("../../adapters/samples/motcua-hatinh/status-in-progress.xml");

fn dossier_code(d: usize) -> String {
    format!("000.00.10.H42-251201-{d:04}")
}

/// Every 25th dossier's applicant name is typed without its diacritics, as clerks do; the
/// register has it right.
fn dossier_xml(d: usize) -> String {
    let x = DOSSIER.replace("000.00.10.H42-250915-0001", &dossier_code(d));
    if typed_without_marks(d) {
        x.replace("<hs:Ho>Nguyễn</hs:Ho>", "<hs:Ho>Nguyen</hs:Ho>")
    } else {
        x
    }
}

fn typed_without_marks(d: usize) -> bool {
    d % 25 == 11
}

fn status_xml(d: usize, n: usize, status: &str) -> String {
    STATUS
        .replace(
            "000.00.10.H42-250915-0001#3",
            &format!("{}#{n}", dossier_code(d)),
        )
        .replace("000.00.10.H42-250915-0001", &dossier_code(d))
        .replace(
            "<hs:TrangThai>DANGXULY</hs:TrangThai>",
            &format!("<hs:TrangThai>{status}</hs:TrangThai>"),
        )
}

/// Runs the scenario; the adapters are read from `adapters_dir` (the repository's).
pub async fn run(options: DemoOptions, adapters_dir: &Path) -> Result<DemoSummary, DemoError> {
    let start = Instant::now();
    let work = tempfile::tempdir().map_err(err)?;
    let say = |s: String| {
        if options.progress {
            eprintln!("{s}");
        }
    };
    // The portal, down to begin with.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(err)?;
    let portal_url = format!("http://{}/dvcqg", listener.local_addr().map_err(err)?);
    let portal = Portal::serve(listener);
    portal.set_down(true);
    // The shipped adapters, the portal's endpoint pointed at the simulator, fast retries.
    let adapters = work.path().join("adapters");
    copy_dir(adapters_dir, &adapters).map_err(err)?;
    let file = adapters.join("national-portal.toml");
    let text = std::fs::read_to_string(&file).map_err(err)?;
    let text = text
        .replace(
            "endpoint = \"http://127.0.0.1:8703/dvcqg\"",
            &format!("endpoint = \"{portal_url}\""),
        )
        .replace("backoff_max_ms = 60000", "backoff_max_ms = 1000")
        .replace("breaker_cooldown_ms = 2000", "breaker_cooldown_ms = 500")
        .replace("max_attempts = 12", "max_attempts = 1000");
    std::fs::write(&file, text).map_err(err)?;
    // The population register, simulated, with synthetic citizens.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(err)?;
    let register_url = format!("http://{}/dancu", listener.local_addr().map_err(err)?);
    let register = crate::sim::population::Population::new(1, PULLS);
    register.serve(listener);
    let file = adapters.join("population-registry.toml");
    let text = std::fs::read_to_string(&file)
        .map_err(err)?
        .replace("http://127.0.0.1:8701/dancu", &register_url);
    std::fs::write(&file, text).map_err(err)?;
    std::fs::write(work.path().join("policies.toml"), POLICIES_TOML).map_err(err)?;
    let mut config = HubConfig::from_toml("config/hub.toml (embedded)", HUB_TOML, work.path(), [])
        .map_err(err)?;
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = work.path().join("data");
    config.server.adapters_dir = adapters;
    config.log.level = "error".into();
    let hub = Hub::start(config).await.map_err(err)?;
    let url = hub.url();
    say(format!(
        "hub on {url}; national portal (simulated) on {portal_url}, down for now"
    ));
    let token = create_token(&hub.state().store, "000.00.00.H42", Role::Provider)
        .map_err(err)?
        .bearer();
    // The pushes: each dossier, then its status events; a few invalid, a few repeated.
    let statuses = ["TIEPNHAN", "DANGXULY", "DAXULY", "DATRA"];
    let mut plan: Vec<Vec<String>> = Vec::new();
    for d in 0..options.dossiers {
        let mut docs = vec![dossier_xml(d)];
        for n in 0..options.events {
            let status = if d % 50 == 7 && n == 1 {
                "KHONGRO"
            } else {
                statuses[n % statuses.len()]
            };
            docs.push(status_xml(d, n, status));
            if d % 30 == 3 && n == 0 {
                docs.push(status_xml(d, n, status)); // pushed twice
            }
        }
        plan.push(docs);
    }
    let total: usize = plan.iter().map(Vec::len).sum();
    let client = reqwest::Client::new();
    let summary = std::sync::Arc::new(std::sync::Mutex::new(DemoSummary::default()));
    let pushed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut chunks: Vec<Vec<Vec<String>>> = (0..16).map(|_| Vec::new()).collect();
    for (i, docs) in plan.into_iter().enumerate() {
        chunks[i % 16].push(docs);
    }
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (client, url, token, summary, pushed) = (
            client.clone(),
            url.clone(),
            token.clone(),
            summary.clone(),
            pushed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for docs in chunk {
                for (i, body) in docs.into_iter().enumerate() {
                    let record_type = if i == 0 { "dossier" } else { "dossier-status" };
                    let resp = client
                        .post(format!("{url}/v1/ingest/motcua-hatinh/{record_type}"))
                        .bearer_auth(&token)
                        .header("content-type", "application/xml")
                        .body(body)
                        .send()
                        .await;
                    // What happened, without holding the summary's lock across an await.
                    enum Seen {
                        Accepted(usize),
                        Repeat,
                        Rejected(String),
                    }
                    let seen = match resp {
                        Ok(r) if r.status().as_u16() == 202 => {
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            Seen::Accepted(
                                v["findings"]
                                    .as_array()
                                    .map(|f| {
                                        f.iter()
                                            .filter(|x| {
                                                x["code"]
                                                    .as_str()
                                                    .is_some_and(|c| c.starts_with("mismatch."))
                                            })
                                            .count()
                                    })
                                    .unwrap_or(0),
                            )
                        }
                        Ok(r) if r.status().as_u16() == 200 => Seen::Repeat,
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            Seen::Rejected(
                                v["errors"][0]["code"]
                                    .as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| format!("http {status}")),
                            )
                        }
                        Err(e) => Seen::Rejected(format!("transport: {e}")),
                    };
                    let mut s = summary
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.pushed += 1;
                    match seen {
                        Seen::Accepted(m) => {
                            s.accepted += 1;
                            s.mismatches += m;
                        }
                        Seen::Repeat => s.repeats_answered += 1,
                        Seen::Rejected(code) => *s.rejected.entry(code).or_default() += 1,
                    }
                    drop(s);
                    pushed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    // The portal comes back after a third of the pushes.
    let mut next_report = total / 10;
    let mut back = false;
    loop {
        let n = pushed.load(std::sync::atomic::Ordering::Relaxed);
        if !back && n >= total / 3 {
            portal.set_down(false);
            back = true;
            say(format!("{n}/{total} pushed: the national portal is back"));
        }
        if n >= next_report && n < total {
            say(format!("{n}/{total} pushed"));
            next_report += total / 10;
        }
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.await.map_err(err)?;
    }
    portal.set_down(false);
    say(format!(
        "{total}/{total} pushed; waiting for the relay to drain"
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let depth: usize = hub.state().relay.status().iter().map(|d| d.depth).sum();
        if depth == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut s = summary.lock().map(|s| s.clone()).unwrap_or_default();
    say(format!(
        "a ministry pulls verified data for {PULLS} citizens (register on {register_url})"
    ));
    let pulls = pull(&hub, &client, &register.ids()).await?;
    s.pulls_allowed = pulls.allowed;
    s.pulls_denied = pulls.denied;
    s.signatures_valid = pulls.signed;
    say("an auditor exports the log and verifies it offline".into());
    let audit = audit(&hub, &client).await?;
    s.audit_entries_verified = audit.verified;
    for d in hub.state().relay.status() {
        s.delivered += d.delivered;
        s.failed_attempts += d.failed;
        s.dead += d.dead;
    }
    let report = portal.report();
    s.portal_refused_while_down = report.refused_while_down;
    s.portal_repeats_ignored = report.repeats;
    s.out_of_order = report.out_of_order;
    let invalid = (0..options.dossiers)
        .filter(|d| d % 50 == 7 && options.events > 1)
        .count();
    let repeated = (0..options.dossiers)
        .filter(|d| d % 30 == 3 && options.events > 0)
        .count();
    s.checks = vec![
        (
            "every accepted record was delivered to the portal".into(),
            report.applied == s.accepted && s.delivered as usize >= s.accepted,
        ),
        (
            "status events of each dossier arrived in order".into(),
            report.out_of_order == 0,
        ),
        ("nothing was dead-lettered".into(), s.dead == 0),
        (
            "the invalid records, and only they, were rejected".into(),
            s.rejected.values().sum::<usize>() == invalid,
        ),
        (
            "repeated pushes were answered with their original exchange".into(),
            s.repeats_answered == repeated,
        ),
        (
            "the portal was down and the hub retried".into(),
            report.refused_while_down > 0 && s.failed_attempts > 0,
        ),
        (
            "every name typed without its diacritics was found against the register".into(),
            s.mismatches
                == (0..options.dossiers)
                    .filter(|d| typed_without_marks(*d))
                    .count(),
        ),
        (
            format!(
                "pulls: {} answered, {} denied by policy, as the grants say",
                pulls.expect_allowed, pulls.expect_denied
            ),
            s.pulls_allowed == pulls.expect_allowed && s.pulls_denied == pulls.expect_denied,
        ),
        (
            "every answer's signature verifies with the published key".into(),
            s.signatures_valid == s.pulls_allowed,
        ),
        (
            "the audit log verifies offline, every pull and denial in it".into(),
            audit.error.is_none()
                && audit.verified > 0
                && audit.pulls == s.pulls_allowed
                && audit.denials == s.pulls_denied,
        ),
    ];
    if let Some(e) = &audit.error {
        say(format!("audit verification: {e}"));
    }
    s.seconds = start.elapsed().as_secs_f64();
    hub.shutdown().await.map_err(err)?;
    Ok(s)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(())
}
