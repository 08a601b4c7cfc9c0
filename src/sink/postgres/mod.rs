//! PostgreSQL (and servers that speak its protocol): connecting, reading the target table from
//! the catalog, the bookkeeping, and its writers, which send chunks with binary COPY.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

use self::conninfo::PgTarget;
use self::error::get;
use self::pending_indexes::PendingIndexes;
use crate::checkpoint::{Cell, Checkpoints, Ledger, Param};
use crate::chunk::WireFormat;
use crate::error::{Error, ErrorKind, Result};
use crate::ident::Dialect;
use crate::progress::Progress;
use crate::retry::{self, RetryPolicy};
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::sink::{Backend, ChunkSizing, Mode, Plan};
use crate::upsert::UniqueKey;

pub mod binary_rows;
pub mod citus;
pub mod conninfo;
pub mod copy;
pub mod deferred;
pub mod error;
pub mod insert;
pub mod pending_indexes;
pub mod plan;
pub mod refused;
pub mod resolve;
pub mod sequences;
pub mod tls;
pub mod upsert;
pub mod writer;

pub use plan::PgPlan;
pub use writer::PgSink;

/// Opens one connection; its driver task runs on the current runtime until the client is
/// dropped.
///
/// # Errors
/// [`ErrorKind::Connect`] with the server's message and the target without its password.
pub async fn connect(config: &tokio_postgres::Config, pg: &PgTarget) -> Result<Client> {
    let (client, connection) = config
        .connect(pg.tls.clone())
        .await
        .map_err(|source| error::connect(pg.to_string(), source, pg))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection closed with an error");
        }
    });
    Ok(client)
}

/// Connections to each Citus worker that a session keeps between transactions (one per shard
/// a COPY writes to, on a cluster of up to this many shards per worker).
const CITUS_CACHED_CONNS: u32 = 64;

/// Whether the server is a Citus coordinator (the extension is installed in this database).
async fn is_citus(client: &Client) -> bool {
    client
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'citus'", &[])
        .await
        .is_ok_and(|r| r.is_some())
}

/// A PostgreSQL server, through the load's bookkeeping connection.
pub struct PgBackend {
    /// The bookkeeping connection; the first writer takes it over.
    client: Option<Client>,
    config: tokio_postgres::Config,
    target: PgTarget,
    retry: RetryPolicy,
    /// Whether the server is a Citus coordinator.
    citus: bool,
    /// On Citus: whether the target is hash-distributed, so that rows may be routed straight
    /// to its shards (see [`citus`]), which wants other chunk sizes.
    hash_distributed: bool,
    /// The target's kind (`pg_class.relkind`): a view takes no COPY, and a partitioned table's
    /// upsert cannot return `xmax`.
    kind: Relkind,
}

/// What kind of relation the target is, as far as loading it differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Relkind {
    /// A table (or anything else COPY writes into).
    #[default]
    Table,
    /// A partitioned table.
    Partitioned,
    /// A view: COPY cannot write into one, INSERT can (an updatable view, or one with an
    /// INSTEAD OF trigger).
    View,
}

