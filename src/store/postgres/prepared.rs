//! Statements prepared once per connection. The blocking client prepares a statement given as
//! text on every call (a round trip to parse and plan it, then one to run it); the backend's
//! statements are a fixed set of texts, so each connection's thread keeps the ones it prepared
//! and runs them again with one round trip. The cache lives on the connections' threads only
//! (`enable`), is emptied when their connection is opened again (`forget`), and elsewhere a
//! statement is prepared for the call as before.

use postgres::types::ToSql;
use postgres::{Error, GenericClient, Row, Statement};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static PREPARED: RefCell<Option<HashMap<String, Statement>>> = const { RefCell::new(None) };
}

/// This thread's connection keeps its statements (a connection's thread of the pool).
pub(super) fn enable() {
    PREPARED.with(|p| *p.borrow_mut() = Some(HashMap::new()));
}

/// This thread's statements belong to a connection that is gone (or that no longer knows
/// them): prepare them again.
pub(super) fn forget() {
    PREPARED.with(|p| {
        if let Some(m) = p.borrow_mut().as_mut() {
            m.clear();
        }
    });
}

/// Whether an error says that the connection's prepared statements are no longer good: one
/// that does not exist (26000), or whose result changed under it after a migration (0A000,
/// "cached plan must not change result type").
pub(super) fn stale(e: &Error) -> bool {
    e.code().is_some_and(|c| {
        *c == postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
            || *c == postgres::error::SqlState::FEATURE_NOT_SUPPORTED
    })
}

/// Queries by their text through the thread's prepared statements.
pub(super) trait Prepared: GenericClient {
    /// The statement of `sql`, prepared on this connection once.
    fn prepared(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(st) = PREPARED.with(|p| p.borrow().as_ref().and_then(|m| m.get(sql).cloned())) {
            return Ok(st);
        }
        let st = self.prepare(sql)?;
        PREPARED.with(|p| {
            if let Some(m) = p.borrow_mut().as_mut() {
                m.insert(sql.to_string(), st.clone());
            }
        });
        Ok(st)
    }

    fn q(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        let st = self.prepared(sql)?;
        self.query(&st, params)
    }

    fn q_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        let st = self.prepared(sql)?;
        self.query_one(&st, params)
    }

    fn q_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, Error> {
        let st = self.prepared(sql)?;
        self.query_opt(&st, params)
    }

    fn x(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let st = self.prepared(sql)?;
        self.execute(&st, params)
    }
}

impl<C: GenericClient> Prepared for C {}
