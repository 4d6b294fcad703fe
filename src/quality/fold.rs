//! What the hub knows of each dossier, folded from the acts of the audit log: the dossier
//! record, its status events, payments, the once-only findings of its ingest and the
//! national portal's acceptance of it. Order-independent where the sources are not in order
//! (status events are kept by their own times, a repeat by its event id is taken once), so
//! that the live figures and those rebuilt from the log agree.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One act of the log, as the fold reads it (an audit entry with its payload, if kept).
#[derive(Debug, Clone, Default)]
pub struct Act<'a> {
    pub time_ms: i64,
    pub exchange_id: &'a str,
    pub operation: &'a str,
    pub outcome: &'a str,
    pub record_type: Option<&'a str>,
    pub counterparty: Option<&'a str>,
    pub error_code: Option<&'a str>,
    /// The record, for an accepted ingest (absent when purged).
    pub payload: Option<&'a Value>,
}

/// What a dossier record (or, until one arrives, its latest status event) says about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Base {
    #[serde(rename = "p", default)]
    pub procedure: String,
    #[serde(rename = "f", default)]
    pub field: String,
    #[serde(rename = "ra", default)]
    pub receiving: String,
    #[serde(rename = "rs", default)]
    pub resolving: String,
    #[serde(rename = "ch", default)]
    pub channel: String,
    #[serde(rename = "r", default)]
    pub received_ms: Option<i64>,
    #[serde(rename = "d", default)]
    pub due_ms: Option<i64>,
    /// The dossier has a fee to pay (a fee with an amount above zero).
    #[serde(rename = "fee", default)]
    pub fee: bool,
}

/// One status event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The source's event id, or the status and time when it gave none: a repeat is known by it.
    pub id: String,
    #[serde(rename = "s")]
    pub status: String,
    #[serde(rename = "t")]
    pub at_ms: i64,
    /// When handling ended (`finished_at`), if the event says.
    #[serde(rename = "e", default)]
    pub finished_ms: Option<i64>,
    /// Result documents carried (issued electronically or digitised).
    #[serde(rename = "k", default)]
    pub results: u32,
}

/// Everything known of one dossier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dossier {
    pub code: String,
    /// From the dossier record (the last one accepted).
    #[serde(default)]
    pub base: Option<Base>,
    /// From the status event with the latest time, while there is no dossier record.
    #[serde(default)]
    pub event_base: Option<(i64, String, Base)>,
    /// Status events, in their own time order (then by id).
    #[serde(default)]
    pub events: Vec<Event>,
    /// First online payment marked paid.
    #[serde(default)]
    pub paid_online_ms: Option<i64>,
    /// Its applicant was compared with the population register (the register answered).
    #[serde(default)]
    pub checked: bool,
    /// It reused a document or data the state held (a document the state issued, or a field
    /// filled from the register).
    #[serde(default)]
    pub reused: bool,
    /// When the hub accepted its dossier record first, and when the national portal accepted it.
    #[serde(default)]
    pub accepted_ms: Option<i64>,
    #[serde(default)]
    pub synced_ms: Option<i64>,
    /// The exchanges of its dossier records (to place the acts that name only an exchange).
    #[serde(default)]
    pub exchanges: Vec<String>,
}

impl Dossier {
    /// The dossier record's account, else the latest status event's.
    pub fn base(&self) -> Option<&Base> {
        self.base
            .as_ref()
            .or(self.event_base.as_ref().map(|(_, _, b)| b))
    }
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn time_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn time_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_str).and_then(time_ms)
}

fn base_of(r: &Value) -> Base {
    Base {
        procedure: text(r, "procedure_code").to_string(),
        field: text(r, "field_code").to_string(),
        receiving: text(r, "receiving_agency").to_string(),
        resolving: text(r, "resolving_agency").to_string(),
        channel: text(r, "channel").to_string(),
        received_ms: time_of(r, "received_at"),
        due_ms: time_of(r, "due_at"),
        fee: r.get("fees").and_then(Value::as_array).is_some_and(|f| {
            f.iter()
                .any(|x| x.get("amount").and_then(Value::as_i64).unwrap_or(0) > 0)
        }),
    }
}

