//! Queries over the log: by subject, member, exchange, operation, outcome, purpose and time range,
//! paginated by entry index.

use super::{AuditEntry, AuditError, AuditLog, normalise_time};
use crate::store::Lookup;
use serde::Serialize;

/// What to look for; every given criterion must hold.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Personal ID the entries are about.
    pub subject: Option<String>,
    /// Member (agency code) that acted or was the counterparty.
    pub member: Option<String>,
    pub exchange_id: Option<String>,
    pub operation: Option<String>,
    pub outcome: Option<String>,
    /// The purpose declared (of a pull).
    pub purpose: Option<String>,
    /// RFC 3339; entries at or after.
    pub from: Option<String>,
    /// RFC 3339; entries before.
    pub to: Option<String>,
    /// Entries with an index above this (the `next` of the previous page).
    pub after: Option<u64>,
    pub limit: usize,
}

/// One entry found, with its subject in clear when it is still kept.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub entry: AuditEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub entries: Vec<Found>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<u64>,
}

/// Most entries one scan looks at before answering with a partial page (and a `next`).
const SCAN_BUDGET: usize = 200_000;

impl AuditLog {
    /// The first index whose entry's time is at or after `t` (normalised), by binary search:
    /// times never decrease along the log.
    pub fn index_at(&self, t: &str) -> Result<u64, AuditError> {
        let (mut lo, mut hi) = (0u64, self.size());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let time = match self.entry(mid)? {
                Some((e, _)) => e.time,
                None => {
                    return Err(AuditError::Entry {
                        index: mid,
                        message: "missing from the log".into(),
                    });
                }
            };
            if time.as_str() < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The index range `[lo, hi)` of a time range.
    pub fn index_range(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(u64, u64), AuditError> {
        let lo = match from {
            Some(f) => self.index_at(&normalise_time(f)?)?,
            None => 0,
        };
        let hi = match to {
            Some(t) => self.index_at(&normalise_time(t)?)?,
            None => self.size(),
        };
        Ok((lo, hi.max(lo)))
    }

    /// Runs a query.
    pub fn query(&self, q: &Query) -> Result<Page, AuditError> {
        let (lo, hi) = self.index_range(q.from.as_deref(), q.to.as_deref())?;
        let start = match q.after {
            Some(a) => lo.max(a.saturating_add(1)),
            None => lo,
        };
        let limit = q.limit.clamp(1, 1000);
        let lookup = if let Some(s) = &q.subject {
            Some((Lookup::Subject, s.as_str()))
        } else if let Some(x) = &q.exchange_id {
            Some((Lookup::Exchange, x.as_str()))
        } else {
            q.member.as_deref().map(|m| (Lookup::Member, m))
        };
        // Look-ups reach the entries below the indexer's mark; the rest are scanned.
        let mark = self.indexed().max(start);
        let candidates: Box<dyn Iterator<Item = Result<u64, AuditError>>> = match lookup {
            Some((l, v)) => Box::new(
                self.store()
                    .audit_lookup(l, v, start)
                    .map(|r| r.map_err(AuditError::from))
                    .take_while(move |r| r.as_ref().map_or(true, |i| *i < mark))
                    .chain((mark..hi).map(Ok)),
            ),
            None => Box::new((start..hi).map(Ok)),
        };
        let mut entries = Vec::new();
        let mut next = None;
        for (scanned, index) in candidates.enumerate() {
            let index = index?;
            if index >= hi {
                break;
            }
            if scanned >= SCAN_BUDGET {
                next = Some(index.saturating_sub(1));
                break;
            }
            let Some((entry, sealed)) = self.entry(index)? else {
                continue;
            };
            let subject = sealed.and_then(|s| s.subject);
            let member_ok = q
                .member
                .as_ref()
                .is_none_or(|m| entry.actor == *m || entry.counterparty.as_ref() == Some(m));
            let ok = member_ok
                && q.subject
                    .as_ref()
                    .is_none_or(|s| subject.as_ref() == Some(s))
                && q.exchange_id
                    .as_ref()
                    .is_none_or(|x| entry.exchange_id == *x)
                && q.operation.as_ref().is_none_or(|o| entry.operation == *o)
                && q.outcome.as_ref().is_none_or(|o| entry.outcome == *o)
                && q.purpose
                    .as_ref()
                    .is_none_or(|p| entry.purpose.as_ref() == Some(p));
            if !ok {
                continue;
            }
            if entries.len() == limit {
                next = Some(
                    entries
                        .last()
                        .map(|f: &Found| f.entry.index)
                        .unwrap_or(index),
                );
                break;
            }
            entries.push(Found { entry, subject });
        }
        Ok(Page { entries, next })
    }
}
