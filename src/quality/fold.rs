//! What the hub knows of each dossier, folded from the acts of the audit log: the dossier
//! record, its status events, payments, the once-only findings of its ingest and the
//! national portal's acceptance of it. Order-independent where the sources are not in order
//! (status events are kept by their own times, a repeat by its event id is taken once), so
//! that the live figures and those rebuilt from the log agree.

use foldhash::{HashMap, HashSet};
use std::borrow::Cow;
use std::sync::Arc;

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
    pub payload: Option<&'a Record<'a>>,
}

/// What the fold reads of a record (dossier, status event, payment); the rest of it is skipped
/// unread.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Record<'a> {
    #[serde(borrow, default)]
    pub dossier_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub procedure_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub field_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub receiving_agency: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub resolving_agency: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub received_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub due_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub finished_at: Option<Cow<'a, str>>,
    pub fees: Option<Vec<Fee>>,
    pub result_documents: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(borrow, default)]
    pub documents: Option<Vec<Document<'a>>>,
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub paid_at: Option<Cow<'a, str>>,
}

/// A fee of a dossier: its amount.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Fee {
    pub amount: Option<f64>,
}

/// A document of a dossier: where it came from.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Document<'a> {
    #[serde(borrow, default)]
    pub origin: Option<Cow<'a, str>>,
}

fn owned(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(|c| Cow::Owned(c.into_owned()))
}

impl Record<'_> {
    /// What the fold reads of `record` (a canonical record), owning its texts; `None` when it
    /// is not of a shape the fold reads (as when its sealed part is passed over).
    pub fn taken_from(record: &serde_json::Value) -> Option<Record<'static>> {
        let r: Record<'_> = serde::Deserialize::deserialize(record).ok()?;
        Some(Record {
            dossier_code: owned(r.dossier_code),
            procedure_code: owned(r.procedure_code),
            field_code: owned(r.field_code),
            receiving_agency: owned(r.receiving_agency),
            resolving_agency: owned(r.resolving_agency),
            channel: owned(r.channel),
            received_at: owned(r.received_at),
            due_at: owned(r.due_at),
            status: owned(r.status),
            event_id: owned(r.event_id),
            event_at: owned(r.event_at),
            finished_at: owned(r.finished_at),
            fees: r.fees,
            result_documents: r.result_documents,
            documents: r.documents.map(|d| {
                d.into_iter()
                    .map(|d| Document {
                        origin: owned(d.origin),
                    })
                    .collect()
            }),
            method: owned(r.method),
            paid_at: owned(r.paid_at),
        })
    }

    /// From a record as JSON.
    #[cfg(test)]
    pub(crate) fn of(v: &serde_json::Value) -> Record<'static> {
        // Borrowed from its text, kept for the test's life.
        let text: &'static str = Box::leak(v.to_string().into_boxed_str());
        serde_json::from_str(text).expect("a record the fold reads")
    }
}

/// What a dossier record (or, until one arrives, its latest status event) says about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Base {
    pub procedure: Arc<str>,
    pub field: Arc<str>,
    pub receiving: Arc<str>,
    pub resolving: Arc<str>,
    pub channel: Arc<str>,
    pub received_ms: Option<i64>,
    pub due_ms: Option<i64>,
    /// The dossier has a fee to pay (a fee with an amount above zero).
    pub fee: bool,
}

/// One status event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// A hash (FNV-1a, 64 bits) of the source's event id, or of the status and time when it
    /// gave none: a repeat is known by it.
    pub id: u64,
    pub status: Arc<str>,
    pub at_ms: i64,
    /// When handling ended (`finished_at`), if the event says.
    pub finished_ms: Option<i64>,
    /// Result documents carried (issued electronically or digitised).
    pub results: u32,
}

/// Everything known of one dossier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dossier {
    pub code: Arc<str>,
    /// From the dossier record (the last one accepted).
    pub base: Option<Base>,
    /// From the status event with the latest time, while there is no dossier record.
    pub event_base: Option<(i64, u64, Base)>,
    /// Status events, in their own time order (then by id).
    pub events: Vec<Event>,
    /// First online payment marked paid.
    pub paid_online_ms: Option<i64>,
    /// Its applicant was compared with the population register (the register answered).
    pub checked: bool,
    /// It reused a document or data the state held (a document the state issued, or a field
    /// filled from the register).
    pub reused: bool,
    /// When the hub accepted its dossier record first, and when the national portal accepted it.
    pub accepted_ms: Option<i64>,
    pub synced_ms: Option<i64>,
    /// The exchanges of its dossier records (to place the acts that name only an exchange).
    pub exchanges: Vec<Arc<str>>,
}

impl Dossier {
    /// The dossier record's account, else the latest status event's.
    pub fn base(&self) -> Option<&Base> {
        self.base
            .as_ref()
            .or(self.event_base.as_ref().map(|(_, _, b)| b))
    }
}

fn text<'v>(v: &'v Option<Cow<'_, str>>) -> &'v str {
    v.as_deref().unwrap_or_default()
}

pub use super::time::time_ms;

fn time_of(v: &Option<Cow<'_, str>>) -> Option<i64> {
    v.as_deref().and_then(time_ms)
}

