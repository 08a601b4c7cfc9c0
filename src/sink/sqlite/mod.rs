//! SQLite, the embedded default: opening the file for a bulk load, reading the table's columns,
//! and writing chunks with prepared multi-row INSERTs, one transaction per chunk together with
//! its checkpoint.
//!
//! The file's own journal mode and `synchronous` setting are left alone: with 10,000-row
//! chunks a commit's sync is a small part of the load (measured on the 1M-row bench file: WAL
//! with `synchronous=NORMAL` was no faster than the default rollback journal, 1.7-2.3 s either
//! way), and a bulk load should not leave a user's file in a mode they did not choose.

pub mod error;
pub mod insert;
pub mod pending_indexes;
pub mod upsert;
pub mod writer;

pub use writer::{SqlitePlan, SqliteSink};

use self::pending_indexes::PendingIndexes;

use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::checkpoint::{Cell, Ledger, Param};
use crate::chunk::WireFormat;
use crate::error::{Error, Result};
use crate::ident::{quote_ident, Dialect};
use crate::progress::Progress;
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::sink::{Backend, Mode, Plan};
use crate::upsert::UniqueKey;

/// How long a writer waits for another process's lock on the file before failing.
const BUSY_TIMEOUT_MS: u32 = 30_000;

/// Where a SQLite database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqliteTarget {
    /// A file, created when missing.
    File(PathBuf),
    /// `sqlite::memory:`: a database that lives only as long as the load, so every row is
    /// read, validated and inserted and nothing is kept (a dry run).
    Memory,
}

impl SqliteTarget {
    /// Parses what follows `sqlite:`: `//relative/path.db`, `///absolute/path.db`, `path.db`,
    /// `:memory:`.
    ///
    /// # Errors
    /// A configuration error when no file is named.
    pub fn parse(rest: &str) -> Result<SqliteTarget> {
        if rest == ":memory:" || rest == "//:memory:" {
            return Ok(SqliteTarget::Memory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(Error::config(
                "the SQLite target names no file: use sqlite://path/to/file.db",
            ));
        }
        Ok(SqliteTarget::File(PathBuf::from(path)))
    }
}

impl fmt::Display for SqliteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqliteTarget::Memory => f.write_str("sqlite::memory:"),
            SqliteTarget::File(p) => write!(f, "sqlite://{}", p.display()),
        }
    }
}

/// A SQLite database, through the load's bookkeeping connection.
pub struct SqliteBackend {
    conn: Connection,
    target: SqliteTarget,
    /// Names the in-memory database of `sqlite::memory:`, which every connection of the load
    /// opens.
    memory_key: u64,
}

impl SqliteBackend {
    /// Opens (and creates when missing) the database at `target`.
    ///
    /// # Errors
    /// A SQLite error (exit code 2 for a file that cannot be opened or is not a database).
    pub fn open(target: &SqliteTarget) -> Result<Self> {
        let memory_key = memory_key();
        Ok(SqliteBackend {
            conn: open(target, memory_key)?,
            target: target.clone(),
            memory_key,
        })
    }
}

impl Backend for SqliteBackend {
    type Sink = SqliteSink;

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// The embedded default creates the table from the file, with no `--create` needed.
    fn creates_tables(&self) -> bool {
        true
    }

    /// SQLite has no bulk path: rows always go by prepared INSERTs.
    fn wire_format(&self, _: &[Column], _: Mode) -> (WireFormat, &'static str) {
        (WireFormat::Sqlite, WireFormat::Sqlite.as_str())
    }

    async fn introspect(&mut self, name: &TableName) -> Result<Option<Table>> {
        introspect(&self.conn, name)
    }

    async fn create_table(&mut self, sql: &str, name: &TableName) -> Result<()> {
        execute_ddl(
            &self.conn,
            sql,
            &format!("creating table {}", name.quoted()),
        )
    }

    async fn unique_keys(&mut self, table: &Table) -> Result<Vec<UniqueKey>> {
        unique_keys(&self.conn, table)
    }

    async fn defer_indexes(
        &mut self,
        table: &Table,
        checkpoints: &crate::checkpoint::Checkpoints,
        load: &str,
        leave_out: bool,
    ) -> Result<bool> {
        Ok(match PendingIndexes::new(checkpoints.table(), table)? {
            Some(pending) => pending.defer(&mut self.conn, load, leave_out).await,
            None => false,
        })
    }

    /// On the bookkeeping connection: SQLite writes one statement at a time.
    async fn build_indexes(
        &mut self,
        table: &Table,
        checkpoints: &crate::checkpoint::Checkpoints,
        _connections: usize,
    ) -> Result<usize> {
        match PendingIndexes::new(checkpoints.table(), table)? {
            Some(pending) => pending.build(&mut self.conn),
            None => Ok(0),
        }
    }

