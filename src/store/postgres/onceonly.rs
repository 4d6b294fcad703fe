//! Once-only data on PostgreSQL: issued documents and the report's counts.

use super::prepared::Prepared;
use super::{PgStore, decode};
use crate::store::port::OnceOnlyStore;
use crate::store::types::{
    IssuedDocument, ReportCount, ReportCounts, ReportGroups, report_day, report_day_start_ms,
};
use crate::store::{QualitySaved, StoreError};
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
    ) -> Result<QualitySaved, StoreError> {
        if replace {
            return self.replace_quality_rows(rows, mark);
        }
        // In transactions of `rows` dossiers, `pause` apart (`QualitySaves`). Each locks the
        // mark's row first (its guard is an UPDATE of it), so the parts of saves from several
        // nodes do not interleave unless their folds are the same (equal marks, equal rows):
        // - the first claims the save for its mark, if no later fold is saved or claimed;
        // - the next go on only while the claim is theirs: a later fold's claim stops them;
        // - the last moves the mark.
        // Dossiers written before a stop, or before a crash, are newer than the mark; folding
        // the entries after the mark again changes nothing in them (`crate::quality::fold`
        // takes an entry twice as once). A stopped save is `Overtaken`: its caller saves the
        // same changes again, since the save that stopped it may never end.
        let saves = self.quality_saves;
        let chunks: Vec<&[(String, Vec<u8>)]> = if rows.is_empty() {
            vec![&[]]
        } else {
            rows.chunks(saves.rows).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let guard = match (i == 0, last) {
                (true, true) => {
                    "UPDATE quality_mark SET claim = $1, mark = $1 WHERE mark < $1 AND claim <= $1"
                }
                (true, false) => {
                    "UPDATE quality_mark SET claim = $1 WHERE mark < $1 AND claim <= $1"
                }
                (false, true) => "UPDATE quality_mark SET mark = $1 WHERE mark < $1 AND claim = $1",
                (false, false) => {
                    "UPDATE quality_mark SET claim = claim WHERE mark < $1 AND claim = $1"
                }
            };
            if i > 0 {
                std::thread::sleep(saves.pause);
            }
            let saved = self.write_quality_part(guard, false, chunk, mark)?;
            if saved != QualitySaved::Written {
                return Ok(saved);
            }
        }
        Ok(QualitySaved::Written)
    }
}

impl PgStore {
    /// Replaces every dossier of the indicators (a rebuild), in one transaction, unless the
    /// stored mark is later (`Behind`) or a save of a later fold is under way (`Overtaken`: the
    /// rebuild is the earlier of the two).
    fn replace_quality_rows(
        &self,
        rows: &[(String, Vec<u8>)],
        mark: u64,
    ) -> Result<QualitySaved, StoreError> {
        self.write_quality_part(
            "UPDATE quality_mark SET mark = $1, claim = $1 WHERE mark <= $1 AND claim <= $1",
            true,
            rows,
            mark,
        )
    }

    /// One transaction of a save to `mark`: `guard` (an UPDATE of the mark's row, which locks
    /// it) must find the row as the save needs it; then the stored dossiers are cleared when
    /// `replace`, and `part` written. What a refusing guard means, `refused` says.
    fn write_quality_part(
        &self,
        guard: &'static str,
        replace: bool,
        part: &[(String, Vec<u8>)],
        mark: u64,
    ) -> Result<QualitySaved, StoreError> {
        let (codes, bytes): (Vec<String>, Vec<Vec<u8>>) = part.iter().cloned().unzip();
        let m = mark as i64;
        self.pool.call("write the quality indicators", move |c| {
            let mut tx = c.transaction()?;
            if tx.x(guard, &[&m])? != 1 {
                return refused(&mut tx, m, replace);
            }
            if replace {
                tx.x("DELETE FROM quality_dossiers", &[])?;
            }
            if !codes.is_empty() {
                tx.x(
                    "INSERT INTO quality_dossiers (code, row)
                     SELECT * FROM unnest($1::text[], $2::bytea[])
                     ON CONFLICT (code) DO UPDATE SET row = excluded.row",
                    &[&codes, &bytes],
                )?;
            }
            tx.commit()?;
            Ok(QualitySaved::Written)
        })
    }
}

/// Why a save's guard found the mark's row not as it needed: `Behind` when the stored mark is
/// past `mark`, or at it unless the save replaces (a later fold is saved), else `Overtaken` (a
/// later fold's save is under way, or took the claim from this one).
fn refused(
    tx: &mut postgres::Transaction<'_>,
    mark: i64,
    replace: bool,
) -> Result<QualitySaved, postgres::Error> {
    let stored: i64 = tx.q_one("SELECT mark FROM quality_mark", &[])?.get(0);
    Ok(if stored > mark || (stored == mark && !replace) {
        QualitySaved::Behind
    } else {
        QualitySaved::Overtaken
    })
}