/// FNV-1a, 64 bits: stable across builds and versions, unlike the standard library's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One shared copy of each text many dossiers repeat (agencies, procedures, statuses).
#[derive(Debug, Clone, Default)]
struct Texts(HashSet<Arc<str>>);

impl Texts {
    fn get(&mut self, t: &str) -> Arc<str> {
        if let Some(a) = self.0.get(t) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(t);
        self.0.insert(a.clone());
        a
    }
}

fn base_of(texts: &mut Texts, r: &Record<'_>) -> Base {
    Base {
        procedure: texts.get(text(&r.procedure_code)),
        field: texts.get(text(&r.field_code)),
        receiving: texts.get(text(&r.receiving_agency)),
        resolving: texts.get(text(&r.resolving_agency)),
        channel: texts.get(text(&r.channel)),
        received_ms: time_of(&r.received_at),
        due_ms: time_of(&r.due_at),
        fee: r
            .fees
            .iter()
            .flatten()
            .any(|f| f.amount.unwrap_or(0.0) > 0.0),
    }
}

/// The dossiers, and where to place the acts that name only an exchange.
///
/// The dossiers sit in slots, found by code through an index: an act hashes its dossier's code
/// once (twice for a new one), a growing ledger moves small index entries rather than whole
/// dossiers, and the code is kept once, shared by the index and the dossier. The dossiers
/// changed since the last save are a list of slots with a flag a slot.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    index: HashMap<Arc<str>, usize>,
    slots: Slots,
    /// Exchange id → the slot of its dossier.
    exchanges: HashMap<Arc<str>, usize>,
    texts: Texts,
    /// Slots changed since `take_changed`, each once, and a flag a slot saying so.
    changed: Vec<usize>,
    flagged: Vec<bool>,
    /// Which national-portal destinations count as the portal (`quality.portal`).
    portal: Vec<String>,
}

/// Dossiers in chunks of a fixed size: growing never moves those already there. (One vector
/// copied all of them into fresh pages at each doubling: a quarter of the indicators' thread
/// at the peak of workload (a), where every push is a new dossier.)
#[derive(Debug, Clone, Default)]
struct Slots {
    chunks: Vec<Vec<Dossier>>,
    len: usize,
}

const CHUNK: usize = 1024;

impl Slots {
    fn push(&mut self, d: Dossier) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(d);
            self.len += 1;
        }
    }

    fn get(&self, slot: usize) -> Option<&Dossier> {
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)
    }

    fn get_mut(&mut self, slot: usize) -> Option<&mut Dossier> {
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }
}

/// The dossiers changed since a save (their slots in the ledger that gave them).
#[derive(Debug, Default)]
pub struct Changed(Vec<usize>);

impl Ledger {
    pub fn new(portal: &[String]) -> Ledger {
        Ledger {
            portal: portal.to_vec(),
            ..Default::default()
        }
    }

    /// The dossier `code`, if known.
    pub fn get(&self, code: &str) -> Option<&Dossier> {
        self.index.get(code).and_then(|&s| self.slots.get(s))
    }

    /// Every dossier known, in the order first seen.
    pub fn dossiers(&self) -> impl Iterator<Item = &Dossier> {
        self.slots.chunks.iter().flatten()
    }

    /// How many dossiers are known.
    pub fn len(&self) -> usize {
        self.slots.len
    }

    pub fn is_empty(&self) -> bool {
        self.slots.len == 0
    }

    /// Takes in dossiers read back from a store.
    pub fn insert(&mut self, mut d: Dossier) {
        let texts = &mut self.texts;
        let mut share = |b: &mut Base| {
            for t in [
                &mut b.procedure,
                &mut b.field,
                &mut b.receiving,
                &mut b.resolving,
                &mut b.channel,
            ] {
                *t = texts.get(t);
            }
        };
        if let Some(b) = &mut d.base {
            share(b);
        }
        if let Some((_, _, b)) = &mut d.event_base {
            share(b);
        }
        for e in &mut d.events {
            e.status = texts.get(&e.status);
        }
        let slot = match self.index.get(&*d.code) {
            Some(&s) => s,
            None => self.new_slot(d.code.clone()),
        };
        for x in &d.exchanges {
            self.exchanges.insert(x.clone(), slot);
        }
        if let Some(x) = self.slots.get_mut(slot) {
            *x = d;
        }
    }

    fn new_slot(&mut self, code: Arc<str>) -> usize {
        let slot = self.slots.len;
        self.index.insert(code.clone(), slot);
        self.slots.push(Dossier {
            code,
            ..Default::default()
        });
        self.flagged.push(false);
        slot
    }

    /// The slot of dossier `code`, made when new.
    fn slot(&mut self, code: &str) -> usize {
        match self.index.get(code) {
            Some(&s) => s,
            None => self.new_slot(Arc::from(code)),
        }
    }

    /// The dossier in `slot`, marked changed (callers change it).
    fn changing(&mut self, slot: usize) -> Option<&mut Dossier> {
        let flag = self.flagged.get_mut(slot)?;
        if !*flag {
            *flag = true;
            self.changed.push(slot);
        }
        self.slots.get_mut(slot)
    }