impl PgBackend {
    /// Connects to `target`, retrying briefly while the server is unreachable or starting up:
    /// at the start of a load a refused connection is more often a wrong port than a restart,
    /// and the user should hear so within seconds. (Once rows flow, writers retry with the full
    /// `retry` policy.) Retries are counted in `progress`.
    ///
    /// # Errors
    /// The connection error, with a hint.
    pub async fn open(target: &PgTarget, retry: RetryPolicy, progress: &Progress) -> Result<Self> {
        let mut config = target.config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let policy = RetryPolicy {
            max_retries: retry.max_retries.min(3),
            max_elapsed: retry.max_elapsed.min(Duration::from_secs(10)),
            ..retry
        };
        let client = retry::with_retries(
            &policy,
            |_| connect(&config, target),
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
        let citus = is_citus(&client).await;
        if citus {
            // Citus keeps one connection per worker across transactions unless told more, and
            // a COPY into a distributed table opens one per shard: each chunk then paid for
            // new connections (TLS included) to every shard, ~115 ms a chunk on a coordinator
            // and two workers (1M bench rows: 18.1 s, against 5.9 s with them kept; psql
            // \copy 4.5 s). Every connection of the load keeps them.
            let keep = format!("-c citus.max_cached_conns_per_worker={CITUS_CACHED_CONNS}");
            let options = match config.get_options() {
                Some(o) if !o.is_empty() => format!("{o} {keep}"),
                _ => keep,
            };
            config.options(&options);
            client
                .batch_execute(&format!(
                    "SET citus.max_cached_conns_per_worker = {CITUS_CACHED_CONNS}"
                ))
                .await
                .map_err(|e| Error::db("setting up the session for Citus", e))?;
            tracing::info!("the target is a Citus coordinator: shard connections are kept");
        }
        Ok(PgBackend {
            client: Some(client),
            config,
            target: target.clone(),
            retry,
            citus,
            hash_distributed: false,
            kind: Relkind::Table,
        })
    }

    /// The bookkeeping connection, opened again once a writer has taken it.
    async fn client(&mut self) -> Result<&Client> {
        if self.client.is_none() {
            self.client = Some(connect(&self.config, &self.target).await?);
        }
        self.client
            .as_ref()
            .ok_or_else(|| Error::internal("the bookkeeping connection is gone"))
    }
}

impl Backend for PgBackend {
    type Sink = PgSink;

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    /// On Citus each chunk is a distributed transaction (two-phase commit on every worker):
    /// fewer, larger chunks, from one writer. Through the coordinator, measured on a
    /// coordinator and two workers with 1M bench rows (shard connections kept): 10k-row
    /// chunks from 2 writers 6.0 s; 8 MiB chunks 6.1 s; 16 MiB from one writer 5.0 s; 24 MiB
    /// from one writer 4.8 s (60 MiB peak); psql `\copy` 4.3 s. Two writers gain nothing
    /// there: the coordinator is the bottleneck. Routed straight to the shards, a chunk costs
    /// a COPY per shard and a prepared transaction per node, so chunks stay large, but the
    /// writer holds a chunk's rows sorted by shard while the reader fills the next two:
    /// 10 MiB chunks keep the peak under 64 MiB (1M bench rows, one machine: 10 MiB 4.8-5.0 s
    /// at 56-58 MiB; 12 MiB 4.7-4.9 s at 66-70 MiB; 16 MiB 4.1-4.6 s at 98 MiB; 24 MiB
    /// 4.0-5.1 s at 140 MiB; `\copy` 8.4 s that day).
    fn chunk_sizing(&self) -> Option<ChunkSizing> {
        let mib = if self.hash_distributed { 10 } else { 24 };
        self.citus.then_some(ChunkSizing {
            rows: usize::MAX,
            bytes: mib * 1024 * 1024,
            workers: 1,
        })
    }

    fn wire_format(&self, columns: &[Column], mode: Mode) -> (WireFormat, &'static str) {
        let mode = match (mode, self.kind) {
            (Mode::Copy, Relkind::View) => {
                tracing::info!(
                    "the target is a view, which COPY cannot write into: loading it with INSERT \
                     statements (--mode insert)"
                );
                Mode::Insert
            }
            _ => mode,
        };
        match mode {
            // INSERT parameters carry other types as text, each value on its own.
            Mode::Insert => (WireFormat::Binary, "insert"),
            Mode::Copy if columns.iter().any(|c| c.ty.server_parsed()) => {
                let odd: Vec<String> = columns
                    .iter()
                    .filter(|c| c.ty.server_parsed())
                    .map(|c| format!("\"{}\" ({})", c.name, c.type_name))
                    .collect();
                tracing::warn!(
                    columns = %odd.join(", "),
                    "these column types are parsed by the server: falling back to text COPY"
                );
                (WireFormat::Text, "text")
            }
            Mode::Copy => (WireFormat::Binary, "binary"),
        }
    }

