//! The indicators of Decision 766/QĐ-TTg the hub can see, per period and per agency, province,
//! procedure or field, computed from the dossiers as they stood at a moment (`as_of`), and the
//! points of each group by the published formulas, labelled as the hub's view.

use super::fold::Dossier;
use super::standing::Standing;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Where the formulas come from.
pub const SOURCE: &str = "Decision 766/QĐ-TTg (23 June 2022), its method note and the national \
                          public-service portal's public page \"Đánh giá chất lượng phục vụ\", \
                          as currently computed (see DOMAIN.md)";

const VN_OFFSET_MS: i64 = 7 * 3600 * 1000;

/// How the figures are bucketed in time (by the dossier's received time, Vietnam time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    Day,
    #[default]
    Month,
    Quarter,
    Year,
    /// One bucket for everything.
    All,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        Some(match s {
            "day" => Period::Day,
            "month" => Period::Month,
            "quarter" => Period::Quarter,
            "year" => Period::Year,
            "all" => Period::All,
            _ => return None,
        })
    }

    /// The bucket of a time: `2025-12-01`, `2025-12`, `2025-Q4`, `2025`, `all`.
    pub fn key(self, ms: i64) -> String {
        use chrono::Datelike;
        let Some(t) = chrono::DateTime::from_timestamp_millis(ms + VN_OFFSET_MS) else {
            return "unknown".into();
        };
        let d = t.date_naive();
        match self {
            Period::Day => d.format("%Y-%m-%d").to_string(),
            Period::Month => d.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", d.year(), (d.month0() / 3) + 1),
            Period::Year => d.year().to_string(),
            Period::All => "all".into(),
        }
    }
}

/// A dimension to split the figures by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// The resolving agency (the receiving one when no other is named).
    Agency,
    /// The 2025 province of the resolving agency.
    Province,
    Procedure,
    Field,
}

impl Dim {
    pub fn parse(s: &str) -> Option<Dim> {
        Some(match s {
            "agency" => Dim::Agency,
            "province" => Dim::Province,
            "procedure" => Dim::Procedure,
            "field" => Dim::Field,
            _ => return None,
        })
    }
}

/// Which dossiers, bucketed how, at which moment.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Dossiers received or resolved by this agency.
    pub agency: Option<String>,
    /// 2025 province code (two digits) of the receiving or resolving agency.
    pub province: Option<String>,
    pub procedure: Option<String>,
    pub field: Option<String>,
    pub period: Period,
    pub by: Option<Dim>,
    /// Received on or after this time, and before `to_ms`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub as_of_ms: i64,
    /// The caller may see only dossiers of this member's agencies (`None`: all).
    pub scope: Option<String>,
}

/// The counts of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Dossiers received in the period (every one the hub saw).
    pub received: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    /// Received, less rejected and withdrawn: the dossiers to be resolved.
    pub to_resolve: u64,
    pub finished: u64,
    pub finished_on_time: u64,
    pub finished_late: u64,
    pub open: u64,
    pub open_overdue: u64,
    /// Average of finish − received − time waiting for supplements, in hours.
    pub handling_hours_avg: Option<f64>,
    /// Dossiers the national portal accepted (their dossier record delivered to it).
    pub synchronised: u64,
    /// Average and largest delay from receipt to the portal's acceptance, in hours.
    pub sync_delay_hours_avg: Option<f64>,
    pub sync_delay_hours_max: Option<f64>,
    /// Finished dossiers whose result carried an electronic result document.
    pub electronic_results: u64,
    /// Dossiers that reused a document or data the state held.
    pub reused_state_data: u64,
    /// Dossiers whose applicant was checked against the population register.
    pub checked_with_register: u64,
    pub submitted_online: u64,
    /// Submitted online, finished with an electronic result, and paid online if it had a fee.
    pub full_process_online: u64,
    pub with_fee: u64,
    pub paid_online: u64,
}

#[derive(Default)]
struct Sums {
    handling_ms: i128,
    sync_ms: i128,
    sync_max: i64,
}