    type Ledger<'a> = &'a mut Connection;

    async fn ledger(&mut self) -> Result<&mut Connection> {
        Ok(&mut self.conn)
    }

    /// SQLite stores timestamps as the text it is given.
    async fn session_is_utc(&mut self) -> Result<bool> {
        Ok(true)
    }

    /// One writer: SQLite takes one at a time.
    async fn sinks(
        &mut self,
        plan: Plan,
        workers: usize,
        progress: Arc<Progress>,
    ) -> Result<Vec<SqliteSink>> {
        if workers > 1 {
            tracing::info!("SQLite takes one writer at a time: loading with 1 worker");
        }
        let conn = open(&self.target, self.memory_key)?;
        let indexed = keeps_indexes(&conn, &plan.table);
        let plan = SqlitePlan::new(plan, indexed);
        Ok(vec![SqliteSink::new(conn, Arc::new(plan), progress)?])
    }
}

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
    // The table's own spelling of its name, and whether it is a view (whose columns nothing
    // requires: a view's inserts go through its triggers).
    let found: Option<(String, bool)> = conn
        .query_row(
            &format!(
                "SELECT name, type = 'view' FROM {}.sqlite_schema \
                 WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE \
                 ORDER BY name = ?1 DESC LIMIT 1",
                quote_ident(&schema)
            ),
            [&name.name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(ctx)?;
    let Some((real_name, is_view)) = found else {
        return Ok(None);
    };
    // hidden = 0: ordinary columns; 2 and 3: generated ones (1: a virtual table's hidden
    // columns, which are no columns of its rows).
    let mut stmt = conn
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk, \
                    (SELECT count(*) FROM pragma_table_xinfo(?1, ?2) WHERE pk > 0), \
                    hidden IN (2, 3) \
             FROM pragma_table_xinfo(?1, ?2) WHERE hidden IN (0, 2, 3) ORDER BY cid",
        )
        .map_err(ctx)?;
    let rows = stmt
        .query_map([&real_name, &schema], |r| {
            let decl: String = r.get(1)?;
            let not_null = r.get::<_, i64>(2)? != 0;
            // The rowid's alias (the one INTEGER PRIMARY KEY) is given one when it has none.
            let rowid = r.get::<_, i64>(4)? > 0
                && r.get::<_, i64>(5)? == 1
                && decl.eq_ignore_ascii_case("integer");
            Ok((
                Column {
                    name: r.get(0)?,
                    ty: ColumnType::from_sqlite(&decl),
                    type_name: if decl.is_empty() {
                        "any".to_string()
                    } else {
                        decl
                    },
                    not_null,
                },
                // SQLite's triggers cannot change the row they fire for.
                not_null && !r.get::<_, bool>(3)? && !rowid,
                r.get::<_, bool>(6)?,
            ))
        })
        .map_err(ctx)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(ctx)?;
    let mut columns = Vec::with_capacity(rows.len());
    let mut required = Vec::new();
    let mut generated = Vec::new();
    for (column, must, computed) in rows {
        if computed {
            generated.push(column.name);
            continue;
        }
        if must && !is_view {
            required.push(column.name.clone());
        }
        columns.push(column);
    }
    Ok(Some(Table {
        schema,
        name: real_name,
        columns,
        required,
        generated,
        identity_always: Vec::new(),
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

/// How many indexes `table` has (those of its `PRIMARY KEY` and `UNIQUE` constraints among
/// them; an `INTEGER PRIMARY KEY` is the rowid, no index).
///
/// # Errors
/// A SQLite error.
pub fn indexes_of(conn: &Connection, table: &Table) -> Result<i64> {
    conn.query_row(
        &format!(
            "SELECT count(*) FROM {}.sqlite_schema WHERE type = 'index' AND tbl_name = ?1",
            quote_ident(&table.schema)
        ),
        [&table.name],
        |r| r.get(0),
    )
    .map_err(|e| Error::sqlite(format!("reading the indexes of {}", table.quoted()), e))
}

/// Whether `table` has an index as it stands (once a load's indexes are left out or kept),
/// which sizes its chunks and statements; a table whose indexes cannot be read is taken for
/// one without.
fn keeps_indexes(conn: &Connection, table: &Table) -> bool {
    indexes_of(conn, table).is_ok_and(|n| n > 0)
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
impl Ledger for &mut Connection {
    const TIMESTAMP_COLUMN: &'static str = "text NOT NULL DEFAULT CURRENT_TIMESTAMP";
    // SQLite's CURRENT_TIMESTAMP is UTC, and says nothing.
    const COMMITTED_AT_TEXT: &'static str = "committed_at || ' UTC'";

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
