//! SQLite, the embedded default: opening the file for a bulk load, reading the table's columns,
//! and writing chunks with prepared multi-row INSERTs, one transaction per chunk together with
//! its checkpoint.
//!
//! The file's own journal mode and `synchronous` setting are left alone: with 10,000-row
//! chunks a commit's sync is a small part of the load (measured on the 1M-row bench file: WAL
//! with `synchronous=NORMAL` was no faster than the default rollback journal, 1.7-2.3 s either
//! way), and a bulk load should not leave a user's file in a mode they did not choose.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::checkpoint::{Cell, Checkpoints, ChunkMeta, Ledger, Param};
use crate::chunk::Chunk;
use crate::encode::sqlite::{decode, Value};
use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::progress::Progress;
use crate::rejects::{Reject, Rejects};
use crate::retry::row_error;
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::sink::Sink;
use crate::target::SqliteTarget;
use crate::upsert::{OnConflict, UniqueKey, Upsert, UpsertCounts};

/// SQLite's default limit on parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
pub const MAX_PARAMS: usize = 32_766;

/// Rows per INSERT statement at most, whatever the column count. Measured on the 1M-row bench
/// file (2 runs each): one row per statement 2.4-2.6 s; 20, 100, 500 and 3,000 rows all
/// 1.6-1.9 s, within noise. Past a few dozen rows only the statement's size grows.
const MAX_ROWS_PER_STATEMENT: usize = 500;

/// How long a writer waits for another process's lock on the file before failing.
const BUSY_TIMEOUT_MS: u32 = 30_000;

/// A key naming one in-memory database: the connections of one load open the same one.
pub fn memory_key() -> u64 {
    static MEMORY_DBS: AtomicU64 = AtomicU64::new(0);
    MEMORY_DBS.fetch_add(1, Ordering::Relaxed)
}

/// Opens (and creates when missing) the database for a load; `memory_key` (from
/// [`memory_key`]) names the database for `sqlite::memory:`.
///
/// # Errors
/// A SQLite error (exit code 2 for a file that cannot be opened or is not a database).
pub fn open(target: &SqliteTarget, memory_key: u64) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match target {
        SqliteTarget::File(path) => Connection::open_with_flags(path, flags)
            .map_err(|e| Error::sqlite(format!("opening {}", path.display()), e))?,
        // A named in-memory database shared by this load's connections; it is gone when the
        // last of them closes.
        SqliteTarget::Memory => {
            let uri = format!(
                "file:barge-memory-{}-{memory_key}?mode=memory&cache=shared",
                std::process::id()
            );
            Connection::open_with_flags(uri, flags)
                .map_err(|e| Error::sqlite("opening an in-memory database", e))?
        }
    };
    conn.execute_batch(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))
        .map_err(|e| Error::sqlite("setting up the connection", e))?;
    // Reading the file at all: a file that is not a database fails here, not mid-load.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| Error::sqlite("reading the database", e))?;
    Ok(conn)
}

