//! A dossier as it stood at a moment (`Dossier::standing`): what the figures count, from what
//! the fold knows of it (`fold::Dossier`), with the due time moved by the time spent waiting
//! for a supplement.

use super::fold::Dossier;

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
        // Waiting for a supplement stops the clock, from the request to the next event of
        // another status (or the end of handling, if that came first). A request repeated
        // while waiting is the same request.
        let mut paused = 0i64;
        let mut waiting: Option<i64> = None;
        for e in self.events.iter().take_while(|e| e.at_ms <= as_of) {
            if s.finished_ms.is_some() {
                break;
            }
            if &*e.status == "supplement_requested" {
                if waiting.is_none() {
                    s.supplements += 1;
                    waiting = Some(e.at_ms);
                }
                continue;
            }
            if let Some(since) = waiting.take() {
                let resumed = e.finished_ms.map_or(e.at_ms, |f| f.min(e.at_ms));
                paused += (resumed - since).max(0);
            }
            match &*e.status {
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
