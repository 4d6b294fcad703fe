//! The embedded backend behind the storage port: each role's methods are the backend's own,
//! given here by role.

use super::SledStore;
use crate::config::hub::RouteConfig;
use crate::merkle::{Hash, MerkleError, Nodes};
use crate::store::StoreError;
use crate::store::port::{
    AuditLogStore, Catalogue, GroupCommit, OnceOnlyStore, OutboxStore, PullCache,
};
use crate::store::types::{
    AdapterState, AdapterVersion, AuditWrites, DeadLetter, IssuedDocument, Lookup, MemberRecord,
    OutboxItem, ReportCount, ReportGroups, Stored, StoredAt, StoredPolicy, Submission, TokenRecord,
    WaitingItem,
};
use serde_json::Value;
use std::sync::Arc;

impl GroupCommit for SledStore {
    fn commit(&self, new: &[&Submission], audit: &AuditWrites) -> Result<(), StoreError> {
        SledStore::commit(self, new, audit)
    }
    fn failed_write(&self) -> Option<String> {
        SledStore::failed_write(self)
    }
    fn next_seq(&self) -> Result<u64, StoreError> {
        SledStore::next_seq(self)
    }
    fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError> {
        self.noting_failure(SledStore::seen(self, dedup_key))
    }
    fn sweep_dedup_step(
        &self,
        cutoff_ms: u64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(u64, Option<Vec<u8>>), StoreError> {
        SledStore::sweep_dedup_step(self, cutoff_ms, after, limit)
    }
    fn flush(&self) -> Result<(), StoreError> {
        SledStore::flush(self)
    }
    fn dedup_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        SledStore::dedup_entries(self, after, limit)
    }
    fn reserve_seqs_past(&self, n: u64) -> Result<(), StoreError> {
        SledStore::reserve_seqs_past(self, n)
    }
}

impl OutboxStore for SledStore {
    fn outbox_waiting(&self, destination: &str) -> Result<Vec<WaitingItem>, StoreError> {
        Ok(SledStore::outbox_items(self, destination)?
            .into_iter()
            .map(|i| WaitingItem {
                seq: i.seq,
                order_key: i.order_key,
                accepted_at_ms: i.accepted_at_ms,
                next_attempt_ms: i.next_attempt_ms,
            })
            .collect())
    }
    fn is_shared(&self) -> bool {
        false
    }
    fn claim_delivery(&self, _: &str, _: &str, _: u64) -> Result<bool, StoreError> {
        // One process opens an embedded store: its node delivers everything.
        Ok(true)
    }
    fn release_deliveries(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn delivery_claims(&self) -> Result<Vec<crate::store::DeliveryClaim>, StoreError> {
        Ok(Vec::new())
    }
    fn outbox_items(&self, destination: &str) -> Result<Vec<OutboxItem>, StoreError> {
        SledStore::outbox_items(self, destination)
    }
    fn outbox_destinations(&self) -> Result<Vec<String>, StoreError> {
        SledStore::outbox_destinations(self)
    }
    fn outbox_item(
        &self,
        destination: &str,
        seq: u64,
    ) -> Result<Option<Arc<OutboxItem>>, StoreError> {
        SledStore::outbox_item(self, destination, seq)
    }
    fn update_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        SledStore::update_item(self, item)
    }
    fn park(&self, dead: &DeadLetter) -> Result<(), StoreError> {
        SledStore::park(self, dead)
    }
    fn dead_letters(&self, destination: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        SledStore::dead_letters(self, destination)
    }
    fn dead_letter(&self, destination: &str, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        SledStore::dead_letter(self, destination, seq)
    }
    fn replay(&self, dead: &DeadLetter, new_seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        SledStore::replay(self, dead, new_seq)
    }
    fn discard(&self, destination: &str, seq: u64) -> Result<bool, StoreError> {
        SledStore::discard(self, destination, seq)
    }
}

