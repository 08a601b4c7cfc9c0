//! Upserts into PostgreSQL: each chunk is COPYed (or INSERTed) into a temporary staging table
//! on the writer's own connection, then merged into the target with one duplicate-free
//! `INSERT ... SELECT ... ON CONFLICT` in the chunk's transaction (see [`crate::upsert`]).

use tokio_postgres::Client;

use super::error::get;
use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::schema::{Column, Table};
use crate::upsert::{OnConflict, UniqueKey, Upsert};

/// The staging table, one per connection (temporary tables are private to their session).
pub const STAGE: &str = "pg_temp.\"barge_stage\"";
/// Its bare name, as the server's error context names it.
pub const STAGE_NAME: &str = "barge_stage";
/// Its row-order column: the order rows arrived in, which decides which duplicate wins.
const SEQ: &str = "\"barge.seq\"";

/// Creates the staging table with the loaded columns' types (no constraints: the target checks
/// them) and a row-order column; emptied at every commit.
pub fn create_stage_sql(table: &Table, columns: &[Column]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "DROP TABLE IF EXISTS {STAGE}; \
         CREATE TEMP TABLE \"barge_stage\" ON COMMIT DELETE ROWS AS \
           SELECT {} FROM {} WITH NO DATA; \
         ALTER TABLE {STAGE} ADD COLUMN {SEQ} bigint GENERATED ALWAYS AS IDENTITY",
        cols.join(", "),
        table.quoted()
    )
}

/// The merge of a chunk's staged rows into the target: the statement, and for a partitioned
/// table the count that goes before it.
#[derive(Debug, Clone)]
pub struct Merge {
    /// A count of the staged keys the table holds already, run first in the same transaction
    /// (with the merge's turn held, no other chunk of the load merges in between): its
    /// merge then returns every row it wrote, and the difference is the rows inserted.
    pub existing: Option<String>,
    /// The `INSERT ... ON CONFLICT`, returning one row: the rows it inserted, or with
    /// `existing` the rows it wrote.
    pub sql: String,
}

impl Merge {
    /// The staged rows, one per key (the last for `update`, the first for `nothing`; rows with
    /// a NULL in the key never conflict and all go in), inserted with ON CONFLICT. The rows
    /// themselves never come back: `RETURNING` feeds the server-side count only.
    ///
    /// An update tells an inserted row by its `xmax` (0: no earlier version), which a
    /// `partitioned` table cannot return. Its keys already there are counted instead, by a
    /// statement of its own: counted in the merge's own statement, as a second CTE, they came
    /// out after the insert on Citus, which runs a statement's CTEs one after another (every
    /// row then counted as updated). A key with a NULL matches none, as it conflicts with none.
    pub fn new(table: &Table, columns: &[Column], upsert: &Upsert, partitioned: bool) -> Merge {
        let q = |c: &Column| quote_ident(&c.name);
        let cols = columns.iter().map(q).collect::<Vec<_>>().join(", ");
        let key = upsert.key.iter().map(q).collect::<Vec<_>>().join(", ");
        let order = match upsert.on_conflict {
            OnConflict::Update => "DESC",
            OnConflict::Nothing => "ASC",
        };
        let nullable = upsert.key.iter().any(|c| !c.not_null);
        let not_null = upsert
            .key
            .iter()
            .map(|c| format!("{} IS NOT NULL", q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let keyed = format!(
            "(SELECT DISTINCT ON ({key}) {cols} FROM {STAGE}{} ORDER BY {key}, {SEQ} {order})",
            if nullable {
                format!(" WHERE {not_null}")
            } else {
                String::new()
            }
        );
        let mut src = keyed.clone();
        if nullable {
            src.push_str(&format!(
                " UNION ALL (SELECT {cols} FROM {STAGE} WHERE NOT ({not_null}))"
            ));
        }
        let set = upsert
            .update
            .iter()
            .map(|c| format!("{} = EXCLUDED.{}", q(c), q(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let target = table.quoted();
        let overriding = table.overriding(columns);
        let (returning, existing) = match (&upsert.on_conflict, partitioned) {
            (OnConflict::Update, true) => (
                format!("DO UPDATE SET {set} RETURNING true AS inserted"),
                Some(format!(
                    "SELECT count(*) FROM {target} JOIN {keyed} AS src USING ({key})"
                )),
            ),
            (OnConflict::Update, false) => (
                format!("DO UPDATE SET {set} RETURNING (xmax = 0) AS inserted"),
                None,
            ),
            (OnConflict::Nothing, _) => ("DO NOTHING RETURNING true AS inserted".into(), None),
        };
        Merge {
            existing,
            sql: format!(
                "WITH src AS ({src}), \
                      ins AS (INSERT INTO {target} ({cols}){overriding} SELECT {cols} FROM src \
                              ON CONFLICT ({key}) {returning}) \
                 SELECT count(*) FILTER (WHERE inserted) FROM ins"
            ),
        }
    }
}

/// The table's unique keys that `ON CONFLICT (columns)` can name: the primary key and unique
/// indexes that are neither partial, nor on expressions, nor deferrable.
///
/// # Errors
/// A database error.
pub async fn unique_keys(client: &Client, table: &Table) -> Result<Vec<UniqueKey>> {
    let rows = client
        .query(
            "SELECT i.indisprimary, \
                    array_agg(a.attname::text ORDER BY k.n) \
             FROM pg_catalog.pg_index i \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indrelid = $1::text::regclass AND i.indisunique AND i.indimmediate \
               AND i.indpred IS NULL AND i.indexprs IS NULL \
             GROUP BY i.indexrelid, i.indisprimary \
             ORDER BY i.indisprimary DESC, i.indexrelid",
            &[&table.quoted()],
        )
        .await
        .map_err(|e| Error::db(format!("reading the unique keys of {table}"), e))?;
    rows.iter()
        .map(|r| {
            Ok(UniqueKey {
                primary: get(r, 0, "the unique keys")?,
                columns: get(r, 1, "the unique keys")?,
            })
        })
        .collect()
}