    /// The dossiers changed since the last call, and forgets them.
    pub fn take_changed(&mut self) -> Changed {
        let changed = std::mem::take(&mut self.changed);
        for &s in &changed {
            self.flagged[s] = false;
        }
        Changed(changed)
    }

    /// The rows of the dossiers `changed` names, with their codes.
    pub fn rows(&self, changed: &Changed) -> Vec<(String, Vec<u8>)> {
        changed
            .0
            .iter()
            .filter_map(|&s| self.slots.get(s))
            .map(|d| (d.code.to_string(), super::row::encode(d)))
            .collect()
    }

    /// Notes `changed` as changed again (their save failed).
    pub fn changed_again(&mut self, changed: Changed) {
        for s in changed.0 {
            self.changing(s);
        }
    }

    /// Notes every dossier as changed (the stored rows may be gone).
    pub fn all_changed(&mut self) {
        for s in 0..self.slots.len {
            self.changing(s);
        }
    }

    /// Folds in one act; true when it changed a dossier.
    pub fn apply(&mut self, act: &Act<'_>) -> bool {
        self.fold(act).is_some()
    }

    fn fold(&mut self, act: &Act<'_>) -> Option<()> {
        match (act.operation, act.outcome) {
            ("ingest", "accepted") => self.ingest(act),
            ("verify", outcome) => {
                let slot = *self.exchanges.get(act.exchange_id)?;
                let d = self.changing(slot)?;
                // The register answered: it agreed, differed or filled a field (a re-upload
                // found is a look-up of issued documents, not the register's answer).
                let answered = matches!(outcome, "matched" | "mismatch" | "filled");
                let mut changed = false;
                if answered && !d.checked {
                    d.checked = true;
                    changed = true;
                }
                if outcome == "filled" && !d.reused {
                    d.reused = true;
                    changed = true;
                }
                changed.then_some(())
            }
            ("deliver", "delivered")
                if act.record_type == Some("dossier")
                    && act
                        .counterparty
                        .is_some_and(|c| self.portal.iter().any(|p| p == c)) =>
            {
                let slot = *self.exchanges.get(act.exchange_id)?;
                let d = self.changing(slot)?;
                // The first acceptance counts: a later update of the dossier is not its sync.
                if d.synced_ms.is_some_and(|t| t <= act.time_ms) {
                    return None;
                }
                d.synced_ms = Some(act.time_ms);
                Some(())
            }
            _ => None,
        }
    }

    fn ingest(&mut self, act: &Act<'_>) -> Option<()> {
        let r = act.payload?;
        match act.record_type? {
            "dossier" => {
                let code = text(&r.dossier_code);
                if code.is_empty() {
                    return None;
                }
                let base = base_of(&mut self.texts, r);
                let reused = r
                    .documents
                    .iter()
                    .flatten()
                    .any(|x| x.origin.as_deref() == Some("issued"));
                let slot = self.slot(code);
                let d = self.changing(slot)?;
                d.base = Some(base);
                d.reused |= reused;
                d.accepted_ms = Some(d.accepted_ms.map_or(act.time_ms, |t| t.min(act.time_ms)));
                if !d.exchanges.iter().any(|x| &**x == act.exchange_id) {
                    let x: Arc<str> = Arc::from(act.exchange_id);
                    d.exchanges.push(x.clone());
                    self.exchanges.insert(x, slot);
                }
                Some(())
            }
            "dossier-status" => {
                let code = text(&r.dossier_code);
                let at = time_of(&r.event_at)?;
                if code.is_empty() {
                    return None;
                }
                let status = self.texts.get(text(&r.status));
                let id = match text(&r.event_id) {
                    "" => fnv1a(format!("{status}@{at}").as_bytes()),
                    id => fnv1a(id.as_bytes()),
                };
                let event_base = base_of(&mut self.texts, r);
                let event = Event {
                    id,
                    status,
                    at_ms: at,
                    finished_ms: time_of(&r.finished_at),
                    results: r.result_documents.as_ref().map_or(0, |d| d.len() as u32),
                };
                let slot = self.slot(code);
                let d = self.changing(slot)?;
                if d.events.iter().any(|e| e.id == event.id) {
                    return None;
                }
                if d.event_base
                    .as_ref()
                    .is_none_or(|(t, id, _)| (at, event.id) >= (*t, *id))
                {
                    d.event_base = Some((at, event.id, event_base));
                }
                let place = d
                    .events
                    .partition_point(|e| (e.at_ms, e.id) < (at, event.id));
                d.events.insert(place, event);
                Some(())
            }
            "payment" => {
                let code = text(&r.dossier_code);
                if code.is_empty() || text(&r.method) != "online" || text(&r.status) != "paid" {
                    return None;
                }
                let at = time_of(&r.paid_at).unwrap_or(act.time_ms);
                let slot = self.slot(code);
                let d = self.changing(slot)?;
                if d.paid_online_ms.is_some_and(|t| t <= at) {
                    return None;
                }
                d.paid_online_ms = Some(at);
                Some(())
            }
            _ => None,
        }
    }
}