/// The dossiers, and where to place the acts that name only an exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    pub dossiers: HashMap<String, Dossier>,
    exchanges: HashMap<String, String>,
    /// Which national-portal destinations count as the portal (`quality.portal`).
    portal: Vec<String>,
}

impl Ledger {
    pub fn new(portal: &[String]) -> Ledger {
        Ledger {
            portal: portal.to_vec(),
            ..Default::default()
        }
    }

    /// Takes in dossiers read back from a store.
    pub fn insert(&mut self, d: Dossier) {
        for x in &d.exchanges {
            self.exchanges.insert(x.clone(), d.code.clone());
        }
        self.dossiers.insert(d.code.clone(), d);
    }

    fn dossier(&mut self, code: &str) -> &mut Dossier {
        self.dossiers
            .entry(code.to_string())
            .or_insert_with(|| Dossier {
                code: code.to_string(),
                ..Default::default()
            })
    }

    /// Folds in one act; returns the code of the dossier it changed, if any.
    pub fn apply(&mut self, act: &Act<'_>) -> Option<String> {
        match (act.operation, act.outcome) {
            ("ingest", "accepted") => self.ingest(act),
            ("verify", outcome) => {
                let code = self.exchanges.get(act.exchange_id)?.clone();
                let d = self.dossier(&code);
                // The register answered: any finding but one saying it could not be asked.
                let answered = !act.error_code.is_some_and(|c| c.starts_with("unverified."));
                let mut changed = false;
                if answered && !d.checked {
                    d.checked = true;
                    changed = true;
                }
                if outcome == "filled" && !d.reused {
                    d.reused = true;
                    changed = true;
                }
                changed.then_some(code)
            }
            ("deliver", "delivered")
                if act.record_type == Some("dossier")
                    && act
                        .counterparty
                        .is_some_and(|c| self.portal.iter().any(|p| p == c)) =>
            {
                let code = self.exchanges.get(act.exchange_id)?.clone();
                let d = self.dossier(&code);
                // The first acceptance counts: a later update of the dossier is not its sync.
                if d.synced_ms.is_some_and(|t| t <= act.time_ms) {
                    return None;
                }
                d.synced_ms = Some(act.time_ms);
                Some(code)
            }
            _ => None,
        }
    }

    fn ingest(&mut self, act: &Act<'_>) -> Option<String> {
        let r = act.payload?;
        match act.record_type? {
            "dossier" => {
                let code = text(r, "dossier_code");
                if code.is_empty() {
                    return None;
                }
                let base = base_of(r);
                let reused = r
                    .get("documents")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|x| text(x, "origin") == "issued"));
                self.exchanges
                    .insert(act.exchange_id.to_string(), code.to_string());
                let d = self.dossier(code);
                d.base = Some(base);
                d.reused |= reused;
                d.accepted_ms = Some(d.accepted_ms.map_or(act.time_ms, |t| t.min(act.time_ms)));
                if !d.exchanges.iter().any(|x| x == act.exchange_id) {
                    d.exchanges.push(act.exchange_id.to_string());
                }
                Some(code.to_string())
            }
            "dossier-status" => {
                let code = text(r, "dossier_code");
                let at = time_of(r, "event_at")?;
                if code.is_empty() {
                    return None;
                }
                let status = text(r, "status").to_string();
                let id = match text(r, "event_id") {
                    "" => format!("{status}@{at}"),
                    id => id.to_string(),
                };
                let event = Event {
                    id,
                    status,
                    at_ms: at,
                    finished_ms: time_of(r, "finished_at"),
                    results: r
                        .get("result_documents")
                        .and_then(Value::as_array)
                        .map_or(0, |d| d.len() as u32),
                };
                let d = self.dossier(code);
                if d.events.iter().any(|e| e.id == event.id) {
                    return None;
                }
                if d.event_base
                    .as_ref()
                    .is_none_or(|(t, id, _)| (at, event.id.as_str()) >= (*t, id.as_str()))
                {
                    d.event_base = Some((at, event.id.clone(), base_of(r)));
                }
                let place = d
                    .events
                    .partition_point(|e| (e.at_ms, e.id.as_str()) < (at, event.id.as_str()));
                d.events.insert(place, event);
                Some(code.to_string())
            }
            "payment" => {
                let code = text(r, "dossier_code");
                if code.is_empty() || text(r, "method") != "online" || text(r, "status") != "paid" {
                    return None;
                }
                let at = time_of(r, "paid_at").unwrap_or(act.time_ms);
                let d = self.dossier(code);
                if d.paid_online_ms.is_some_and(|t| t <= at) {
                    return None;
                }
                d.paid_online_ms = Some(at);
                Some(code.to_string())
            }
            _ => None,
        }
    }
}

