//! `lienthong demo`: the hub at work on loopback, in one command. A hub with a temporary store,
//! the national portal's receiving end and the population register (both simulated), and a
//! province's one-stop system pushing dossiers and their status events over SOAP while the
//! portal is down for part of the run; then a ministry pulls verified data for 200 citizens,
//! some denied by policy, and an auditor exports the log and verifies it offline. It ends with
//! a summary a person can read, and checks that decide the exit status.
//!
//! The province is the one-stop simulator (`crate::sim::motcua`): a share of its dossiers carry
//! the faults real systems have (names typed without diacritics, addresses in the old form, some
//! of split wards or with typos, issued documents uploaded again, invalid status codes,
//! repeated pushes), and the summary checks that the hub found each of them.

mod keep;
mod quality;
mod readers;

use crate::auth::{Role, create_token};
use crate::config::hub::HubConfig;
use crate::server::Hub;
use crate::sim::motcua::{self, Fault};
use crate::sim::portal::Portal;
use keep::{copy_dir, keep_running};
use readers::{audit, pull};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How big a run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub dossiers: usize,
    /// Status events per dossier at most, after the dossier itself (its story's).
    pub events: usize,
    /// Print progress on standard error.
    pub progress: bool,
    /// Share of dossiers the one-stop system sends with a fault (0 to 1).
    pub error_rate: f64,
    /// Seed of the synthetic citizens and of the faults.
    pub seed: u64,
    /// Keep the store in this directory and the hub and simulators running after the
    /// scenario, until Ctrl-C, for exploration.
    pub keep: Option<std::path::PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            dossiers: 1000,
            events: 6,
            progress: false,
            error_rate: 0.2,
            seed: 1,
            keep: None,
        }
    }
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
    /// Differences between what the one-stop system typed and the register: names.
    pub mismatches: usize,
    /// Addresses found in another commune than the register's.
    pub address_mismatches: usize,
    /// Old-form addresses converted to the 2025 form.
    pub addresses_converted: usize,
    /// Old-form addresses of split wards, accepted as written with a warning.
    pub addresses_ambiguous: usize,
    /// Addresses in no list, refused.
    pub addresses_unknown: usize,
    /// Uploads of documents the state had already issued.
    pub requested_again: usize,
    /// The once-only report's totals.
    pub report: serde_json::Value,
    /// Faults the one-stop system put in, by kind.
    pub faults: BTreeMap<String, usize>,
    /// The table was printed by the run itself (`keep`).
    pub printed: bool,
    pub pulls_allowed: usize,
    pub pulls_denied: usize,
    pub signatures_valid: usize,
    pub audit_entries_verified: u64,
    pub seconds: f64,
    pub checks: Vec<Check>,
    /// Accepted document records: indexed for the once-only checks, not relayed.
    pub documents_indexed: usize,
    /// The province's service-quality indicators, and the simulator's own figures.
    pub quality: quality::QualitySeen,
}

/// One check of the scenario.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub held: bool,
    /// False when no record of the run carried the fault the check is about, so it held
    /// without being put to the test (too few dossiers, or a low `--error-rate`).
    pub exercised: bool,
}

