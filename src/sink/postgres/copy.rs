//! Writing a chunk with `COPY ... FROM STDIN`, one transaction per chunk.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use super::resolve;
use crate::chunk::{Chunk, CopyFormat};
use crate::error::{Error, Result};
use crate::schema::{quote_ident, Column, Table};
use crate::sink::Sink;

/// A connection that writes chunks into one table with COPY.
pub struct PgCopySink {
    client: Client,
    statement: String,
    table: String,
    input: String,
    columns: Vec<Column>,
}

impl PgCopySink {
    /// A sink writing `columns` (in the chunk's field order) of `table` over `client`.
    pub fn new(
        client: Client,
        table: &Table,
        columns: Vec<Column>,
        format: CopyFormat,
        input: &str,
    ) -> Self {
        let statement = copy_statement(table, &columns, format);
        PgCopySink {
            client,
            statement,
            table: table.quoted(),
            input: input.to_string(),
            columns,
        }
    }
}

/// `COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`: every identifier quoted.
pub fn copy_statement(table: &Table, columns: &[Column], format: CopyFormat) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT {})",
        table.quoted(),
        cols.join(", "),
        format.as_str()
    )
}

impl Sink for PgCopySink {
    async fn write(&mut self, mut chunk: Chunk) -> Result<()> {
        let seq = chunk.seq;
        resolve::resolve(&self.client, &self.input, &self.columns, &mut chunk)
            .await
            .map_err(|e| e.in_chunk(seq))?;
        let first_record = chunk.first.record;
        let what = format!("COPY into {} ({})", self.table, chunk.describe());
        let ctx = |e: tokio_postgres::Error| {
            let mut context = what.clone();
            if let Some(line) = copy_line(&e) {
                context = format!("{context}, at record {}", first_record + line - 1);
            }
            Error::db(context, e).in_chunk(seq)
        };
        let tx = self.client.transaction().await.map_err(ctx)?;
        let sink = tx.copy_in(&self.statement).await.map_err(ctx)?;
        futures_util::pin_mut!(sink);
        sink.send(Bytes::from(chunk.data)).await.map_err(ctx)?;
        sink.finish().await.map_err(ctx)?;
        tx.commit().await.map_err(ctx)?;
        Ok(())
    }
}

/// The row number within the COPY stream that the server blames, from its error context
/// ("COPY events, line 5, column x: ...").
fn copy_line(e: &tokio_postgres::Error) -> Option<u64> {
    let where_ = e.as_db_error()?.where_()?;
    let rest = &where_[where_.find(", line ")? + 7..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