impl Figures {
    fn add(&mut self, s: &Standing, base: &super::fold::Base, sums: &mut Sums, as_of: i64) {
        self.received += 1;
        self.rejected += u64::from(s.rejected);
        self.withdrawn += u64::from(s.withdrawn && !s.rejected);
        let to_resolve = !s.rejected && !s.withdrawn;
        if to_resolve {
            self.to_resolve += 1;
            self.reused_state_data += u64::from(s.reused);
            self.checked_with_register += u64::from(s.checked);
            match s.finished_ms {
                Some(f) => {
                    self.finished += 1;
                    if s.on_time() {
                        self.finished_on_time += 1;
                    } else {
                        self.finished_late += 1;
                    }
                    let paused = s.due_ms.zip(base.due_ms).map_or(0, |(m, d)| m - d);
                    sums.handling_ms += i128::from((f - s.received_ms - paused).max(0));
                    self.electronic_results += u64::from(s.results);
                }
                None => {
                    self.open += 1;
                    self.open_overdue += u64::from(s.overdue_at(as_of));
                }
            }
        }
        if let Some(t) = s.synced_ms {
            self.synchronised += 1;
            let delay = (t - s.received_ms).max(0);
            sums.sync_ms += i128::from(delay);
            sums.sync_max = sums.sync_max.max(delay);
        }
        let online = &*base.channel == "online";
        self.submitted_online += u64::from(online);
        self.with_fee += u64::from(base.fee);
        self.paid_online += u64::from(base.fee && s.paid_online);
        self.full_process_online += u64::from(
            online && s.finished_ms.is_some() && s.results && (!base.fee || s.paid_online),
        );
    }

