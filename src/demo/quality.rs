//! The demo's service-quality part: the national portal sends the online payments it took, the
//! hub's indicators for the province are read once they have caught up, and compared with the
//! figures the one-stop simulator worked out from what it sent.

use super::{DemoError, err, json};
use crate::auth::{Role, create_token};
use crate::server::Hub;
use crate::sim::motcua::Plan;
use crate::sim::stories::Expected;
use serde_json::Value;
use std::time::{Duration, Instant};

/// What the hub showed and what the simulator expected.
#[derive(Debug, Clone, Default)]
pub struct QualitySeen {
    /// The hub's answer for the province (period all), `total` row.
    pub figures: Value,
    pub points: Value,
    pub points_max: Value,
    pub expected: Expected,
    /// Payments the portal sent, and those the hub accepted.
    pub payments: (usize, usize),
    /// The hub's rebuild from its audit log: dossiers, and whether the live figures were the
    /// same, dossier by dossier.
    pub rebuilt: (u64, bool),
}

/// Pushes the portal's payments as its member would (`000.00.00.G22`).
pub async fn push_payments(
    hub: &Hub,
    client: &reqwest::Client,
    plan: &Plan,
) -> Result<(usize, usize), DemoError> {
    let token = create_token(&hub.state().store, "000.00.00.G22", Role::Provider)
        .map_err(err)?
        .bearer();
    let payments = plan.payments();
    let mut accepted = 0;
    for p in &payments {
        let r = client
            .post(format!("{}/v1/ingest/national-portal/payment", hub.url()))
            .bearer_auth(&token)
            .json(p)
            .send()
            .await
            .map_err(err)?;
        accepted += usize::from(r.status().is_success());
    }
    Ok((payments.len(), accepted))
}

/// Reads the province's indicators once the hub has folded its whole audit log so far (at
/// most 30 s), and the simulator's own figures as of the same moment.
pub async fn read(
    hub: &Hub,
    client: &reqwest::Client,
    plan: &Plan,
    payments: (usize, usize),
) -> Result<QualitySeen, DemoError> {
    let auditor = create_token(&hub.state().store, "000.00.00.A01", Role::Auditor)
        .map_err(err)?
        .bearer();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Now, to the millisecond, each time round (a delivery recorded since counts).
        let as_of = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let query = serde_urlencoded::to_string([
            ("province", "42"),
            ("period", "all"),
            ("as_of", as_of.as_str()),
        ])
        .map_err(err)?;
        let r = json(
            client
                .get(format!("{}/v1/quality?{query}", hub.url()))
                .bearer_auth(&auditor),
        )
        .await?;
        let folded = &r["folded"];
        let caught_up = folded["audit_entries"].as_u64().is_some()
            && folded["audit_entries"] == folded["audit_log_size"];
        // The relay records each delivery just after the portal's answer: the figures are
        // read once the last of them is in (or the time is up, and the check says so).
        let as_of_ms = crate::quality::fold::time_ms(&as_of).unwrap_or_default();
        let expected = plan.expected_quality(as_of_ms);
        let recorded = r["total"]["figures"]["synchronised"]
            .as_u64()
            .is_some_and(|n| n >= expected.synchronised);
        if (caught_up && recorded) || Instant::now() > deadline {
            let admin = create_token(&hub.state().store, "000.00.00.A01", Role::Admin)
                .map_err(err)?
                .bearer();
            let rebuilt = json(
                client
                    .post(format!("{}/v1/quality/rebuild", hub.url()))
                    .bearer_auth(&admin),
            )
            .await?;
            return Ok(QualitySeen {
                rebuilt: (
                    rebuilt["dossiers"].as_u64().unwrap_or(0),
                    rebuilt["equal"] == true,
                ),
                figures: r["total"]["figures"].clone(),
                points: r["total"]["points"].clone(),
                points_max: r["total"]["points_measured_max"].clone(),
                expected,
                payments,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl QualitySeen {
    /// Each figure the hub showed beside the simulator's, `(name, hub, simulator)`.
    pub fn pairs(&self) -> Vec<(&'static str, u64, u64)> {
        let e = &self.expected;
        let f = |k: &str| self.figures[k].as_u64().unwrap_or(u64::MAX);
        vec![
            ("received", f("received"), e.received),
            (
                "finished on time",
                f("finished_on_time"),
                e.finished_on_time,
            ),
            ("finished late", f("finished_late"), e.finished_late),
            ("withdrawn", f("withdrawn"), e.withdrawn),
            ("open", f("open"), e.open),
            ("open and overdue now", f("open_overdue"), e.open_overdue),
            (
                "synchronised to the portal",
                f("synchronised"),
                e.synchronised,
            ),
            (
                "submitted online",
                f("submitted_online"),
                e.submitted_online,
            ),
            ("with a fee", f("with_fee"), e.with_fee),
            ("paid online", f("paid_online"), e.paid_online),
            (
                "with an electronic result",
                f("electronic_results"),
                e.electronic_results,
            ),
        ]
    }

    /// Whether every figure is the simulator's.
    pub fn agree(&self) -> bool {
        self.pairs().iter().all(|(_, a, b)| a == b)
    }

    /// The rows of the summary.
    pub fn rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![(
            "service quality, province 42 (the hub's view / the simulator's)".to_string(),
            format!("{} of {} points measured", self.points, self.points_max),
        )];
        for (name, hub, sim) in self.pairs() {
            rows.push((format!("  {name}"), format!("{hub} / {sim}")));
        }
        rows.push((
            "  dossiers rebuilt from the audit log, same as live".into(),
            format!(
                "{} ({})",
                self.rebuilt.0,
                if self.rebuilt.1 { "yes" } else { "NO" }
            ),
        ));
        rows.push((
            "  online payments sent by the portal / accepted".into(),
            format!("{} / {}", self.payments.0, self.payments.1),
        ));
        rows
    }
}