impl AuditLogStore for SledStore {
    fn audit_shared_size(&self) -> Result<u64, StoreError> {
        // One process writes an embedded store: its size is this one's.
        SledStore::audit_size(self)
    }
    fn audit_size(&self) -> Result<u64, StoreError> {
        SledStore::audit_size(self)
    }
    fn audit_reload(&self) -> Result<u64, StoreError> {
        SledStore::audit_reload(self)
    }
    fn audit_node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        Nodes::node(self, level, index)
    }
    fn audit_entries(
        &self,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<StoredAt, StoreError>> + Send> {
        Box::new(SledStore::audit_entries(self, from, to))
    }
    fn audit_entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        SledStore::audit_entry_bytes(self, index)
    }
    fn audit_record(&self, index: u64) -> Result<Option<Stored>, StoreError> {
        SledStore::audit_record(self, index)
    }
    fn audit_purge(&self, index: u64, subject: Option<&str>) -> Result<bool, StoreError> {
        SledStore::audit_purge(self, index, subject)
    }
    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        SledStore::put_checkpoint(self, size, note)
    }
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        SledStore::checkpoint_at(self, size)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        SledStore::latest_checkpoint(self)
    }
    fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        SledStore::checkpoints(self, after, limit)
    }
    fn apply_audit_writes(&self, writes: &AuditWrites) -> Result<(), StoreError> {
        SledStore::apply_audit_writes(self, writes)
    }
    fn audit_lookup(
        &self,
        lookup: Lookup,
        value: &str,
        from: u64,
    ) -> Box<dyn Iterator<Item = Result<u64, StoreError>> + Send> {
        Box::new(SledStore::audit_lookup(self, lookup, value, from))
    }
    fn audit_indexed(&self) -> Result<u64, StoreError> {
        SledStore::audit_indexed(self)
    }
    fn put_audit_lookups(
        &self,
        lookups: Vec<(Lookup, String, u64)>,
        upto: u64,
    ) -> Result<(), StoreError> {
        SledStore::put_audit_lookups(self, lookups, upto)
    }
    fn audit_entry_location(
        &self,
        index: u64,
    ) -> Result<(std::path::PathBuf, u64, u64), StoreError> {
        SledStore::audit_entry_location(self, index)
    }
    fn audit_erase(&self) -> Result<(), StoreError> {
        SledStore::audit_erase(self)
    }
}

impl Catalogue for SledStore {
    fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        SledStore::put_token(self, token)
    }
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        SledStore::token(self, id)
    }
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        SledStore::tokens(self)
    }
    fn put_adapter_version(
        &self,
        version: &AdapterVersion,
        enabled: bool,
    ) -> Result<(), StoreError> {
        SledStore::put_adapter_version(self, version, enabled)
    }
    fn adapter_state(&self, name: &str) -> Result<Option<AdapterState>, StoreError> {
        SledStore::adapter_state(self, name)
    }
    fn set_adapter_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError> {
        SledStore::set_adapter_enabled(self, name, enabled)
    }
    fn adapter_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<AdapterVersion>, StoreError> {
        SledStore::adapter_version(self, name, version)
    }
    fn adapter_states(&self) -> Result<Vec<(String, AdapterState)>, StoreError> {
        SledStore::adapter_states(self)
    }
    fn adapter_version_numbers(&self, name: &str) -> Result<Vec<u32>, StoreError> {
        SledStore::adapter_version_numbers(self, name)
    }
    fn add_route(&self, route: &RouteConfig) -> Result<u64, StoreError> {
        SledStore::add_route(self, route)
    }
    fn remove_route(&self, id: u64) -> Result<bool, StoreError> {
        SledStore::remove_route(self, id)
    }
    fn routes(&self) -> Result<Vec<(u64, RouteConfig)>, StoreError> {
        SledStore::routes(self)
    }
    fn put_member(&self, member: &MemberRecord) -> Result<(), StoreError> {
        SledStore::put_member(self, member)
    }
    fn members(&self) -> Result<Vec<MemberRecord>, StoreError> {
        SledStore::members(self)
    }
    fn put_policy(&self, text: &str, at: &str, by: &str) -> Result<u64, StoreError> {
        SledStore::put_policy(self, text, at, by)
    }
    fn latest_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        SledStore::latest_policy(self)
    }
    fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        SledStore::policies(self)
    }
}

impl PullCache for SledStore {
    fn cache_get(&self, record_type: &str, key: &str) -> Result<Option<(u64, Value)>, StoreError> {
        self.noting_failure(SledStore::cache_get(self, record_type, key))
    }
    fn cache_put(
        &self,
        record_type: &str,
        key: &str,
        at_ms: u64,
        record: &Value,
    ) -> Result<(), StoreError> {
        self.noting_failure(SledStore::cache_put(self, record_type, key, at_ms, record))
    }
}

impl OnceOnlyStore for SledStore {
    fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        SledStore::issued_documents(self, subject, type_key)
    }
    fn report_counts(&self, since_ms: u64) -> Result<(ReportGroups, u64), StoreError> {
        SledStore::report_counts(self, since_ms)
    }
    fn issued_document_rows(&self) -> Result<Vec<IssuedDocument>, StoreError> {
        SledStore::issued_document_rows(self)
    }
    fn report_count_rows(&self) -> Result<Vec<ReportCount>, StoreError> {
        SledStore::report_count_rows(self)
    }
}
