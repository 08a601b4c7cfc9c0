//! `--mode insert` (and servers that refuse LOCAL INFILE): a chunk's rows bound as the
//! parameters of prepared multi-row INSERTs, never more than 65,535 placeholders in one
//! statement, and never more parameter bytes than fit well under `max_allowed_packet`.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};

use crate::encode::mysql::{self as enc, MyType};
use crate::error::{Error, Result};
use crate::ident::Dialect;
use crate::schema::Column;

/// Placeholders in one statement at most (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// Parameter bytes per statement at most: a quarter of the smallest default
/// `max_allowed_packet` (MySQL 5.7's 4 MiB is the smallest in use), which leaves the rest for
/// the statement and the protocol's own bytes.
const MAX_STATEMENT_BYTES: usize = 1024 * 1024;

/// Rows per INSERT for `columns` columns, in chunks of `chunk_rows`.
pub fn rows_per_statement(columns: usize, chunk_rows: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).min(chunk_rows).max(1)
}

/// `INSERT INTO dest (...) VALUES (?, ...), ...` for `rows` rows (bit columns cast).
fn statement(dest: &str, columns: &[Column], types: &[MyType], rows: usize) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| Dialect::Mysql.quote(&c.name))
        .collect();
    let one: Vec<&str> = types
        .iter()
        .map(|t| match t {
            MyType::Bit(_) => "CAST(? AS UNSIGNED)",
            _ => "?",
        })
        .collect();
    let one = format!("({})", one.join(", "));
    format!(
        "INSERT INTO {dest} ({}) VALUES {}",
        cols.join(", "),
        vec![one; rows].join(", ")
    )
}

/// Inserts the rows of `data` (the chunk's LOAD DATA text) into `dest`.
///
/// # Errors
/// The server's error for a statement (in strict mode a bad value is an error here), or an
/// internal error for a malformed chunk.
pub async fn send(
    conn: &mut Conn,
    dest: &str,
    columns: &[Column],
    types: &[MyType],
    per_statement: usize,
    data: &[u8],
    context: &str,
) -> Result<()> {
    let mut values: Vec<Value> = Vec::new();
    let mut rows = 0;
    let mut bytes = 0;
    for row in data.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
        let before = values.len();
        for field in row.split(|&b| b == b'\t') {
            let v = match enc::unescape(field) {
                Some(b) => {
                    bytes += b.len();
                    Value::Bytes(b)
                }
                None => Value::NULL,
            };
            values.push(v);
        }
        if values.len() - before != columns.len() {
            return Err(Error::internal(
                "a MySQL chunk row has the wrong number of fields",
            ));
        }
        rows += 1;
        if rows == per_statement || bytes >= MAX_STATEMENT_BYTES {
            flush(conn, dest, columns, types, rows, &mut values, context).await?;
            rows = 0;
            bytes = 0;
        }
    }
    if rows > 0 {
        flush(conn, dest, columns, types, rows, &mut values, context).await?;
    }
    Ok(())
}

async fn flush(
    conn: &mut Conn,
    dest: &str,
    columns: &[Column],
    types: &[MyType],
    rows: usize,
    values: &mut Vec<Value>,
    context: &str,
) -> Result<()> {
    let sql = statement(dest, columns, types, rows);
    conn.exec_drop(sql, Params::Positional(std::mem::take(values)))
        .await
        .map_err(|e| Error::mysql(context, e))
}
