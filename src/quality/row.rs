//! A dossier as the store keeps it: a compact binary row. Every save writes the row of each
//! dossier changed since the last, and in the indicators' worst case (every event a new
//! dossier) writing rows as JSON cost a fifth of the whole fold.
//!
//! Layout (version 1), all integers little-endian: the version byte; the code; the dossier
//! record's account (a tag byte, then the account); the latest status event's time, id and
//! account (tag, i64, u64, account); the events (u32 count, each u64 id, status, i64 time,
//! optional i64 end of handling, u32 results); online payment, register check, reuse,
//! acceptance and portal acceptance; the exchanges (u32 count, each a text). A text is a u32
//! length and its UTF-8; an optional i64 a tag byte and, when 1, the i64; an account its five
//! texts (procedure, field, receiving, resolving, channel), received and due times (optional
//! i64) and the fee flag (one byte).
//!
//! A row of another version or a damaged one is an error: the indicators are then folded
//! again from the log (`Live::start`), since rows are derived data.

use super::fold::{Base, Dossier, Event};
use std::sync::Arc;

const VERSION: u8 = 1;

/// Why a stored row could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RowError {
    #[error("a row of format {0}, not {VERSION}")]
    Version(u8),
    #[error("the row ends before its {0}")]
    Short(&'static str),
    #[error("the row's {0} is not UTF-8")]
    Text(&'static str),
    #[error("the row has {0} bytes past its end")]
    Trailing(usize),
}

struct Out(Vec<u8>);

impl Out {
    fn text(&mut self, t: &str) {
        self.0.extend_from_slice(&(t.len() as u32).to_le_bytes());
        self.0.extend_from_slice(t.as_bytes());
    }
    fn flag(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
    fn time(&mut self, t: Option<i64>) {
        self.flag(t.is_some());
        if let Some(t) = t {
            self.0.extend_from_slice(&t.to_le_bytes());
        }
    }
    fn base(&mut self, b: &Base) {
        for t in [
            &b.procedure,
            &b.field,
            &b.receiving,
            &b.resolving,
            &b.channel,
        ] {
            self.text(t);
        }
        self.time(b.received_ms);
        self.time(b.due_ms);
        self.flag(b.fee);
    }
}

/// The row of `d`.
pub fn encode(d: &Dossier) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(128 + 48 * d.events.len()));
    o.0.push(VERSION);
    o.text(&d.code);
    o.flag(d.base.is_some());
    if let Some(b) = &d.base {
        o.base(b);
    }
    o.flag(d.event_base.is_some());
    if let Some((at, id, b)) = &d.event_base {
        o.0.extend_from_slice(&at.to_le_bytes());
        o.0.extend_from_slice(&id.to_le_bytes());
        o.base(b);
    }
    o.0.extend_from_slice(&(d.events.len() as u32).to_le_bytes());
    for e in &d.events {
        o.0.extend_from_slice(&e.id.to_le_bytes());
        o.text(&e.status);
        o.0.extend_from_slice(&e.at_ms.to_le_bytes());
        o.time(e.finished_ms);
        o.0.extend_from_slice(&e.results.to_le_bytes());
    }
    o.time(d.paid_online_ms);
    o.flag(d.checked);
    o.flag(d.reused);
    o.time(d.accepted_ms);
    o.time(d.synced_ms);
    o.0.extend_from_slice(&(d.exchanges.len() as u32).to_le_bytes());
    for x in &d.exchanges {
        o.text(x);
    }
    o.0
}

struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn bytes<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], RowError> {
        let (b, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(RowError::Short(what))?;
        self.0 = rest;
        Ok(*b)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, RowError> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }
    fn i64(&mut self, what: &'static str) -> Result<i64, RowError> {
        self.bytes::<8>(what).map(i64::from_le_bytes)
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, RowError> {
        Ok(self.bytes::<1>(what)?[0] != 0)
    }
    fn str(&mut self, what: &'static str) -> Result<&'a str, RowError> {
        let len = self.u32(what)? as usize;
        let (t, rest) = self.0.split_at_checked(len).ok_or(RowError::Short(what))?;
        self.0 = rest;
        std::str::from_utf8(t).map_err(|_| RowError::Text(what))
    }
    fn time(&mut self, what: &'static str) -> Result<Option<i64>, RowError> {
        match self.flag(what)? {
            true => self.i64(what).map(Some),
            false => Ok(None),
        }
    }
    fn base(&mut self) -> Result<Base, RowError> {
        let mut text = || self.str("account").map(Arc::<str>::from);
        let (procedure, field, receiving, resolving, channel) =
            (text()?, text()?, text()?, text()?, text()?);
        Ok(Base {
            procedure,
            field,
            receiving,
            resolving,
            channel,
            received_ms: self.time("received time")?,
            due_ms: self.time("due time")?,
            fee: self.flag("fee")?,
        })
    }
}

/// The dossier of a row `encode` wrote.
pub fn decode(row: &[u8]) -> Result<Dossier, RowError> {
    let mut i = In(row);
    let version = i.bytes::<1>("version")?[0];
    if version != VERSION {
        return Err(RowError::Version(version));
    }
    let code: Arc<str> = Arc::from(i.str("code")?);
    let base = match i.flag("account")? {
        true => Some(i.base()?),
        false => None,
    };
    let event_base = match i.flag("event account")? {
        true => {
            let at = i.i64("event account")?;
            let id = u64::from_le_bytes(i.bytes::<8>("event account")?);
            Some((at, id, i.base()?))
        }
        false => None,
    };
    let count = i.u32("events")?;
    // Not trusted for the allocation: a damaged count ends the row before its events do.
    let mut events = Vec::with_capacity((count as usize).min(i.0.len() / 25));
    for _ in 0..count {
        events.push(Event {
            id: u64::from_le_bytes(i.bytes::<8>("event")?),
            status: Arc::from(i.str("event")?),
            at_ms: i.i64("event")?,
            finished_ms: i.time("event")?,
            results: i.u32("event")?,
        });
    }
    let paid_online_ms = i.time("payment")?;
    let checked = i.flag("register check")?;
    let reused = i.flag("reuse")?;
    let accepted_ms = i.time("acceptance")?;
    let synced_ms = i.time("portal acceptance")?;
    let count = i.u32("exchanges")?;
    let mut exchanges = Vec::with_capacity((count as usize).min(i.0.len() / 4));
    for _ in 0..count {
        exchanges.push(Arc::from(i.str("exchange")?));
    }
    if !i.0.is_empty() {
        return Err(RowError::Trailing(i.0.len()));
    }
    Ok(Dossier {
        code,
        base,
        event_base,
        events,
        paid_online_ms,
        checked,
        reused,
        accepted_ms,
        synced_ms,
        exchanges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(p: &str) -> Base {
        Base {
            procedure: p.into(),
            field: "F".into(),
            receiving: "000.00.10.H42".into(),
            resolving: "Sở Tư pháp".into(),
            channel: "online".into(),
            received_ms: Some(1_757_900_530_000),
            due_ms: None,
            fee: true,
        }
    }

    fn full() -> Dossier {
        Dossier {
            code: "000.00.10.H42-250915-0001".into(),
            base: Some(base("1.001612")),
            event_base: Some((-5, u64::MAX, base("2.000001"))),
            events: vec![
                Event {
                    id: 7,
                    status: "supplement_requested".into(),
                    at_ms: 1_757_900_600_000,
                    finished_ms: None,
                    results: 0,
                },
                Event {
                    id: 8,
                    status: "resolved".into(),
                    at_ms: 1_757_900_700_000,
                    finished_ms: Some(1_757_900_650_000),
                    results: 2,
                },
            ],
            paid_online_ms: Some(3),
            checked: true,
            reused: false,
            accepted_ms: Some(4),
            synced_ms: None,
            exchanges: vec!["x-1".into(), "x-2".into()],
        }
    }

    #[test]
    fn a_row_reads_back_as_the_dossier_it_was_written_from() {
        for d in [full(), Dossier::default()] {
            assert_eq!(decode(&encode(&d)), Ok(d));
        }
    }

    #[test]
    fn a_damaged_row_or_one_of_another_format_is_an_error_not_a_panic() {
        let row = encode(&full());
        // Cut short at every length, and one byte too many.
        for n in 0..row.len() {
            assert!(decode(&row[..n]).is_err(), "cut at {n}");
        }
        let mut long = row.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(RowError::Trailing(1)));
        // The JSON rows an earlier version wrote.
        assert_eq!(decode(br#"{"code":"A"}"#), Err(RowError::Version(b'{')));
        // A count far past the row's end.
        let mut huge = encode(&Dossier::default());
        let events_at = 1 + 4 + 1 + 1;
        huge[events_at..events_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge), Err(RowError::Short("event")));
        // A text that is not UTF-8.
        let mut bad = encode(&Dossier {
            code: "AB".into(),
            ..Default::default()
        });
        bad[5] = 0xff;
        assert_eq!(decode(&bad), Err(RowError::Text("code")));
    }
}