/// Statuses after which nothing is left to do.
pub fn finishing(status: &str) -> bool {
    matches!(status, "resolved" | "result_returned")
}

/// A dossier as it stood at a moment: what the figures count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Standing {
    pub received_ms: i64,
    /// The due time moved by the time spent waiting for a supplement.
    pub due_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub supplements: u32,
    pub rejected: bool,
    pub withdrawn: bool,
    pub results: bool,
    pub paid_online: bool,
    pub synced_ms: Option<i64>,
    pub reused: bool,
    pub checked: bool,
}

impl Standing {
    /// Finished on or before its (moved) due time, with at most one supplement request.
    pub fn on_time(&self) -> bool {
        match (self.finished_ms, self.due_ms) {
            (Some(f), Some(d)) => f <= d && self.supplements <= 1,
            _ => false,
        }
    }

    /// Open and past its (moved) due time at `at`.
    pub fn overdue_at(&self, at: i64) -> bool {
        self.finished_ms.is_none()
            && !self.rejected
            && !self.withdrawn
            && self.due_ms.is_some_and(|d| at > d)
    }
}

impl Dossier {
    /// The dossier as known at `as_of` (events after it unknown), or `None` when it had not
    /// been received by then or its received time is unknown.
    pub fn standing(&self, as_of: i64) -> Option<Standing> {
        let base = self.base()?;
        let received = base.received_ms?;
        if received > as_of {
            return None;
        }
        let mut s = Standing {
            received_ms: received,
            reused: self.reused,
            checked: self.checked,
            ..Default::default()
        };
        // Waiting for a supplement stops the clock, from the request to the next event.
        let mut paused = 0i64;
        let mut waiting: Option<i64> = None;
        for e in self.events.iter().take_while(|e| e.at_ms <= as_of) {
            if s.finished_ms.is_some() {
                break;
            }
            if let Some(since) = waiting.take() {
                paused += e.at_ms - since;
            }
            match e.status.as_str() {
                "supplement_requested" => {
                    s.supplements += 1;
                    waiting = Some(e.at_ms);
                }
                "rejected" => s.rejected = true,
                "withdrawn" => s.withdrawn = true,
                st if finishing(st) => {
                    s.finished_ms = Some(e.finished_ms.unwrap_or(e.at_ms));
                    s.results = self
                        .events
                        .iter()
                        .take_while(|x| x.at_ms <= as_of)
                        .any(|x| x.results > 0);
                }
                _ => {}
            }
        }
        if let Some(since) = waiting {
            paused += as_of - since;
        }
        s.due_ms = base.due_ms.map(|d| d + paused);
        s.paid_online = self.paid_online_ms.is_some_and(|t| t <= as_of);
        s.synced_ms = self.synced_ms.filter(|t| *t <= as_of);
        Some(s)
    }
}
