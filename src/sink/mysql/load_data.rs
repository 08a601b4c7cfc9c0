//! Sending a chunk with `LOAD DATA LOCAL INFILE`: the chunk is the "file", handed to the
//! driver from memory when the server asks for it.
//!
//! With LOCAL, the server cannot stop the client mid-file, so it turns what would be errors
//! (a duplicate key, a value it would not take) into warnings and goes on, even in strict
//! mode. barge checks every value on the client first; whatever the server still warns about
//! is taken as a refused row, and the chunk is rolled back and searched like any other.

use std::ops::Range;

use bytes::Bytes;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, ServerError};

use crate::encode::mysql::MyType;
use crate::error::{Error, Result};
use crate::ident::Dialect;
use crate::schema::Column;

/// The name the statement gives the "file"; the handler ignores it.
const FILE: &str = "barge";

/// Bytes handed to the driver at a time.
const SLICE: usize = 256 * 1024;

/// `LOAD DATA LOCAL INFILE ... INTO TABLE dest (...)` for barge's encoding; `bit` columns go
/// through a variable and `CAST(... AS UNSIGNED)`, since LOAD DATA would store their digits'
/// characters.
pub fn statement(dest: &str, columns: &[Column], types: &[MyType]) -> String {
    let q = |n: &str| Dialect::Mysql.quote(n);
    let mut targets = Vec::with_capacity(columns.len());
    let mut sets = Vec::new();
    for (i, (c, ty)) in columns.iter().zip(types).enumerate() {
        if let MyType::Bit(_) = ty {
            targets.push(format!("@barge_{i}"));
            sets.push(format!("{} = CAST(@barge_{i} AS UNSIGNED)", q(&c.name)));
        } else {
            targets.push(q(&c.name));
        }
    }
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE '{FILE}' INTO TABLE {dest} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        targets.join(", ")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// Where each row of a chunk lies in it: rows end at a newline byte (a newline inside a value
/// is escaped as `\n`, two other bytes).
pub fn row_ranges(data: &[u8]) -> Vec<Range<usize>> {
    let mut rows = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        rows.push(start..nl + 1);
        start = nl + 1;
    }
    rows
}

/// Streams `data` (`rows` rows) into the table of `statement`.
///
/// # Errors
/// The server's error; a row error made of its first warning when it warned (see the
/// module's docs), or when it took fewer rows than were sent.
pub async fn send(
    conn: &mut Conn,
    statement: &str,
    data: Bytes,
    rows: u64,
    context: &str,
) -> Result<()> {
    send_parts(conn, statement, vec![data], rows, context).await
}

/// As [`send`], the "file" given in parts (slices of a chunk, which are not copied).
///
/// # Errors
/// As [`send`].
pub async fn send_parts(
    conn: &mut Conn,
    statement: &str,
    parts: Vec<Bytes>,
    rows: u64,
    context: &str,
) -> Result<()> {
    // The driver copies each piece it is given into a buffer of its own pool, which keeps
    // buffers of up to 4 MiB for reuse: given whole, a chunk was copied whole, and the pool
    // held several chunk-sized buffers (MySQL loads peaked at 77-81 MiB with --rejects). In
    // slices (of the chunk's own memory), each copy is one slice long.
    let mut slices: Vec<std::io::Result<Bytes>> = Vec::new();
    for part in &parts {
        for at in (0..part.len()).step_by(SLICE) {
            slices.push(Ok(part.slice(at..(at + SLICE).min(part.len()))));
        }
    }
    conn.set_infile_handler(async move {
        let stream = futures_util::stream::iter(slices);
        Ok(Box::pin(stream) as mysql_async::InfileData)
    });
    conn.query_drop(statement)
        .await
        .map_err(|e| Error::mysql(context, e))?;
    let warnings = conn.get_warnings();
    let affected = conn.affected_rows();
    if warnings == 0 && affected == rows {
        return Ok(());
    }
    let first: Option<Row> = conn
        .query_first("SHOW WARNINGS LIMIT 1")
        .await
        .map_err(|e| Error::mysql("reading the server's warnings", e))?;
    let (code, message) = match first {
        Some(row) => (
            row.get::<u16, _>(1).unwrap_or(0),
            row.get::<String, _>(2).unwrap_or_default(),
        ),
        None => (
            0,
            format!("the server loaded {affected} of {rows} rows without saying why"),
        ),
    };
    // A warning has no SQLSTATE of its own: a duplicate key's is the error's.
    let state = match code {
        1062 => "23000",
        _ => "HY000",
    };
    Err(Error::mysql_row(
        context,
        mysql_async::Error::Server(ServerError {
            code,
            message,
            state: state.into(),
        }),
    ))
}
