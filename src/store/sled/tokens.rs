//! Bearer token records (`tokens` tree: token id → record), and the ones read, kept in memory:
//! every request reads its caller's.

use super::{SledStore, decode, encode, sled_err};
use crate::store::StoreError;
use crate::store::types::TokenRecord;

/// Token records kept in memory at most (`SledStore::token`).
const TOKEN_MEMO_MAX: usize = 10_000;

/// Token records read, and how many times one was written.
#[derive(Debug, Default)]
#[doc(hidden)]
pub struct TokenMemo {
    records: std::collections::HashMap<String, TokenRecord>,
    generation: u64,
}

impl TokenMemo {
    fn forget(&mut self, id: &str) {
        self.records.remove(id);
        self.generation = self.generation.wrapping_add(1);
    }
}

impl SledStore {
    /// Stores a token record.
    pub fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        // Forgotten before and after the write, each time with a new generation: a read that
        // started before the write does not keep what it read (`token`).
        self.token_memo().forget(&t.id);
        let written = self
            .tokens
            .insert(t.id.as_bytes(), encode(t))
            .map_err(sled_err("store token"));
        self.token_memo().forget(&t.id);
        written.map(|_| ())
    }

    fn token_memo(&self) -> std::sync::MutexGuard<'_, TokenMemo> {
        self.token_memo.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token record by id. Every request reads its caller's: the records read are kept in
    /// memory (up to `TOKEN_MEMO_MAX`, then forgotten all at once), and `put_token` forgets the
    /// one it writes. Only this process writes them: sled locks the data directory.
    pub fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let generation = {
            let memo = self.token_memo();
            if let Some(t) = memo.records.get(id) {
                return Ok(Some(t.clone()));
            }
            memo.generation
        };
        match self
            .tokens
            .get(id.as_bytes())
            .map_err(sled_err("read token"))?
        {
            Some(v) => {
                let t: TokenRecord = decode("read token", &v)?;
                let mut memo = self.token_memo();
                // Kept only if no record was written since the read began.
                if memo.generation == generation {
                    if memo.records.len() >= TOKEN_MEMO_MAX {
                        memo.records.clear();
                    }
                    memo.records.insert(t.id.clone(), t.clone());
                }
                Ok(Some(t))
            }
            None => Ok(None),
        }
    }

    /// Every token record.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.tokens
            .iter()
            .map(|r| {
                let (_, v) = r.map_err(sled_err("list tokens"))?;
                decode("list tokens", &v)
            })
            .collect()
    }
}

impl SledStore {
    /// Stores a member record and flushes.
    pub fn put_member(&self, m: &crate::store::types::MemberRecord) -> Result<(), StoreError> {
        self.members
            .insert(m.code.as_bytes(), encode(m))
            .map_err(sled_err("write a member"))?;
        self.flush()
    }

    /// Every member record, by agency code.
    pub fn members(&self) -> Result<Vec<crate::store::types::MemberRecord>, StoreError> {
        self.members
            .iter()
            .values()
            .map(|v| decode("read a member", &v.map_err(sled_err("read members"))?))
            .collect()
    }
}
