//! Finding the rows of a chunk whose key is a duplicate with two queries instead of a search.
//!
//! `LOAD DATA LOCAL` skips a row whose key is taken and only warns, without saying which row
//! it was, so a chunk with one duplicate used to be rolled back and searched in halves under
//! savepoints: duplicates spread over a file (0.05% of the bench rows) made the load 3.8x
//! slower than the clean one. When the table has one unique key and the load writes all of
//! its columns, a chunk that meets a duplicate (and, from then on, every chunk, since
//! duplicates come spread) instead has its keys, and only its keys, loaded into a temporary
//! table; one query picks the rows whose key is already in the table, one the rows whose key
//! repeats an earlier row of the chunk (the first occurrence loads, as row by row), both
//! compared by the server as the key's own index compares them (its collation). The rest go
//! in by `LOAD DATA`. Anything else the server refuses still goes to the search.

use std::collections::HashSet;
use std::ops::Range;

use bytes::Bytes;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::load_data;
use crate::encode::mysql::MyType;
use crate::error::{Error, Result};
use crate::ident::Dialect;
use crate::schema::{Column, Table};

/// The temporary table of a chunk's keys (one per connection).
const KEYS: &str = "`barge_keys`";
/// Its row-number column.
const SEQ: &str = "`barge.seq`";
/// NULL in a chunk's encoding.
const NULL: &[u8] = b"\\N";

/// The table's one unique key, as the chunks' fields hold it.
#[derive(Debug)]
pub struct SoleKey {
    /// The index's name (`PRIMARY` for the primary key), as the server names it in its
    /// message.
    index: String,
    /// Its columns' positions among the loaded columns.
    fields: Vec<usize>,
    /// Its columns.
    columns: Vec<Column>,
    /// `LOAD DATA` of a chunk's row numbers and keys into [`KEYS`].
    load_sql: String,
}

