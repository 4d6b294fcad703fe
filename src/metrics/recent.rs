//! The last hour of traffic, a minute at a time, for the console's overview: records accepted
//! per adapter and delivered per destination, and the last errors (records refused at ingest,
//! records parked). Kept beside the counters, in memory, per hub node.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Minutes kept.
pub const MINUTES: usize = 60;
/// Errors kept.
const ERRORS: usize = 20;

/// One minute's slot of a series: the minute (since the epoch) it counts, and its count.
type Slots = [(i64, u64); MINUTES];

#[derive(Debug, Default)]
pub(super) struct Recent {
    adapters: BTreeMap<String, Slots>,
    destinations: BTreeMap<String, Slots>,
    errors: VecDeque<RecentError>,
}

/// An error of the last hour.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecentError {
    pub time: String,
    /// The adapter or destination.
    pub r#where: String,
    pub code: String,
}

/// What the overview shows: per minute, oldest first, the last being the current minute.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Traffic {
    /// Each minute's start, RFC 3339.
    pub minutes: Vec<String>,
    pub adapters: BTreeMap<String, Vec<u64>>,
    pub destinations: BTreeMap<String, Vec<u64>>,
    /// The latest first.
    pub errors: Vec<RecentError>,
}

fn bump(series: &mut BTreeMap<String, Slots>, name: &str, minute: i64) {
    if !series.contains_key(name) {
        series.insert(name.to_string(), [(i64::MIN, 0); MINUTES]);
    }
    if let Some(slots) = series.get_mut(name) {
        let slot = &mut slots[minute.rem_euclid(MINUTES as i64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += 1;
    }
}

fn read(series: &BTreeMap<String, Slots>, now: i64) -> BTreeMap<String, Vec<u64>> {
    series
        .iter()
        .map(|(name, slots)| {
            let counts = (now - MINUTES as i64 + 1..=now)
                .map(|m| {
                    let s = slots[m.rem_euclid(MINUTES as i64) as usize];
                    if s.0 == m { s.1 } else { 0 }
                })
                .collect::<Vec<_>>();
            (name.clone(), counts)
        })
        .filter(|(_, c)| c.iter().any(|n| *n > 0))
        .collect()
}

impl Recent {
    /// Counts a metric's increment if it is one the overview shows.
    pub(super) fn note(&mut self, name: &str, labels: &[(&'static str, &str)], now_ms: i64) {
        let label = |k: &str| {
            labels
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| *v)
                .unwrap_or("")
        };
        let minute = now_ms.div_euclid(60_000);
        match name {
            "lienthong_ingest_accepted_total" => bump(&mut self.adapters, label("adapter"), minute),
            "lienthong_relay_delivered_total" => {
                bump(&mut self.destinations, label("destination"), minute)
            }
            "lienthong_ingest_rejected_total" => {
                self.error(label("adapter"), label("reason"), now_ms)
            }
            "lienthong_relay_dead_total" => {
                self.error(label("destination"), "relay.parked", now_ms)
            }
            _ => {}
        }
    }

    fn error(&mut self, place: &str, code: &str, now_ms: i64) {
        if self.errors.len() == ERRORS {
            self.errors.pop_back();
        }
        self.errors.push_front(RecentError {
            time: crate::clock::rfc3339_ms(now_ms.max(0) as u64),
            r#where: place.to_string(),
            code: code.to_string(),
        });
    }

    pub(super) fn traffic(&self, now_ms: i64) -> Traffic {
        let now = now_ms.div_euclid(60_000);
        Traffic {
            minutes: (now - MINUTES as i64 + 1..=now)
                .map(|m| crate::clock::rfc3339_ms((m * 60_000).max(0) as u64))
                .collect(),
            adapters: read(&self.adapters, now),
            destinations: read(&self.destinations, now),
            errors: self.errors.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fall_in_their_minute_and_age_out_after_an_hour() {
        let mut r = Recent::default();
        let t0 = 1_700_000_000_000i64 - 1_700_000_000_000 % 60_000;
        let a = [("adapter", "motcua"), ("record_type", "dossier")];
        r.note("lienthong_ingest_accepted_total", &a, t0);
        r.note("lienthong_ingest_accepted_total", &a, t0 + 59_999);
        r.note("lienthong_ingest_accepted_total", &a, t0 + 60_000);
        r.note(
            "lienthong_relay_delivered_total",
            &[("destination", "portal")],
            t0 + 60_000,
        );
        r.note("lienthong_http_requests_total", &[("route", "/x")], t0);
        let x = r.traffic(t0 + 60_000);
        assert_eq!(x.minutes.len(), MINUTES);
        let m = &x.adapters["motcua"];
        assert_eq!((m[MINUTES - 2], m[MINUTES - 1]), (2, 1));
        assert_eq!(m.iter().sum::<u64>(), 3);
        assert_eq!(x.destinations["portal"][MINUTES - 1], 1);
        // 59 minutes later the first minute is the oldest shown; a minute more and it is gone.
        assert_eq!(r.traffic(t0 + 59 * 60_000).adapters["motcua"][0], 2);
        let later = r.traffic(t0 + 60 * 60_000);
        assert_eq!(later.adapters["motcua"].iter().sum::<u64>(), 1);
        assert!(r.traffic(t0 + 200 * 60_000).adapters.is_empty());
        // The same slot reused by a later minute starts again from zero.
        r.note("lienthong_ingest_accepted_total", &a, t0 + 60 * 60_000);
        assert_eq!(
            r.traffic(t0 + 60 * 60_000).adapters["motcua"][MINUTES - 1],
            1
        );
    }

    #[test]
    fn the_latest_errors_are_kept_first() {
        let mut r = Recent::default();
        for i in 0..25 {
            let code = format!("translate.{i}");
            r.note(
                "lienthong_ingest_rejected_total",
                &[("adapter", "motcua"), ("reason", &code)],
                i,
            );
        }
        r.note(
            "lienthong_relay_dead_total",
            &[("destination", "portal")],
            30,
        );
        let x = r.traffic(30);
        assert_eq!(x.errors.len(), ERRORS);
        assert_eq!(x.errors[0].code, "relay.parked");
        assert_eq!(x.errors[1].code, "translate.24");
    }
}