    async fn tables_named_like(&mut self, name: &TableName) -> Result<Vec<TableName>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT n.nspname::text, c.relname::text \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE lower(c.relname) = lower($1) AND c.relkind IN ('r', 'p', 'v', 'f') \
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND n.nspname NOT LIKE 'pg\\_%' \
                   AND has_schema_privilege(n.oid, 'USAGE') \
                 ORDER BY 1, 2 LIMIT 5",
                &[&name.name],
            )
            .await
            .map_err(|e| Error::db(format!("looking for tables like {}", name.quoted()), e))?;
        rows.iter()
            .map(|r| {
                Ok(TableName {
                    schema: Some(get(r, 0, "a table's schema")?),
                    name: get(r, 1, "a table's name")?,
                })
            })
            .collect()
    }

    async fn introspect(&mut self, name: &TableName) -> Result<Option<Table>> {
        match introspect(self.client().await?, name).await {
            Ok((t, kind)) => {
                self.kind = kind;
                if self.citus {
                    self.hash_distributed = self
                        .client()
                        .await?
                        .query_opt(
                            "SELECT 1 FROM pg_dist_partition \
                             WHERE logicalrelid = to_regclass($1) AND partmethod = 'h'",
                            &[&t.quoted()],
                        )
                        .await
                        .is_ok_and(|r| r.is_some());
                }
                Ok(Some(t))
            }
            Err(e) if matches!(e.kind(), ErrorKind::TableNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_table(&mut self, sql: &str, name: &TableName) -> Result<()> {
        self.client()
            .await?
            .batch_execute(sql)
            .await
            .map_err(|e| Error::db(format!("creating table {}", name.quoted()), e))
    }

    async fn distribute(&mut self, name: &TableName, column: &str) -> Result<()> {
        if !self.citus {
            return Err(Error::config(
                "--distribute-by spreads a table over a Citus cluster: the target is not a Citus coordinator",
            ));
        }
        // The table and column go as values: Citus reads the name as a regclass.
        self.client()
            .await?
            .execute(
                "SELECT create_distributed_table($1::text::regclass, $2::text)",
                &[&name.quoted(), &column],
            )
            .await
            .map(|_| ())
            .map_err(|e| Error::db(format!("distributing {} by {column:?}", name.quoted()), e))
    }

    async fn unique_keys(&mut self, table: &Table) -> Result<Vec<UniqueKey>> {
        upsert::unique_keys(self.client().await?, table).await
    }

    type Ledger<'a> = PgLedger<'a>;

    async fn ledger(&mut self) -> Result<PgLedger<'_>> {
        Ok(PgLedger(self.client().await?))
    }

    async fn session_is_utc(&mut self) -> Result<bool> {
        session_is_utc(self.client().await?).await
    }

    /// A session-level advisory lock, keyed by a 64-bit hash of the load's key (advisory
    /// locks are per database, as the bookkeeping is).
    async fn lock_load(&mut self, key: &str) -> Result<bool> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 7461))",
                &[&format!("barge load {key}")],
            )
            .await
            .map_err(|e| Error::db("taking the load's lock", e))?;
        get(&row, 0, "the load's lock")
    }

    async fn raise_sequences(
        &mut self,
        table: &Table,
        columns: &[Column],
    ) -> Result<Vec<crate::sink::Raised>> {
        sequences::raise(self.client().await?, table, columns).await
    }

    async fn defer_indexes(
        &mut self,
        table: &Table,
        checkpoints: &Checkpoints,
        load: &str,
        leave_out: bool,
    ) -> Result<bool> {
        if self.citus {
            return Ok(false);
        }
        let pending = PendingIndexes::new(checkpoints.table(), &table.quoted())?;
        self.client().await?;
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Error::internal("the bookkeeping connection is gone"))?;
        Ok(pending.defer(client, load, leave_out).await)
    }

    /// On the bookkeeping connection and as many more as `connections` asks (each index is
    /// one server process's work; a server with no slot left builds them one at a time).
    async fn build_indexes(
        &mut self,
        table: &Table,
        checkpoints: &Checkpoints,
        connections: usize,
    ) -> Result<usize> {
        let pending = PendingIndexes::new(checkpoints.table(), &table.quoted())?;
        self.client().await?;
        let mut clients: Vec<Client> = self.client.take().into_iter().collect();
        for _ in 1..connections.max(1) {
            match connect(&self.config, &self.target).await {
                Ok(c) => clients.push(c),
                Err(_) => break,
            }
        }
        let built = pending.build(&mut clients).await;
        self.client = clients.into_iter().next();
        built
    }

    /// One writer per worker: the first on the bookkeeping connection, the others on new
    /// connections (as many as the server has slots for).
    async fn sinks(
        &mut self,
        plan: Plan,
        workers: usize,
        progress: Arc<Progress>,
    ) -> Result<Vec<PgSink>> {
        let mut plan = plan;
        if self.kind == Relkind::View {
            // COPY cannot write into a view (see `wire_format`).
            plan.mode = Mode::Insert;
        }
        let mut plan = PgPlan::new(plan);
        plan.base.retry = self.retry;
        if plan.rejects.is_some() && plan.upsert.is_none() && plan.mode == Mode::Copy {
            let keys = upsert::unique_keys(self.client().await?, &plan.table).await?;
            // With two unique keys, setting one duplicate aside can make another row good:
            // only a row-by-row search knows; with one, a set operation does.
            if let [key] = keys.as_slice() {
                if let Some(fields) = plan.fields(&key.columns) {
                    plan.dedupe_key =
                        Some(fields.iter().map(|&i| plan.columns[i].clone()).collect());
                    plan.dedupe_fields = fields;
                }
            }
        }
        // Not on Citus: its planner has not been tried with the query against a reference
        // or distributed parent, so such refusals keep to the search there.
        if plan.rejects.is_some() && plan.upsert.is_none() && plan.mode == Mode::Copy && !self.citus
        {
            plan.foreign_keys = refused::foreign_keys(self.client().await?, &plan).await?;
            plan.checks = refused::checks(self.client().await?, &plan).await?;
        }
        plan.partitioned = self.kind == Relkind::Partitioned;
        // One transaction is one connection.
        let wanted = if plan.atomic { 1 } else { workers.max(1) };
        let plan = Arc::new(plan);
        let sink = |c| {
            PgSink::new(
                c,
                self.config.clone(),
                self.target.clone(),
                plan.clone(),
                progress.clone(),
            )
        };
        let first = match self.client.take() {
            Some(c) => c,
            None => connect(&self.config, &self.target).await?,
        };
        let router = if self.citus {
            let coordinator = PgTarget {
                config: self.config.clone(),
                ..self.target.clone()
            };
            citus::Router::open(&first, &coordinator, &plan)
                .await?
                .map(Arc::new)
        } else {
            None
        };
        let sink = |c| match &router {
            Some(r) => sink(c).route_with(r.clone()),
            None => sink(c),
        };
        let mut sinks = vec![sink(first)];
        for _ in 1..wanted {
            match connect(&self.config, &self.target).await {
                Ok(c) => sinks.push(sink(c)),
                Err(e) if e.sqlstate() == Some("53300") => {
                    tracing::warn!(
                        "the server has no connection slots left: loading with {} of {wanted} workers",
                        sinks.len(),
                    );
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(sinks)
    }
}

/// Reads the table's columns, types and NOT NULL constraints from the catalog.
///
/// Domains are seen through to their base type (a domain's own NOT NULL counts); dropped and
/// generated columns are left out, since COPY cannot write them.
///
/// # Errors
/// [`ErrorKind::TableNotFound`] when no such table (or view) is visible.
pub async fn introspect(client: &Client, name: &TableName) -> Result<(Table, Relkind)> {
    let ctx = || format!("reading table {} from the catalog", name.quoted());
    let row = client
        .query_opt(
            "SELECT c.oid, n.nspname::text, c.relname::text, \
                    c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g \
                        WHERE g.tgrelid = c.oid AND NOT g.tgisinternal \
                          AND g.tgenabled IN ('O', 'A') AND g.tgtype & 7 = 7), \
                    c.relkind::text \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = pg_catalog.to_regclass($1)",
            &[&name.quoted()],
        )
        .await
        .map_err(|e| Error::db(ctx(), e))?;
    let Some(row) = row else {
        return Err(ErrorKind::TableNotFound {
            table: name.quoted(),
        }
        .into());
    };
    let what = "the table from the catalog";
    let oid: u32 = get(&row, 0, what)?;
    let schema: String = get(&row, 1, what)?;
    let table_name: String = get(&row, 2, what)?;
    // A plain table with no BEFORE INSERT row trigger (bits: row 1, before 2, insert 4),
    // which could give a column its value.
    let plain: bool = get(&row, 3, what)?;
    let kind = match get::<String>(&row, 4, what)?.as_str() {
        "p" => Relkind::Partitioned,
        "v" => Relkind::View,
        _ => Relkind::Table,
    };
    let rows = client
        .query(
            "SELECT a.attname::text, \
                    CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, \
                    CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, \
                    a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    (SELECT p.proname::text FROM pg_catalog.pg_proc p \
                        WHERE p.oid = COALESCE(bt.typreceive, t.typreceive)), \
                    a.atthasdef OR a.attidentity <> '' \
                        OR (t.typtype = 'd' AND t.typdefaultbin IS NOT NULL), \
                    a.attgenerated <> '', \
                    e.oid, \
                    (SELECT p.proname::text FROM pg_catalog.pg_proc p WHERE p.oid = e.typreceive), \
                    a.attidentity = 'a' \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
             LEFT JOIN pg_catalog.pg_type e ON e.oid = COALESCE(bt.typelem, t.typelem) \
                  AND e.typarray = COALESCE(bt.oid, t.oid) \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(|e| Error::db(ctx(), e))?;
    let mut required = Vec::new();
    let mut generated = Vec::new();
    let mut identity_always = Vec::new();
    let mut columns = Vec::with_capacity(rows.len());
    for r in &rows {
        let what = "columns from the catalog";
        // A generated column takes no values.
        if get::<bool>(r, 7, what)? {
            generated.push(get(r, 0, what)?);
            continue;
        }
        let type_oid: u32 = get(r, 1, what)?;
        let typmod: i32 = get(r, 2, what)?;
        // The binary input function's name: it tells an enum's, citext's and PostGIS' types.
        let recv: Option<String> = get(r, 5, what)?;
        let recv = recv.unwrap_or_default();
        let has_default: bool = get(r, 6, what)?;
        // An array's element type, when the column (or its domain) is an array.
        let element: Option<u32> = get(r, 8, what)?;
        let ty = match element {
            Some(elem_oid) => ColumnType::pg_array(
                elem_oid,
                typmod,
                &get::<Option<String>>(r, 9, what)?.unwrap_or_default(),
            ),
            None => ColumnType::from_pg(type_oid, typmod, &recv),
        };
        let column = Column {
            name: get(r, 0, what)?,
            ty,
            type_name: get(r, 4, what)?,
            not_null: get(r, 3, what)?,
        };
        if plain && column.not_null && !has_default {
            required.push(column.name.clone());
        }
        if get::<bool>(r, 10, what)? {
            identity_always.push(column.name.clone());
        }
        columns.push(column);
    }
    Ok((
        Table {
            schema,
            name: table_name,
            columns,
            required,
            generated,
            identity_always,
        },
        kind,
    ))
}

/// Whether the session's `TimeZone` is UTC, in which case a `timestamptz` without an offset
/// can be encoded on the client.
///
/// # Errors
/// A database error if `SHOW TimeZone` fails.
pub async fn session_is_utc(client: &Client) -> Result<bool> {
    let row = client
        .query_one("SELECT pg_catalog.current_setting('TimeZone')", &[])
        .await
        .map_err(|e| Error::db("reading the session time zone", e))?;
    let tz: String = get(&row, 0, "the session time zone")?;
    const UTC: &[&str] = &[
        "UTC",
        "Etc/UTC",
        "GMT",
        "Etc/GMT",
        "UCT",
        "Etc/UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
        "Greenwich",
        "Etc/Greenwich",
        "GMT0",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "GMT+0",
        "GMT-0",
    ];
    Ok(UTC.iter().any(|u| u.eq_ignore_ascii_case(&tz)))
}

/// The bookkeeping's statements, run on a PostgreSQL connection.
pub struct PgLedger<'a>(pub &'a Client);

fn pg_params(params: &[Param<'_>]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match *p {
                Param::Text(s) => Box::new(s.to_string()),
                Param::Int(i) => Box::new(i),
            }
        })
        .collect()
}