/// Reads a table's columns and declared types; `None` when there is no such table.
///
/// # Errors
/// A SQLite error.
pub fn introspect(conn: &Connection, name: &TableName) -> Result<Option<Table>> {
    let schema = name.schema.clone().unwrap_or_else(|| "main".to_string());
    let ctx = |e| Error::sqlite(format!("reading table {}", name.quoted()), e);
    let real_name: Option<String> = conn
        .query_row(
            &format!(
                "SELECT name FROM {}.sqlite_schema WHERE type IN ('table', 'view') \
                 AND name = ?1 COLLATE NOCASE ORDER BY name = ?1 DESC LIMIT 1",
                quote_ident(&schema)
            ),
            [&name.name],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(ctx)?;
    let Some(real_name) = real_name else {
        return Ok(None);
    };
    // hidden = 0: ordinary columns (not generated, not virtual-table hidden ones).
    let mut stmt = conn
        .prepare(
            "SELECT name, type, \"notnull\" FROM pragma_table_xinfo(?1, ?2) \
             WHERE hidden = 0 ORDER BY cid",
        )
        .map_err(ctx)?;
    let columns = stmt
        .query_map([&real_name, &schema], |r| {
            let decl: String = r.get(1)?;
            Ok(Column {
                name: r.get(0)?,
                ty: ColumnType::from_sqlite(&decl),
                type_name: if decl.is_empty() {
                    "any".to_string()
                } else {
                    decl
                },
                not_null: r.get::<_, i64>(2)? != 0,
            })
        })
        .map_err(ctx)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(ctx)?;
    Ok(Some(Table {
        schema,
        name: real_name,
        columns,
    }))
}

/// The table's unique keys that `ON CONFLICT (columns)` can name: the primary key (which may be
/// the rowid alias, with no index of its own) and unique indexes that are not partial.
///
/// # Errors
/// A SQLite error.
pub fn unique_keys(conn: &Connection, table: &Table) -> Result<Vec<UniqueKey>> {
    let ctx = |e| Error::sqlite(format!("reading the unique keys of {table}"), e);
    let schema = quote_ident(&table.schema);
    let mut keys = Vec::new();
    let mut pk: Vec<(i64, String)> = conn
        .prepare("SELECT pk, name FROM pragma_table_info(?1, ?2) WHERE pk > 0")
        .and_then(|mut s| {
            s.query_map([&table.name, &table.schema], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(ctx)?;
    if !pk.is_empty() {
        pk.sort();
        keys.push(UniqueKey {
            primary: true,
            columns: pk.into_iter().map(|(_, n)| n).collect(),
        });
    }
    let indexes: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {schema}.pragma_index_list(?1) \
             WHERE \"unique\" AND NOT partial AND origin <> 'pk' ORDER BY seq"
        ))
        .and_then(|mut s| s.query_map([&table.name], |r| r.get(0))?.collect())
        .map_err(ctx)?;
    for index in indexes {
        let columns: Vec<Option<String>> = conn
            .prepare(&format!(
                "SELECT name FROM {schema}.pragma_index_info(?1) ORDER BY seqno"
            ))
            .and_then(|mut s| s.query_map([&index], |r| r.get(0))?.collect())
            .map_err(ctx)?;
        // A NULL name is an expression: ON CONFLICT cannot name such an index by columns.
        if let Some(columns) = columns.into_iter().collect::<Option<Vec<String>>>() {
            keys.push(UniqueKey {
                primary: false,
                columns,
            });
        }
    }
    Ok(keys)
}

/// Runs one DDL statement (`CREATE TABLE` from inference).
///
/// # Errors
/// A SQLite error.
pub fn execute_ddl(conn: &Connection, sql: &str, context: &str) -> Result<()> {
    conn.execute_batch(sql)
        .map_err(|e| Error::sqlite(context.to_string(), e))
}

fn bind_params(params: &[Param<'_>]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match *p {
            Param::Text(s) => rusqlite::types::Value::Text(s.to_string()),
            Param::Int(i) => rusqlite::types::Value::Integer(i),
        })
        .collect()
}

/// The bookkeeping's statements, run on a SQLite connection (synchronously: they are few and
/// short, and run only before and after the rows).
impl Ledger for Connection {
    const TIMESTAMP_COLUMN: &'static str = "text NOT NULL DEFAULT CURRENT_TIMESTAMP";

    async fn execute(&mut self, sql: &str, params: &[Param<'_>], context: &str) -> Result<()> {
        Connection::execute(self, sql, rusqlite::params_from_iter(bind_params(params)))
            .map_err(|e| Error::sqlite(context, e))?;
        Ok(())
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        context: &str,
    ) -> Result<Vec<Vec<Cell>>> {
        let ctx = |e| Error::sqlite(context, e);
        let mut stmt = self.prepare(sql).map_err(ctx)?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(bind_params(params)), |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(v) => Cell::Int(v),
                            ValueRef::Real(v) => Cell::Int(v as i64),
                            ValueRef::Text(t) | ValueRef::Blob(t) => {
                                Cell::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Cell>>>()
            })
            .map_err(ctx)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(ctx)
    }

    fn already_exists(_: &Error) -> bool {
        // CREATE TABLE IF NOT EXISTS under SQLite's write lock cannot race.
        false
    }

    fn permission_denied(_: &Error) -> bool {
        // SQLite has no privileges: whoever may write the file may write every table in it.
        false
    }

    async fn cannot_write(&mut self, _: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Everything a writer needs besides its connection.
#[derive(Clone, Debug)]
pub struct InsertPlan {
    /// The quoted target table.
    pub table: String,
    /// The columns written, in field order.
    pub columns: Vec<Column>,
    /// Rows per INSERT statement.
    pub rows_per_statement: usize,
    /// Where checkpoints go; `None` for loads without them.
    pub checkpoints: Option<Checkpoints>,
    /// Whether the whole load is one transaction.
    pub atomic: bool,
    /// Set for upserts: rows are staged, counted, then merged.
    pub upsert: Option<Upsert>,
    /// Where rows SQLite refuses go (`--rejects`); without it such a row fails the load.
    pub rejects: Option<Rejects>,
    /// Fail once more rows than this were rejected.
    pub max_errors: Option<u64>,
}

/// The staging table of an upsert, in the connection's private temporary database.
const STAGE: &str = "temp.\"barge_stage\"";

impl InsertPlan {
    /// A plan to insert `columns` (in field order) into `table`, `chunk_rows` rows per chunk.
    pub fn new(table: &Table, columns: Vec<Column>, chunk_rows: usize) -> Self {
        let per_row = columns.len().max(1);
        InsertPlan {
            table: table.quoted(),
            rows_per_statement: (MAX_PARAMS / per_row)
                .min(MAX_ROWS_PER_STATEMENT)
                .min(chunk_rows)
                .max(1),
            columns,
            checkpoints: None,
            atomic: false,
            upsert: None,
            rejects: None,
            max_errors: None,
        }
    }

    /// `CREATE TEMP TABLE` for the staging table: the loaded columns, no constraints (the
    /// target checks them); its rowid keeps the rows' order.
    pub fn create_stage_sql(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        format!(
            "DROP TABLE IF EXISTS {STAGE}; CREATE TEMP TABLE \"barge_stage\" AS SELECT {} FROM {} WHERE false",
            cols.join(", "),
            self.table
        )
    }

    /// How many staged rows will create a row: distinct new keys, plus rows with a NULL in the
    /// key (which never conflict).
    fn count_new_sql(u: &Upsert, table: &str) -> String {
        let q = |c: &Column| quote_ident(&c.name);
        let key = u.key.iter().map(q).collect::<Vec<_>>().join(", ");
        let not_null = u
            .key
            .iter()
            .map(|c| format!("s.{} IS NOT NULL", q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let same = u
            .key
            .iter()
            .map(|c| format!("t.{0} = s.{0}", q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        format!(
            "SELECT (SELECT count(*) FROM (SELECT DISTINCT {key} FROM {STAGE} AS s \
                     WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same}))) \
                  + (SELECT count(*) FROM {STAGE} AS s WHERE NOT ({not_null}))"
        )
    }

    /// The merge: staged rows in file order, so that SQLite's row-at-a-time upsert leaves what
    /// a row-by-row load would (`WHERE true` tells the upsert's ON from a join's).
    fn merge_sql(&self, u: &Upsert) -> String {
        let q = |c: &Column| quote_ident(&c.name);
        let cols = self.columns.iter().map(q).collect::<Vec<_>>().join(", ");
        let key = u.key.iter().map(q).collect::<Vec<_>>().join(", ");
        let action = match u.on_conflict {
            OnConflict::Nothing => "DO NOTHING".to_string(),
            OnConflict::Update => format!(
                "DO UPDATE SET {}",
                u.update
                    .iter()
                    .map(|c| format!("{0} = excluded.{0}", q(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {STAGE} WHERE true ORDER BY rowid \
             ON CONFLICT ({key}) {action}",
            self.table
        )
    }

    /// `INSERT INTO t (a, b) VALUES (?, ?), ...` for `rows` rows, into the target or, for an
    /// upsert, the staging table.
    pub fn insert_sql(&self, rows: usize) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let one = format!("({})", vec!["?"; self.columns.len()].join(", "));
        let dest = match self.upsert {
            Some(_) => STAGE,
            None => &self.table,
        };
        format!(
            "INSERT INTO {dest} ({}) VALUES {}",
            cols.join(", "),
            vec![one; rows].join(", ")
        )
    }
}

/// A connection that writes chunks into one table.
pub struct SqliteSink {
    conn: Option<Connection>,
    plan: Arc<InsertPlan>,
    progress: Arc<Progress>,
    /// In atomic mode: whether BEGIN has been sent.
    begun: bool,
}

impl SqliteSink {
    /// A sink writing with `plan` on `conn`, counting upserts in `progress`.
    ///
    /// # Errors
    /// A SQLite error creating an upsert's staging table.
    pub fn new(conn: Connection, plan: Arc<InsertPlan>, progress: Arc<Progress>) -> Result<Self> {
        if plan.upsert.is_some() {
            execute_ddl(
                &conn,
                &plan.create_stage_sql(),
                "creating the staging table",
            )?;
        }
        Ok(SqliteSink {
            conn: Some(conn),
            plan,
            progress,
            begun: false,
        })
    }

    /// Runs `f` on the connection on a blocking thread: SQLite calls block on the disk.
    async fn with_conn<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Connection, &InsertPlan, &mut bool) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::config("the SQLite connection was lost after an error"))?;
        let plan = self.plan.clone();
        let mut begun = self.begun;
        let (conn, begun, result) = tokio::task::spawn_blocking(move || {
            let r = f(&conn, &plan, &mut begun);
            (conn, begun, r)
        })
        .await
        .map_err(|e| Error::config(format!("a SQLite writer failed: {e}")))?;
        self.conn = Some(conn);
        self.begun = begun;
        result
    }
}

/// What one chunk's transaction did.
#[derive(Default)]
struct Written {
    /// Rows an upsert's merge inserted.
    inserted: Option<u64>,
    /// Rows SQLite refused, set aside.
    refused: u64,
}

/// Inserts `rows` rows (the values in `data`) and, for an upsert, merges them; returns how many
/// the merge inserted.
fn apply_rows(
    conn: &Connection,
    plan: &InsertPlan,
    data: &[u8],
    rows: usize,
    meta: &ChunkMeta,
) -> Result<Option<u64>> {
    let what = format!("INSERT into {} ({})", plan.table, meta.describe());
    insert_rows(conn, plan, data, rows).map_err(|e| Error::sqlite(what, e).in_chunk(meta.seq))?;
    let Some(u) = &plan.upsert else {
        return Ok(None);
    };
    let merging = |e| {
        Error::sqlite(
            format!("merging into {} ({})", plan.table, meta.describe()),
            e,
        )
        .in_chunk(meta.seq)
    };
    let n: i64 = conn
        .query_row(&InsertPlan::count_new_sql(u, &plan.table), [], |r| r.get(0))
        .map_err(merging)?;
    conn.execute(&plan.merge_sql(u), []).map_err(merging)?;
    conn.execute(&format!("DELETE FROM {STAGE}"), [])
        .map_err(merging)?;
    Ok(Some(n as u64))
}

/// The rows SQLite refuses, found by inserting the chunk in ranges under savepoints and
/// splitting each refused range in halves until every bad row stands alone.
fn bisect(
    conn: &Connection,
    plan: &InsertPlan,
    chunk: &Chunk,
    meta: &ChunkMeta,
) -> Result<(Option<u64>, Vec<Reject>)> {
    let ranges = crate::encode::sqlite::row_ranges(&chunk.data, plan.columns.len())
        .ok_or_else(|| Error::internal("a chunk is malformed"))?;
    let sp = |sql: &str| {
        conn.execute_batch(sql)
            .map_err(|e| Error::sqlite("setting a savepoint", e))
    };
    let mut inserted = plan.upsert.as_ref().map(|_| 0u64);
    let mut refused = Vec::new();
    // A stack of row ranges still to send, the next one on top.
    let mut work: Vec<std::ops::Range<usize>> = Vec::new();
    work.push(0..ranges.len());
    while let Some(r) = work.pop() {
        let (Some(first), Some(last)) = (ranges.get(r.start), ranges.get(r.end.wrapping_sub(1)))
        else {
            continue;
        };
        sp("SAVEPOINT barge_rows")?;
        match apply_rows(
            conn,
            plan,
            &chunk.data[first.start..last.end],
            r.len(),
            meta,
        ) {
            Ok(n) => {
                sp("RELEASE barge_rows")?;
                inserted = inserted.map(|i| i + n.unwrap_or(0));
            }
            Err(e) if row_error(&e) => {
                sp("ROLLBACK TO barge_rows; RELEASE barge_rows")?;
                if r.len() == 1 {
                    let (position, raw) = chunk.raw_row(r.start).unwrap_or_default();
                    let reason = match e.kind() {
                        crate::error::ErrorKind::Sqlite { source, .. } => source.to_string(),
                        _ => e.to_string(),
                    };
                    refused.push(Reject {
                        position,
                        raw: raw.to_vec(),
                        column: None,
                        value: None,
                        reason,
                        sqlstate: None,
                    });
                } else {
                    let mid = r.start + r.len() / 2;
                    work.push(mid..r.end);
                    work.push(r.start..mid);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok((inserted, refused))
}

/// Before COMMIT: the chunk's rejects to the rejects file (within `--max-errors`), and its
/// checkpoint.
fn seal(
    conn: &Connection,
    plan: &InsertPlan,
    meta: &ChunkMeta,
    rejects: &[Reject],
    rejected_before: u64,
) -> Result<()> {
    if let Some(max) = plan.max_errors {
        if rejected_before + rejects.len() as u64 > max {
            return Err(crate::error::ErrorKind::TooManyRejects { limit: max }.into());
        }
    }
    if let Some(file) = &plan.rejects {
        file.write(meta.first_byte, rejects)?;
    }
    if let Some(cp) = &plan.checkpoints {
        let p = cp.insert_params(meta);
        conn.execute(
            &cp.insert_sql(),
            rusqlite::params![cp.load_id(), p[0], p[1], p[2], p[3], p[4], p[5]],
        )
        .map_err(|e| Error::sqlite(format!("writing the checkpoint of chunk {}", meta.seq), e))?;
    }
    Ok(())
}

fn write_chunk(
    conn: &Connection,
    plan: &InsertPlan,
    chunk: &Chunk,
    begun: &mut bool,
    rejected_before: u64,
) -> Result<Written> {
    let meta = ChunkMeta::of(chunk);
    let what = format!("INSERT into {} ({})", plan.table, meta.describe());
    let ctx = |e| Error::sqlite(what.clone(), e).in_chunk(meta.seq);
    if !*begun {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(ctx)?;
        *begun = true;
    }
    let mut result = apply_rows(conn, plan, &chunk.data, chunk.rows as usize, &meta)
        .map(|inserted| (inserted, Vec::new()));
    if let Err(e) = &result {
        if plan.rejects.is_some() && !plan.atomic && row_error(e) {
            // Earlier statements of the chunk went in: start the chunk over, row by range.
            conn.execute_batch("ROLLBACK; BEGIN IMMEDIATE")
                .map_err(ctx)?;
            result = bisect(conn, plan, chunk, &meta);
        }
    }
    let result = result.and_then(|(inserted, refused)| {
        let mut all = chunk.rejects.clone();
        all.extend(refused.iter().cloned());
        all.sort_by_key(|r| r.position.byte);
        seal(conn, plan, &meta, &all, rejected_before)?;
        Ok(Written {
            inserted,
            refused: refused.len() as u64,
        })
    });
    if plan.atomic {
        // Rolled back with the connection when the load fails.
        return result;
    }
    *begun = false;
    match result {
        Ok(w) => conn.execute_batch("COMMIT").map_err(ctx).map(|()| w),
        Err(e) => {
            if let Err(rb) = conn.execute_batch("ROLLBACK") {
                tracing::debug!(error = %rb, "ROLLBACK failed");
            }
            Err(e)
        }
    }
}

/// Inserts the first `rows` rows of `data` with the plan's prepared statements.
fn insert_rows(
    conn: &Connection,
    plan: &InsertPlan,
    data: &[u8],
    rows: usize,
) -> rusqlite::Result<()> {
    let ncols = plan.columns.len();
    let full = plan.rows_per_statement;
    let mut pos = 0;
    let mut left = rows;
    while left > 0 {
        let n = left.min(full);
        let mut stmt = conn.prepare_cached(&plan.insert_sql(n))?;
        for i in 1..=n * ncols {
            let v = match decode(data, &mut pos) {
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
            stmt.raw_bind_parameter(i, rusqlite::types::ToSqlOutput::Borrowed(v))?;
        }
        stmt.raw_execute()?;
        left -= n;
    }
    Ok(())
}

impl Sink for SqliteSink {
    async fn write(&mut self, chunk: Chunk) -> Result<u64> {
        let rows = chunk.rows;
        let before = Progress::get(&self.progress.rows_rejected);
        let written = self
            .with_conn(move |conn, plan, begun| write_chunk(conn, plan, &chunk, begun, before))
            .await?;
        let committed = rows - written.refused;
        if let (Some(u), Some(inserted)) = (&self.plan.upsert, written.inserted) {
            let c = UpsertCounts::of_chunk(u.on_conflict, committed, inserted);
            Progress::add(&self.progress.upsert_inserted, c.inserted);
            Progress::add(&self.progress.upsert_updated, c.updated);
            Progress::add(&self.progress.upsert_skipped, c.skipped);
        }
        Ok(committed)
    }

    async fn finish(&mut self) -> Result<()> {
        if !self.plan.atomic || !self.begun {
            return Ok(());
        }
        self.with_conn(|conn, _, begun| {
            *begun = false;
            conn.execute_batch("COMMIT")
                .map_err(|e| Error::sqlite("committing the load", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_under_the_parameter_limit() {
        let cols = |n: usize| {
            (0..n)
                .map(|i| Column {
                    name: format!("c{i}"),
                    ty: ColumnType::Text,
                    type_name: "TEXT".into(),
                    not_null: false,
                })
                .collect::<Vec<_>>()
        };
        let table = Table {
            schema: "main".into(),
            name: "t".into(),
            columns: cols(2000),
        };
        let plan = InsertPlan::new(&table, cols(2000), 10_000);
        assert_eq!(plan.rows_per_statement, 16);
        assert!(plan.rows_per_statement * 2000 <= MAX_PARAMS);
        let plan = InsertPlan::new(&table, cols(2), 100);
        assert_eq!(plan.rows_per_statement, 100);
        assert_eq!(
            plan.insert_sql(2),
            "INSERT INTO \"main\".\"t\" (\"c0\", \"c1\") VALUES (?, ?), (?, ?)"
        );
    }
}
