//! Once-only data on PostgreSQL: issued documents and the report's counts.

use super::prepared::Prepared;
use super::{PgStore, decode};
use crate::store::StoreError;
use crate::store::port::OnceOnlyStore;
use crate::store::types::{
    IssuedDocument, ReportCount, ReportCounts, ReportGroups, report_day, report_day_start_ms,
};
use serde_json::Value;
impl OnceOnlyStore for PgStore {
    fn issued_documents(
        &self,
        subject: &str,
        type_key: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let (s, t) = (subject.to_string(), type_key.map(str::to_string));
        let rows = self.pool.call("read issued documents", move |c| {
            let rows = c.q(
                "SELECT record FROM issued_documents
                 WHERE subject = $1 AND ($2::text IS NULL OR type_key = $2)
                 ORDER BY type_key, document_id",
                &[&s, &t],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>())
        })?;
        rows.iter()
            .map(|b| decode("read an issued document", b))
            .collect()
    }

    fn issued_document_rows(&self) -> Result<Vec<IssuedDocument>, StoreError> {
        let rows = self.pool.call("read issued documents", |c| {
            let rows = c.q(
                "SELECT subject, type_key, document_id, record FROM issued_documents
                 ORDER BY subject, type_key, document_id",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<_, Vec<u8>>(3)))
                .collect::<Vec<(String, String, String, Vec<u8>)>>())
        })?;
        rows.into_iter()
            .map(|(subject, type_key, document_id, b)| {
                Ok(IssuedDocument {
                    subject,
                    type_key,
                    document_id,
                    record: decode("read an issued document", &b)?,
                })
            })
            .collect()
    }

    fn report_count_rows(&self) -> Result<Vec<ReportCount>, StoreError> {
        let rows = self.pool.call("read the once-only report", |c| {
            let rows = c.q(
                "SELECT day, agency, procedure, counts FROM report_counts
                 ORDER BY day, agency, procedure",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i32>(0),
                        r.get(1),
                        r.get(2),
                        r.get::<_, Vec<i64>>(3),
                    )
                })
                .collect::<Vec<(i32, String, String, Vec<i64>)>>())
        })?;
        Ok(rows
            .into_iter()
            .map(|(day, agency, procedure, stored)| {
                let mut counts: ReportCounts = Default::default();
                for (c, v) in counts.iter_mut().zip(stored) {
                    *c = v.max(0) as u64;
                }
                ReportCount {
                    day: day.max(0) as u32,
                    agency,
                    procedure,
                    counts,
                }
            })
            .collect())
    }

    fn report_counts(&self, since_ms: u64) -> Result<(ReportGroups, u64), StoreError> {
        let day = report_day(since_ms);
        let d = day as i32;
        let rows = self.pool.call("read the once-only report", move |c| {
            let rows = c.q(
                "SELECT agency, procedure, counts FROM report_counts WHERE day >= $1",
                &[&d],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get::<_, Vec<i64>>(2)))
                .collect::<Vec<(String, String, Vec<i64>)>>())
        })?;
        let mut groups = ReportGroups::new();
        for (agency, procedure, counts) in rows {
            let mut add: ReportCounts = Default::default();
            for (a, v) in add.iter_mut().zip(counts) {
                *a = v.max(0) as u64;
            }
            crate::store::types::add_counts(groups.entry((agency, procedure)).or_default(), &add);
        }
        Ok((groups, report_day_start_ms(day)))
    }
}

impl crate::store::port::QualityStore for PgStore {
    fn quality_rows(&self) -> Result<(u64, Vec<Vec<u8>>), StoreError> {
        self.pool.call("read the quality indicators", |c| {
            // One snapshot for the mark and the rows.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .start()?;
            let mark: i64 = tx.q_one("SELECT mark FROM quality_mark", &[])?.get(0);
            let rows = tx
                .q("SELECT row FROM quality_dossiers", &[])?
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect();
            tx.commit()?;
            Ok((mark as u64, rows))
        })
    }

    fn put_quality_rows(
        &self,
        rows: &[(String, Vec<u8>)],
        mark: u64,
        replace: bool,
        _dossiers: u64,
    ) -> Result<bool, StoreError> {
        let (codes, bytes): (Vec<String>, Vec<Vec<u8>>) = rows.iter().cloned().unzip();
        self.pool.call("write the quality indicators", move |c| {
            let mut tx = c.transaction()?;
            // The mark's row first: saves from several nodes go one after another, and one
            // behind a later save is refused whole.
            let moved = if replace {
                let moved = tx.x(
                    "UPDATE quality_mark SET mark = $1 WHERE mark <= $1",
                    &[&(mark as i64)],
                )? == 1;
                if moved {
                    tx.x("DELETE FROM quality_dossiers", &[])?;
                }
                moved
            } else {
                tx.x(
                    "UPDATE quality_mark SET mark = $1 WHERE mark < $1",
                    &[&(mark as i64)],
                )? == 1
            };
            if !moved {
                return Ok(false);
            }
            tx.x(
                "INSERT INTO quality_dossiers (code, row)
                 SELECT * FROM unnest($1::text[], $2::bytea[])
                 ON CONFLICT (code) DO UPDATE SET row = excluded.row",
                &[&codes, &bytes],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }
}
