//! The headline indicators as Prometheus gauges: per resolving agency, for the current month
//! (Vietnam time), read at the time of the scrape.

use super::Quality;
use super::figures::{Dim, Period, Query};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Quality {
    /// The gauges' text, as of `now_ms`; `log_size` for the lag.
    pub fn gauges(&self, now_ms: i64, log_size: u64) -> String {
        let month = Period::Month.key(now_ms);
        let report = self.report(&Query {
            period: Period::Month,
            by: Some(Dim::Agency),
            as_of_ms: now_ms,
            ..Default::default()
        });
        let mut out = String::new();
        out.push_str(
            "# HELP lienthong_quality_dossiers Dossiers received this month (Vietnam time) by \
             resolving agency, by what became of them, as the hub sees them.\n\
             # TYPE lienthong_quality_dossiers gauge\n",
        );
        let mut points: BTreeMap<(String, &str), f64> = BTreeMap::new();
        for row in report.rows.iter().filter(|r| r.period == month) {
            let agency = escape(row.key.as_deref().unwrap_or_default());
            let f = &row.figures;
            for (state, n) in [
                ("received", f.received),
                ("finished_on_time", f.finished_on_time),
                ("finished_late", f.finished_late),
                ("open", f.open),
                ("open_overdue", f.open_overdue),
                ("synchronised", f.synchronised),
                ("submitted_online", f.submitted_online),
                ("paid_online", f.paid_online),
                ("electronic_results", f.electronic_results),
            ] {
                let _ = writeln!(
                    out,
                    "lienthong_quality_dossiers{{agency=\"{agency}\",state=\"{state}\"}} {n}"
                );
            }
            for s in row.scores.iter().filter(|s| s.points.is_some()) {
                *points.entry((agency.clone(), s.group)).or_default() +=
                    s.points.unwrap_or_default();
            }
        }
        out.push_str(
            "# HELP lienthong_quality_points Points of each group of Decision 766/QĐ-TTg this \
             month by resolving agency, from the indicators the hub can measure.\n\
             # TYPE lienthong_quality_points gauge\n",
        );
        for ((agency, group), p) in &points {
            let _ = writeln!(
                out,
                "lienthong_quality_points{{agency=\"{agency}\",group=\"{group}\"}} {p}"
            );
        }
        let _ = write!(
            out,
            "# HELP lienthong_quality_overdue_now Open dossiers past their due time now.\n\
             # TYPE lienthong_quality_overdue_now gauge\n\
             lienthong_quality_overdue_now {}\n\
             # HELP lienthong_quality_lag_entries Audit entries not yet folded into the indicators.\n\
             # TYPE lienthong_quality_lag_entries gauge\n\
             lienthong_quality_lag_entries {}\n",
            report.overdue_now,
            log_size.saturating_sub(self.mark()),
        );
        out
    }
}
