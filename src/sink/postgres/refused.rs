//! Finding the rows PostgreSQL refuses in a chunk it refused: the shared search
//! ([`crate::sink::bisect`]) driven over savepoints, with the row COPY blames read from the
//! server's error context.

use std::ops::Range;

use tokio_postgres::Client;

use super::copy;
use super::plan::{Method, PgPlan};
use super::upsert;
use super::writer::{PgSink, Session, Work};
use crate::error::{Error, ErrorKind, Result};
use crate::rejects::Reject;
use crate::retry::row_error;
use crate::sink::bisect::{self, Bisection};

impl PgSink {
    /// Sends a chunk known to hold rows the server refuses, on `tx` (inside a transaction):
    /// rows go in ranges, each under a savepoint, and a refused range is split (at the row
    /// COPY blames, else in halves) until each bad row stands alone and is set aside with the
    /// server's message. Returns the rows an upsert's merges inserted, and the rows refused.
    pub(super) async fn send_bisecting(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        copy_sql: &str,
        merge_sql: Option<&str>,
        chunk: &Work,
    ) -> Result<(Option<u64>, Vec<Reject>)> {
        let meta = &chunk.meta;
        let format = plan.format();
        let ranges = copy::row_ranges(&chunk.data, format)
            .ok_or_else(|| Error::internal("a chunk's COPY payload is malformed"))?;
        let mut inserted = merge_sql.map(|_| 0u64);
        let mut refused: Vec<Reject> = Vec::new();
        let mut search = Bisection::new(ranges.len(), bisect::PIECES);
        let sp = |sql: &'static str| async move {
            tx.batch_execute(sql)
                .await
                .map_err(|e| Error::db("setting a savepoint", e))
        };
        while let Some(r) = search.next_range() {
            sp("SAVEPOINT barge_rows").await?;
            let payload = copy::sub_payload(&chunk.data, &ranges, r.clone(), format);
            let mut result =
                Self::send_rows(tx, session, plan, copy_sql, payload, chunk, r.clone()).await;
            if let (Ok(()), Some(merge_sql)) = (&result, merge_sql) {
                result = match Self::merge(tx, plan, merge_sql, meta).await {
                    Ok(n) => {
                        inserted = inserted.map(|i| i + n);
                        tx.batch_execute(&format!("DELETE FROM {}", upsert::STAGE))
                            .await
                            .map_err(|e| Error::db("emptying the staging table", e))
                    }
                    Err(e) => Err(e),
                };
            }
            match result {
                Ok(()) => sp("RELEASE SAVEPOINT barge_rows").await?,
                Err(e) if row_error(&e) => {
                    sp("ROLLBACK TO SAVEPOINT barge_rows").await?;
                    // COPY names the row it failed on (a merge does not).
                    let blamed = match (&e.kind(), plan.method) {
                        (ErrorKind::Database { source, .. }, Method::Copy(_))
                            if merge_sql.is_none() =>
                        {
                            copy::copy_line(source, plan.relation())
                                .filter(|&l| l >= 1 && (l as usize) <= r.len())
                                .map(|l| r.start + l as usize - 1)
                        }
                        _ => None,
                    };
                    if let Some(row) = search.refused(r, blamed) {
                        refused.push(server_reject(chunk, row, &e));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok((inserted, refused))
    }
}

impl Work {
    /// The record number of line `line` (from 1) of a COPY payload that held rows `rows` of
    /// this chunk; `None` when the line is not one of those rows.
    pub(super) fn record_at(&self, rows: &Range<usize>, line: u64) -> Option<u64> {
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        if i >= rows.len() {
            return None;
        }
        let i = rows.start + i;
        match self.raw_rows.get(i) {
            // Rows set aside on the client are not in the payload: the kept positions say
            // which record each row is.
            Some(row) => Some(row.position.record),
            // Without --rejects a chunk is every record of its input range, in order.
            None if self.raw_rows.is_empty() => Some(self.meta.first_record + i as u64),
            None => None,
        }
    }
}

/// Row `i` of the chunk, refused by the server with `e`.
fn server_reject(chunk: &Work, i: usize, e: &Error) -> Reject {
    let (position, raw) = match chunk.raw_rows.get(i) {
        Some(row) => (
            row.position,
            chunk.raw.get(row.raw.clone()).unwrap_or_default().to_vec(),
        ),
        None => (Default::default(), Vec::new()),
    };
    let (reason, column) = match e.kind() {
        ErrorKind::Database { source, .. } => match source.as_db_error() {
            Some(db) => (
                match db.detail() {
                    Some(d) => format!("{}: {d}", db.message()),
                    None => db.message().to_string(),
                },
                db.column().map(str::to_string),
            ),
            None => (source.to_string(), None),
        },
        _ => (e.to_string(), None),
    };
    Reject {
        position,
        raw,
        column,
        value: None,
        reason,
        sqlstate: e.sqlstate().map(str::to_string),
    }
}
