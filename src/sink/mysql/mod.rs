//! MySQL and MariaDB: connecting in strict mode, reading the target table from
//! `information_schema`, the bookkeeping, and its writers, which stream each chunk with
//! `LOAD DATA LOCAL INFILE` from memory (no file on disk) or, where the server refuses LOCAL
//! INFILE, with multi-row INSERTs.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Params, Row, Value};

use self::conninfo::{MyTarget, SslMode};
use self::duplicates::SoleKey;
use self::pending_indexes::PendingIndexes;
use self::writer::Method;
use crate::checkpoint::{Cell, Ledger, Param};
use crate::chunk::WireFormat;
use crate::error::{Error, Result};
use crate::ident::Dialect;
use crate::progress::Progress;
use crate::retry::{self, RetryPolicy};
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::sink::{Backend, Mode, Plan};
use crate::upsert::UniqueKey;

pub mod conninfo;
pub mod duplicates;
pub mod error;
pub mod insert;
pub mod load_data;
pub mod pending_indexes;
pub mod turn;
pub mod upsert;
pub mod writer;

pub use writer::{MyPlan, MySink};

/// What every session runs in: values that do not fit are errors, never truncated, rounded or
/// zeroed with a warning; and text arrives as utf8mb4.
const SESSION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,\
    NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', NAMES utf8mb4";

/// Opens one connection in strict mode.
///
/// # Errors
/// The connection error with a hint; the target shown without its password.
pub async fn connect(target: &MyTarget) -> Result<Conn> {
    let tls = target.ssl_mode != SslMode::Disabled;
    let conn = match Conn::new(target.opts(tls)).await {
        Ok(c) => c,
        // `PREFERRED`, as the mysql client: cleartext when the server has no TLS.
        Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer))
            if target.ssl_mode == SslMode::Preferred =>
        {
            Conn::new(target.opts(false))
                .await
                .map_err(|e| connect_error(target, e))?
        }
        Err(e) => return Err(connect_error(target, e)),
    };
    let mut conn = conn;
    conn.query_drop(SESSION_SETUP)
        .await
        .map_err(|e| Error::mysql("setting up the session (strict mode, utf8mb4)", e))?;
    Ok(conn)
}

