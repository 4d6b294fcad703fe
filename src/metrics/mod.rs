//! Prometheus metrics: counters and latency histograms, rendered in the text format at
//! `/metrics`. Labels carry route templates, adapter names and reason codes, never personal
//! data.

mod recent;

pub use recent::{RecentError, Traffic};

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

type Labels = Vec<(&'static str, String)>;

/// The hub's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
    /// The last hour, a minute at a time (the console's overview).
    recent: Mutex<recent::Recent>,
}

/// Help text of each metric.
const HELP: &[(&str, &str, &str)] = &[
    (
        "lienthong_http_requests_total",
        "counter",
        "HTTP requests answered, by route template, method and status.",
    ),
    (
        "lienthong_http_request_duration_seconds",
        "histogram",
        "Time to answer HTTP requests, by route template.",
    ),
    (
        "lienthong_ingest_accepted_total",
        "counter",
        "Records accepted by ingest, by adapter and record type.",
    ),
    (
        "lienthong_ingest_rejected_total",
        "counter",
        "Records rejected by ingest, by adapter and reason code.",
    ),
    (
        "lienthong_limit_breaches_total",
        "counter",
        "Requests refused at the edge, by limit.",
    ),
    (
        "lienthong_relay_delivered_total",
        "counter",
        "Records delivered, by destination and record type.",
    ),
    (
        "lienthong_relay_failed_total",
        "counter",
        "Failed delivery attempts, by destination and kind (retryable, refused).",
    ),
    (
        "lienthong_relay_dead_total",
        "counter",
        "Records parked as dead letters, by destination.",
    ),
    (
        "lienthong_ingest_duplicates_total",
        "counter",
        "Repeated ingests answered with the original exchange, by adapter.",
    ),
    (
        "lienthong_auth_failures_total",
        "counter",
        "Requests refused for their credentials, by reason.",
    ),
];

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        let key = (
            name,
            labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        );
        if let Ok(mut c) = self.counters.lock() {
            *c.entry(key).or_default() += 1;
        }
        if let Ok(mut r) = self.recent.lock() {
            r.note(name, labels, crate::clock::now_ms() as i64);
        }
    }

    /// The last hour of traffic and the latest errors.
    pub fn traffic(&self) -> Traffic {
        let now = crate::clock::now_ms() as i64;
        match self.recent.lock() {
            Ok(r) => r.traffic(now),
            Err(p) => p.into_inner().traffic(now),
        }
    }

    /// Records an observation in a histogram.
    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], seconds: f64) {
        let key = (
            name,
            labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        );
        if let Ok(mut h) = self.histograms.lock() {
            let h = h.entry(key).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The current value of a counter (for tests and status pages).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let Ok(c) = self.counters.lock() else {
            return 0;
        };
        c.iter()
            .filter(|((n, l), _)| {
                *n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let histograms = self
            .histograms
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for ((n, labels), v) in &counters {
                if n == name {
                    let _ = writeln!(out, "{name}{} {v}", fmt_labels(labels, None));
                }
            }
            for ((n, labels), h) in &histograms {
                if n != name {
                    continue;
                }
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        fmt_labels(labels, Some(&b.to_string())),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    fmt_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", fmt_labels(labels, None), h.count);
            }
        }
        out
    }
}

fn fmt_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_prometheus_text() {
        let m = Metrics::default();
        m.inc(
            "lienthong_ingest_rejected_total",
            &[("adapter", "a"), ("reason", "xml.doctype")],
        );
        m.inc(
            "lienthong_ingest_rejected_total",
            &[("adapter", "a"), ("reason", "xml.doctype")],
        );
        m.observe(
            "lienthong_http_request_duration_seconds",
            &[("route", "/x")],
            0.003,
        );
        let text = m.render();
        assert!(
            text.contains(
                "lienthong_ingest_rejected_total{adapter=\"a\",reason=\"xml.doctype\"} 2"
            )
        );
        assert!(text.contains(
            "lienthong_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "lienthong_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.0025\"} 0"
        ));
        assert_eq!(
            m.counter("lienthong_ingest_rejected_total", &[("adapter", "a")]),
            2
        );
    }
}
