//! Rows into SQLite: prepared multi-row `INSERT`s, their values bound from a chunk without a
//! copy, never more than SQLite's parameter limit per statement.

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::upsert::STAGE;
use super::writer::SqlitePlan;
use crate::encode::sqlite::{decode, Value};
use crate::ident::quote_ident;

/// SQLite's default limit on parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
pub const MAX_PARAMS: usize = 32_766;

/// Rows per INSERT statement at most, whatever the column count. Measured on the 1M-row bench
/// file (2 runs each): one row per statement 2.4-2.6 s; 20, 100, 500 and 3,000 rows all
/// 1.6-1.9 s, within noise. Past a few dozen rows only the statement's size grows.
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 500;

impl SqlitePlan {
    /// `INSERT INTO t (a, b) VALUES (?, ?), ...` for `rows` rows, into the target or, for an
    /// upsert, the staging table.
    pub fn insert_sql(&self, rows: usize) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let one = format!("({})", vec!["?"; self.columns.len()].join(", "));
        let dest = match self.upsert {
            Some(_) => STAGE.to_string(),
            None => self.table.quoted(),
        };
        format!(
            "INSERT INTO {dest} ({}) VALUES {}",
            cols.join(", "),
            vec![one; rows].join(", ")
        )
    }
}

/// Inserts the first `rows` rows of `data` with the plan's prepared statements.
pub(crate) fn insert_rows(
    conn: &Connection,
    plan: &SqlitePlan,
    data: &[u8],
    rows: usize,
) -> rusqlite::Result<()> {
    let mut pos = 0;
    let mut left = rows;
    while left > 0 {
        let n = left.min(plan.rows_per_statement);
        insert_statement(conn, plan, data, &mut pos, n)?;
        left -= n;
    }
    Ok(())
}

/// Inserts the `n` rows of `data` that start at `pos` in one statement, and moves `pos` past
/// them even when SQLite refuses a value as it is bound (too big), so that the rows after
/// them can still be sent.
pub(crate) fn insert_statement(
    conn: &Connection,
    plan: &SqlitePlan,
    data: &[u8],
    pos: &mut usize,
    n: usize,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&plan.insert_sql(n))?;
    let mut refused = None;
    for i in 1..=n * plan.columns.len() {
        let v = match decode(data, pos) {
            Some(Value::Null) => ValueRef::Null,
            Some(Value::Integer(v)) => ValueRef::Integer(v),
            Some(Value::Real(v)) => ValueRef::Real(v),
            Some(Value::Text(t)) => ValueRef::Text(t),
            Some(Value::Blob(b)) => ValueRef::Blob(b),
            None => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "the chunk holds fewer values than rows x columns".into(),
                ))
            }
        };
        if refused.is_none() {
            let bound = stmt.raw_bind_parameter(i, rusqlite::types::ToSqlOutput::Borrowed(v));
            refused = bound.err();
        }
    }
    match refused {
        Some(e) => Err(e),
        None => stmt.raw_execute().map(|_| ()),
    }
}