    fn finish(&mut self, sums: &Sums) {
        let hours = |ms: i128, n: u64| (n > 0).then(|| round2(ms as f64 / n as f64 / 3.6e6));
        self.handling_hours_avg = hours(sums.handling_ms, self.finished);
        self.sync_delay_hours_avg = hours(sums.sync_ms, self.synchronised);
        self.sync_delay_hours_max =
            (self.synchronised > 0).then(|| round2(sums.sync_max as f64 / 3.6e6));
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One indicator's points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub group: &'static str,
    pub indicator: &'static str,
    pub max: f64,
    /// `None`: not measured here (the hub does not see what it reads), never zero.
    pub points: Option<f64>,
    pub ratio: Option<f64>,
    pub formula: &'static str,
    /// `hub` (computed from what the hub relays) or `not-measured`.
    pub view: &'static str,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The points of each group the decision scores, by its formulas, from a bucket's counts.
pub fn scores(f: &Figures) -> Vec<Score> {
    let measured = |group, indicator, max: f64, r: Option<f64>, formula, cap: f64| Score {
        group,
        indicator,
        max,
        points: r.map(|r| round2(max * (r / cap).min(1.0))),
        ratio: r.map(|r| (r * 10_000.0).round() / 10_000.0),
        formula,
        view: "hub",
    };
    let unmeasured = |group, indicator, max, formula| Score {
        group,
        indicator,
        max,
        points: None,
        ratio: None,
        formula,
        view: "not-measured",
    };
    vec![
        measured(
            "transparency",
            "dossiers synchronised to the national portal",
            6.0,
            ratio(f.synchronised, f.received),
            "6 × synchronised ÷ received",
            1.0,
        ),
        unmeasured(
            "transparency",
            "procedures announced and published",
            12.0,
            "read from the national procedure database, which the hub does not see",
        ),
        measured(
            "progress",
            "dossiers finished on time",
            20.0,
            ratio(f.finished_on_time, f.to_resolve),
            "20 × finished on time ÷ received (less rejected and withdrawn); on time when \
             finished ≤ due + time waiting for a supplement, with at most one supplement request",
            1.0,
        ),
        measured(
            "digitisation",
            "electronic results",
            6.0,
            ratio(f.electronic_results, f.finished),
            "6 × finished with an electronic result document ÷ finished",
            1.0,
        ),
        measured(
            "digitisation",
            "reuse of data the state holds",
            2.0,
            ratio(f.reused_state_data, f.to_resolve),
            "2 × reused ÷ received (less rejected and withdrawn), full at 80 %",
            0.8,
        ),
        measured(
            "digitisation",
            "dossiers using population data",
            2.0,
            ratio(f.checked_with_register, f.to_resolve),
            "2 × checked against the population register ÷ received (less rejected and withdrawn)",
            1.0,
        ),
        unmeasured(
            "digitisation",
            "digitised dossier components",
            4.0,
            "read from the one-stop systems' digitisation, which the hub does not see",
        ),
        measured(
            "online",
            "full-process online dossiers",
            12.0,
            ratio(f.full_process_online, f.received),
            "12 × full-process online ÷ received (the hub's view: submitted online, finished \
             with an electronic result, paid online when there was a fee)",
            1.0,
        ),
        unmeasured(
            "online",
            "procedures offered online",
            10.0,
            "read from the national procedure database, which the hub does not see",
        ),
        measured(
            "payment",
            "dossiers paid online",
            6.0,
            ratio(f.paid_online, f.with_fee),
            "6 × paid online ÷ dossiers with a fee",
            1.0,
        ),
        unmeasured(
            "payment",
            "procedures offering online payment",
            4.0,
            "read from the national procedure database, which the hub does not see",
        ),
        unmeasured(
            "satisfaction",
            "citizens' satisfaction",
            18.0,
            "read from citizens' feedback (PAKN) on the portal, which the hub does not see",
        ),
    ]
}

/// An overdue dossier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdue {
    pub dossier_code: String,
    pub resolving_agency: String,
    pub procedure_code: String,
    /// The due time moved by supplement waits, Vietnam time.
    pub due_at: String,
    pub hours_overdue: f64,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub period: String,
    /// The value of the `by` dimension, when the figures are split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub figures: Figures,
    pub scores: Vec<Score>,
    /// The points of the measured indicators, and their maximum.
    pub points: f64,
    pub points_measured_max: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub as_of: String,
    pub rows: Vec<Row>,
    pub total: Row,
    pub overdue_now: u64,
    /// The most overdue first, at most 100.
    pub overdue: Vec<Overdue>,
    pub source: &'static str,
}

/// A time in Vietnam time, RFC 3339.
pub fn vn_time(ms: i64) -> String {
    let vn = chrono::FixedOffset::east_opt(7 * 3600).expect("7 h is a valid offset");
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&vn)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_default()
}

/// The 2025 province (two-digit code) of an agency code: its last part names the province (H
/// and the province's statistics code before the 2025 reform) or a ministry (G…); a province
/// merged in 2025 is counted in the one that took it.
pub fn province_of(agency: &str) -> Option<String> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    let last = agency.rsplit('.').next()?;
    let old = last.strip_prefix('H').filter(|c| c.len() == 2)?;
    let map = MAP.get_or_init(|| {
        let mut m = HashMap::new();
        let Some(u) = crate::units::shared() else {
            return m;
        };
        // A legacy province's successor: the 2025 province of its communes' successors.
        let district_province: HashMap<&str, &str> = u
            .legacy_districts
            .iter()
            .map(|d| (d.code.as_str(), d.parent.as_str()))
            .collect();
        for c in &u.legacy_communes {
            let Some(old) = district_province.get(c.parent.as_str()) else {
                continue;
            };
            if m.contains_key(*old) {
                continue;
            }
            if let Some(p) = u
                .successors(&c.code)
                .first()
                .and_then(|n| u.commune(n))
                .map(|n| n.parent.clone())
            {
                m.insert(old.to_string(), p);
            }
        }
        m
    });
    map.get(old).cloned()
}

fn agency_of(b: &super::fold::Base) -> &str {
    if b.resolving.is_empty() {
        &b.receiving
    } else {
        &b.resolving
    }
}

