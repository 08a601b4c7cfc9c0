//! The sequences behind the columns a load wrote (`serial`, `GENERATED ... AS IDENTITY`),
//! raised past the values loaded.
//!
//! A load of an export writes its ids itself, and the column's sequence does not move: the
//! application's next `INSERT` that takes the default then gets 1, 2, 3... and fails on
//! the primary key, long after the load (pg_dump's `setval` and pgloader's "reset sequences"
//! exist for this). A sequence is only ever raised, never lowered, and only when the largest
//! value loaded is at or past the next value it would hand out.

use tokio_postgres::Client;

use super::error::get;
use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::schema::{Column, Table};
use crate::sink::Raised;

/// Raises the ascending sequences of `columns` of `table` (the ones the load wrote) to the
/// largest value each column holds, where that value is at or past the sequence's next one.
///
/// # Errors
/// A database error (a role without `UPDATE` on the sequence, say), with what was being done.
pub async fn raise(client: &Client, table: &Table, columns: &[Column]) -> Result<Vec<Raised>> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let quoted = table.quoted();
    let owned = client
        .query(
            "SELECT a.attname::text, q.seq::text \
             FROM pg_catalog.pg_attribute a \
             CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_serial_sequence($1, a.attname::text)\
                 ::regclass AS seq) q \
             JOIN pg_catalog.pg_sequence s ON s.seqrelid = q.seq \
             WHERE a.attrelid = $1::text::regclass AND a.attname = ANY($2) \
               AND NOT a.attisdropped AND s.seqincrement > 0",
            &[&quoted, &names],
        )
        .await
        .map_err(|e| Error::db(format!("finding the sequences of {quoted}"), e))?;
    let mut raised = Vec::new();
    for row in &owned {
        let what = "a column's sequence";
        let column: String = get(row, 0, what)?;
        let sequence: String = get(row, 1, what)?;
        // The next value: the last one handed out plus the step, or the start when none was.
        let sql = format!(
            "SELECT pg_catalog.setval($1::text::regclass, x.m) \
             FROM (SELECT max({col})::bigint AS m FROM {quoted}) x, pg_catalog.pg_sequence s \
             WHERE s.seqrelid = $1::text::regclass AND x.m IS NOT NULL \
               AND x.m >= COALESCE(pg_catalog.pg_sequence_last_value($1::text::regclass) \
                                   + s.seqincrement, s.seqstart)",
            col = quote_ident(&column),
        );
        let set = client
            .query_opt(&sql, &[&sequence])
            .await
            .map_err(|e| Error::db(format!("raising sequence {sequence} of {quoted}"), e))?;
        if let Some(set) = set {
            raised.push(Raised {
                sequence,
                column,
                to: get(&set, 0, "the sequence's new value")?,
            });
        }
    }
    Ok(raised)
}
