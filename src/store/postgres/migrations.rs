//! The schema, by version. Each migration runs in one transaction with the version it brings;
//! a database already at this hub's version is left alone, and one at a later version (written
//! by a newer hub) is refused rather than misread.

/// The schema version this hub writes.
pub const SCHEMA_VERSION: i32 = 6;

/// What `migrate` found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrated {
    /// The schema is now at this version (this hub's).
    To(i32),
    /// The database is at this later version: nothing was done.
    Newer(i32),
}

/// The migrations, in order: migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: every role of the port.
    r#"
    CREATE SEQUENCE outbox_seq_blocks;
    CREATE TABLE dedup (
        key text COLLATE "C" PRIMARY KEY,
        at_ms bigint NOT NULL,
        exchange_id text NOT NULL
    );
    CREATE TABLE outbox (
        destination text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        item bytea NOT NULL,
        PRIMARY KEY (destination, seq)
    );
    CREATE TABLE dead_letters (
        destination text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        letter bytea NOT NULL,
        PRIMARY KEY (destination, seq)
    );
    CREATE TABLE audit_entries (
        idx bigint PRIMARY KEY,
        entry bytea NOT NULL,
        sealed bytea
    );
    CREATE TABLE audit_hashes (
        pos bigint PRIMARY KEY,
        hash bytea NOT NULL
    );
    CREATE TABLE audit_checkpoints (
        size bigint PRIMARY KEY,
        note text NOT NULL
    );
    CREATE TABLE audit_lookups (
        kind smallint NOT NULL,
        value text COLLATE "C" NOT NULL,
        idx bigint NOT NULL,
        PRIMARY KEY (kind, value, idx)
    );
    CREATE TABLE audit_indexed (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        upto bigint NOT NULL
    );
    CREATE TABLE tokens (
        id text COLLATE "C" PRIMARY KEY,
        record bytea NOT NULL
    );
    CREATE TABLE adapters (
        name text COLLATE "C" PRIMARY KEY,
        latest integer NOT NULL,
        enabled boolean NOT NULL
    );
    CREATE TABLE adapter_versions (
        name text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE SEQUENCE route_ids;
    CREATE TABLE routes (
        id bigint PRIMARY KEY,
        route bytea NOT NULL
    );
    CREATE TABLE members (
        code text COLLATE "C" PRIMARY KEY,
        record bytea NOT NULL
    );
    CREATE TABLE policies (
        version bigint PRIMARY KEY,
        record bytea NOT NULL
    );
    CREATE TABLE pull_cache (
        record_type text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        at_ms bigint NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (record_type, key)
    );
    CREATE TABLE issued_documents (
        subject text COLLATE "C" NOT NULL,
        type_key text COLLATE "C" NOT NULL,
        document_id text COLLATE "C" NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (subject, type_key, document_id)
    );
    CREATE TABLE report_counts (
        day integer NOT NULL,
        agency text COLLATE "C" NOT NULL,
        procedure text COLLATE "C" NOT NULL,
        counts bigint[] NOT NULL,
        PRIMARY KEY (day, agency, procedure)
    );
    "#,
    // 2: the audit log's head, locked by each append, so that hub nodes sharing the database
    // append one after another to one log; delivery leases, one node per destination.
    r#"
    CREATE TABLE audit_head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        size bigint NOT NULL
    );
    INSERT INTO audit_head (size) SELECT coalesce(max(idx) + 1, 0) FROM audit_entries;
    CREATE TABLE leases (
        destination text COLLATE "C" PRIMARY KEY,
        node text NOT NULL,
        until_ms bigint NOT NULL
    );
    -- What a delivery queue keeps of an item, readable without decoding it.
    ALTER TABLE outbox ADD COLUMN order_key text NOT NULL DEFAULT '',
        ADD COLUMN accepted_at_ms bigint NOT NULL DEFAULT 0,
        ADD COLUMN next_attempt_ms bigint NOT NULL DEFAULT 0;
    "#,
    // 3: a mark per destination, moved by every commit that queues items for it, so that the
    // node delivering it reads the waiting list again only when another node queued some.
    r#"
    CREATE TABLE outbox_marks (
        destination text COLLATE "C" PRIMARY KEY,
        mark bigint NOT NULL
    );
    "#,
    // 4: the service-quality indicators' dossiers, folded from the audit log up to `mark`.
    r#"
    CREATE TABLE quality_dossiers (
        code text COLLATE "C" PRIMARY KEY,
        row bytea NOT NULL
    );
    CREATE TABLE quality_mark (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        mark bigint NOT NULL
    );
    INSERT INTO quality_mark (mark) VALUES (0);
    "#,
    // 5: the save of the indicators under way, by the mark it folded to: a save is written in
    // several transactions, and one claimed by a later fold stops the one it overtook.
    r#"
    ALTER TABLE quality_mark ADD COLUMN claim bigint NOT NULL DEFAULT 0;
    UPDATE quality_mark SET claim = mark;
    "#,
    // 6: the mark of the commit that queued each outbox item (0 before this version), so that
    // the node delivering a destination reads only what was queued since it last read, with
    // the records, rather than the whole waiting list and then each record on its own.
    r#"
    ALTER TABLE outbox ADD COLUMN mark bigint NOT NULL DEFAULT 0;
    CREATE INDEX outbox_by_mark ON outbox (destination, mark);
    "#,
];

/// Brings the database's schema to this hub's version, one transaction per migration; a
/// database of a later version is left alone (`Migrated::Newer`). Concurrent hub nodes
/// starting at once take a lock, so that one migrates and the others find it done.
pub fn migrate(client: &mut postgres::Client) -> Result<Migrated, postgres::Error> {
    let mut tx = client.transaction()?;
    // One migrator at a time, across nodes: a transaction-scoped advisory lock.
    tx.execute("SELECT pg_advisory_xact_lock(7020251)", &[])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS lienthong_schema (
             one boolean PRIMARY KEY DEFAULT true CHECK (one),
             version integer NOT NULL
         )",
    )?;
    let version: i32 = tx
        .query_opt("SELECT version FROM lienthong_schema", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        tx.commit()?;
        return Ok(Migrated::Newer(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        let v = i as i32 + 1;
        tx.execute(
            "INSERT INTO lienthong_schema (version) VALUES ($1)
             ON CONFLICT (one) DO UPDATE SET version = $1",
            &[&v],
        )?;
        tracing::info!(version = v, "store schema migrated");
    }
    tx.commit()?;
    Ok(Migrated::To(SCHEMA_VERSION))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_version_has_its_migration() {
        assert_eq!(super::MIGRATIONS.len(), super::SCHEMA_VERSION as usize);
    }
}
