//! PostgreSQL (and servers that speak its protocol): connecting, reading the target table from
//! the catalog, and writing chunks with binary COPY.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

use self::error::get;
use crate::checkpoint::{Cell, Ledger, Param};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::target::Target;

pub mod conninfo;
pub mod copy;
pub mod error;
pub mod insert;
pub mod resolve;
pub mod tls;
pub mod upsert;
pub mod writer;

pub use writer::{Method, PgPlan, PgSink, TxMode};

/// Opens one connection; its driver task runs on the current runtime until the client is
/// dropped.
///
/// # Errors
/// [`ErrorKind::Connect`] with the server's message and the target without its password.
pub async fn connect(config: &tokio_postgres::Config, target: &Target) -> Result<Client> {
    let Target::Postgres(pg) = target else {
        return Err(Error::config("not a PostgreSQL target"));
    };
    let (client, connection) = config
        .connect(pg.tls.clone())
        .await
        .map_err(|source| error::connect(target.to_string(), source, pg))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection closed with an error");
        }
    });
    Ok(client)
}

/// Reads the table's columns, types and NOT NULL constraints from the catalog.
///
/// Domains are seen through to their base type (a domain's own NOT NULL counts); dropped and
/// generated columns are left out, since COPY cannot write them.
///
/// # Errors
/// [`ErrorKind::TableNotFound`] when no such table (or view) is visible.
pub async fn introspect(client: &Client, name: &TableName) -> Result<Table> {
    let ctx = || format!("reading table {} from the catalog", name.quoted());
    let row = client
        .query_opt(
            "SELECT c.oid, n.nspname::text, c.relname::text \
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
    let rows = client
        .query(
            "SELECT a.attname::text, \
                    CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, \
                    CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, \
                    a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    COALESCE(bt.typtype, t.typtype) = 'e' \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
             ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(|e| Error::db(ctx(), e))?;
    let columns = rows
        .iter()
        .map(|r| {
            let what = "columns from the catalog";
            let type_oid: u32 = get(r, 1, what)?;
            let typmod: i32 = get(r, 2, what)?;
            let is_enum: bool = get(r, 5, what)?;
            Ok(Column {
                name: get(r, 0, what)?,
                ty: ColumnType::from_pg(type_oid, typmod, is_enum),
                type_name: get(r, 4, what)?,
                not_null: get(r, 3, what)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Table {
        schema,
        name: table_name,
        columns,
    })
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