impl Ledger for PgLedger<'_> {
    const TIMESTAMP_COLUMN: &'static str = "timestamptz NOT NULL DEFAULT now()";
    const ID_TYPE: &'static str = "text COLLATE \"C\"";
    // Also on a table an earlier barge made in the database's collation: exact there too,
    // though its key then does not serve it.
    const BYTEWISE: &'static str = " COLLATE \"C\"";

    async fn execute(&mut self, sql: &str, params: &[Param<'_>], context: &str) -> Result<()> {
        let owned = pg_params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = owned
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.0
            .execute(sql, &refs)
            .await
            .map_err(|e| Error::db(context, e))?;
        Ok(())
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        context: &str,
    ) -> Result<Vec<Vec<Cell>>> {
        let owned = pg_params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = owned
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = self
            .0
            .query(sql, &refs)
            .await
            .map_err(|e| Error::db(context, e))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        let cell = match *r.columns()[i].type_() {
                            Type::INT8 => get::<Option<i64>>(r, i, context)?.map(Cell::Int),
                            Type::INT4 => {
                                get::<Option<i32>>(r, i, context)?.map(|v| Cell::Int(v.into()))
                            }
                            _ => get::<Option<String>>(r, i, context)?.map(Cell::Text),
                        };
                        Ok(cell.unwrap_or(Cell::Null))
                    })
                    .collect()
            })
            .collect()
    }

    fn already_exists(e: &Error) -> bool {
        matches!(e.sqlstate(), Some("23505" | "42P07"))
    }

    fn permission_denied(e: &Error) -> bool {
        e.sqlstate() == Some("42501")
    }

    async fn cannot_write(&mut self, table: &str) -> Result<Option<String>> {
        // Each privilege on its own: has_table_privilege with a list is true if any is held.
        let row = self
            .0
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL, \
                        CASE WHEN to_regclass($1) IS NULL THEN false ELSE \
                          has_table_privilege($1, 'SELECT') AND \
                          has_table_privilege($1, 'INSERT') AND \
                          has_table_privilege($1, 'UPDATE') END",
                &[&table],
            )
            .await
            .map_err(|e| Error::db(format!("checking the privileges on {table}"), e))?;
        let exists: bool = get(&row, 0, "whether the checkpoint table exists")?;
        let writable: bool = get(&row, 1, "the privileges on the checkpoint table")?;
        Ok(match (exists, writable) {
            (false, _) => Some(format!("{table} does not exist")),
            (true, false) => Some(format!(
                "the role may not SELECT, INSERT and UPDATE {table}"
            )),
            (true, true) => None,
        })
    }
}