impl DemoSummary {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.held)
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
            ("accepted (durable)", self.accepted.to_string()),
            (
                "  of which documents: indexed for once-only, not relayed",
                self.documents_indexed.to_string(),
            ),
            (
                "rejected, with reasons",
                format!("{rejected} ({})", reasons.join(", ")),
            ),
            (
                "repeated pushes answered with the original exchange",
                self.repeats_answered.to_string(),
            ),
            (
                "delivered to the national portal (accepted, less documents)",
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
                "applicant addresses in another commune than the register's",
                self.address_mismatches.to_string(),
            ),
            (
                "old-form addresses converted to the 2025 units",
                self.addresses_converted.to_string(),
            ),
            (
                "old-form addresses of split wards (kept, warned)",
                self.addresses_ambiguous.to_string(),
            ),
            (
                "addresses in no list of units (refused)",
                self.addresses_unknown.to_string(),
            ),
            (
                "documents requested again though the state issued them",
                self.requested_again.to_string(),
            ),
            (
                "once-only report: dossiers / filled / mismatches / asked again",
                format!(
                    "{} / {} / {} / {}",
                    self.report["dossiers"],
                    self.report["filled_from_register"],
                    self.report["mismatches"],
                    self.report["requested_again"]
                ),
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
            out.push_str(&format!("  {k:<64} {v}\n"));
        }
        out.push('\n');
        for (k, v) in self.quality.rows() {
            out.push_str(&format!("  {k:<64} {v}\n"));
        }
        if !self.faults.is_empty() {
            out.push_str("\n  faults the one-stop system put in\n");
            for (k, v) in &self.faults {
                out.push_str(&format!("  {k:<64} {v}\n"));
            }
        }
        out.push_str("\n  checks\n");
        for c in &self.checks {
            let mark = match (c.held, c.exercised) {
                (false, _) => "FAILED",
                (true, true) => "ok",
                (true, false) => "not exercised",
            };
            out.push_str(&format!("  [{mark}] {}\n", c.name));
        }
        let missing: Vec<&str> = crate::sim::motcua::Fault::ALL
            .iter()
            .map(|f| f.name())
            .filter(|n| !self.faults.contains_key(*n))
            .collect();
        if !missing.is_empty() {
            out.push_str(
                "\n  not put to the test: no record of this run carried these kinds of fault, so \
                 the checks' parts\n  about them held trivially (more --dossiers or a higher \
                 --error-rate puts every kind in)\n",
            );
            for m in &missing {
                out.push_str(&format!("  - {m}\n"));
            }
        }
        let idle = self.checks.iter().filter(|c| !c.exercised).count();
        if idle > 0 {
            out.push_str(&format!(
                "  {idle} checks not exercised: no record of this run carried their faults\n"
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

/// Sends a request to the hub and reads its JSON answer.
async fn json(request: reqwest::RequestBuilder) -> Result<serde_json::Value, DemoError> {
    request.send().await.map_err(err)?.json().await.map_err(err)
}

const HUB_TOML: &str = include_str!("../../config/hub.toml");
const POLICIES_TOML: &str = include_str!("../../config/policies.toml");
/// Citizens the ministry asks about; every tenth for a purpose its grants do not cover.
const PULLS: usize = 200;
/// Runs the scenario; the adapters are read from `adapters_dir` (the repository's).
pub async fn run(options: DemoOptions, adapters_dir: &Path) -> Result<DemoSummary, DemoError> {
    let start = Instant::now();
    // A temporary directory, or the one to keep.
    let temp;
    let work: std::path::PathBuf = match &options.keep {
        Some(dir) => {
            if dir.join("data").exists() {
                return Err(DemoError(format!(
                    "--keep {}: it already holds a store (data/); give a new or empty directory",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(err)?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(err)?;
            temp.path().to_path_buf()
        }
    };
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
    let adapters = work.as_path().join("adapters");
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
    let register = crate::sim::population::Population::new(options.seed, PULLS);
    register.serve(listener);
    let file = adapters.join("population-registry.toml");
    let text = std::fs::read_to_string(&file)
        .map_err(err)?
        .replace("http://127.0.0.1:8701/dancu", &register_url);
    std::fs::write(&file, text).map_err(err)?;
    std::fs::write(work.as_path().join("policies.toml"), POLICIES_TOML).map_err(err)?;
    let mut config =
        HubConfig::from_toml("config/hub.toml (embedded)", HUB_TOML, work.as_path(), [])
            .map_err(err)?;
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = work.as_path().join("data");
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
    // The province: dossiers of the register's citizens, each followed by its status events,
    // a share of them with the faults of real one-stop systems.
    // Received over the last days (11 minutes apart, from 07:30 Vietnam time a week before
    // the first would have to be to finish before now, every story included), so that "this
    // month" and "overdue now" are the run's own.
    let day = 86_400_000;
    let span_days = options.dossiers as i64 * crate::sim::stories::RECEIPT_SPACING_MS / day + 1;
    let first = (crate::clock::now_ms() as i64 + 7 * 3_600_000) / day * day - (7 + span_days) * day
        + 30 * 60_000;
    let plan = motcua::plan_at(
        options.seed,
        PULLS,
        options.dossiers,
        options.events,
        options.error_rate,
        first,
    );
    let total = plan.pushes();
    say(format!(
        "the one-stop system (simulated) pushes {} dossiers and their status events ({total} \
         pushes, {} with a fault)",
        options.dossiers,
        plan.faults().values().sum::<usize>()
    ));
    let client = reqwest::Client::new();
    let pushed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run = {
        let (plan, url, token, pushed) = (plan.clone(), url.clone(), token.clone(), pushed.clone());
        tokio::spawn(async move {
            motcua::push(&plan, &url, &token, 16, Duration::ZERO, pushed, false).await
        })
    };
    // The portal comes back after a third of the pushes.
    let mut next_report = total / 10;
    let mut back = false;
    while !run.is_finished() {
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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = run.await.map_err(err)?;
    portal.set_down(false);
    say(format!(
        "{total}/{total} pushed; waiting for the relay to drain"
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let busy: usize = hub
            .state()
            .relay
            .status()
            .iter()
            .map(|d| d.depth + d.in_flight)
            .sum();
        if busy == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    say("the national portal sends the online payments it took".into());
    let payments = quality::push_payments(&hub, &client, &plan).await?;
    let finding = |code: &str| outcome.findings.get(code).copied().unwrap_or(0);
    let mut s = DemoSummary {
        pushed: outcome.pushed,
        accepted: outcome.accepted,
        rejected: outcome.rejected.clone(),
        repeats_answered: outcome.repeats,
        mismatches: finding("mismatch.full_name"),
        address_mismatches: finding("mismatch.address"),
        addresses_converted: finding("address.converted"),
        addresses_ambiguous: finding("address.ambiguous"),
        addresses_unknown: outcome
            .rejected
            .get("address.unknown")
            .copied()
            .unwrap_or(0),
        requested_again: finding("requested-again"),
        faults: plan
            .faults()
            .into_iter()
            .map(|(f, n)| (f.name().to_string(), n))
            .collect(),
        ..Default::default()
    };
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
    let report_portal = portal.report();
    s.portal_refused_while_down = report_portal.refused_while_down;
    s.portal_repeats_ignored = report_portal.repeats;
    s.out_of_order = report_portal.out_of_order;
    let auditor = create_token(&hub.state().store, "000.00.00.A01", Role::Auditor)
        .map_err(err)?
        .bearer();
    let report = json(
        client
            .get(format!("{url}/v1/onceonly/report"))
            .bearer_auth(&auditor),
    )
    .await?;
    s.report = report["total"].clone();
    say(format!(
        "once-only report: {} dossiers, {} uploads of documents the state had issued",
        s.report["dossiers"], s.report["requested_again"]
    ));
    s.quality = quality::read(&hub, &client, &plan, payments).await?;
    let count = |f: Fault| plan.count(f);
    // Accepted document records are indexed, not relayed; everything else accepted is.
    let relayed = s.accepted - count(Fault::ReUpload);
    let dossiers_in = options.dossiers - count(Fault::TypoAddress);
    s.documents_indexed = count(Fault::ReUpload);
    // A check about faults is exercised when at least one record carried one of them.
    let check = |name: String, held: bool, faults: &[Fault]| Check {
        name,
        held,
        exercised: faults.is_empty() || faults.iter().any(|f| count(*f) > 0),
    };
    s.checks = vec![
        check(
            "every accepted record was delivered to the portal".into(),
            report_portal.applied == relayed && s.delivered as usize >= relayed,
            &[],
        ),
        check(
            "status events of each dossier arrived in order".into(),
            report_portal.out_of_order == 0,
            &[],
        ),
        check("nothing was dead-lettered".into(), s.dead == 0, &[]),
        check(
            "the invalid records, and only they, were rejected, for their reasons".into(),
            s.rejected.values().sum::<usize>()
                == count(Fault::InvalidStatus) + count(Fault::TypoAddress)
                && s.rejected.get("translate.code").copied().unwrap_or(0)
                    == count(Fault::InvalidStatus)
                && s.addresses_unknown == count(Fault::TypoAddress),
            &[Fault::InvalidStatus, Fault::TypoAddress],
        ),
        check(
            "repeated pushes were answered with their original exchange".into(),
            s.repeats_answered == count(Fault::Repeat),
            &[Fault::Repeat],
        ),
        check(
            "the portal was down and the hub retried".into(),
            report_portal.refused_while_down > 0 && s.failed_attempts > 0,
            &[],
        ),
        check(
            "every name typed without its diacritics was found against the register".into(),
            s.mismatches == count(Fault::TypedName),
            &[Fault::TypedName],
        ),
        check(
            "old-form addresses were converted, split wards flagged, typos refused".into(),
            s.addresses_converted == count(Fault::OldAddress)
                && s.addresses_ambiguous == count(Fault::SplitAddress)
                && s.addresses_unknown == count(Fault::TypoAddress),
            &[Fault::OldAddress, Fault::SplitAddress, Fault::TypoAddress],
        ),
        check(
            "every address in another commune was found, and no old-form address".into(),
            s.address_mismatches == count(Fault::WrongAddress),
            &[Fault::WrongAddress],
        ),
        check(
            "every re-uploaded document the state had issued was found".into(),
            s.requested_again == count(Fault::ReUpload),
            &[Fault::ReUpload],
        ),
        check(
            "the once-only report counts every dossier, mismatch and re-upload".into(),
            s.report["dossiers"].as_u64() == Some(dossiers_in as u64)
                && s.report["mismatches"].as_u64()
                    == Some((s.mismatches + s.address_mismatches) as u64)
                && s.report["requested_again"].as_u64() == Some(s.requested_again as u64),
            &[],
        ),
        check(
            format!(
                "pulls: {} answered, {} denied by policy, as the grants say",
                pulls.expect_allowed, pulls.expect_denied
            ),
            s.pulls_allowed == pulls.expect_allowed && s.pulls_denied == pulls.expect_denied,
            &[],
        ),
        check(
            "the province's service-quality figures are the simulator's own".into(),
            s.quality.agree() && s.quality.payments.0 == s.quality.payments.1,
            &[],
        ),
        check(
            "the indicators rebuilt from the audit log are the live ones".into(),
            s.quality.rebuilt.1 && s.quality.rebuilt.0 > 0,
            &[],
        ),
        check(
            "every answer's signature verifies with the published key".into(),
            s.signatures_valid == s.pulls_allowed,
            &[],
        ),
        check(
            "the audit log verifies offline, every pull and denial in it".into(),
            audit.error.is_none()
                && audit.verified > 0
                && audit.pulls == s.pulls_allowed
                && audit.denials == s.pulls_denied,
            &[],
        ),
    ];
    if let Some(e) = &audit.error {
        say(format!("audit verification: {e}"));
    }
    s.seconds = start.elapsed().as_secs_f64();
    if options.keep.is_some() {
        let example = register.ids().first().cloned().unwrap_or_default();
        let urls = [url.as_str(), portal_url.as_str(), register_url.as_str()];
        keep_running(&hub, &work, urls, &example, &mut s).await?;
    }
    hub.shutdown().await.map_err(err)?;
    Ok(s)
}
