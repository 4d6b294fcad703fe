//! The outbox and the dead letters on PostgreSQL, and the claims on destinations' deliveries.

use super::prepared::Prepared;
use super::{PgStore, big, decode, encode};
use crate::store::StoreError;
use crate::store::port::OutboxStore;
use crate::store::types::{DeadLetter, OutboxItem, WaitingItem};
use std::sync::Arc;
impl OutboxStore for PgStore {
    fn outbox_items(&self, destination: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let d = destination.to_string();
        let rows = self.pool.call("read the outbox", move |c| {
            let rows = c.q(
                "SELECT item FROM outbox WHERE destination = $1 ORDER BY seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter().map(|b| decode("read the outbox", b)).collect()
    }

    fn outbox_destinations(&self) -> Result<Vec<String>, StoreError> {
        self.pool.call("list the outbox", |c| {
            let rows = c.q(
                "SELECT DISTINCT destination FROM outbox ORDER BY destination",
                &[],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn outbox_item(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<Arc<OutboxItem>>, StoreError> {
        if let Some(item) = self.held_item(destination, seq) {
            return Ok(Some(item));
        }
        let d = destination.to_string();
        let bytes = self.pool.call("read an outbox item", move |c| {
            Ok(c.q_opt(
                "SELECT item FROM outbox WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes
            .map(|b| decode("read an outbox item", &b).map(Arc::new))
            .transpose()
    }

    fn update_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.forget_held(&item.destination, [item.seq]);
        let (d, seq, bytes, next) = (
            item.destination.clone(),
            big(item.seq),
            item.encode(),
            big(item.next_attempt_ms),
        );
        let done = self.pool.call("update an outbox item", move |c| {
            // Only an item still waiting: a delivery recorded meanwhile is not brought back.
            c.x(
                "UPDATE outbox SET item = $3, next_attempt_ms = $4
                 WHERE destination = $1 AND seq = $2",
                &[&d, &seq, &bytes, &next],
            )
            .map(|_| ())
        });
        // Again once written: a read of what was queued may have kept the row as it was.
        self.forget_held(&item.destination, [item.seq]);
        done
    }

    fn outbox_waiting_if_changed(
        &self,
        destination: &str,
    ) -> Result<Option<Vec<WaitingItem>>, StoreError> {
        {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = marks.get(destination)
                && !m.gap()
                && m.read_at.is_some_and(|t| t.elapsed() < super::MARK_EVERY)
            {
                return Ok(None);
            }
        }
        let d = destination.to_string();
        let read_at = std::time::Instant::now();
        let mark = self.pool.call("read the outbox's mark", move |c| {
            Ok(c.q_opt(
                "SELECT mark FROM outbox_marks WHERE destination = $1",
                &[&d],
            )?
            .map_or(0, |r| r.get::<_, i64>(0) as u64))
        })?;
        let unchanged = {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            marks
                .get(destination)
                .is_some_and(|m| m.read == mark || (m.read + 1..=mark).all(|v| m.own.contains(&v)))
        };
        if unchanged {
            let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = marks.get_mut(destination) {
                m.read = mark;
                m.own = m.own.split_off(&(mark + 1));
                m.read_at = Some(read_at);
            }
            return Ok(None);
        }
        // Read after the mark: whatever it counts is in the list. Since the last read, only
        // what was queued under a later mark (a destination's marks are taken in the order
        // its commits end: each waits for the mark's row); else the whole list.
        let since = {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            marks.get(destination).map(|m| m.read)
        };
        let waiting = match since {
            Some(read) => self.outbox_queued_since(destination, read)?,
            None => self.outbox_waiting(destination)?,
        };
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let m = marks.entry(destination.to_string()).or_default();
        m.read = mark;
        m.own = m.own.split_off(&(mark + 1));
        m.read_at = Some(read_at);
        Ok(Some(waiting))
    }

    fn outbox_waiting(&self, destination: &str) -> Result<Vec<WaitingItem>, StoreError> {
        let d = destination.to_string();
        self.pool.call("read the outbox", move |c| {
            let rows = c.q(
                "SELECT seq, order_key, accepted_at_ms, next_attempt_ms FROM outbox
                 WHERE destination = $1 ORDER BY seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| WaitingItem {
                    seq: r.get::<_, i64>(0) as u64,
                    order_key: r.get(1),
                    accepted_at_ms: r.get::<_, i64>(2) as u64,
                    next_attempt_ms: r.get::<_, i64>(3) as u64,
                })
                .collect())
        })
    }

    fn park(&self, dead: &DeadLetter) -> Result<(), StoreError> {
        self.forget_held(&dead.item.destination, [dead.item.seq]);
        let (d, seq, letter) = (
            dead.item.destination.clone(),
            big(dead.item.seq),
            encode(dead),
        );
        let done = self.pool.call("park a dead letter", move |c| {
            let mut tx = c.transaction()?;
            tx.x(
                "DELETE FROM outbox WHERE destination = $1 AND seq = $2",
                &[&d, &seq],
            )?;
            tx.x(
                "INSERT INTO dead_letters (destination, seq, letter) VALUES ($1, $2, $3)
                 ON CONFLICT (destination, seq) DO UPDATE SET letter = $3",
                &[&d, &seq, &letter],
            )?;
            tx.commit()
        });
        // Again once written: a read of what was queued may have kept the row as it was.
        self.forget_held(&dead.item.destination, [dead.item.seq]);
        done
    }

    fn dead_letters(&self, destination: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let d = destination.map(str::to_string);
        let rows = self.pool.call("read dead letters", move |c| {
            let rows = c.q(
                "SELECT letter FROM dead_letters WHERE $1::text IS NULL OR destination = $1
                 ORDER BY destination, seq",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|b| decode("read a dead letter", b))
            .collect()
    }

    fn dead_letter(&self, destination: &str, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        let d = destination.to_string();
        let bytes = self.pool.call("read a dead letter", move |c| {
            Ok(c.q_opt(
                "SELECT letter FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })?;
        bytes.map(|b| decode("read a dead letter", &b)).transpose()
    }

    fn replay(&self, dead: &DeadLetter, new_seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        let mut item = dead.item.clone();
        item.seq = new_seq;
        item.attempts = 0;
        item.next_attempt_ms = 0;
        item.last_error = None;
        // A replay starts the age clock again (max_age_secs counts from the replay).
        item.accepted_at_ms = crate::clock::now_ms();
        let (d, old, new, bytes, key, at) = (
            item.destination.clone(),
            big(dead.item.seq),
            big(new_seq),
            item.encode(),
            item.order_key.clone(),
            big(item.accepted_at_ms),
        );
        let done = self.pool.call("replay a dead letter", move |c| {
            let mut tx = c.transaction()?;
            let removed = tx.x(
                "DELETE FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &old],
            )?;
            if removed == 0 {
                // Replayed or discarded meanwhile: nothing to do.
                tx.rollback()?;
                return Ok(false);
            }
            // Queued under a new mark: the node delivering the destination reads it.
            tx.x(
                "WITH m AS (
                     INSERT INTO outbox_marks (destination, mark) VALUES ($1, 1)
                     ON CONFLICT (destination) DO UPDATE SET mark = outbox_marks.mark + 1
                     RETURNING mark
                 )
                 INSERT INTO outbox (destination, seq, item, order_key, accepted_at_ms, mark)
                 SELECT $1, $2, $3, $4, $5, m.mark FROM m",
                &[&d, &new, &bytes, &key, &at],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        Ok(done.then_some(item))
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn claim_delivery(
        &self,
        destination: &str,
        node: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let (d, n, ttl) = (destination.to_string(), node.to_string(), big(ttl_ms));
        let asked = std::time::Instant::now();
        let granted = self
            .pool
            .call("claim a destination's deliveries", move |c| {
                // The database's clock decides when a claim has run out, whatever the nodes' say.
                let row = c.q_opt(
                "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
                 INSERT INTO leases (destination, node, until_ms)
                 SELECT $1, $2, ms + $3 FROM now
                 ON CONFLICT (destination) DO UPDATE
                     SET node = EXCLUDED.node, until_ms = EXCLUDED.until_ms
                     WHERE leases.node = EXCLUDED.node
                        OR leases.until_ms < (SELECT ms FROM now)
                 RETURNING node",
                &[&d, &n, &ttl],
            )?;
                Ok(row.is_some())
            });
        self.claimed(destination, asked, ttl_ms, matches!(granted, Ok(true)));
        granted
    }

    fn release_deliveries(&self, node: &str) -> Result<(), StoreError> {
        let n = node.to_string();
        self.pool.call("release deliveries", move |c| {
            c.x("DELETE FROM leases WHERE node = $1", &[&n]).map(|_| ())
        })
    }

    fn delivery_claims(&self) -> Result<Vec<crate::store::DeliveryClaim>, StoreError> {
        self.pool.call("read the claims on deliveries", |c| {
            let rows = c.q(
                "SELECT destination, node,
                        until_ms - (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                 FROM leases ORDER BY destination",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| crate::store::DeliveryClaim {
                    destination: r.get(0),
                    node: r.get(1),
                    ms_left: r.get(2),
                })
                .collect())
        })
    }

    fn clock_offset_ms(&self) -> Result<Option<i64>, StoreError> {
        self.pool.call("read the database's clock", |c| {
            let before = crate::clock::now_ms() as i64;
            let row = c.q_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                &[],
            )?;
            let after = crate::clock::now_ms() as i64;
            let db: i64 = row.get(0);
            // The database read its clock about half-way through the round trip.
            Ok(Some(before + (after - before) / 2 - db))
        })
    }

    fn discard(&self, destination: &str, seq: u64) -> Result<bool, StoreError> {
        let d = destination.to_string();
        self.pool.call("discard a dead letter", move |c| {
            Ok(c.x(
                "DELETE FROM dead_letters WHERE destination = $1 AND seq = $2",
                &[&d, &big(seq)],
            )? > 0)
        })
    }
}

impl PgStore {
    /// What a delivery queue keeps of the items queued for `destination` under marks after
    /// `read` (and at mark 0: queued by a node of an older version, which writes no mark), in
    /// sequence order; their records are kept to be sent (`hold_items`) without
    /// reading each back.
    fn outbox_queued_since(
        &self,
        destination: &str,
        read: u64,
    ) -> Result<Vec<WaitingItem>, StoreError> {
        let d = destination.to_string();
        self.set_reading(destination);
        let rows = self.pool.call("read what was queued since", move |c| {
            let rows = c.q(
                "SELECT seq, order_key, accepted_at_ms, next_attempt_ms, item FROM outbox
                 WHERE destination = $1 AND (mark > $2 OR mark = 0) ORDER BY seq",
                &[&d, &big(read)],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    let waiting = WaitingItem {
                        seq: r.get::<_, i64>(0) as u64,
                        order_key: r.get(1),
                        accepted_at_ms: r.get::<_, i64>(2) as u64,
                        next_attempt_ms: r.get::<_, i64>(3) as u64,
                    };
                    (waiting, r.get::<_, Vec<u8>>(4))
                })
                .collect::<Vec<_>>())
        });
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                self.keep_read(destination, Vec::new());
                return Err(e);
            }
        };
        let mut items = Vec::with_capacity(rows.len());
        let mut waiting = Vec::with_capacity(rows.len());
        for (w, bytes) in rows {
            // An item that cannot be read is left to be read (and reported) when sent.
            if items.len() < super::HELD_MAX
                && let Ok(item) = decode::<OutboxItem>("read an outbox item", &bytes)
            {
                items.push(Arc::new(item));
            }
            waiting.push(w);
        }
        self.keep_read(destination, items);
        Ok(waiting)
    }

    /// Starts a read of what was queued for `destination` (`outbox_queued_since`).
    fn set_reading(&self, destination: &str) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let h = held.entry(destination.to_string()).or_default();
        h.reading = Some(Some(Default::default()));
    }

    /// Ends a read of what was queued for `destination`, keeping the `items` it read, as
    /// `hold_items` does, but those forgotten meanwhile (what was read of them may be stale:
    /// they are read again when sent, and are gone if delivered or parked), and none if the
    /// claim broke meanwhile. All under one lock, so that nothing is forgotten unseen between.
    fn keep_read(&self, destination: &str, items: Vec<Arc<OutboxItem>>) {
        let now = std::time::Instant::now();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Some(h) = held.get_mut(destination) else {
            return;
        };
        let Some(Some(forgotten)) = h.reading.take() else {
            return;
        };
        if h.until.is_none_or(|u| u <= now) {
            return;
        }
        for i in items {
            if h.items.len() >= super::HELD_MAX {
                break;
            }
            if !forgotten.contains(&i.seq) {
                h.items.insert(i.seq, i);
            }
        }
    }

    /// Keeps the items of a commit for the destinations whose claim this node holds.
    pub(super) fn hold_items<'a>(&self, items: impl Iterator<Item = &'a Arc<OutboxItem>>) {
        let now = std::time::Instant::now();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        for i in items {
            if let Some(h) = held.get_mut(&i.destination)
                && h.until.is_some_and(|u| u > now)
                && h.items.len() < super::HELD_MAX
            {
                h.items.insert(i.seq, i.clone());
            }
        }
    }

    /// An item kept by `hold_items`, while the claim lasts.
    fn held_item(&self, destination: &str, seq: u64) -> Option<Arc<OutboxItem>> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let h = held.get(destination)?;
        if h.until.is_none_or(|u| u <= std::time::Instant::now()) {
            return None;
        }
        h.items.get(&seq).cloned()
    }

    /// Forgets kept items (delivered, rewritten, parked).
    pub(super) fn forget_held(&self, destination: &str, seqs: impl IntoIterator<Item = u64>) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = held.get_mut(destination) {
            for s in seqs {
                h.items.remove(&s);
                if let Some(Some(forgotten)) = &mut h.reading {
                    forgotten.insert(s);
                }
            }
        }
    }

    /// Notes the outcome of a claim asked at `asked`. The kept items stay valid only when the
    /// claim was this node's without a break: granted again before the last grant's time ran
    /// out (counted short by a fifth, for the round trip and the clocks' rates), so that no
    /// other node could have delivered in between.
    fn claimed(&self, destination: &str, asked: std::time::Instant, ttl_ms: u64, granted: bool) {
        let now = std::time::Instant::now();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let h = held.entry(destination.to_string()).or_default();
        if !granted || h.until.is_none_or(|u| u <= now) {
            // A break: nothing kept, nor kept from a read under way.
            h.items.clear();
            if let Some(reading) = &mut h.reading {
                *reading = None;
            }
        }
        if !granted {
            h.until = None;
            return;
        }
        h.until = Some(asked + std::time::Duration::from_millis(ttl_ms - ttl_ms / 5));
    }
}
