//! `--mode insert`: multi-row `INSERT ... VALUES ($1, ...), (...)` with binary parameters, for
//! engines that speak PostgreSQL's protocol but not COPY, and as the like-for-like comparison
//! with `executemany`.
//!
//! The chunk is the same binary COPY payload the COPY path sends: each field is already the
//! value's binary form with its length, which is exactly what a binary parameter is. So the
//! fields are sliced out and bound as they are, with no second encoding. Statements are
//! prepared once per connection (one for full statements, one per tail size) and all of a
//! chunk's statements are sent at once, pipelined on the connection.

use std::collections::HashMap;

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};

use super::binary_rows::BinaryRows;
use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::schema::Column;

/// PostgreSQL's limit on parameters in one statement (the protocol counts them in 16 bits).
pub const MAX_PARAMS: usize = 65_535;

/// Rows per INSERT statement: as many as fit under [`MAX_PARAMS`], at most a chunk.
pub fn rows_per_statement(columns: usize, chunk_rows: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).min(chunk_rows).max(1)
}

/// `INSERT INTO table (a, b) VALUES ($1, $2), ($3, $4), ...` for `rows` rows; `table` is
/// already quoted, `overriding` what [`crate::schema::Table::overriding`] says.
pub fn insert_sql(table: &str, columns: &[Column], overriding: &str, rows: usize) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    let n = columns.len();
    let mut sql = format!(
        "INSERT INTO {table} ({}){overriding} VALUES ",
        cols.join(", ")
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..n {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * n + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// One field of a binary COPY chunk, bound as a parameter as it is.
#[derive(Debug)]
struct Field<'a> {
    /// The value's bytes; `None` for NULL.
    bytes: Option<&'a [u8]>,
    /// Sent in text format: columns of types barge leaves to the server hold their text.
    text: bool,
}

impl ToSql for Field<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.bytes {
            None => Ok(IsNull::Yes),
            Some(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        if self.text {
            Format::Text
        } else {
            Format::Binary
        }
    }

    tokio_postgres::types::to_sql_checked!();
}

/// The fields of a binary COPY payload, in order; `None` if it is malformed (a bug).
fn fields<'a>(data: &'a [u8], columns: &[Column]) -> Option<Vec<Field<'a>>> {
    let mut out = Vec::new();
    let mut rows = BinaryRows::new(data);
    loop {
        let mut fields = 0;
        let row = rows.next_row(|i, f| {
            fields += 1;
            out.push(Field {
                bytes: f.value.and_then(|v| data.get(v)),
                text: columns.get(i).is_some_and(|c| c.ty.server_parsed()),
            });
        })?;
        if row.is_none() {
            return Some(out);
        }
        if fields != columns.len() {
            return None;
        }
    }
}

/// The prepared statements of one connection, by rows per statement.
#[derive(Default)]
pub struct Prepared {
    statements: HashMap<usize, Statement>,
}

/// Inserts the rows of a binary COPY payload into `table` (quoted, and what its `INSERT`
/// says after the column list) with pipelined multi-row INSERTs of at most `per_statement`
/// rows.
///
/// # Errors
/// The driver's error, through `ctx`.
pub async fn send(
    tx: &Client,
    prepared: &mut Prepared,
    (table, overriding): (&str, &str),
    columns: &[Column],
    per_statement: usize,
    data: &[u8],
    ctx: impl Fn(tokio_postgres::Error) -> Error,
) -> Result<u64> {
    let Some(fields) = fields(data, columns) else {
        // Cannot happen for payloads barge encodes; say so rather than panic.
        return Err(Error::internal("a binary chunk is malformed"));
    };
    let n = columns.len().max(1);
    let rows = fields.len() / n;
    let mut batches: Vec<(Statement, &[Field<'_>])> = Vec::new();
    for start in (0..rows).step_by(per_statement.max(1)) {
        let count = per_statement.min(rows - start);
        let stmt = match prepared.statements.get(&count) {
            Some(s) => s.clone(),
            None => {
                let s = tx
                    .prepare(&insert_sql(table, columns, overriding, count))
                    .await
                    .map_err(&ctx)?;
                prepared.statements.insert(count, s.clone());
                s
            }
        };
        batches.push((stmt, &fields[start * n..(start + count) * n]));
    }
    let results = futures_util::future::try_join_all(
        batches
            .iter()
            .map(|(stmt, params)| tx.execute_raw(stmt, params.iter())),
    )
    .await
    .map_err(ctx)?;
    Ok(results.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::pg_binary;
    use crate::schema::ColumnType;

    fn cols(n: usize) -> Vec<Column> {
        (0..n)
            .map(|i| Column {
                name: format!("c{i}"),
                ty: ColumnType::Int4,
                type_name: "integer".into(),
                not_null: false,
            })
            .collect()
    }

    #[test]
    fn statements_stay_under_the_parameter_limit() {
        for cols in [1, 2, 3, 7, 70, 1000, 65_535, 70_000] {
            let rows = rows_per_statement(cols, 25_000);
            assert!(rows * cols <= MAX_PARAMS || rows == 1, "{cols} columns");
        }
        assert_eq!(rows_per_statement(70, 25_000), 936);
        assert_eq!(rows_per_statement(3, 100), 100);
        assert_eq!(
            insert_sql("\"t\"", &cols(2), "", 2),
            "INSERT INTO \"t\" (\"c0\", \"c1\") VALUES ($1, $2), ($3, $4)"
        );
    }

    #[test]
    fn fields_are_sliced_from_a_binary_chunk() {
        let mut data = pg_binary::HEADER.to_vec();
        for row in [[Some(1i32), None], [Some(2), Some(3)]] {
            data.extend_from_slice(&2i16.to_be_bytes());
            for v in row {
                match v {
                    Some(v) => {
                        data.extend_from_slice(&4i32.to_be_bytes());
                        data.extend_from_slice(&v.to_be_bytes());
                    }
                    None => data.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        data.extend_from_slice(pg_binary::TRAILER);
        let f = fields(&data, &cols(2)).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].bytes, Some(&1i32.to_be_bytes()[..]));
        assert_eq!(f[1].bytes, None);
        assert_eq!(f[3].bytes, Some(&3i32.to_be_bytes()[..]));
        assert!(fields(&data[..data.len() - 3], &cols(2)).is_none());
        assert!(fields(&data, &cols(3)).is_none());
    }
}