impl SoleKey {
    /// The table's unique key when it is the only one, all its columns are among `columns`
    /// (whole columns: no prefix, no expression) and none of them is a `bit` (loaded through
    /// a variable); `None` otherwise: duplicates are then found by the search.
    ///
    /// # Errors
    /// A database error reading the catalog.
    pub async fn of(
        conn: &mut Conn,
        table: &Table,
        columns: &[Column],
        types: &[MyType],
    ) -> Result<Option<SoleKey>> {
        let rows: Vec<(String, Option<String>, Option<i64>)> = conn
            .exec(
                "SELECT index_name, column_name, sub_part FROM information_schema.statistics \
                 WHERE table_schema = ? AND table_name = ? AND non_unique = 0 \
                 ORDER BY index_name, seq_in_index",
                (table.schema.as_str(), table.name.as_str()),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading the unique keys of {table}"), e))?;
        let Some((index, _, _)) = rows.first() else {
            return Ok(None);
        };
        let index = index.clone();
        let mut fields = Vec::with_capacity(rows.len());
        for (name, column, sub_part) in &rows {
            let field = column
                .as_deref()
                .and_then(|c| columns.iter().position(|col| col.name == c));
            match (field, sub_part) {
                (Some(f), None)
                    if name == &index && !matches!(types.get(f), Some(MyType::Bit(_))) =>
                {
                    fields.push(f)
                }
                _ => return Ok(None),
            }
        }
        let key: Vec<Column> = fields
            .iter()
            .filter_map(|&f| columns.get(f).cloned())
            .collect();
        let mut staged = vec![Column {
            name: "barge.seq".into(),
            ty: crate::schema::ColumnType::Int8,
            type_name: "bigint unsigned".into(),
            not_null: true,
        }];
        staged.extend(key.iter().cloned());
        let staged_types: Vec<MyType> =
            staged.iter().map(|c| MyType::parse(&c.type_name)).collect();
        Ok(Some(SoleKey {
            index,
            fields,
            load_sql: load_data::statement(KEYS, &staged, &staged_types),
            columns: key,
        }))
    }

    /// The rows of the chunk `data` (rows at `ranges`) whose key is in `table` already or
    /// repeats an earlier row's, in row order, each with the server's own reason.
    ///
    /// # Errors
    /// A database error; a row error when the server refused a key (the caller searches).
    pub async fn find(
        &self,
        conn: &mut Conn,
        table: &str,
        data: &[u8],
        ranges: &[Range<usize>],
    ) -> Result<Vec<(usize, String)>> {
        let q = |c: &Column| Dialect::Mysql.quote(&c.name);
        let key: Vec<String> = self.columns.iter().map(q).collect();
        let key_list = key.join(", ");
        // Made here, where its columns take the table's own types and collations, afresh for
        // each chunk (emptying it row by row cost a third of the search); neither statement
        // ends the transaction (a temporary table's CREATE and DROP do not).
        let run = |what: &'static str| move |e| Error::mysql(what, e);
        conn.query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {KEYS}"))
            .await
            .map_err(run("dropping the table of a chunk's keys"))?;
        conn.query_drop(format!(
            "CREATE TEMPORARY TABLE {KEYS} \
             SELECT CAST(0 AS UNSIGNED) AS {SEQ}, {key_list} FROM {table} LIMIT 0"
        ))
        .await
        .map_err(run("making the table of a chunk's keys"))?;
        let keys = self.payload(data, ranges);
        load_data::send(
            conn,
            &self.load_sql,
            keys,
            ranges.len() as u64,
            "staging a chunk's keys",
        )
        .await?;
        let each = |f: &dyn Fn(&String) -> String, sep: &str| {
            key.iter().map(f).collect::<Vec<_>>().join(sep)
        };
        let not_null = each(&|c| format!("s.{c} IS NOT NULL"), " AND ");
        let same = each(&|c| format!("t.{c} = s.{c}"), " AND ");
        let text = each(&|c| format!("s.{c}"), ", ");
        // Two queries: MySQL cannot open a temporary table twice in one.
        let there = format!(
            "SELECT s.{SEQ}, CONCAT_WS('-', {text}) FROM {KEYS} s \
             WHERE {not_null} AND EXISTS (SELECT 1 FROM {table} t WHERE {same})"
        );
        let again = format!(
            "SELECT d.{SEQ}, d.k FROM (SELECT s.{SEQ}, CONCAT_WS('-', {text}) AS k, \
             ROW_NUMBER() OVER (PARTITION BY {} ORDER BY s.{SEQ}) AS n FROM {KEYS} s \
             WHERE {not_null}) d WHERE d.n > 1",
            each(&|c| format!("s.{c}"), ", ")
        );
        let mut found: Vec<(u64, Vec<u8>)> = conn
            .query(there)
            .await
            .map_err(run("finding keys already in the table"))?;
        found.extend(
            conn.query::<(u64, Vec<u8>), _>(again)
                .await
                .map_err(run("finding keys repeated in a chunk"))?,
        );
        found.sort_unstable();
        found.dedup_by_key(|(seq, _)| *seq);
        Ok(found
            .into_iter()
            .filter_map(|(seq, value)| {
                let value = String::from_utf8_lossy(&value);
                Some((usize::try_from(seq).ok()?, self.reason(&value)))
            })
            .collect())
    }

    /// The rows of the chunk whose key is the same, byte for byte, as an earlier row's (a key
    /// with a NULL part never is), found on the client: the cheap first step once duplicates
    /// were met. Keys that the index's collation takes as equal but whose bytes differ are
    /// left to the server (the chunk then goes to [`SoleKey::find`]).
    pub fn repeats(&self, data: &[u8], ranges: &[Range<usize>]) -> Vec<(usize, String)> {
        let mut first: HashSet<Vec<&[u8]>> = HashSet::with_capacity(ranges.len());
        let mut found = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            let key = self.key_of(data.get(r.clone()).unwrap_or_default());
            if key.contains(&NULL) {
                continue;
            }
            if let Some(key) = first.replace(key) {
                let text: Vec<String> = key
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                found.push((i, self.reason(&text.join("-"))));
            }
        }
        found
    }

    /// Why a row with this key is refused, in the server's words.
    fn reason(&self, value: &str) -> String {
        format!(
            "Duplicate entry '{value}' for key '{}' (error 1062)",
            self.index
        )
    }

    /// The key fields of one encoded row, as `LOAD DATA` reads them: the chunk's fields are
    /// escaped, so a tab or a newline in one is two other bytes.
    fn key_of<'a>(&self, row: &'a [u8]) -> Vec<&'a [u8]> {
        let row = row.strip_suffix(b"\n").unwrap_or(row);
        let fields: Vec<&[u8]> = row.split(|&b| b == b'\t').collect();
        self.fields
            .iter()
            .map(|&f| fields.get(f).copied().unwrap_or(NULL))
            .collect()
    }

    /// Each row's number (from 0) and its key fields.
    fn payload(&self, data: &[u8], ranges: &[Range<usize>]) -> Bytes {
        let mut out = Vec::with_capacity(ranges.len() * 16);
        for (i, r) in ranges.iter().enumerate() {
            out.extend_from_slice(i.to_string().as_bytes());
            for f in self.key_of(data.get(r.clone()).unwrap_or_default()) {
                out.push(b'\t');
                out.extend_from_slice(f);
            }
            out.push(b'\n');
        }
        Bytes::from(out)
    }
}