/// Whether `agency` is `member`'s own: the member itself, or, for a member at the top of a
/// province or ministry (`000.00.00.H42`), any agency of it (`000.00.10.H42`): the last part
/// of a code (Decision 20/2020/QĐ-TTg) names the province or ministry.
pub fn agency_of_member(agency: &str, member: &str) -> bool {
    agency == member
        || member
            .strip_prefix("000.00.00.")
            .is_some_and(|top| !top.is_empty() && agency.rsplit('.').next() == Some(top))
}

fn in_scope(b: &super::fold::Base, member: &str) -> bool {
    agency_of_member(&b.receiving, member) || agency_of_member(&b.resolving, member)
}

/// The figures of the dossiers `q` selects.
pub fn report<'d>(dossiers: impl Iterator<Item = &'d Dossier>, q: &Query) -> Report {
    let as_of = q.as_of_ms;
    let mut buckets: BTreeMap<(String, Option<String>), (Figures, Sums)> = BTreeMap::new();
    let mut total = (Figures::default(), Sums::default());
    let mut overdue = Vec::new();
    for d in dossiers {
        let (Some(base), Some(s)) = (d.base(), d.standing(as_of)) else {
            continue;
        };
        let province = || {
            province_of(&base.resolving)
                .into_iter()
                .chain(province_of(&base.receiving))
        };
        let keep = q
            .agency
            .as_ref()
            .is_none_or(|a| **a == *base.receiving || **a == *base.resolving)
            && q.province
                .as_ref()
                .is_none_or(|p| province().any(|x| x == *p))
            && q.procedure.as_ref().is_none_or(|p| **p == *base.procedure)
            && q.field.as_ref().is_none_or(|f| **f == *base.field)
            && q.from_ms.is_none_or(|t| s.received_ms >= t)
            && q.to_ms.is_none_or(|t| s.received_ms < t)
            && q.scope.as_ref().is_none_or(|a| in_scope(base, a));
        if !keep {
            continue;
        }
        let key = q.by.map(|by| match by {
            Dim::Agency => agency_of(base).to_string(),
            Dim::Province => province_of(agency_of(base)).unwrap_or_else(|| "unknown".into()),
            Dim::Procedure => base.procedure.to_string(),
            Dim::Field => base.field.to_string(),
        });
        let (f, sums) = buckets
            .entry((q.period.key(s.received_ms), key))
            .or_default();
        f.add(&s, base, sums, as_of);
        total.0.add(&s, base, &mut total.1, as_of);
        if s.overdue_at(as_of) {
            let due = s.due_ms.unwrap_or(as_of);
            overdue.push(Overdue {
                dossier_code: d.code.to_string(),
                resolving_agency: agency_of(base).to_string(),
                procedure_code: base.procedure.to_string(),
                due_at: vn_time(due),
                hours_overdue: round2((as_of - due) as f64 / 3.6e6),
            });
        }
    }
    let row = |period: String, key: Option<String>, (mut f, sums): (Figures, Sums)| {
        f.finish(&sums);
        let scores = scores(&f);
        let points = round2(scores.iter().filter_map(|s| s.points).sum());
        let max = scores
            .iter()
            .filter(|s| s.points.is_some())
            .map(|s| s.max)
            .sum();
        Row {
            period,
            key,
            figures: f,
            scores,
            points,
            points_measured_max: max,
        }
    };
    overdue.sort_by(|a, b| {
        b.hours_overdue
            .total_cmp(&a.hours_overdue)
            .then_with(|| a.dossier_code.cmp(&b.dossier_code))
    });
    let overdue_now = overdue.len() as u64;
    overdue.truncate(100);
    Report {
        as_of: vn_time(as_of),
        rows: buckets
            .into_iter()
            .map(|((p, k), v)| row(p, k, v))
            .collect(),
        total: row("all".into(), None, total),
        overdue_now,
        overdue,
        source: SOURCE,
    }
}