/// A failed connection, with what to check.
fn connect_error(target: &MyTarget, e: mysql_async::Error) -> Error {
    let hint = match &e {
        mysql_async::Error::Server(s) if s.code == 1045 => Some(
            "access denied: check the user and the password (in the URL, ~/.my.cnf's [client] \
             password, or MYSQL_PWD)"
                .to_string(),
        ),
        mysql_async::Error::Server(s) if s.code == 1049 => {
            Some("the database does not exist: check the database in the URL".to_string())
        }
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => Some(format!(
            "the server does not offer TLS, and ssl-mode={} requires it: use \
             ssl-mode=PREFERRED or DISABLED, or enable TLS on the server",
            target.ssl_mode.as_str()
        )),
        e if error::classify(e) == crate::error::ErrorClass::Config
            && matches!(e, mysql_async::Error::Io(_)) =>
        {
            Some(format!(
                "the TLS handshake failed under ssl-mode={}: check ssl-ca, the host name (the \
                 certificate's, for VERIFY_CA too) and the server's certificate \
                 (ssl-mode=REQUIRED encrypts without checking it)",
                target.ssl_mode.as_str()
            ))
        }
        mysql_async::Error::Io(_) => Some(
            "nothing answered at that host and port (or socket): check them and that the \
             server is running"
                .to_string(),
        ),
        _ => None,
    };
    let err = Error::mysql(format!("could not connect to {target}"), e);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// A MySQL or MariaDB server, through the load's bookkeeping connection.
pub struct MyBackend {
    conn: Option<Conn>,
    target: MyTarget,
    retry: RetryPolicy,
    /// Whether the server takes `LOAD DATA LOCAL INFILE`.
    local_infile: bool,
    /// The target's storage engine when it cannot roll back (MyISAM, Aria, MEMORY...): a
    /// chunk's rows stay even when its transaction does not commit.
    non_transactional: Option<String>,
}

impl MyBackend {
    /// Connects to `target`, retrying briefly while it is unreachable (see
    /// [`crate::sink::postgres::PgBackend::open`] for why briefly). Retries are counted in
    /// `progress`.
    ///
    /// # Errors
    /// The connection error, with a hint.
    pub async fn open(target: &MyTarget, retry: RetryPolicy, progress: &Progress) -> Result<Self> {
        let policy = RetryPolicy {
            max_retries: retry.max_retries.min(3),
            max_elapsed: retry.max_elapsed.min(Duration::from_secs(10)),
            ..retry
        };
        let mut conn = retry::with_retries(
            &policy,
            |_| connect(target),
            |n, reason, wait| {
                Progress::add(&progress.retries, 1);
                tracing::warn!(
                    attempt = n,
                    wait_ms = wait.as_millis() as u64,
                    "connecting failed ({reason}); retrying"
                );
            },
        )
        .await?;
        let local_infile: Option<i64> = conn
            .query_first("SELECT @@GLOBAL.local_infile")
            .await
            .map_err(|e| Error::mysql("reading @@local_infile", e))?;
        Ok(MyBackend {
            conn: Some(conn),
            target: target.clone(),
            retry,
            local_infile: local_infile == Some(1),
            non_transactional: None,
        })
    }

    /// The bookkeeping connection, opened again once a writer has taken it.
    async fn conn(&mut self) -> Result<&mut Conn> {
        if self.conn.is_none() {
            self.conn = Some(connect(&self.target).await?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::internal("the bookkeeping connection is gone"))
    }

    /// The database a table lives in: the one `--table` names, else the URL's.
    async fn schema_of(&mut self, name: &TableName) -> Result<String> {
        if let Some(s) = &name.schema {
            return Ok(s.clone());
        }
        let current: Option<String> = self
            .conn()
            .await?
            .query_first("SELECT DATABASE()")
            .await
            .map_err(|e| Error::mysql("reading the current database", e))?
            .flatten();
        current.ok_or_else(|| {
            Error::config(
                "no database to look for the table in: name it in the URL \
                 (mysql://user@host/database) or in --table database.table",
            )
        })
    }
}

impl Backend for MyBackend {
    type Sink = MySink;

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn wire_format(&self, _: &[Column], mode: Mode) -> (WireFormat, &'static str) {
        match mode {
            Mode::Copy if self.local_infile => (WireFormat::Mysql, "load data"),
            Mode::Copy => {
                tracing::warn!(
                    "the server refuses LOAD DATA LOCAL INFILE (local_infile is OFF): loading \
                     with multi-row INSERTs instead, which is slower; enable it with \
                     SET GLOBAL local_infile = 1 (or local-infile=1 under [mysqld])"
                );
                (WireFormat::Mysql, "insert")
            }
            Mode::Insert => (WireFormat::Mysql, "insert"),
        }
    }

    async fn tables_named_like(&mut self, name: &TableName) -> Result<Vec<TableName>> {
        let found: Vec<(String, String)> = self
            .conn()
            .await?
            .exec(
                "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE lower(table_name) = lower(?) \
                   AND table_schema NOT IN ('mysql', 'information_schema', \
                       'performance_schema', 'sys') \
                 ORDER BY 1, 2 LIMIT 5",
                (name.name.as_str(),),
            )
            .await
            .map_err(|e| Error::mysql(format!("looking for tables like {}", name.quoted()), e))?;
        Ok(found
            .into_iter()
            .map(|(schema, name)| TableName {
                schema: Some(schema),
                name,
            })
            .collect())
    }

    async fn introspect(&mut self, name: &TableName) -> Result<Option<Table>> {
        let schema = self.schema_of(name).await?;
        // `--table Events` is folded to lower case as SQL folds unquoted names, but MySQL's
        // table names keep their case: the exact name first, else the one that differs only
        // in case.
        let real: Option<String> = self
            .conn()
            .await?
            .exec_first(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = ? AND lower(table_name) = lower(?) \
                 ORDER BY table_name = ? DESC LIMIT 1",
                (schema.as_str(), name.name.as_str(), name.name.as_str()),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading table {}", name.quoted()), e))?;
        let Some(real) = real else {
            return Ok(None);
        };
        let name = &TableName {
            schema: Some(schema.clone()),
            name: real,
        };
        let rows: Vec<Row> = self
            .conn()
            .await?
            .exec(
                "SELECT column_name, column_type, is_nullable, character_set_name, data_type, \
                        extra, column_default IS NULL, \
                        COALESCE(generation_expression, '') <> '' \
                 FROM information_schema.columns \
                 WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                (schema.as_str(), name.name.as_str()),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading table {}", name.quoted()), e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let text = |r: &Row, i: usize| -> String {
            match r.as_ref(i) {
                Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            }
        };
        // A BEFORE INSERT trigger can give a column its value; a view is left to the server.
        let plain: Option<i64> = self
            .conn()
            .await?
            .exec_first(
                "SELECT (SELECT table_type FROM information_schema.tables \
                         WHERE table_schema = ? AND table_name = ?) = 'BASE TABLE' \
                    AND NOT EXISTS (SELECT 1 FROM information_schema.triggers \
                         WHERE event_object_schema = ? AND event_object_table = ? \
                           AND action_timing = 'BEFORE' AND event_manipulation = 'INSERT')",
                (
                    schema.as_str(),
                    name.name.as_str(),
                    schema.as_str(),
                    name.name.as_str(),
                ),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading table {}", name.quoted()), e))?;
        let plain = plain == Some(1);
        let engine: Option<(Option<String>, Option<String>)> = self
            .conn()
            .await?
            .exec_first(
                "SELECT t.engine, e.transactions FROM information_schema.tables t \
                 LEFT JOIN information_schema.engines e ON e.engine = t.engine \
                 WHERE t.table_schema = ? AND t.table_name = ?",
                (schema.as_str(), name.name.as_str()),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading table {}", name.quoted()), e))?;
        // A view has no engine of its own: the server says what its table does.
        self.non_transactional = match engine {
            Some((Some(engine), Some(tx))) if !tx.eq_ignore_ascii_case("yes") => Some(engine),
            _ => None,
        };
        let mut columns = Vec::new();
        let mut required = Vec::new();
        let mut generated = Vec::new();
        // `1` as MySQL and MariaDB send a boolean.
        let yes = |r: &Row, i: usize| {
            matches!(r.as_ref(i), Some(Value::Int(1) | Value::UInt(1))) || text(r, i) == "1"
        };
        for r in &rows {
            // Generated columns take no values. (Not `extra`: MySQL 8 says `DEFAULT_GENERATED`
            // there for a column whose default is an expression, `CURRENT_TIMESTAMP` among
            // them, which takes values like any other.)
            if yes(r, 7) {
                generated.push(text(r, 0));
                continue;
            }
            let charset = text(r, 3).to_ascii_lowercase();
            let mut type_name = text(r, 1);
            if !charset.is_empty() && charset != "utf8mb4" && charset != "binary" {
                type_name.push_str(&format!(" character set {charset}"));
            }
            let not_null = text(r, 2) == "NO";
            let no_default = yes(r, 6);
            let auto = text(r, 5).to_ascii_lowercase().contains("auto_increment");
            if plain && not_null && no_default && !auto {
                required.push(text(r, 0));
            }
            columns.push(Column {
                name: text(r, 0),
                ty: ColumnType::from_mysql(&text(r, 4)),
                type_name,
                not_null,
            });
        }
        Ok(Some(Table {
            schema,
            name: name.name.clone(),
            columns,
            required,
            generated,
            identity_always: Vec::new(),
        }))
    }

    async fn create_table(&mut self, sql: &str, name: &TableName) -> Result<()> {
        self.conn().await?.query_drop(sql).await.map_err(|e| {
            Error::mysql(
                format!("creating table {}", name.quoted_in(Dialect::Mysql)),
                e,
            )
        })
    }

    async fn unique_keys(&mut self, table: &Table) -> Result<Vec<UniqueKey>> {
        let rows: Vec<(String, Option<String>, Option<i64>)> = self
            .conn()
            .await?
            .exec(
                "SELECT index_name, column_name, sub_part FROM information_schema.statistics \
                 WHERE table_schema = ? AND table_name = ? AND non_unique = 0 \
                 ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index",
                (table.schema.as_str(), table.name.as_str()),
            )
            .await
            .map_err(|e| Error::mysql(format!("reading the unique keys of {table}"), e))?;
        let mut keys: Vec<(String, Option<Vec<String>>)> = Vec::new();
        for (index, column, sub_part) in rows {
            if keys.last().map(|(n, _)| n != &index).unwrap_or(true) {
                keys.push((index.clone(), Some(Vec::new())));
            }
            if let Some((_, cols)) = keys.last_mut() {
                // A prefix or an expression: ON DUPLICATE KEY still fires, but the key is not
                // the columns' values, so barge does not offer it as --key.
                match (column, sub_part, cols.as_mut()) {
                    (Some(c), None, Some(list)) => list.push(c),
                    _ => *cols = None,
                }
            }
        }
        Ok(keys
            .into_iter()
            .filter_map(|(name, cols)| {
                cols.map(|columns| UniqueKey {
                    primary: name == "PRIMARY",
                    columns,
                })
            })
            .collect())
    }

    async fn defer_indexes(
        &mut self,
        table: &Table,
        checkpoints: &crate::checkpoint::Checkpoints,
        load: &str,
        leave_out: bool,
    ) -> Result<bool> {
        let pending = PendingIndexes::new(checkpoints.table(), table)?;
        Ok(pending.defer(self.conn().await?, load, leave_out).await)
    }

    /// In one `ALTER TABLE` on the bookkeeping connection: InnoDB builds every index added
    /// together from one read of the rows, so more connections would read them more often.
    async fn build_indexes(
        &mut self,
        table: &Table,
        checkpoints: &crate::checkpoint::Checkpoints,
        _connections: usize,
    ) -> Result<usize> {
        let pending = PendingIndexes::new(checkpoints.table(), table)?;
        pending.build(self.conn().await?).await
    }

    type Ledger<'a> = MyLedger<'a>;

    async fn ledger(&mut self) -> Result<MyLedger<'_>> {
        Ok(MyLedger(self.conn().await?))
    }

    /// Local times are checked and stored as they are; barge converts none.
    async fn session_is_utc(&mut self) -> Result<bool> {
        Ok(true)
    }

    /// A named lock (`GET_LOCK`), held by the bookkeeping session. Its names are the server's,
    /// not a database's, so the database is in it; hashed, as a name holds 64 characters.
    async fn lock_load(&mut self, key: &str) -> Result<bool> {
        let got: Option<Option<i64>> = self
            .conn()
            .await?
            .exec_first(
                "SELECT GET_LOCK(CONCAT('barge load ', MD5(CONCAT(DATABASE(), ' ', ?))), 0)",
                (key,),
            )
            .await
            .map_err(|e| Error::mysql("taking the load's lock", e))?;
        Ok(got.flatten() == Some(1))
    }

    /// A fixed offset: `+HH:MM` (or `SYSTEM` on a machine in UTC); a named zone is not one.
    async fn session_offset(&mut self) -> Result<Option<i64>> {
        let zones: Option<(String, String)> = self
            .conn()
            .await?
            .query_first("SELECT @@session.time_zone, @@global.system_time_zone")
            .await
            .map_err(|e| Error::mysql("reading the session time zone", e))?;
        let Some((zone, system)) = zones else {
            return Ok(None);
        };
        let zone = if zone.eq_ignore_ascii_case("SYSTEM") {
            system
        } else {
            zone
        };
        let utc = [
            "UTC",
            "GMT",
            "Etc/UTC",
            "Etc/GMT",
            "Universal",
            "Zulu",
            "+00:00",
        ];
        if utc.iter().any(|u| zone.eq_ignore_ascii_case(u)) {
            return Ok(Some(0));
        }
        Ok(parse_offset(&zone))
    }

    /// One writer per worker: the first on the bookkeeping connection.
    async fn sinks(
        &mut self,
        plan: Plan,
        workers: usize,
        progress: Arc<Progress>,
    ) -> Result<Vec<MySink>> {
        if let Some(engine) = &self.non_transactional {
            let table = &plan.table;
            if plan.atomic {
                return Err(Error::config(format!(
                    "table {table} uses the {engine} engine, which cannot roll back: --atomic, \
                     --replace and --dry-run need a transactional one (ALTER TABLE {} \
                     ENGINE=InnoDB)",
                    table.quoted_in(Dialect::Mysql)
                )));
            }
            tracing::warn!(
                "table {table} uses the {engine} engine, which cannot roll back: a chunk the \
                 server refuses partway, or a load stopped mid-chunk, leaves that chunk's rows \
                 before the stop in the table, and a rerun loads them again (loads are exactly \
                 once into a transactional engine such as InnoDB)"
            );
        }
        let mut plan = MyPlan::new(plan, self.local_infile);
        plan.base.retry = self.retry;
        if plan.rejects.is_some() && plan.upsert.is_none() && plan.method == Method::LoadData {
            let conn = self.conn().await?;
            plan.unique =
                SoleKey::of(conn, &plan.base.table, &plan.base.columns, plan.types()).await?;
        }
        let wanted = if plan.atomic { 1 } else { workers.max(1) };
        let plan = Arc::new(plan);
        let first = match self.conn.take() {
            Some(c) => c,
            None => connect(&self.target).await?,
        };
        let mut sinks = vec![MySink::new(
            first,
            self.target.clone(),
            plan.clone(),
            progress.clone(),
        )];
        for _ in 1..wanted {
            match connect(&self.target).await {
                Ok(c) => sinks.push(MySink::new(
                    c,
                    self.target.clone(),
                    plan.clone(),
                    progress.clone(),
                )),
                Err(e) if e.mysql_code() == Some(1040) => {
                    tracing::warn!(
                        "the server has no connection slots left: loading with {} of {wanted} workers",
                        sinks.len()
                    );
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(sinks)
    }
}

/// `+HH:MM` / `-HH:MM` in seconds.
fn parse_offset(zone: &str) -> Option<i64> {
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = zone[1..].split_once(':')?;
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

/// The bookkeeping on a MySQL connection.
pub struct MyLedger<'a>(pub &'a mut Conn);

fn my_params(params: &[Param<'_>]) -> Params {
    if params.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        params
            .iter()
            .map(|p| match *p {
                Param::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
                Param::Int(i) => Value::Int(i),
            })
            .collect(),
    )
}

impl Ledger for MyLedger<'_> {
    const TIMESTAMP_COLUMN: &'static str = "timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)";
    // A `timestamp` prints in the session's time zone, without saying which: in UTC, said
    // (as it was when the session's zone has no conversion rules loaded).
    const COMMITTED_AT_TEXT: &'static str = "COALESCE(CONCAT(CAST(CONVERT_TZ(committed_at, \
        @@session.time_zone, '+00:00') AS CHAR), ' UTC'), CAST(committed_at AS CHAR))";
    const CHAR_LENGTH: &'static str = "char_length";
    const ROWS: &'static str = "`rows`";
    const ID_TYPE: &'static str = "varchar(255)";

    fn placeholder(_: usize) -> String {
        "?".to_string()
    }

    /// `LIKE` with a fixed prefix, which MySQL and MariaDB serve from the key in any collation
    /// (a range would need the column's collation to order bytewise, and an older table's is
    /// the server's default); `!` escapes, as a backslash would depend on the SQL mode.
    fn id_prefix(prefix: &str, _first: usize) -> (String, Vec<String>) {
        let mut pattern = String::with_capacity(prefix.len() + 4);
        for c in prefix.chars() {
            if matches!(c, '!' | '%' | '_') {
                pattern.push('!');
            }
            pattern.push(c);
        }
        pattern.push('%');
        ("load_id LIKE ? ESCAPE '!'".to_string(), vec![pattern])
    }

    /// MySQL has neither RETURNING nor ON CONFLICT: an upsert that sums the load's chunks,
    /// then a read of the total.
    fn mark_done_sql(table: &str, marker: i64) -> Vec<(String, usize)> {
        vec![
            (
                format!(
                    "INSERT INTO {table} (load_id, first_byte, end_byte, `rows`, end_record, \
                     end_line, chunk) \
                     SELECT ?, {marker}, -1, coalesce(sum(`rows`), 0), -1, -1, -1 FROM {table} AS done \
                     WHERE load_id = ? AND first_byte >= 0 \
                     ON DUPLICATE KEY UPDATE `rows` = VALUES(`rows`)"
                ),
                2,
            ),
            (
                format!(
                    "SELECT `rows` FROM {table} WHERE load_id = ? AND first_byte = {marker}"
                ),
                1,
            ),
        ]
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>], context: &str) -> Result<()> {
        self.0
            .exec_drop(sql, my_params(params))
            .await
            .map_err(|e| Error::mysql(context, e))
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        context: &str,
    ) -> Result<Vec<Vec<Cell>>> {
        let rows: Vec<Row> = self
            .0
            .exec(sql, my_params(params))
            .await
            .map_err(|e| Error::mysql(context, e))?;
        Ok(rows
            .iter()
            .map(|r| {
                let columns = r.columns_ref();
                let decimal = |i: usize| {
                    columns.get(i).is_some_and(|c| {
                        matches!(
                            c.column_type(),
                            mysql_async::consts::ColumnType::MYSQL_TYPE_NEWDECIMAL
                                | mysql_async::consts::ColumnType::MYSQL_TYPE_DECIMAL
                        )
                    })
                };
                (0..r.len())
                    .map(|i| match r.as_ref(i) {
                        None | Some(Value::NULL) => Cell::Null,
                        Some(Value::Int(v)) => Cell::Int(*v),
                        Some(Value::UInt(v)) => Cell::Int(*v as i64),
                        Some(Value::Float(v)) => Cell::Int(*v as i64),
                        Some(Value::Double(v)) => Cell::Int(*v as i64),
                        // Sums come back as DECIMAL text.
                        Some(Value::Bytes(b)) if decimal(i) => String::from_utf8_lossy(b)
                            .parse::<i64>()
                            .map(Cell::Int)
                            .unwrap_or(Cell::Null),
                        Some(Value::Bytes(b)) => {
                            Cell::Text(String::from_utf8_lossy(b).into_owned())
                        }
                        Some(other) => Cell::Text(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect())
    }

    fn already_exists(e: &Error) -> bool {
        e.mysql_code() == Some(1050)
    }

    fn permission_denied(e: &Error) -> bool {
        matches!(e.mysql_code(), Some(1044 | 1142))
    }

    async fn cannot_write(&mut self, table: &str) -> Result<Option<String>> {
        match self
            .0
            .query_drop(format!("SELECT 1 FROM {table} LIMIT 0"))
            .await
        {
            Ok(()) => Ok(None),
            Err(mysql_async::Error::Server(s)) if s.code == 1146 => {
                Ok(Some(format!("{table} does not exist")))
            }
            Err(mysql_async::Error::Server(s)) if s.code == 1142 => {
                Ok(Some(format!("the user may not read {table}")))
            }
            Err(e) => Err(Error::mysql(format!("reading {table}"), e)),
        }
    }
}
