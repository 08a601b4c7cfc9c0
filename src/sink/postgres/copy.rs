//! Sending a chunk with `COPY ... FROM STDIN`: the fastest way into PostgreSQL, one stream per
//! chunk, in the binary format barge encodes (or text, for types it leaves to the server).

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use crate::chunk::WireFormat;
use crate::schema::{quote_ident, Column};

/// `COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`: every identifier quoted;
/// `table` is already quoted.
pub fn copy_statement(table: &str, columns: &[Column], format: WireFormat) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT {})",
        cols.join(", "),
        format.as_str()
    )
}

/// Streams `data` (a complete COPY payload) with `statement`.
///
/// # Errors
/// The driver's error (the server's, for a row it refuses).
pub async fn send(tx: &Client, statement: &str, data: Bytes) -> Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in(statement).await?;
    futures_util::pin_mut!(sink);
    sink.send(data).await?;
    sink.finish().await
}

/// The row number within the COPY stream that the server blames, from its error context
/// ("COPY events, line 5, column x: ...").
pub fn copy_line(e: &tokio_postgres::Error) -> Option<u64> {
    let where_ = e.as_db_error()?.where_()?;
    let rest = &where_[where_.find(", line ")? + 7..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
